package gate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/internal/kafkalog"
	"github.com/singerkit/singerkit/internal/natslog"
	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/singer"
)

// Main runs `singer gate` and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var configs []string
	var dataDir, listen string
	cmd := &cobra.Command{
		Use:   "gate [--config gate.json] [--data-dir DIR] [--listen ADDR]",
		Short: "HTTP import API (Stitch Import API v2 and Singer messages) answering only once the log stored the data",
		Long: `singer gate accepts pushed data over HTTP, validates it, writes it into the
central log (NATS JetStream topics that tap-nats reads) and answers 2xx only
once the log acknowledged every message of the request.

Without servers in the config it runs an embedded NATS JetStream server with
its files in --data-dir. Tokens come from the config (hashed) or from
` + EnvToken + `. See docs/singer-gate.md.`,
		Example: `  SINGER_GATE_TOKEN=s3cret singer gate --data-dir ./gate-data
  curl -H "Authorization: Bearer s3cret" -H "Content-Type: application/json" \
    --data '{"table_name":"orders","schema":{"properties":{"id":{"type":"integer"}}},"key_names":["id"],
             "messages":[{"action":"upsert","sequence":1,"data":{"id":1}}]}' \
    http://127.0.0.1:8080/v2/import/batch`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("singer gate takes no arguments (got %q)", args[0])
			}
			return nil
		},
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := LoadConfig(configs)
			if err != nil {
				return usage(err)
			}
			if dataDir != "" {
				cfg.DataDir = dataDir
			}
			if listen != "" {
				cfg.Listen = listen
			}
			return Run(cmd.Context(), cfg, RunOptions{Lookup: os.LookupEnv, Stdout: stdout, Stderr: stderr})
		},
	}
	cmd.Flags().StringArrayVar(&configs, "config", nil, "config file (JSON, schemas/singer-gate.config.json); repeat to merge")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "directory of the embedded NATS JetStream server (when the config has no servers)")
	cmd.Flags().StringVar(&listen, "listen", "", "address of the HTTP server (overrides listen)")
	root := &cobra.Command{Use: "singer", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(cmd)
	return cli.Execute(ctx, root, args, stderr, "singer gate")
}

// usage makes a config problem a usage error (exit 2).
func usage(err error) error {
	var ce *config.Error
	if errors.As(err, &ce) {
		return cli.Usagef("%s", err.Error())
	}
	return err
}

// gcPercent is the gate's GOGC unless the environment sets one.
const gcPercent = 400

// RunOptions are Run's environment.
type RunOptions struct {
	Lookup func(string) (string, bool)
	Stdout io.Writer // the start-up lines (URLs)
	Stderr io.Writer // logs and the access log
	// Ready, when set, receives the HTTP address once the gate listens.
	Ready func(addr string)
}

// Run runs the gate until ctx ends (SIGTERM), then stops accepting,
// finishes the requests in flight and returns nil.
func Run(ctx context.Context, cfg *Config, o RunOptions) error {
	log := singer.NewLog(o.Stderr)
	// A request's garbage is most of the heap and dies with it: with Go's
	// default (GOGC=100) the collector ran several times a second under
	// load, a third of the gate's CPU. GOGC in the environment wins.
	if o.Lookup != nil {
		if _, ok := o.Lookup("GOGC"); !ok {
			defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
		}
	}
	if len(cfg.Servers) == 0 && len(cfg.Brokers) == 0 && cfg.DataDir == "" {
		return cli.Usagef("no log: give servers in the config, or --data-dir DIR for an embedded NATS JetStream server")
	}
	// A gate nobody may write to is a config mistake, found before
	// anything starts.
	if _, err := cfg.tokens(o.Lookup); err != nil {
		return usage(err)
	}
	conn := cfg.Conn()
	if len(cfg.Servers) == 0 && len(cfg.Brokers) == 0 {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return fmt.Errorf("data dir: %v", config.WithoutPath(err))
		}
		e, err := StartEmbedded(cfg.DataDir, cfg.EmbeddedListen)
		if err != nil {
			return err
		}
		defer e.Shutdown()
		conn.Servers = []string{e.URL()}
		fmt.Fprintf(o.Stdout, "singer gate: embedded NATS JetStream at %s (files in %s); tap-nats reads a topic with {\"servers\":[%q],\"topic\":\"<topic>\"}\n", e.URL(), cfg.DataDir, e.URL())
	}
	host, _ := os.Hostname()
	pub, err := openLog(ctx, cfg, &conn, singerlog.ProducerName("singer-gate", host), log)
	if err != nil {
		return err
	}
	defer pub.Close()
	srv, err := NewServer(cfg, Options{Log: pub, Producer: singerlog.ProducerName("singer-gate", host), Lookup: o.Lookup, AccessLog: o.Stderr})
	if err != nil {
		return usage(err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %v (set listen or --listen)", cfg.Listen, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          stdlog.New(o.Stderr, "WARNING singer gate: http: ", 0),
	}
	scheme := "http"
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			ln.Close()
			return cli.Usagef("tls_cert_file/tls_key_file: %v", config.WithoutPath(err))
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	}
	addr := ln.Addr().String()
	fmt.Fprintf(o.Stdout, "singer gate: listening on %s://%s\n", scheme, addr)
	if o.Ready != nil {
		o.Ready(addr)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving HTTP: %v", err)
	case <-ctx.Done():
	}
	log.Infof("singer gate: stopping: no new requests; waiting for those in flight (up to %ds)", cfg.ShutdownTimeoutSeconds)
	// Requests in flight finish on the abort context: a second signal
	// gives up on them.
	sctx, cancel := context.WithTimeout(cli.AbortContext(ctx), time.Duration(cfg.ShutdownTimeoutSeconds)*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("stopping: requests still in flight after %ds: %v", cfg.ShutdownTimeoutSeconds, err)
	}
	log.Infof("singer gate: stopped")
	return nil
}

// closingLog is a Log the gate closes when it stops.
type closingLog interface {
	Log
	Close() error
}

// openLog connects to the configured log: Kafka with brokers, NATS
// JetStream otherwise (conn: the servers, or the embedded one's).
func openLog(ctx context.Context, cfg *Config, conn *natslog.Conn, producer string, log *singer.Log) (closingLog, error) {
	retry := time.Duration(cfg.PublishTimeoutSeconds) * time.Second
	window := time.Duration(cfg.DuplicateWindowSeconds) * time.Second
	if len(cfg.Brokers) > 0 {
		kc := cfg.KafkaConn()
		return kafkalog.NewPublisher(ctx, &kc, producer, kafkalog.WriterOptions{
			CreateIfMissing: true,
			Replicas:        cfg.Replicas,
			RetryFor:        retry,
		}, window, log)
	}
	return natslog.NewPublisher(ctx, conn, producer, natslog.WriterOptions{
		CreateIfMissing: true,
		Replicas:        cfg.Replicas,
		Memory:          cfg.Storage == "memory",
		DuplicateWindow: window,
		RetryFor:        retry,
	}, log)
}

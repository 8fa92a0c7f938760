package natslog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/config"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/singerkit/singerkit/singer"
)

// Conn is the connection part of target-nats's and tap-nats's config.
type Conn struct {
	// Servers are the NATS URLs to connect to (any of them).
	Servers []string `json:"servers"`
	// Topic is the JetStream stream (and its subject) of the log.
	Topic string `json:"topic"`
	// CredsFile is a .creds file (JWT and NKey seed).
	CredsFile string `json:"creds_file"`
	// NKeySeedFile is a file holding an NKey user seed.
	NKeySeedFile string `json:"nkey_seed_file"`
	User         string `json:"user"`
	Password     string `json:"password"`
	Token        string `json:"token"`
	// TLS: a CA to trust, and a client certificate.
	TLSCAFile   string `json:"tls_ca_file"`
	TLSCertFile string `json:"tls_cert_file"`
	TLSKeyFile  string `json:"tls_key_file"`
	// ConnectTimeoutSeconds bounds the first connection.
	ConnectTimeoutSeconds int `json:"connect_timeout_seconds"`
}

// DefaultConn returns the defaults of the connection settings.
func DefaultConn() Conn {
	return Conn{ConnectTimeoutSeconds: 10}
}

var topicName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)

// Check returns the problems of the settings, all at once.
func (c *Conn) Check() []string {
	var p []string
	if len(c.Servers) == 0 {
		p = append(p, "servers: is required (e.g. [\"nats://127.0.0.1:4222\"])")
	}
	if !topicName.MatchString(c.Topic) {
		p = append(p, fmt.Sprintf("topic: %q is not a JetStream stream name (letters, digits, '-' and '_', 1 to 200 of them)", c.Topic))
	}
	if c.Password != "" && c.User == "" {
		p = append(p, "password: needs user")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		p = append(p, "tls_cert_file and tls_key_file: give both or neither")
	}
	n := 0
	for _, s := range []string{c.CredsFile, c.NKeySeedFile, c.User, c.Token} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		p = append(p, "creds_file, nkey_seed_file, user/password and token: give one way to log in")
	}
	if c.ConnectTimeoutSeconds < 1 {
		p = append(p, "connect_timeout_seconds: must be at least 1")
	}
	return p
}

// SchemaBucket is the key-value bucket of a topic's schemas.
func (c *Conn) SchemaBucket() string { return c.Topic + "_schemas" }

// ConnectError is a server that cannot be reached or refuses the login
// (exit 1: a retry may get past it).
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// Connect opens a connection that reconnects on its own, and its JetStream
// context. name is the client name the server shows.
func (c *Conn) Connect(ctx context.Context, name string, log *singer.Log, jsOpts ...jetstream.JetStreamOpt) (*nats.Conn, jetstream.JetStream, error) {
	return c.connect(ctx, name, log, nil, jsOpts...)
}

// connect is Connect with more client options.
func (c *Conn) connect(ctx context.Context, name string, log *singer.Log, more []nats.Option, jsOpts ...jetstream.JetStreamOpt) (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.Timeout(time.Duration(c.ConnectTimeoutSeconds) * time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warnf("NATS: disconnected: %v; reconnecting", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Infof("NATS: reconnected to %s", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warnf("NATS: %v", err)
		}),
	}
	switch {
	case c.CredsFile != "":
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	case c.NKeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(c.NKeySeedFile)
		if err != nil {
			return nil, nil, &config.Error{Problems: []string{"nkey_seed_file: " + err.Error()}}
		}
		opts = append(opts, o)
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token))
	}
	if c.TLSCAFile != "" {
		opts = append(opts, nats.RootCAs(c.TLSCAFile))
	}
	if c.TLSCertFile != "" {
		opts = append(opts, nats.ClientCert(c.TLSCertFile, c.TLSKeyFile))
	}
	opts = append(opts, more...)
	servers := strings.Join(c.Servers, ",")
	nc, err := nats.Connect(servers, opts...)
	if err != nil {
		return nil, nil, &ConnectError{fmt.Errorf("cannot connect to NATS at %s: %v", redactURLs(c.Servers), err)}
	}
	js, err := jetstream.New(nc, jsOpts...)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("NATS JetStream: %w", err)
	}
	return nc, js, nil
}

// redactURLs drops user info from server URLs for messages.
func redactURLs(servers []string) string {
	out := make([]string, len(servers))
	for i, s := range servers {
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			if p := strings.Index(s, "://"); p >= 0 && p < at {
				s = s[:p+3] + "***@" + s[at+1:]
			} else {
				s = "***@" + s[at+1:]
			}
		}
		out[i] = s
	}
	return strings.Join(out, ",")
}

// missingTopicError is a topic that does not exist (exit 2: the config
// names it).
type missingTopicError struct{ topic string }

func (e *missingTopicError) Error() string {
	return fmt.Sprintf("topic %q does not exist on the NATS server (no JetStream stream of that name): check topic, or let target-nats create it (create_if_missing)", e.topic)
}
func (e *missingTopicError) ExitCode() int { return cli.ExitUsage }

// stream returns the topic's stream.
func (c *Conn) stream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, c.Topic)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, &missingTopicError{c.Topic}
	}
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		return nil, fmt.Errorf("the NATS server has no JetStream (start it with -js): %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("topic %q: %w", c.Topic, err)
	}
	return s, nil
}

// schemaKey is the key of a Singer stream in the schema bucket: its name in
// unpadded base64url (a key allows only a few characters).
func schemaKey(stream string) string {
	return "s" + b64.EncodeToString([]byte(stream))
}

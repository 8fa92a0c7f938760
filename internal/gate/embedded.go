package gate

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Embedded is a NATS JetStream server run in-process, with its files in a
// directory: the gate's log when no servers are configured.
type Embedded struct {
	srv *server.Server
}

// StartEmbedded starts a JetStream server listening on listen (host:port;
// port 0 picks a free one) with file storage under dir.
func StartEmbedded(dir, listen string) (*Embedded, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("embedded_listen %q: %v", listen, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("embedded_listen %q: the port is not a number", listen)
	}
	if p == 0 {
		p = server.RANDOM_PORT
	} else {
		// The server reports a taken port only in its log: find out first.
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return nil, fmt.Errorf("the embedded NATS server cannot listen on %s (%v): set embedded_listen (port 0 picks a free one)", listen, err)
		}
		ln.Close()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: "singer-gate",
		Host:       host,
		Port:       p,
		JetStream:  true,
		StoreDir:   abs,
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: 8 << 20,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("the embedded NATS server did not start listening on %s within 30s (is the port taken? set embedded_listen)", listen)
	}
	return &Embedded{srv: srv}, nil
}

// URL is the client URL tap-nats connects to.
func (e *Embedded) URL() string { return e.srv.ClientURL() }

// Shutdown stops the server (its files stay).
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

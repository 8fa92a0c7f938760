// Package liveconn dials database connections that notice a dead peer: TCP
// keepalives for a host that is gone, and I/O deadlines for a peer (or a
// proxy, a NAT, a frozen server) that keeps the TCP connection up but stops
// moving bytes. A database driver dials through a Dialer and needs nothing
// else: a stalled read or write fails with a *StallError (a net.Error whose
// Timeout is true), which the driver treats as a broken connection.
//
//	d := &liveconn.Dialer{Timeout: 30 * time.Second, ReplyTimeout: 30 * time.Second}
//	pgxConfig.DialFunc = d.DialContext
package liveconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Keepalive settings of every connection: a peer that stops answering TCP
// probes is declared dead after about Idle + Count*Interval (a minute).
const (
	KeepAliveIdle     = 15 * time.Second
	KeepAliveInterval = 15 * time.Second
	KeepAliveCount    = 3
)

// Dialer dials TCP connections with keepalives and stall deadlines.
type Dialer struct {
	// Timeout bounds the TCP connect and every write: a write that cannot
	// hand its bytes to the peer for this long fails. 0: no deadline.
	Timeout time.Duration
	// ReplyTimeout bounds every read: a read that gets no byte for this
	// long fails. While the connection writes, a pending read's time
	// starts again at each written chunk (PostgreSQL's driver reads in the
	// background during COPY, when the server sends nothing). 0: no
	// deadline.
	ReplyTimeout time.Duration
	// Conns, when not nil, gets every connection dialed (a session keeps
	// its own connection to ask it the cause of a driver's error).
	Conns func(*Conn)
}

// DialContext dials network/addr (the signature of pgconn.DialFunc and of
// go-sql-driver/mysql's Config.DialFunc).
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := net.Dialer{
		Timeout:         d.Timeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: KeepAliveIdle, Interval: KeepAliveInterval, Count: KeepAliveCount},
	}
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	lc := &Conn{Conn: c, write: d.Timeout, read: d.ReplyTimeout}
	if d.Conns != nil {
		d.Conns(lc)
	}
	return lc, nil
}

// StallError is a read or write that made no progress within its
// timeout.
type StallError struct {
	Op    string // "read" or "write"
	Limit time.Duration
	Err   error // the net package's timeout error
}

func (e *StallError) Error() string {
	if e.Op == "read" {
		return fmt.Sprintf("no reply from the server for %s: the connection is taken for dead", e.Limit)
	}
	return fmt.Sprintf("the server took no data for %s: the connection is taken for dead", e.Limit)
}

func (e *StallError) Unwrap() error { return e.Err }

// Timeout is true: drivers treat a StallError as a network timeout.
func (e *StallError) Timeout() bool { return true }

// Temporary is false: the connection is unusable.
func (e *StallError) Temporary() bool { return false }

// Conn is a connection with stall deadlines. Deadlines the driver sets
// (for its own context cancellation) are kept: the earlier deadline wins.
type Conn struct {
	net.Conn
	write, read time.Duration

	mu       sync.Mutex
	rdl, wdl time.Time // deadlines set by the driver
	reading  bool
	lastErr  error
}

// writeChunk is how much a write hands over before a pending read's
// deadline is pushed back.
const writeChunk = 32 << 10

func earliest(set time.Time, d time.Duration) (time.Time, bool) {
	if d <= 0 {
		return set, false
	}
	ours := time.Now().Add(d)
	if !set.IsZero() && set.Before(ours) {
		return set, false
	}
	return ours, true
}

// Read reads with the reply deadline.
func (c *Conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	dl, ours := earliest(c.rdl, c.read)
	c.Conn.SetReadDeadline(dl)
	c.reading = true
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.reading = false
	if err != nil {
		if ours && isTimeout(err) && !passed(c.rdl) {
			err = &StallError{Op: "read", Limit: c.read, Err: err}
		}
		c.lastErr = err
	}
	c.mu.Unlock()
	return n, err
}

// Write writes with the write deadline, in chunks: each chunk written
// also gives a pending read its full reply timeout again.
func (c *Conn) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		chunk := p
		if len(chunk) > writeChunk {
			chunk = chunk[:writeChunk]
		}
		c.mu.Lock()
		dl, ours := earliest(c.wdl, c.write)
		c.Conn.SetWriteDeadline(dl)
		c.mu.Unlock()
		n, err := c.Conn.Write(chunk)
		total += n
		c.mu.Lock()
		if err != nil {
			if ours && isTimeout(err) && !passed(c.wdl) {
				err = &StallError{Op: "write", Limit: c.write, Err: err}
			}
			c.lastErr = err
			c.mu.Unlock()
			return total, err
		}
		if c.reading && c.read > 0 {
			if dl, _ := earliest(c.rdl, c.read); !dl.IsZero() {
				c.Conn.SetReadDeadline(dl)
			}
		}
		c.mu.Unlock()
		p = p[n:]
	}
	return total, nil
}

// SetDeadline records the driver's deadline and applies it.
func (c *Conn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rdl, c.wdl = t, t
	return c.Conn.SetDeadline(t)
}

// SetReadDeadline records the driver's read deadline and applies it.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rdl = t
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline records the driver's write deadline and applies it.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wdl = t
	return c.Conn.SetWriteDeadline(t)
}

// Err returns the last read or write error of the connection (nil when
// none): the cause behind a driver's "invalid connection".
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// passed tells whether a deadline the driver set is over (then the
// timeout is the driver's: its context was cancelled).
func passed(t time.Time) bool { return !t.IsZero() && !t.After(time.Now()) }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

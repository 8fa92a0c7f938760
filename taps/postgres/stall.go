package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// A connection through a proxy, NAT or frozen server can stay up while no
// byte moves: TCP keepalives do not notice it, so every read of the tap's
// connections has a deadline (read_timeout_seconds): a read that gets no
// byte for that long fails with a StallError and the run stops (exit 1).
// The replication stream asks the server for a reply more often than that,
// so a live, idle server is never taken for a stalled one.

// StallError is a read that got no byte within the read timeout.
type StallError struct{ Limit time.Duration }

func (e *StallError) Error() string {
	return fmt.Sprintf("no data from the server for %s (read_timeout_seconds): the connection or the server stalled", e.Limit)
}

func isStall(err error) bool {
	var se *StallError
	return errors.As(err, &se)
}

// stallDialer wraps dial so that its connections fail a read that waits
// longer than timeout, with TCP keepalives for a host that is gone.
func stallDialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 15 * time.Second, Count: 3}}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := nd.DialContext(ctx, network, addr)
		if err != nil || timeout <= 0 {
			return c, err
		}
		return &stallConn{Conn: c, timeout: timeout}, nil
	}
}

// stallConn keeps the read deadlines its user sets (pgconn's context
// cancellation): the earlier of that and the read timeout wins.
type stallConn struct {
	net.Conn
	timeout time.Duration
	mu      sync.Mutex
	set     time.Time // the user's read deadline
}

func (c *stallConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	ours := time.Now().Add(c.timeout)
	mine := c.set.IsZero() || ours.Before(c.set)
	if mine {
		_ = c.Conn.SetReadDeadline(ours)
	} else {
		_ = c.Conn.SetReadDeadline(c.set)
	}
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	if err != nil && mine {
		var ne net.Error
		c.mu.Lock()
		userPassed := !c.set.IsZero() && !c.set.After(time.Now())
		c.mu.Unlock()
		if errors.As(err, &ne) && ne.Timeout() && !userPassed {
			// Not a net.Error timeout: drivers treat it as a broken
			// connection, not as a deadline to retry after.
			return n, &StallError{Limit: c.timeout}
		}
	}
	return n, err
}

func (c *stallConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set = t
	return c.Conn.SetDeadline(t)
}

func (c *stallConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set = t
	return c.Conn.SetReadDeadline(t)
}

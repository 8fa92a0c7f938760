package liveconn

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// silentPeer accepts connections and neither reads nor writes until the
// test ends.
func silentPeer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for c := range held {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestStalledPeer(t *testing.T) {
	addr := silentPeer(t)
	d := &Dialer{Timeout: 200 * time.Millisecond, ReplyTimeout: 200 * time.Millisecond}
	t.Run("read", func(t *testing.T) {
		c, err := d.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Read(make([]byte, 10))
		var se *StallError
		if !errors.As(err, &se) || se.Op != "read" {
			t.Fatalf("read from a silent peer: %v", err)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("a stall is not a net.Error timeout: %v", err)
		}
		if c.(*Conn).Err() != err {
			t.Errorf("Err() = %v", c.(*Conn).Err())
		}
	})
	t.Run("write", func(t *testing.T) {
		c, err := d.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The peer never reads: the socket buffers fill and a write stalls.
		_, err = c.Write(make([]byte, 64<<20))
		var se *StallError
		if !errors.As(err, &se) || se.Op != "write" {
			t.Fatalf("write to a peer that does not read: %v", err)
		}
		if got := se.Error(); got != "the server took no data for 200ms: the connection is taken for dead" {
			t.Errorf("message %q", got)
		}
	})
	t.Run("driver_deadline_is_kept", func(t *testing.T) {
		c, err := (&Dialer{ReplyTimeout: time.Hour}).DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A driver cancelling its context sets a deadline in the past: the
		// read ends at once, as a plain timeout (not a stall).
		c.SetDeadline(time.Unix(1, 0))
		_, err = c.Read(make([]byte, 10))
		var se *StallError
		if err == nil || errors.As(err, &se) || !isTimeout(err) {
			t.Fatalf("read after the driver's deadline: %v", err)
		}
	})
}

// TestWritesKeepAReadAlive: a read pending while the connection writes
// (pgx's background reader during COPY) does not time out as long as the
// writes progress.
func TestWritesKeepAReadAlive(t *testing.T) {
	const chunks = 60
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan int, 1)
	go func() {
		s, err := l.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		buf := make([]byte, 1<<16)
		n := 0
		for n < chunks*writeChunk {
			k, err := s.Read(buf)
			if err != nil {
				break
			}
			n += k
		}
		s.Write([]byte("ok"))
		got <- n
	}()
	c, err := (&Dialer{Timeout: time.Second, ReplyTimeout: 300 * time.Millisecond}).DialContext(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	readErr := make(chan error, 1)
	go func() {
		b := make([]byte, 2)
		_, err := c.Read(b)
		readErr <- err
	}()
	// The chunks take longer than the reply timeout in all, each one well
	// within it.
	for i := 0; i < chunks; i++ {
		if _, err := c.Write(make([]byte, writeChunk)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-readErr; err != nil {
		t.Fatalf("the pending read failed while writes progressed: %v", err)
	}
	<-got
}

// Package faultproxy is a TCP proxy for tests that put a network fault
// between a program and its database: it forwards bytes until told to
// stall (hold every byte, both ways, on every connection, new ones
// included, while keeping the connections open: what a dead peer behind a
// live NAT or a frozen server looks like) or to reset the connections.
//
//	p := faultproxy.New(t, "127.0.0.1:5432")
//	p.StallAt([]byte("COPY "), 2, 4096) // 4 KiB into the second COPY
//	... connect the program to p.Addr() ...
//	<-p.Stalled()
package faultproxy

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards connections from Addr to a target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	cond    *sync.Cond
	closed  bool
	stalled bool
	stallCh chan struct{} // closed when a stall engages
	// The armed stall: once the markers were seen in the bytes sent to the
	// target, in order, forward after more bytes and stall.
	markers [][]byte
	seen    int   // markers seen so far
	longest int   // the longest marker's length
	after   int64 // bytes forwarded after the last marker
	budget  int64 // bytes still forwarded before the stall; -1: none armed
	conns   []net.Conn
}

// New starts a proxy to target; it is closed when the test ends.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, stallCh: make(chan struct{}), budget: -1}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Port is the proxy's port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Stalled is closed once a stall has engaged.
func (p *Proxy) Stalled() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stallCh
}

// Stall stops forwarding now.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.engage()
}

func (p *Proxy) engage() {
	if !p.stalled {
		p.stalled = true
		close(p.stallCh)
	}
}

// StallAt arms a stall: after the count-th occurrence of marker in the
// bytes sent to the target (over all connections), after more bytes are
// forwarded, forwarding stops.
func (p *Proxy) StallAt(marker []byte, count int, after int64) {
	seq := make([][]byte, count)
	for i := range seq {
		seq[i] = marker
	}
	p.StallAfter(seq, after)
}

// StallAfter arms a stall: once each marker has been seen, in order, in
// the bytes sent to the target (over all connections), after more bytes
// are forwarded, forwarding stops.
func (p *Proxy) StallAfter(markers [][]byte, after int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.markers, p.after, p.seen, p.budget, p.longest = markers, after, 0, -1, 0
	for _, m := range markers {
		p.longest = max(p.longest, len(m))
	}
}

// Resume forwards again (what was held goes through) and disarms.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled, p.markers, p.budget = false, nil, -1
	p.stallCh = make(chan struct{})
	p.cond.Broadcast()
}

// Reset closes every open connection abruptly (a TCP reset to both
// sides); new connections are forwarded as before.
func (p *Proxy) Reset() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	p.ln.Close()
	p.Reset()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			s.Close()
			return
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go p.pump(c, s, true)
		go p.pump(s, c, false)
	}
}

// pump copies src to dst, holding bytes while the proxy is stalled.
func (p *Proxy) pump(src, dst net.Conn, up bool) {
	defer func() {
		src.Close()
		dst.Close()
	}()
	buf := make([]byte, 32<<10)
	var tail []byte // the end of the previous read, for a marker split in two
	for {
		n, err := src.Read(buf)
		data := buf[:n]
		if up && n > 0 {
			joined := append(tail, data...)
			if k := p.scan(joined, len(tail)); k > 0 {
				tail = append([]byte(nil), lastBytes(joined, k)...)
			} else {
				tail = nil
			}
		}
		for len(data) > 0 {
			k := p.allow(up, len(data))
			if k < 0 {
				return
			}
			if _, werr := dst.Write(data[:k]); werr != nil {
				return
			}
			data = data[k:]
		}
		if err != nil {
			if err == io.EOF {
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
			}
			return
		}
	}
}

func lastBytes(b []byte, k int) []byte {
	if len(b) <= k {
		return b
	}
	return b[len(b)-k:]
}

// scan looks for the next markers in b (its first skip bytes were
// scanned before), arms the byte budget after the last one, and returns
// how many bytes of b to keep for the next read (a marker split in two).
func (p *Proxy) scan(b []byte, skip int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.markers == nil || p.budget >= 0 {
		return 0
	}
	for i := 0; p.seen < len(p.markers); {
		m := p.markers[p.seen]
		j := bytes.Index(b[i:], m)
		if j < 0 {
			return p.longest - 1
		}
		end := i + j + len(m)
		if end > skip {
			p.seen++
		}
		i = end
		if p.seen == len(p.markers) {
			// The budget counts from the end of the last marker; the
			// bytes of this read before it pass too.
			p.budget = p.after + int64(end-skip)
		}
	}
	return 0
}

// allow blocks while the proxy is stalled and returns how many of n
// bytes may pass now, or -1 when the proxy is closed.
func (p *Proxy) allow(up bool, n int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.closed {
			return -1
		}
		if !p.stalled {
			if !up || p.budget < 0 {
				break
			}
			if p.budget > 0 {
				n = int(min(int64(n), p.budget))
				p.budget -= int64(n)
				if p.budget == 0 {
					// Nothing more passes, the reply to these bytes neither.
					p.engage()
				}
				break
			}
			p.engage()
		}
		p.cond.Wait()
	}
	return n
}

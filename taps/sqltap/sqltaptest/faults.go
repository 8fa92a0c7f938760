package sqltaptest

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
)

// Output is a tap's stdout in a fault test: it keeps every line, lets the
// test wait for a line, and can block its writer (a slow target).
type Output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced at every write
	gate    chan struct{} // when not nil, writes wait for it to close
	blocked chan struct{} // closed when a write waits at the gate
	// waitBlocked is the blocked channel of the last Block.
	waitBlocked chan struct{}
}

// NewOutput returns an empty Output.
func NewOutput() *Output { return &Output{changed: make(chan struct{})} }

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	gate, blocked := o.gate, o.blocked
	if gate != nil && blocked != nil {
		close(blocked)
		o.blocked = nil
	}
	o.mu.Unlock()
	if gate != nil {
		<-gate
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

// Block makes the following writes wait until the returned function is
// called.
func (o *Output) Block() (release func()) {
	gate := make(chan struct{})
	o.mu.Lock()
	o.gate = gate
	o.blocked = make(chan struct{})
	o.waitBlocked = o.blocked
	o.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			o.mu.Lock()
			o.gate = nil
			o.mu.Unlock()
			close(gate)
		})
	}
}

// WaitBlocked waits (up to a minute) until a write waits at the gate of
// the last Block; done closing first fails the test.
func (o *Output) WaitBlocked(t *testing.T, done <-chan struct{}) {
	t.Helper()
	o.mu.Lock()
	ch := o.waitBlocked
	o.mu.Unlock()
	select {
	case <-ch:
	case <-done:
		t.Fatal("the run ended before it wrote")
	case <-time.After(time.Minute):
		t.Fatal("no write within a minute")
	}
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Lines returns the complete lines written so far.
func (o *Output) Lines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.buf.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// WaitLine waits (up to a minute, then fails the test) for a line that
// holds every one of parts, and returns it. done, when it closes first,
// fails the test too (the run ended without the line).
func (o *Output) WaitLine(t *testing.T, done <-chan struct{}, parts ...string) string {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		o.mu.Lock()
		changed := o.changed
		o.mu.Unlock()
		for _, l := range o.Lines() {
			if containsAll(l, parts) {
				return l
			}
		}
		select {
		case <-changed:
		case <-done:
			for _, l := range o.Lines() {
				if containsAll(l, parts) {
					return l
				}
			}
			t.Fatalf("the run ended without a line holding %q; output:\n%s", parts, strings.Join(o.Lines(), "\n"))
		case <-timeout:
			t.Fatalf("no line holding %q within a minute; output:\n%s", parts, strings.Join(o.Lines(), "\n"))
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// LastState returns the value of the last STATE line written.
func (o *Output) LastState(t *testing.T) string {
	t.Helper()
	lines := o.Lines()
	for i := len(lines) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(lines[i], `{"type":"STATE","value":`); ok {
			return strings.TrimSuffix(v, "}")
		}
	}
	t.Fatalf("no STATE line in:\n%s", strings.Join(lines, "\n"))
	return ""
}

// Run is a tap run through its command line, in the background.
type Run struct {
	Out    *Output
	Stderr *Output
	Done   chan struct{}
	Code   int
	cancel context.CancelFunc
}

// Start runs spec with args in the background.
func Start(spec cli.TapSpec, args ...string) *Run {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Run{Out: NewOutput(), Stderr: NewOutput(), Done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(r.Done)
		r.Code = cli.RunTap(ctx, spec, args, nil, r.Out, r.Stderr)
	}()
	return r
}

// Wait waits (up to two minutes, then fails the test) for the run's end
// and returns its exit code and stderr.
func (r *Run) Wait(t *testing.T) (int, string) {
	t.Helper()
	select {
	case <-r.Done:
		return r.Code, r.Stderr.String()
	case <-time.After(2 * time.Minute):
		r.cancel()
		<-r.Done
		t.Fatalf("the run did not end within two minutes; stderr:\n%s", r.Stderr.String())
	}
	return 0, ""
}

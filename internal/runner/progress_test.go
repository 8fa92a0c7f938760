package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/project"
	"github.com/singerkit/singerkit/internal/statestore"
	"github.com/singerkit/singerkit/internal/testenv"
)

// lockedBuffer is a bytes.Buffer safe for the runner's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestStatusLine: a log line clears the progress line and draws it again
// below itself; removing it erases it.
func TestStatusLine(t *testing.T) {
	var b bytes.Buffer
	l := NewLogger(&b, false)
	l.Status("p1: 0:01, 2 states saved")
	l.Infof("p1", "hello")
	l.Status("")
	want := clearLine + "p1: 0:01, 2 states saved" + clearLine + "singer run | hello\n" + "p1: 0:01, 2 states saved" + clearLine
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
	b.Reset()
	l.Infof("p1", "no status")
	if b.String() != "singer run | no status\n" {
		t.Errorf("without a status line: %q", b.String())
	}
}

func TestProgressLine(t *testing.T) {
	var saved atomic.Int64
	saved.Store(2)
	start := time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)
	p := &progress{pipeline: "p1", tapPID: os.Getpid(), saved: &saved, start: start}
	line := p.line(start.Add(65 * time.Second))
	if !strings.HasPrefix(line, "p1: 1:05, the tap wrote ") || !strings.HasSuffix(line, ", 2 states saved") {
		t.Errorf("line %q", line)
	}
	p.tapPID = -1 // no /proc entry: the bytes are left out
	if got := p.line(start.Add(3725 * time.Second)); got != "p1: 1:02:05, 2 states saved" {
		t.Errorf("line without /proc: %q", got)
	}
	for n, want := range map[float64]string{512: "512 B", 1536: "1.5 KiB", 3 << 30: "3.0 GiB"} {
		if got := size(n); got != want {
			t.Errorf("size(%v) = %q, want %q", n, got, want)
		}
	}
}

// TestProgressWhileRunning: with Progress on, the live line shows the
// states saved while the pipeline runs, and is erased at its end.
func TestProgressWhileRunning(t *testing.T) {
	dir, path := writeProject(t, "")
	pidFile := filepath.Join(dir, "tap.pid")
	t.Setenv("TAP_BLOCK_AFTER", "3")
	t.Setenv("TAP_PID_FILE", pidFile)
	p, err := project.Load(path, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	st, err := statestore.OpenFile(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	r := &Runner{Project: p, Store: st, Log: NewLogger(&out, false), Progress: true, ProgressEvery: 10 * time.Millisecond}
	done := make(chan Result, 1)
	go func() { done <- r.Run(context.Background(), "p1") }()
	testenv.WaitFor(t, "a progress line with 3 states saved", func() bool { return strings.Contains(out.String(), ", 3 states saved") })
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	syscall.Kill(n, syscall.SIGKILL) // the tap fails: the run ends
	<-done
	s := out.String()
	if !strings.Contains(s, clearLine+"p1: 0:0") {
		t.Errorf("no progress line drawn:\n%q", s)
	}
	// The line is erased at the end: after the last erase come only whole
	// log lines (the summary), no progress text.
	rest := s[strings.LastIndex(s, clearLine)+len(clearLine):]
	if !strings.HasSuffix(rest, "\n") {
		t.Errorf("output ends in a progress line:\n%q", s)
	}
	for _, l := range strings.Split(strings.TrimSuffix(rest, "\n"), "\n") {
		if !strings.Contains(l, " | ") || strings.Contains(l, "states saved,") {
			t.Errorf("after the erase, a line that is not a log line: %q", l)
		}
	}
}

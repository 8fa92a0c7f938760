package sqltargettest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/faultproxy"
)

// FaultHarness adds to a Harness what the network fault cases need.
type FaultHarness interface {
	Harness
	// ServerAddr is the host:port of the test server.
	ServerAddr(t *testing.T) string
	// Via returns cfg with the connection going to addr (host:port)
	// instead of the test server.
	Via(t *testing.T, cfg map[string]any, addr string) map[string]any
	// LoadMarker is text the target sends at the start of each batch's
	// bulk load ("COPY ", "LOAD DATA").
	LoadMarker() string
}

// hangLimit is how long a case waits for the target before it reports a
// hang: far beyond every bound the cases configure, never reached by a
// target that honours them.
const hangLimit = 90 * time.Second

// RunStallSuite runs the stalled-connection cases: a proxy between the
// target binary and the server stops forwarding in the middle of the
// second batch's bulk load.
func RunStallSuite(t *testing.T, h FaultHarness) {
	t.Run("stall_fails_within_network_timeout", func(t *testing.T) {
		t.Parallel()
		stallCase(t, h, "timeout")
	})
	t.Run("sigterm_during_stall_commits_within_shutdown_timeout", func(t *testing.T) {
		t.Parallel()
		stallCase(t, h, "sigterm")
	})
	t.Run("second_signal_aborts_at_once", func(t *testing.T) {
		t.Parallel()
		stallCase(t, h, "second")
	})
}

// BatchedInput is 5 batches of 1000 records of stream "t" (id, v), a
// state after each ({"pos":1000} ... {"pos":5000}); keyed: key_properties
// ["id"], else none (an append, where a batch loaded twice would show).
func BatchedInput(keyed bool) string {
	keys := ""
	if keyed {
		keys = `"id"`
	}
	var sb strings.Builder
	sb.WriteString(schemaMsg("t", `"id":{"type":"integer"},"v":{"type":"string"}`, keys) + "\n")
	for i := 1; i <= 5000; i++ {
		fmt.Fprintf(&sb, `{"type":"RECORD","stream":"t","record":{"id":%d,"v":"value %d"}}`+"\n", i, i)
		if i%1000 == 0 {
			fmt.Fprintf(&sb, `{"type":"STATE","value":{"pos":%d}}`+"\n", i)
		}
	}
	return sb.String()
}

func stallCase(t *testing.T, h FaultHarness, kind string) {
	cfg, schema := h.Config(t)
	p := faultproxy.New(t, h.ServerAddr(t))
	p.StallAt([]byte(h.LoadMarker()), 2, 2000)
	cfg = with(h.Via(t, cfg, p.Addr()), "batch_size_rows", 1000, "max_parallel_flushes", 1, "max_retries", 0)
	var want *regexp.Regexp
	name := strings.TrimSuffix(filepath.Base(h.Binary(t)), ".test")
	switch kind {
	case "timeout":
		cfg = with(cfg, "network_timeout_seconds", 2, "max_retries", 1, "retry_backoff_seconds", 0.1)
		want = regexp.MustCompile(`^` + name + `: error: loading 1000 records of stream "t" into t: .* \(gave up after 2 attempts, max_retries 1\); the first attempt failed with: .*(no reply from the server|the server took no data) for 2s: the connection is taken for dead`)
	case "sigterm":
		cfg = with(cfg, "network_timeout_seconds", 600, "shutdown_timeout_seconds", 1)
		want = regexp.MustCompile(`^` + name + `: error: interrupted by a signal, and the loads under way did not finish within shutdown_timeout_seconds \(1s\): loading 1000 records of stream "t" into t was abandoned before it committed$`)
	case "second":
		cfg = with(cfg, "network_timeout_seconds", 600, "shutdown_timeout_seconds", 600)
		want = regexp.MustCompile(`^` + name + `: error: aborted by a second signal: loading 1000 records of stream "t" into t was abandoned before it committed$`)
	}
	tp := StartTarget(t, h, cfg)
	tp.Write(BatchedInput(true), kind == "timeout")
	select {
	case <-p.Stalled():
	case <-tp.Done():
		t.Fatalf("the target ended before the stall: exit %d\nstderr:\n%s", tp.Code(), tp.Stderr())
	case <-time.After(hangLimit):
		t.Fatalf("the load never reached the stall; stderr:\n%s", tp.Stderr())
	}
	switch kind {
	case "sigterm":
		tp.Signal(syscall.SIGTERM)
	case "second":
		tp.Signal(syscall.SIGTERM)
		tp.WaitStderr(t, "interrupted: stopped reading")
		tp.Signal(syscall.SIGTERM)
	}
	signalled := time.Now()
	code := tp.Wait(t)
	t.Logf("exit %d %s after the stall engaged (and the signals, if any); stderr:\n%s", code, time.Since(signalled).Round(time.Millisecond), tp.Stderr())
	lines := strings.Split(strings.TrimSpace(tp.Stderr()), "\n")
	var errLines []string
	for _, l := range lines {
		if strings.Contains(l, ": error: ") {
			errLines = append(errLines, l)
		}
		if strings.HasPrefix(l, "[mysql]") || strings.Contains(l, "goroutine ") {
			t.Errorf("stderr has a driver or Go line: %q", l)
		}
	}
	if code != 1 || len(errLines) != 1 || errLines[0] != lines[len(lines)-1] || !want.MatchString(errLines[0]) {
		t.Errorf("exit %d, want 1 and one error line matching\n  %s\nstderr:\n%s", code, want, tp.Stderr())
	}
	if got := strings.Join(tp.States(), ","); got != `{"pos":1000}` {
		t.Errorf("states %q, want the state of the one committed batch", got)
	}
	expectRows(t, h.Rows(t, schema, "t", []string{"count(*)", "min(id)", "max(id)"}, ""), []string{"1000|1|1000"})
}

// TargetProcess is a target binary running with a config, its input open
// until CloseInput.
type TargetProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
	code  int

	mu     sync.Mutex
	stdout []string
	stderr strings.Builder
	lineCh chan struct{} // signalled on each stderr line
}

// StartTarget starts h's binary with cfg; it is killed when the test ends.
func StartTarget(t *testing.T, h Harness, cfg map[string]any) *TargetProcess {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	tp := &TargetProcess{cmd: exec.Command(h.Binary(t), "--config", path), done: make(chan struct{}), lineCh: make(chan struct{}, 1)}
	var err error
	if tp.stdin, err = tp.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, _ := tp.cmd.StdoutPipe()
	errp, _ := tp.cmd.StderrPipe()
	if err := tp.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			tp.mu.Lock()
			tp.stdout = append(tp.stdout, sc.Text())
			tp.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(errp)
		for sc.Scan() {
			tp.mu.Lock()
			tp.stderr.WriteString(sc.Text() + "\n")
			tp.mu.Unlock()
			select {
			case tp.lineCh <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		wg.Wait()
		err := tp.cmd.Wait()
		tp.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			tp.code = ee.ExitCode()
		} else if err != nil {
			tp.code = -1
		}
		close(tp.done)
	}()
	t.Cleanup(func() {
		tp.cmd.Process.Kill()
		<-tp.done
	})
	return tp
}

// Write writes input to the target's stdin in the background (the target
// may not read it all), then closes it if end is set.
func (tp *TargetProcess) Write(input string, end bool) {
	go func() {
		io.WriteString(tp.stdin, input)
		if end {
			tp.stdin.Close()
		}
	}()
}

// Signal sends sig to the target.
func (tp *TargetProcess) Signal(sig os.Signal) { tp.cmd.Process.Signal(sig) }

// Done is closed when the target has exited.
func (tp *TargetProcess) Done() <-chan struct{} { return tp.done }

// Code is the exit code (after Done).
func (tp *TargetProcess) Code() int { return tp.code }

// Wait waits for the target to exit, failing the test if it has not
// within hangLimit, and returns its exit code.
func (tp *TargetProcess) Wait(t *testing.T) int {
	t.Helper()
	select {
	case <-tp.done:
		return tp.code
	case <-time.After(hangLimit):
		t.Fatalf("the target did not exit within %s (hung); stderr:\n%s", hangLimit, tp.Stderr())
	}
	return 0
}

// WaitStderr waits until stderr has a line containing s.
func (tp *TargetProcess) WaitStderr(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(hangLimit)
	for !strings.Contains(tp.Stderr(), s) {
		select {
		case <-tp.lineCh:
		case <-tp.done:
			if !strings.Contains(tp.Stderr(), s) {
				t.Fatalf("the target exited (code %d) before logging %q; stderr:\n%s", tp.code, s, tp.Stderr())
			}
		case <-deadline:
			t.Fatalf("no %q on stderr within %s; stderr:\n%s", s, hangLimit, tp.Stderr())
		}
	}
}

// Stderr is what the target wrote on stderr so far.
func (tp *TargetProcess) Stderr() string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.stderr.String()
}

// States are the state lines the target wrote on stdout so far.
func (tp *TargetProcess) States() []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]string(nil), tp.stdout...)
}

// With returns a copy of cfg with the given keys and values set.
func With(cfg map[string]any, kv ...any) map[string]any { return with(cfg, kv...) }

package runner

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

func startSinger(t *testing.T, path string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	bin := sqltargettest.BuildBinary(t, "singer")
	cmd := exec.Command(bin, "run", "--project", path, "p1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

func stateIs(dir, want string) func() bool {
	return func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "state", "p1.state.json"))
		return string(b) == want+"\n"
	}
}

// TestSIGTERMDrains: SIGTERM stops the tap first; the target commits what
// it read; the state is saved; exit 1.
func TestSIGTERMDrains(t *testing.T) {
	dir, path := writeProject(t, "")
	t.Setenv("TAP_BLOCK_AFTER", "3")
	t.Setenv("TAP_PID_FILE", filepath.Join(dir, "tap.pid"))
	cmd, stderr := startSinger(t, path)
	testenv.WaitFor(t, "the state of row 3", stateIs(dir, `{"pos":3}`))
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if exitCode(err) != 1 {
		t.Fatalf("exit %v\n%s", err, stderr)
	}
	for _, want := range []string{"interrupted: stopping counter; lines finishes what it read", "lines | target done", "p1: interrupted in"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if got := readLines(t, filepath.Join(dir, "out.jsonl")); len(got) != 3 {
		t.Fatalf("records %q", got)
	}
	if strings.Contains(stderr.String(), planted) {
		t.Fatal("the planted password leaked")
	}
}

// TestSIGKILLThenRerun: a runner killed mid-run takes its children with
// it and leaves no lock; the rerun resumes from the saved state and every
// row is there.
func TestSIGKILLThenRerun(t *testing.T) {
	dir, path := writeProject(t, "")
	t.Setenv("TAP_BLOCK_AFTER", "3")
	pidFile := filepath.Join(dir, "tap.pid")
	t.Setenv("TAP_PID_FILE", pidFile)
	cmd, _ := startSinger(t, path)
	testenv.WaitFor(t, "the state of row 3", stateIs(dir, `{"pos":3}`))
	testenv.WaitFor(t, "the tap's pid", func() bool { b, _ := os.ReadFile(pidFile); return len(b) > 0 })
	cmd.Process.Kill()
	cmd.Wait()
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	testenv.WaitFor(t, "the tap to die with the runner", func() bool {
		// A zombie (state Z) is dead too: its parent is gone.
		s, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return err != nil || strings.Contains(string(s), ") Z ")
	})

	t.Setenv("TAP_BLOCK_AFTER", "")
	code, _, stderr := runMain(t, "run", "--project", path, "p1")
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, stderr)
	}
	ids := map[string]bool{}
	for _, l := range readLines(t, filepath.Join(dir, "out.jsonl")) {
		i := strings.Index(l, `"id":`)
		ids[l[i+5:strings.IndexByte(l[i:], ',')+i]] = true
	}
	if len(ids) != 5 || !ids["1"] || !ids["5"] {
		t.Fatalf("ids landed %v", ids)
	}
	if !strings.Contains(stderr, "records: items 2;") {
		t.Fatalf("the rerun did not resume from the state:\n%s", stderr)
	}
}

// TestConcurrentRunsOneWins: two singer run processes of one pipeline
// started together: exactly one runs, the other exits 3 at once with one
// line and touches nothing; the rows are those of one run.
func TestConcurrentRunsOneWins(t *testing.T) {
	dir, path := writeProject(t, "")
	t.Setenv("TAP_BLOCK_AFTER", "3")
	t.Setenv("TAP_PID_FILE", filepath.Join(dir, "tap.pid"))
	a, errA := startSinger(t, path)
	b, errB := startSinger(t, path)
	done := make(chan struct {
		i    int
		code int
	}, 2)
	for i, c := range []*exec.Cmd{a, b} {
		go func() { done <- struct{ i, code int }{i, exitCode(c.Wait())} }()
	}
	first := <-done
	if first.code != ExitLocked {
		t.Fatalf("the first process to end exited %d, want %d (locked)\n%s\n%s", first.code, ExitLocked, errA, errB)
	}
	loser, winner := []*bytes.Buffer{errA, errB}[first.i], []*exec.Cmd{a, b}[1-first.i]
	if got := loser.String(); got != "singer run | another run of p1 is in progress (it holds the lock); this run did not start\n" {
		t.Errorf("the refused run's stderr: %q", got)
	}
	testenv.WaitFor(t, "the state of row 3", stateIs(dir, `{"pos":3}`))
	winner.Process.Signal(syscall.SIGTERM)
	if second := <-done; second.code != 1 {
		t.Fatalf("the running one exited %d after SIGTERM, want 1", second.code)
	}
	if got := readLines(t, filepath.Join(dir, "out.jsonl")); len(got) != 3 {
		t.Fatalf("records %q, want the 3 of one run", got)
	}
}

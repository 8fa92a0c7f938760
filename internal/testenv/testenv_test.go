package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissing runs a test that misses its environment in a child process,
// once as a developer would and once under CI=true, and checks the verdicts.
func TestMissing(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Missing(t, "the server is down (%s)", "test")
		t.Error("Missing returned")
		return
	}
	for _, c := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{"", false, "--- SKIP: TestMissing"},
		{"false", false, "--- SKIP: TestMissing"},
		{"true", true, "missing environment (CI=true, so this fails instead of skipping): the server is down (test)"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+c.ci)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != c.wantFail {
			t.Errorf("CI=%q: failed=%v, want %v:\n%s", c.ci, failed, c.wantFail, out)
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("CI=%q: output lacks %q:\n%s", c.ci, c.want, out)
		}
		if !strings.Contains(string(out), "the server is down (test)") {
			t.Errorf("CI=%q: the reason is not printed:\n%s", c.ci, out)
		}
	}
}

func TestRequireOK(t *testing.T) {
	Require(t, true, "never printed")
}

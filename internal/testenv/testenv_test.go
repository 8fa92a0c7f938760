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

func TestServerDefaults(t *testing.T) {
	t.Setenv("TEST_POSTGRES_URL", "")
	t.Setenv("TEST_MYSQL_URL", "")
	if got := PostgresURL(); got != "postgres://root@127.0.0.1:5432/test?sslmode=disable" {
		t.Errorf("PostgresURL() = %q", got)
	}
	if got := MySQLDSN(); got != "root@tcp(127.0.0.1:3306)/test" {
		t.Errorf("MySQLDSN() = %q", got)
	}
	t.Setenv("TEST_POSTGRES_URL", "postgres://u@h/db")
	t.Setenv("TEST_MYSQL_URL", "u@tcp(h:1)/db")
	if PostgresURL() != "postgres://u@h/db" || MySQLDSN() != "u@tcp(h:1)/db" {
		t.Errorf("the variables were not taken: %q %q", PostgresURL(), MySQLDSN())
	}
}

func TestWaitFor(t *testing.T) {
	n := 0
	WaitFor(t, "the third check", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Errorf("cond ran %d times, want 3", n)
	}
}

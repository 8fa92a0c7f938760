package singer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	got := Redact("dial user:s3cret@h failed (dsn user:s3cret@h)", "s3cret", "ab", "")
	if got != "dial user:***@h failed (dsn user:***@h)" {
		t.Errorf("got %q", got)
	}
}

func TestKeywordDSN(t *testing.T) {
	got := KeywordDSN("host", "db.example", "port", "5432", "user", "", "password", `it's a \ pw`)
	if want := `host='db.example' port='5432' password='it\'s a \\ pw'`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestTLSConfigProblems(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tc, problems := TLSConfig("db", TLSFiles{CA: notPEM, Cert: "c.pem"}, false)
	if tc.ServerName != "db" {
		t.Errorf("server name %q", tc.ServerName)
	}
	want := []string{"ssl_ca: " + notPEM + " holds no PEM certificate", "ssl_cert and ssl_key go together: set both or neither"}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems %q, want %q", problems, want)
	}
	_, problems = TLSConfig("db", TLSFiles{CA: filepath.Join(dir, "missing.pem")}, false)
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "ssl_ca: open ") {
		t.Errorf("problems %q", problems)
	}
}

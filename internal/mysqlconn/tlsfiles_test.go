package mysqlconn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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

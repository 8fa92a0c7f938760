package mysql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/mariadbtest"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestTLS: target-mysql against a server of its own with a certificate
// from a test CA and require_secure_transport on, so that only a TLS
// connection loads anything. Any TLS key given means TLS, verified; with a
// dsn the ssl keys apply too; contradictions are one config line, exit 2.
// Each loading run also records the Ssl_cipher of its own session.
func TestTLS(t *testing.T) {
	certDir := t.TempDir()
	ca, cert, key, otherCA, _, _ := mariadbtest.TestCerts(t, certDir)
	s := mariadbtest.Start(t, "--ssl-ca="+ca, "--ssl-cert="+cert, "--ssl-key="+key)
	s.Exec(t, "SET GLOBAL require_secure_transport = ON")
	addr := fmt.Sprintf("127.0.0.1:%d", s.Port)
	input := strings.Join([]string{
		`{"type":"SCHEMA","stream":"t","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}`,
		`{"type":"RECORD","stream":"t","record":{"id":1}}`,
		`{"type":"STATE","value":{"n":1}}`,
	}, "\n") + "\n"
	seq := 0
	config := func(kv ...any) (map[string]any, string) {
		seq++
		db := fmt.Sprintf("tls_%d", seq)
		s.Exec(t, "CREATE DATABASE "+db)
		cfg := map[string]any{"host": "127.0.0.1", "port": s.Port, "user": "root", "database": db,
			"max_parallel_flushes": 1,
			"session_sqls":         []string{"CREATE TABLE IF NOT EXISTS " + db + ".cipher AS SELECT VARIABLE_VALUE AS c FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'"}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(cfg, kv[i].(string))
			} else {
				cfg[kv[i].(string)] = kv[i+1]
			}
		}
		return cfg, db
	}
	dsn := func(params string) string { return "root@tcp(" + addr + ")/%s" + params }

	loads := []struct {
		name string
		kv   []any
	}{
		{"ssl_ca alone", []any{"ssl_ca", ca}},
		{"ssl true and ssl_ca", []any{"ssl", true, "ssl_ca", ca}},
		{"dsn and ssl_ca", []any{"dsn", dsn(""), "host", nil, "port", nil, "user", nil}},
		{"ssl skip-verify", []any{"ssl", "skip-verify"}},
	}
	for _, c := range loads {
		t.Run(c.name, func(t *testing.T) {
			cfg, db := config(c.kv...)
			if d, ok := cfg["dsn"].(string); ok {
				cfg["dsn"] = fmt.Sprintf(d, db)
				cfg["ssl_ca"] = ca
			}
			r := sqltargettest.Run(t, harness{}, cfg, input)
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
			if r.Stdout != `{"n":1}`+"\n" {
				t.Errorf("stdout %q", r.Stdout)
			}
			var n int
			var cipher string
			if err := s.DB.QueryRow("SELECT (SELECT count(*) FROM "+db+".t WHERE id = 1), (SELECT c FROM "+db+".cipher)").Scan(&n, &cipher); err != nil {
				t.Fatal(err)
			}
			if n != 1 || cipher == "" {
				t.Errorf("rows %d, the target's session cipher %q: want 1 row over TLS", n, cipher)
			}
		})
	}

	refused := []struct {
		name string
		kv   []any
		want string
	}{
		{"ssl false and ssl_ca", []any{"ssl", false, "ssl_ca", ca},
			"target-mysql: error: invalid config: ssl is false, but ssl_ca is set: set ssl to true to connect with TLS, or remove ssl_ca"},
		{"dsn with its own tls and ssl keys", []any{"dsn", "root@tcp(" + addr + ")/x?tls=skip-verify", "ssl_ca", ca},
			"target-mysql: error: invalid config: dsn has tls=skip-verify and ssl_ca is set too: give TLS in one place (the ssl keys without tls in the dsn, or the dsn's tls parameter alone)"},
		{"another CA", []any{"ssl_ca", otherCA},
			"target-mysql: error: invalid config: connecting to MySQL at " + addr + ": TLS: the server's certificate is not signed by a CA of ssl_ca (x509: certificate signed by unknown authority): set ssl_ca to the CA that signed it"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			cfg, _ := config(c.kv...)
			r := sqltargettest.Run(t, harness{}, cfg, input)
			if r.Code != cli.ExitUsage || strings.TrimSpace(r.Stderr) != c.want || r.Stdout != "" {
				t.Errorf("exit %d stdout %q stderr:\n%s\nwant exit 2 and:\n%s", r.Code, r.Stdout, r.Stderr, c.want)
			}
		})
	}
}

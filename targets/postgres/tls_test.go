package postgres

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/mariadbtest"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestTLSPolicy: a certificate file given means TLS, verified. The test
// server's certificate is not signed by the CA the test makes, so a run
// with that CA as sslrootcert must fail to connect (libpq's default
// sslmode, prefer, used to connect anyway, unverified); sslmode values
// that allow plaintext next to sslrootcert, and TLS keys next to url, are
// config errors (exit 2); with the server's own certificate as the root,
// the run loads over verified TLS.
func TestTLSPolicy(t *testing.T) {
	conn := connect(t)
	var ssl, certFile string
	if err := conn.QueryRow(context.Background(), "SELECT current_setting('ssl'), current_setting('ssl_cert_file')").Scan(&ssl, &certFile); err != nil {
		t.Fatal(err)
	}
	ca, _, _, _, _, _ := mariadbtest.TestCerts(t, t.TempDir())
	input := `{"type":"SCHEMA","stream":"t","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}` + "\n" +
		`{"type":"RECORD","stream":"t","record":{"id":1}}` + "\n" + `{"type":"STATE","value":{"n":1}}` + "\n"
	h := harness{}
	keys := func(cfg map[string]any, kv ...any) map[string]any {
		cfg["host"], cfg["user"], cfg["dbname"], cfg["port"] = "localhost", "postgres", "test", 5432
		if u, ok := cfg["url"].(string); ok && strings.Contains(u, "@127.0.0.1:") {
			// The shared server's address, from TEST_POSTGRES_URL's default.
			delete(cfg, "url")
		}
		for i := 0; i < len(kv); i += 2 {
			cfg[kv[i].(string)] = kv[i+1]
		}
		return cfg
	}

	t.Run("sslrootcert of another CA alone", func(t *testing.T) {
		if ssl != "on" {
			skip(t, "the test server has ssl off: a plaintext connection fails either way")
		}
		cfg, _ := h.Config(t)
		r := sqltargettest.Run(t, h, keys(cfg, "sslrootcert", ca), input)
		if r.Code == 0 || r.Stdout != "" || !strings.Contains(r.Stderr, "certificate") || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("exit %d stdout %q stderr %q: want a failed certificate check", r.Code, r.Stdout, r.Stderr)
		}
	})
	t.Run("sslrootcert of the server", func(t *testing.T) {
		if ssl != "on" {
			skip(t, "the test server has ssl off")
		}
		if why := selfSignedFor(certFile, "localhost"); why != "" {
			skip(t, "the server's certificate cannot serve as its own CA here: "+why)
		}
		cfg, schema := h.Config(t)
		r := sqltargettest.Run(t, h, keys(cfg, "sslrootcert", certFile), input)
		if r.Code != 0 {
			t.Fatalf("exit %d: %s", r.Code, r.Stderr)
		}
		if got := strings.Join(h.Rows(t, schema, "t", []string{"id"}, "id"), ","); got != "1" || r.Stdout != `{"n":1}`+"\n" {
			t.Errorf("rows %q stdout %q", got, r.Stdout)
		}
	})
	refused := []struct {
		name string
		kv   []any
		want string
	}{
		{"sslmode prefer and sslrootcert", []any{"sslmode", "prefer", "sslrootcert", ca},
			"target-postgres: error: invalid config: sslmode prefer may connect without TLS, but sslrootcert is set: set sslmode to verify-full (or verify-ca, or require), or remove sslrootcert"},
		{"sslmode disable and a client certificate", []any{"sslmode", "disable", "sslcert", ca, "sslkey", ca},
			"target-postgres: error: invalid config: sslmode disable may connect without TLS, but sslcert, sslkey is set: set sslmode to verify-full (or verify-ca, or require), or remove sslcert, sslkey"},
		{"url and ssl keys", []any{"url", "postgres://postgres@localhost/test", "sslrootcert", ca},
			"target-postgres: error: invalid config: url and sslrootcert are both set: the url replaces the connection keys, so put TLS in its query (?sslmode=verify-full&sslrootcert=...), or use host, port, user and dbname instead of url"},
		{"url with sslrootcert and sslmode prefer", []any{"url", "postgres://postgres@localhost/test?sslmode=prefer&sslrootcert=" + ca},
			"target-postgres: error: invalid config: sslmode prefer may connect without TLS, but sslrootcert is set: set sslmode to verify-full (or verify-ca, or require), or remove sslrootcert"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			cfg, _ := h.Config(t)
			r := sqltargettest.Run(t, h, keys(cfg, c.kv...), input)
			if r.Code != cli.ExitUsage || strings.TrimSpace(r.Stderr) != c.want || r.Stdout != "" {
				t.Errorf("exit %d stdout %q stderr:\n%s\nwant exit 2 and:\n%s", r.Code, r.Stdout, r.Stderr, c.want)
			}
		})
	}
}

func skip(t *testing.T, why string) {
	t.Helper()
	testenv.Missing(t, "%s", why)
}

// selfSignedFor tells why the PEM certificate file does not verify as its
// own root for host ("" if it does).
func selfSignedFor(path, host string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return path + " holds no PEM certificate"
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err.Error()
	}
	roots := x509.NewCertPool()
	roots.AddCert(c)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
		return err.Error()
	}
	return ""
}

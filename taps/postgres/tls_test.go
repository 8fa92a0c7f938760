package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/mariadbtest"
	"github.com/singerkit/singerkit/internal/testenv"
)

// TestTLSPolicy: tap-postgres follows target-postgres' TLS policy
// (pgdsn.SSL): sslrootcert alone means verify-full, so a CA that
// did not sign the server's certificate fails the connection (prefer used
// to connect unverified), and sslmode prefer next to it is a config error.
func TestTLSPolicy(t *testing.T) {
	conn := connect(t)
	var ssl string
	if err := conn.QueryRow(context.Background(), "SELECT current_setting('ssl')").Scan(&ssl); err != nil {
		t.Fatal(err)
	}
	ca, _, _, _, _, _ := mariadbtest.TestCerts(t, t.TempDir())
	run := func(t *testing.T, cfg map[string]any) (int, string, string) {
		b, _ := json.Marshal(cfg)
		p := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var out, stderr bytes.Buffer
		code := cli.RunTap(context.Background(), Spec(), []string{"--config", p, "--discover"}, nil, &out, &stderr)
		return code, out.String(), stderr.String()
	}
	base := func(kv ...any) map[string]any {
		cfg := map[string]any{"host": "localhost", "port": 5432, "user": "postgres", "dbname": "test", "filter_schemas": []string{"no_such_schema_x"}}
		for i := 0; i < len(kv); i += 2 {
			cfg[kv[i].(string)] = kv[i+1]
		}
		return cfg
	}
	t.Run("sslrootcert of another CA alone", func(t *testing.T) {
		if ssl != "on" {
			testenv.Missing(t, "the test server has ssl off: a plaintext connection fails either way")
		}
		code, out, stderr := run(t, base("sslrootcert", ca))
		if code == 0 || out != "" || !strings.Contains(stderr, "certificate") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("exit %d stdout %q stderr %q: want a failed certificate check", code, out, stderr)
		}
	})
	t.Run("sslmode prefer and sslrootcert", func(t *testing.T) {
		code, out, stderr := run(t, base("sslmode", "prefer", "sslrootcert", ca))
		want := "tap-postgres: error: invalid config: sslmode prefer may connect without TLS, but sslrootcert is set: set sslmode to verify-full (or verify-ca, or require), or remove sslrootcert\n"
		if code != cli.ExitUsage || out != "" || stderr != want {
			t.Errorf("exit %d stdout %q stderr %q, want 2 and %q", code, out, stderr, want)
		}
	})
}

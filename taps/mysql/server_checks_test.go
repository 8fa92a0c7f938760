package mysql

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
)

// tapFiles writes a config and, after a --discover through the command
// line, a catalog with stream id selected LOG_BASED; it returns their
// paths.
func tapFiles(t *testing.T, dir string, config map[string]any, id string) (cfgPath, catPath string) {
	t.Helper()
	cfgPath = writeConfig(t, dir, "config.json", config)
	code, out, stderr := runTap(t, "--config", cfgPath, "--discover")
	if code != 0 {
		t.Fatalf("--discover: exit %d: %s", code, stderr)
	}
	cat, err := singer.ReadCatalog(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	e := cat.Stream(id)
	if e == nil {
		t.Fatalf("discovery has no stream %q: %s", id, out)
	}
	e.Metadata.SetSelected(nil, true)
	e.Metadata.SetReplicationMethod(singer.ReplicationLogBased)
	b, err := json.Marshal(cat)
	if err != nil {
		t.Fatal(err)
	}
	catPath = filepath.Join(dir, "catalog.json")
	if err := os.WriteFile(catPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, catPath
}

// TestMy5BinlogSettings: LOG_BASED against real servers whose binlog is
// off, or not ROW with full images: one line on stderr that says what to
// change, exit 2, nothing on stdout.
func TestMy5BinlogSettings(t *testing.T) {
	cases := []struct {
		name string
		args []string
		set  string // run on the server before the tap
		want string
	}{
		{"binlog off", []string{"--binlog-format=ROW"}, "",
			"tap-mysql: error: invalid config: LOG_BASED needs the binary log: start the server with log_bin (e.g. log_bin=mysql-bin in my.cnf) and restart it"},
		{"statement format", []string{"--log-bin=mysql-bin", "--server-id=7", "--binlog-format=STATEMENT"}, "",
			"tap-mysql: error: invalid config: LOG_BASED needs binlog_format=ROW, the server has STATEMENT: set binlog_format=ROW in my.cnf (or SET GLOBAL binlog_format='ROW')"},
		{"statement format and minimal images", []string{"--log-bin=mysql-bin", "--server-id=7", "--binlog-format=STATEMENT"}, "SET GLOBAL binlog_row_image = 'MINIMAL'",
			"tap-mysql: error: invalid config (2 problems): LOG_BASED needs binlog_format=ROW, the server has STATEMENT: set binlog_format=ROW in my.cnf (or SET GLOBAL binlog_format='ROW'); LOG_BASED needs binlog_row_image=FULL, the server has MINIMAL: set binlog_row_image=FULL in my.cnf (or SET GLOBAL binlog_row_image='FULL')"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startServer(t, c.args...)
			s.exec(t, "CREATE DATABASE my5_db", "CREATE TABLE my5_db.my5_t (id int PRIMARY KEY)", "INSERT INTO my5_db.my5_t VALUES (1)")
			if c.set != "" {
				s.exec(t, c.set)
			}
			cfg, cat := tapFiles(t, t.TempDir(), map[string]any{"host": "127.0.0.1", "port": s.port, "user": "root", "database": "my5_db"}, "my5_db-my5_t")
			code, out, stderr := runTap(t, "--config", cfg, "--catalog", cat)
			wantUsageLine(t, code, out, stderr, c.want)
		})
	}
}

// TestMy5TLS: a server with a certificate from a CA made by the test. ssl
// with that CA connects (discovery, a snapshot and the binlog, also when
// the server requires secure transport); another CA fails with one line,
// exit 2; without ssl a server requiring it refuses with one line.
func TestMy5TLS(t *testing.T) {
	certDir := t.TempDir()
	ca, cert, key, otherCA, clientCert, clientKey := testCerts(t, certDir)
	s := startServer(t, "--ssl-ca="+ca, "--ssl-cert="+cert, "--ssl-key="+key,
		"--log-bin=mysql-bin", "--server-id=7", "--binlog-format=ROW")
	s.exec(t, "CREATE DATABASE my5_db", "CREATE TABLE my5_db.my5_t (id int PRIMARY KEY, v varchar(5))", "INSERT INTO my5_db.my5_t VALUES (1, 'a')")
	var haveSSL string
	if err := s.db.QueryRow("SELECT @@have_ssl").Scan(&haveSSL); err != nil || haveSSL != "YES" {
		t.Fatalf("the test server has have_ssl=%s (%v): see its error.log in %s", haveSSL, err, s.dir)
	}
	base := map[string]any{"host": "127.0.0.1", "port": s.port, "user": "root", "database": "my5_db"}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	addr := fmt.Sprintf("127.0.0.1:%d", s.port)
	s.exec(t, "SET GLOBAL require_secure_transport = ON")

	t.Run("ssl with the CA", func(t *testing.T) {
		dir := t.TempDir()
		cfg, cat := tapFiles(t, dir, with("ssl", true, "ssl_ca", ca, "binlog_idle_seconds", 0.7), "my5_db-my5_t")
		code, out, stderr := runTap(t, "--config", cfg, "--catalog", cat)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(out, `"record":{"id":1,"v":"a"}`) {
			t.Errorf("no snapshot record over TLS:\n%s", out)
		}
		// The binlog over TLS: a change after the snapshot.
		lines := strings.Split(strings.TrimSpace(out), "\n")
		state := lastState(t, lines)
		raw, _ := state.MarshalJSON()
		statePath := filepath.Join(dir, "state.json")
		if err := os.WriteFile(statePath, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		s.exec(t, "INSERT INTO my5_db.my5_t VALUES (2, 'b')")
		code, out, stderr = runTap(t, "--config", cfg, "--catalog", cat, "--state", statePath)
		if code != 0 {
			t.Fatalf("binlog run: exit %d: %s", code, stderr)
		}
		if got := changeRecords(t, strings.Split(strings.TrimSpace(out), "\n")); got != `{"id":2,"v":"b","_sdc_deleted_at":null}` {
			t.Errorf("binlog over TLS gave %s", got)
		}
	})

	// A user the server only lets in with a client certificate of its CA.
	s.exec(t, "CREATE USER my5_x509 IDENTIFIED BY 'my5-pw' REQUIRE SUBJECT '/CN=my5_client'", "GRANT SELECT, REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO my5_x509")
	t.Run("client certificate", func(t *testing.T) {
		dir := t.TempDir()
		cfg, cat := tapFiles(t, dir, with("user", "my5_x509", "password", "my5-pw", "ssl", true, "ssl_ca", ca,
			"ssl_cert", clientCert, "ssl_key", clientKey, "binlog_idle_seconds", 0.7), "my5_db-my5_t")
		code, out, stderr := runTap(t, "--config", cfg, "--catalog", cat)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(out, `"record":{"id":1,"v":"a"}`) {
			t.Errorf("no record with the client certificate:\n%s", out)
		}
		// Without the certificate the server refuses the user.
		cfg = writeConfig(t, dir, "no-cert.json", with("user", "my5_x509", "password", "my5-pw", "ssl", true, "ssl_ca", ca))
		code, _, stderr = runTap(t, "--config", cfg, "--discover")
		if code != cli.ExitRuntime || !strings.Contains(stderr, "Access denied for user 'my5_x509'") || strings.Contains(stderr, "my5-pw") {
			t.Errorf("without the client certificate: exit %d: %s", code, stderr)
		}
	})

	// A dsn takes the ssl keys too (they used to be ignored with a dsn);
	// ssl_ca alone means TLS.
	t.Run("dsn and ssl_ca", func(t *testing.T) {
		dir := t.TempDir()
		cfg := writeConfig(t, dir, "config.json", map[string]any{"dsn": s.dsn("root", "", "my5_db"), "ssl_ca": ca})
		code, out, stderr := runTap(t, "--config", cfg, "--discover")
		if code != 0 || !strings.Contains(out, `"my5_t"`) {
			t.Errorf("exit %d: %s\n%s", code, stderr, out)
		}
	})

	cases := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"ssl false and ssl_ca", with("ssl", false, "ssl_ca", ca),
			"tap-mysql: error: invalid config: ssl is false, but ssl_ca is set: set ssl to true to connect with TLS, or remove ssl_ca"},
		{"dsn with its own tls and ssl keys", map[string]any{"dsn": s.dsn("root", "", "my5_db") + "?tls=skip-verify", "ssl_ca": ca},
			"tap-mysql: error: invalid config: dsn has tls=skip-verify and ssl_ca is set too: give TLS in one place (the ssl keys without tls in the dsn, or the dsn's tls parameter alone)"},
		{"another CA", with("ssl", true, "ssl_ca", otherCA),
			"tap-mysql: error: invalid config: connecting to MySQL at " + addr + ": TLS: the server's certificate is not signed by a CA of ssl_ca (x509: certificate signed by unknown authority): set ssl_ca to the CA that signed it"},
		{"no CA, so the system's", with("ssl", true),
			"tap-mysql: error: invalid config: connecting to MySQL at " + addr + ": TLS: the server's certificate is not signed by a CA of the system's trust store (x509: certificate signed by unknown authority): set ssl_ca to the CA that signed it"},
		// MariaDB refuses it as it refuses a wrong password: exit 1, as
		// every authentication failure, with the hint.
		{"no ssl, the server requires it", base,
			"tap-mysql: error: connecting to MySQL: Error 1045 (28000): Access denied for user 'root'@'127.0.0.1' (using password: NO) (a server that requires TLS refuses a plain connection so too: if it does, set ssl to true and ssl_ca to the CA of its certificate)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, dir, "config.json", c.config)
			code, out, stderr := runTap(t, "--config", cfg, "--discover")
			if !strings.Contains(c.want, "invalid config") {
				if code != cli.ExitRuntime || strings.TrimSuffix(stderr, "\n") != c.want || out != "" {
					t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 1 and\n%s", code, out, stderr, c.want)
				}
				return
			}
			wantUsageLine(t, code, out, stderr, c.want)
		})
	}
}

// TestMy5AlterWithoutColumnNames: a server that logs no column names
// (binlog_row_metadata=NO_LOG, the default): the run says so on stderr,
// and a row logged before a column was added stops it with one line that
// says what to set, exit 2.
func TestMy5AlterWithoutColumnNames(t *testing.T) {
	s := startServer(t, "--log-bin=mysql-bin", "--server-id=7", "--binlog-format=ROW", "--binlog-row-metadata=NO_LOG")
	s.exec(t, "CREATE DATABASE my5_db", "CREATE TABLE my5_db.my5_t (id int PRIMARY KEY, v varchar(5))", "INSERT INTO my5_db.my5_t VALUES (1, 'a')")
	dir := t.TempDir()
	cfg, cat := tapFiles(t, dir, map[string]any{"host": "127.0.0.1", "port": s.port, "user": "root", "database": "my5_db", "binlog_idle_seconds": 0.7}, "my5_db-my5_t")
	code, out, stderr := runTap(t, "--config", cfg, "--catalog", cat)
	if code != 0 {
		t.Fatalf("snapshot: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "LOG_BASED: binlog_row_metadata is NO_LOG, so binlog rows carry no column names") {
		t.Errorf("stderr does not tell about binlog_row_metadata:\n%s", stderr)
	}
	raw, _ := lastState(t, strings.Split(strings.TrimSpace(out), "\n")).MarshalJSON()
	statePath := filepath.Join(dir, "state.json")
	if err := os.WriteFile(statePath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s.exec(t, "INSERT INTO my5_db.my5_t VALUES (2, 'b')", "ALTER TABLE my5_db.my5_t ADD COLUMN w int", "INSERT INTO my5_db.my5_t VALUES (3, 'c', 3)")
	code, _, stderr = runTap(t, "--config", cfg, "--catalog", cat, "--state", statePath)
	if code != cli.ExitUsage {
		t.Errorf("exit %d, want %d", code, cli.ExitUsage)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	want := `tap-mysql: error: LOG_BASED: stream "my5_db-my5_t": the binlog row has 2 columns, discovery found 3 (the table changed) and the binlog carries no column names: set binlog_row_metadata=FULL on the server (MariaDB 10.5+, MySQL 8.0.1+) to follow column changes, then remove the stream's bookmark from the state to resync it`
	if got := lines[len(lines)-1]; got != want {
		t.Errorf("stderr ends with\n%s\nwant\n%s", got, want)
	}
}

// writeConfig writes v as JSON to dir/name and returns the path.
func writeConfig(t *testing.T, dir, name string, config any) string {
	t.Helper()
	b, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// wantUsageLine checks a run that stopped on a problem the user fixes: exit
// 2, nothing on stdout, exactly the line want on stderr.
func wantUsageLine(t *testing.T, code int, stdout, stderr, want string) {
	t.Helper()
	if code != cli.ExitUsage {
		t.Errorf("exit %d, want %d", code, cli.ExitUsage)
	}
	// A problem with the catalog or state adds the pointer to --help.
	if got := strings.TrimSuffix(strings.TrimSuffix(stderr, "\n"), "\nRun 'tap-mysql --help' for usage."); got != want {
		t.Errorf("stderr:\n%s\nwant\n%s", stderr, want)
	}
	if stdout != "" {
		t.Errorf("stdout: %s", stdout)
	}
}

// mustExec runs each statement on db, stopping the test on an error.
func mustExec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

package mysql

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/singerkit/singerkit/internal/testenv"
)

// TestBadConfig drives the command line with bad configs: one line on
// stderr naming the problem, the right exit code, no output, no password.
func TestBadConfig(t *testing.T) {
	connect(t)
	mc, err := mysqldrv.ParseDSN(testenv.MySQLDSN())
	if err != nil {
		t.Fatal(err)
	}
	host, port := "127.0.0.1", 3306
	if h, p, ok := strings.Cut(mc.Addr, ":"); ok {
		host = h
		json.Unmarshal([]byte(p), &port)
	}
	dir := t.TempDir()
	write := func(name string, v any) string { return writeConfig(t, dir, name, v) }
	cases := []struct {
		name   string
		config any
		code   int
		want   string
	}{
		// Cannot reach or authenticate: exit 1 (a retry may succeed); a
		// database that does not exist: exit 2 (the config names it).
		{"wrong password", map[string]any{"host": host, "port": port, "user": "no_such_user_x", "password": "s3cret-pw"}, cli.ExitRuntime, "connecting to MySQL: Error 1045"},
		{"unknown host", map[string]any{"host": "no-such-host.invalid", "port": port, "user": "u"}, cli.ExitRuntime, "connecting to MySQL at no-such-host.invalid:"},
		{"unknown database", map[string]any{"host": host, "port": port, "user": mc.User, "password": mc.Passwd, "database": "no_such_db_x"}, cli.ExitUsage, "connecting to MySQL: Error 1049"},
		{"bad session sql", map[string]any{"host": host, "port": port, "user": mc.User, "password": mc.Passwd, "session_sqls": []string{"SET nonsense"}}, cli.ExitUsage, `session_sqls: "SET nonsense"`},
		{"unreachable", map[string]any{"host": "127.0.0.1", "port": 1, "user": "u"}, cli.ExitRuntime, "connecting to MySQL at 127.0.0.1:1"},
		{"bad key", map[string]any{"chunk_size": 0}, cli.ExitUsage, "chunk_size"},
		{"ssl key without cert", map[string]any{"host": host, "ssl_key": "/nope"}, cli.ExitUsage, "ssl_cert and ssl_key go together"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, stderr bytes.Buffer
			code := cli.RunTap(context.Background(), Spec(), []string{"--config", write("c.json", c.config), "--discover"}, nil, &out, &stderr)
			if code != c.code {
				t.Errorf("exit %d, want %d: %s", code, c.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), c.want)
			}
			if strings.Contains(stderr.String(), "s3cret-pw") {
				t.Errorf("stderr shows the password: %s", stderr.String())
			}
			if out.Len() != 0 {
				t.Errorf("output: %s", out.String())
			}
		})
	}
}

// TestBadState: a state whose last_pk_fetched the stream's key cannot
// hold is refused before any output, with one line naming the stream and
// the key, exit 2.
func TestBadState(t *testing.T) {
	db := connect(t)
	name := testDB(t, db)
	mustExec(t, db, "CREATE TABLE "+quoteIdent(name)+".t (id int PRIMARY KEY, v varchar(10))")
	dir := t.TempDir()
	cfgPath, catPath := tapFiles(t, dir, map[string]any{"dsn": testConfig(t, name).DSN, "filter_dbs": []string{name}}, name+"-t")
	id := name + "-t"
	b, err := os.ReadFile(catPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(catPath, bytes.ReplaceAll(b, []byte(`"LOG_BASED"`), []byte(`"FULL_TABLE"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, pk, shown string }{
		{"not a number", `"abc"`, `"abc"`},
		{"an object", `{"n":1}`, `{"n":1}`},
		{"an array", `[1]`, `[1]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			state := writeConfig(t, dir, "state.json", json.RawMessage(`{"bookmarks":{"`+id+`":{"last_pk_fetched":{"id":`+c.pk+`},"version":1}}}`))
			var out, stderr bytes.Buffer
			code := cli.RunTap(context.Background(), Spec(), []string{"--config", cfgPath, "--catalog", catPath, "--state", state}, nil, &out, &stderr)
			wantUsageLine(t, code, out.String(), stderr.String(), `tap-mysql: error: catalog stream "`+id+`": state bookmark last_pk_fetched: key "id" holds `+c.shown+`, which is not a value of the column (int(11)): remove the stream's bookmarks from the state to read it again from the start`)
		})
	}
}

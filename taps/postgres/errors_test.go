package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// TestBadInput drives the binary's command line with bad configs, catalogs
// and states: one clear line on stderr each, the right exit code, no
// output.
func TestBadInput(t *testing.T) {
	conn := connect(t)
	schema := testSchema(t, conn)
	tbl := pgx.Identifier{schema, "t"}.Sanitize()
	if _, err := conn.Exec(context.Background(), "CREATE TABLE "+tbl+" (id integer PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mustJSON := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	good := write("good.json", mustJSON(map[string]any{"url": testenv.PostgresURL(), "filter_schemas": []string{schema}}))
	u, _ := url.Parse(testenv.PostgresURL())
	u.User = url.UserPassword("no_such_user_x", "s3cret-pw")
	badUser := write("baduser.json", mustJSON(map[string]any{"url": u.String()}))
	u, _ = url.Parse(testenv.PostgresURL())
	u.Path = "/no_such_db_x"
	badDB := write("baddb.json", mustJSON(map[string]any{"url": u.String()}))
	badKey := write("badkey.json", `{"url":"x","itersize":0}`)
	badPort := write("badport.json", `{"host":"127.0.0.1","port":1,"user":"root","password":"s3cret-pw","dbname":"test"}`)
	badState := write("bad.state", "{nope")
	badHost := write("badhost.json", `{"host":"no-such-host.invalid","user":"root","password":"s3cret-pw","dbname":"test"}`)

	var catBuf bytes.Buffer
	if code := cli.RunTap(context.Background(), Spec(), []string{"-c", good, "--discover"}, nil, &catBuf, os.Stderr); code != 0 {
		t.Fatalf("discover exit %d", code)
	}
	cat, err := singer.ReadCatalog(&catBuf)
	if err != nil {
		t.Fatal(err)
	}
	id := schema + "-t"
	sqltaptest.Select(t, cat, "", "", id)
	var b bytes.Buffer
	_ = cat.WriteJSON(&b)
	goodCat := write("cat.json", b.String())
	missing := *cat
	missing.Streams = append([]singer.CatalogEntry(nil), cat.Streams...)
	missing.Streams[0].TapStreamID = schema + "-gone"
	b.Reset()
	_ = missing.WriteJSON(&b)
	missingCat := write("missing.json", b.String())
	logView := write("incr.json", strings.Replace(mustJSONCatalog(t, cat, id), `"selected":true`, `"selected":true,"replication-method":"INCREMENTAL"`, 1))
	// A catalog naming a column the table does not have.
	var props map[string]any
	noCol := *cat
	noCol.Streams = append([]singer.CatalogEntry(nil), cat.Streams...)
	if err := json.Unmarshal(noCol.Streams[0].Schema, &props); err != nil {
		t.Fatal(err)
	}
	props["properties"].(map[string]any)["gone"] = map[string]any{"type": []string{"null", "string"}}
	noCol.Streams[0].Schema = []byte(mustJSON(props))
	noCol.Streams[0].Metadata.SetSelected(singer.PropertyBreadcrumb("gone"), true)
	b.Reset()
	_ = noCol.WriteJSON(&b)
	missingCol := write("missingcol.json", b.String())
	// An INCREMENTAL stream on "at", then "at" is dropped (case "dropped
	// replication key" drops it).
	ev := pgx.Identifier{schema, "ev"}.Sanitize()
	if _, err := conn.Exec(context.Background(), "CREATE TABLE "+ev+" (id integer PRIMARY KEY, at timestamptz)"); err != nil {
		t.Fatal(err)
	}
	var evBuf bytes.Buffer
	if code := cli.RunTap(context.Background(), Spec(), []string{"-c", good, "--discover"}, nil, &evBuf, os.Stderr); code != 0 {
		t.Fatalf("discover exit %d", code)
	}
	evCat, err := singer.ReadCatalog(&evBuf)
	if err != nil {
		t.Fatal(err)
	}
	evID := schema + "-ev"
	sqltaptest.Select(t, evCat, singer.ReplicationIncremental, "at", evID)
	b.Reset()
	_ = evCat.WriteJSON(&b)
	evCatPath := write("ev.json", b.String())

	// A LOG_BASED stream whose slot another process is reading.
	slot, pub := replicationNames(t, "busy")
	logCfg := write("log.json", mustJSON(map[string]any{"url": testenv.PostgresURL(), "filter_schemas": []string{schema}, "slot_name": slot, "publication_name": pub}))
	logCat := write("logcat.json", strings.Replace(mustJSONCatalog(t, cat, id), `"selected":true`, `"selected":true,"replication-method":"LOG_BASED"`, 1))
	busyState := ""
	holdSlot := func() {
		t.Helper()
		ctx := context.Background()
		var lsn string
		if err := conn.QueryRow(ctx, "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", slot).Scan(&lsn); err != nil {
			testenv.Missing(t, "cannot create a logical slot: %v", err)
		}
		if _, err := conn.Exec(ctx, "CREATE PUBLICATION "+quoteIdent(pub)+" FOR TABLE "+tbl); err != nil {
			t.Fatal(err)
		}
		cfg, err := pgconn.ParseConfig(testenv.PostgresURL())
		if err != nil {
			t.Fatal(err)
		}
		cfg.RuntimeParams["replication"] = "database"
		rconn, err := pgconn.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// replicationNames drops the slot once the walsender has let it go.
		t.Cleanup(func() { rconn.Close(context.Background()) })
		l, _ := pglogrepl.ParseLSN(lsn)
		if err := pglogrepl.StartReplication(ctx, rconn, slot, l, pglogrepl.StartReplicationOptions{PluginArgs: []string{"proto_version '1'", "publication_names '" + pub + "'"}}); err != nil {
			t.Fatal(err)
		}
		busyState = write("busy.state", fmt.Sprintf(`{"bookmarks":{%q:{"lsn":%d,"version":1}}}`, id, uint64(l)))
	}

	needNXDomain := func() {
		// Without a resolver that answers "no such host", skip (fail under CI=true).
		var dnsErr *net.DNSError
		if _, err := net.LookupHost("no-such-host.invalid"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			testenv.Missing(t, "the resolver does not answer NXDOMAIN here: %v", err)
		}
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		want   string // stderr must contain it, on one line
		before func()
		argsFn func() []string
		prefix bool // want is the start of the line (it holds a pid)
	}{
		// Cannot reach or authenticate: exit 1 (a retry may succeed: DNS,
		// the server, a password being rotated); a database that does not
		// exist: exit 2 (the config names it).
		{name: "unknown user", args: []string{"-c", badUser, "--discover"}, code: 1, want: `tap-postgres: error: connecting to PostgreSQL: role "no_such_user_x" does not exist (SQLSTATE 28000): check user and password in the config`},
		{name: "unknown database", args: []string{"-c", badDB, "--discover"}, code: 2, want: `tap-postgres: error: invalid config: connecting to PostgreSQL: database "no_such_db_x" does not exist (SQLSTATE 3D000): check dbname in the config`},
		{name: "config out of schema", args: []string{"-c", badKey, "--discover"}, code: 2, want: "tap-postgres: error: invalid config: itersize: must be >= 1 but found 0"},
		{name: "no catalog", args: []string{"-c", good}, code: 2, want: "tap-postgres: error: --catalog is required: run --discover, select streams, and pass the edited catalog"},
		{name: "missing table", args: []string{"-c", good, "--catalog", missingCat}, code: 2, want: `tap-postgres: error: catalog stream "` + schema + `-gone": no such table or view in the database (run --discover again)`},
		{name: "corrupt state", args: []string{"-c", good, "--catalog", goodCat, "--state", badState}, code: 2, want: "tap-postgres: error: cannot use state " + badState + ": " + badState + ": state is not valid JSON: invalid character 'n' looking for beginning of object key string"},
		{name: "state from another tap", args: []string{"-c", good, "--catalog", goodCat, "--state", write("other.state", `{"bookmarks":{"`+id+`":{"last_pk_fetched":{"code":1},"version":1}}}`)}, code: 2, want: `tap-postgres: error: catalog stream "` + id + `": state bookmark last_pk_fetched does not hold key "id" (a state from another tap or catalog?)`},
		{name: "incremental without key", args: []string{"-c", good, "--catalog", logView}, code: 2, want: `tap-postgres: error: catalog stream "` + id + `": INCREMENTAL needs a replication-key (one of the stream's valid-replication-keys)`},
		{name: "host refuses connections", args: []string{"-c", badPort, "--discover"}, code: 1,
			want: "tap-postgres: error: connecting to PostgreSQL at 127.0.0.1:1: connect: connection refused: check host and port in the config, and that the server is running and accepts TCP connections"},
		{name: "unknown host", before: needNXDomain, args: []string{"-c", badHost, "--discover"}, code: 1,
			want: `tap-postgres: error: connecting to PostgreSQL: host "no-such-host.invalid": no such host: check host in the config`},
		// A state that cannot be used is refused before any output.
		{name: "last_pk_fetched not of the key's type", args: []string{"-c", good, "--catalog", goodCat, "--state", write("badpk.state", `{"bookmarks":{"`+id+`":{"last_pk_fetched":{"id":"abc"},"version":1}}}`)}, code: 2,
			want: `tap-postgres: error: catalog stream "` + id + `": state bookmark last_pk_fetched: key "id" holds "abc", which is not a value of the column (integer): remove the stream's bookmarks from the state to read it again from the start`},
		{name: "last_pk_fetched an object", args: []string{"-c", good, "--catalog", goodCat, "--state", write("objpk.state", `{"bookmarks":{"`+id+`":{"last_pk_fetched":{"id":{"n":1}},"version":1}}}`)}, code: 2,
			want: `tap-postgres: error: catalog stream "` + id + `": state bookmark last_pk_fetched: key "id" holds {"n":1}, which is not a value of the column (integer): remove the stream's bookmarks from the state to read it again from the start`},
		{name: "last_pk_fetched out of range", args: []string{"-c", good, "--catalog", goodCat, "--state", write("bigpk.state", `{"bookmarks":{"`+id+`":{"last_pk_fetched":{"id":99999999999},"version":1}}}`)}, code: 2,
			want: `tap-postgres: error: catalog stream "` + id + `": state bookmark last_pk_fetched: key "id" holds 99999999999, which is not a value of the column (integer): value "99999999999" is out of range for type integer (SQLSTATE 22003): remove the stream's bookmarks from the state to read it again from the start`},
		{name: "missing column", args: []string{"-c", good, "--catalog", missingCol}, code: 2,
			want: `tap-postgres: error: catalog stream "` + id + `": column "gone" is not in the table (run --discover again)`},
		{name: "dropped replication key", args: []string{"-c", good, "--catalog", evCatPath}, code: 2,
			before: func() {
				if _, err := conn.Exec(context.Background(), "ALTER TABLE "+ev+" DROP COLUMN at"); err != nil {
					t.Fatal(err)
				}
			},
			want: `tap-postgres: error: catalog stream "` + evID + `": column "at" is not in the table (run --discover again); catalog stream "` + evID + `": replication key "at" is not a column of the table (dropped or renamed? run --discover again and choose a replication-key)`},
		{name: "slot in use by another process", code: 2, before: holdSlot,
			argsFn: func() []string { return []string{"-c", logCfg, "--catalog", logCat, "--state", busyState} },
			want:   `tap-postgres: error: invalid config: replication slot "` + slot + `" is in use by another process (pid `, prefix: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.before != nil {
				c.before()
			}
			if c.argsFn != nil {
				c.args = c.argsFn()
			}
			var out, errOut bytes.Buffer
			code := cli.RunTap(context.Background(), Spec(), c.args, nil, &out, &errOut)
			msg := errOut.String()
			first, _, _ := strings.Cut(msg, "\n")
			if code != c.code || first != c.want && !(c.prefix && strings.HasPrefix(first, c.want)) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, msg, c.code, c.want)
			}
			// One error line (usage errors add the CLI's pointer to --help).
			lines := strings.Split(strings.TrimSpace(msg), "\n")
			if len(lines) > 2 || len(lines) == 2 && !strings.HasPrefix(lines[1], "Run 'tap-postgres --help'") || !strings.HasPrefix(lines[0], "tap-postgres: ") || !strings.Contains(lines[0], c.want) {
				t.Errorf("stderr is not one clear line: %q", msg)
			}
			if strings.Contains(msg, "s3cret-pw") {
				t.Errorf("stderr shows the password: %q", msg)
			}
			if out.Len() != 0 {
				t.Errorf("stdout: %q, want nothing", out.String())
			}
		})
	}
}

func mustJSONCatalog(t *testing.T, cat *singer.Catalog, id string) string {
	t.Helper()
	var b bytes.Buffer
	if err := cat.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b.Bytes()); err != nil {
		t.Fatal(err)
	}
	return compact.String()
}

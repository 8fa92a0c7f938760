package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
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
	good := write("good.json", mustJSON(map[string]any{"url": testURL(), "filter_schemas": []string{schema}}))
	u, _ := url.Parse(testURL())
	u.User = url.UserPassword("no_such_user_x", "s3cret-pw")
	badUser := write("baduser.json", mustJSON(map[string]any{"url": u.String()}))
	u, _ = url.Parse(testURL())
	u.Path = "/no_such_db_x"
	badDB := write("baddb.json", mustJSON(map[string]any{"url": u.String()}))
	badKey := write("badkey.json", `{"url":"x","itersize":0}`)

	var catBuf bytes.Buffer
	if code := singer.RunTap(context.Background(), Spec(), []string{"-c", good, "--discover"}, nil, &catBuf, os.Stderr); code != 0 {
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

	cases := []struct {
		name string
		args []string
		code int
		want string // stderr must contain it, on one line
	}{
		{"unknown user", []string{"-c", badUser, "--discover"}, 2, `invalid config: connecting to PostgreSQL: `},
		{"unknown database", []string{"-c", badDB, "--discover"}, 2, `database "no_such_db_x" does not exist`},
		{"config out of schema", []string{"-c", badKey, "--discover"}, 2, "itersize"},
		{"no catalog", []string{"-c", good}, 2, "--catalog is required"},
		{"missing table", []string{"-c", good, "--catalog", missingCat}, 2, `catalog stream "` + schema + `-gone": no such table or view in the database (run --discover again)`},
		{"corrupt state", []string{"-c", good, "--catalog", goodCat, "--state", write("bad.state", "{nope")}, 2, "state is not valid JSON"},
		{"state from another tap", []string{"-c", good, "--catalog", goodCat, "--state", write("other.state", `{"bookmarks":{"`+id+`":{"last_pk_fetched":{"code":1},"version":1}}}`)}, 2, `does not hold key "id"`},
		{"incremental without key", []string{"-c", good, "--catalog", logView}, 2, "INCREMENTAL needs a replication-key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := singer.RunTap(context.Background(), Spec(), c.args, nil, &out, &errOut)
			msg := errOut.String()
			if code != c.code || !strings.Contains(msg, c.want) {
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

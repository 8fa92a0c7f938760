package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
)

var update = flag.Bool("update", false, "rewrite the golden Singer transcripts in testdata/tap-postgres")

// goldenDir holds the transcripts, shared with the other tools' tests.
const goldenDir = "../../testdata/tap-postgres"

// volatile are the values that change from run to run, each replaced by a
// fixed one of the same JSON type.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`"time_extracted":"[^"]*"`), `"time_extracted":"2000-01-01T00:00:00Z"`},
	{regexp.MustCompile(`"version":\d+`), `"version":1`},
	{regexp.MustCompile(`"lsn":\d+`), `"lsn":1`},
	{regexp.MustCompile(`"relfilenode":\d+`), `"relfilenode":1`},
	{regexp.MustCompile(`"_sdc_deleted_at":"[^"]*"`), `"_sdc_deleted_at":"2000-01-01T00:00:00Z"`},
	{regexp.MustCompile(`"row-count":\d+`), `"row-count":0`},
	{regexp.MustCompile(`"database-name":"[^"]*"`), `"database-name":"test"`},
}

func normalise(b []byte) []byte {
	for _, v := range volatile {
		b = v.re.ReplaceAll(b, []byte(v.with))
	}
	return b
}

// golden compares got (normalised) with testdata/tap-postgres/name, or
// rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = normalise(got)
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./taps/postgres -run TestGolden -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d (run with -update if the change is intended):\n got %s\nwant %s", path, i+1, g, w)
			}
		}
	}
}

// TestGolden runs the command line over a fixed set of tables (discovery,
// FULL_TABLE, INCREMENTAL, LOG_BASED with changes) and compares each
// transcript with its golden file.
func TestGolden(t *testing.T) {
	conn := connect(t)
	requireLogical(t, conn)
	schema := testSchema(t, conn)
	ctx := context.Background()
	exec := func(sql string) { t.Helper(); mustExec(t, conn, sql) }
	slot, pub := replicationNames(t, "golden")
	tbl := func(n string) string { return pgx.Identifier{schema, n}.Sanitize() }
	exec(`CREATE TABLE ` + tbl("customers") + ` (id integer PRIMARY KEY, name text NOT NULL, email varchar(40),
		balance numeric(10,2), created timestamptz, birthday date, tags text[], grid integer[][], doc jsonb, active boolean, avatar bytea)`)
	exec(`INSERT INTO ` + tbl("customers") + ` VALUES
		(1, 'Ada', 'ada@example.com', 12.50, '2024-01-01 10:00:00+00', '1815-12-10', '{math,"first, programmer"}', '{{1,2},{3,4}}', '{"lang": "en", "n": [1, 2]}', true, '\xdeadbeef'),
		(2, 'Brendan "B"', NULL, -0.01, '2024-01-02 11:30:00.123456+00', 'infinity', '{}', NULL, '"s"', false, NULL),
		(3, E'Chi\nNewline', 'chi@example.com', NULL, NULL, NULL, NULL, '{{NULL,5}}', NULL, NULL, '\x')`)
	exec(`CREATE TABLE ` + tbl("order_lines") + ` (order_id integer, line integer, sku text, qty integer, PRIMARY KEY (order_id, line))`)
	exec(`INSERT INTO ` + tbl("order_lines") + ` VALUES (10, 1, 'A-1', 2), (10, 2, 'B-2', 1), (11, 1, 'A-1', 5)`)
	exec(`CREATE TABLE ` + tbl("audit") + ` (at timestamptz, msg text)`)
	exec(`INSERT INTO ` + tbl("audit") + ` VALUES ('2024-03-01 00:00:00+00', 'created'), ('2024-03-01 00:00:01+00', 'updated'), ('2024-03-01 00:00:01+00', 'updated')`)
	exec(`CREATE VIEW ` + tbl("active_customers") + ` AS SELECT id, name FROM ` + tbl("customers") + ` WHERE active`)

	dir := t.TempDir()
	write := func(name string, content []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, _ := json.Marshal(map[string]any{"url": testenv.PostgresURL(), "filter_schemas": []string{schema}, "itersize": 2,
		"slot_name": slot, "publication_name": pub, "logical_poll_seconds": 0.5})
	cfgPath := write("config.json", cfg)
	run := func(args ...string) []byte {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := cli.RunTap(ctx, Spec(), append([]string{"--config", cfgPath}, args...), nil, &out, &errOut); code != 0 {
			t.Fatalf("tap-postgres %v: exit %d: %s", args, code, errOut.String())
		}
		return out.Bytes()
	}
	lastState := func(out []byte) string {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		var m struct{ Value json.RawMessage }
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
			t.Fatal(err)
		}
		return write("state.json", m.Value)
	}

	discovered := run("--discover")
	golden(t, "discover.json", discovered)
	catalog := func(name string, pick func(e *singer.CatalogEntry)) string {
		t.Helper()
		c, err := singer.ReadCatalog(bytes.NewReader(discovered))
		if err != nil {
			t.Fatal(err)
		}
		for i := range c.Streams {
			pick(&c.Streams[i])
		}
		var b bytes.Buffer
		if err := c.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		return write(name, b.Bytes())
	}

	// FULL_TABLE of every table and the view, in chunks of 2 rows.
	full := catalog("full.json", func(e *singer.CatalogEntry) { e.Metadata.SetSelected(nil, true) })
	golden(t, "full_table.jsonl", run("--catalog", full))

	// INCREMENTAL on customers.created, then a second run after changes.
	incr := catalog("incr.json", func(e *singer.CatalogEntry) {
		if e.TapStreamID == schema+"-customers" {
			e.Metadata.SetSelected(nil, true)
			e.Metadata.SetReplicationMethod(singer.ReplicationIncremental)
			e.Metadata.SetReplicationKey("created")
		}
	})
	out := run("--catalog", incr)
	exec(`INSERT INTO ` + tbl("customers") + ` (id, name, created) VALUES (4, 'Dee', '2024-02-01 00:00:00+00')`)
	exec(`UPDATE ` + tbl("customers") + ` SET created = '2024-02-02 00:00:00+00', email = NULL WHERE id = 1`)
	out = append(out, run("--catalog", incr, "--state", lastState(out))...)
	golden(t, "incremental.jsonl", out)

	// LOG_BASED on order_lines and audit: the snapshot, then inserts,
	// updates and deletes.
	logCat := catalog("log.json", func(e *singer.CatalogEntry) {
		if e.TapStreamID == schema+"-order_lines" || e.TapStreamID == schema+"-audit" {
			e.Metadata.SetSelected(nil, true)
			e.Metadata.SetReplicationMethod(singer.ReplicationLogBased)
		}
	})
	exec(`ALTER TABLE ` + tbl("audit") + ` REPLICA IDENTITY FULL`)
	out = run("--catalog", logCat)
	exec(`INSERT INTO ` + tbl("order_lines") + ` VALUES (12, 1, 'C-3', 1)`)
	exec(`UPDATE ` + tbl("order_lines") + ` SET qty = 3 WHERE order_id = 10 AND line = 1`)
	exec(`DELETE FROM ` + tbl("order_lines") + ` WHERE order_id = 11`)
	exec(`INSERT INTO ` + tbl("audit") + ` VALUES ('2024-03-02 00:00:00+00', 'logged')`)
	exec(`DELETE FROM ` + tbl("audit") + ` WHERE msg = 'created'`)
	out = append(out, run("--catalog", logCat, "--state", lastState(out))...)
	golden(t, "log_based.jsonl", out)
}

package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// changeRecords returns the RECORD objects of lines, deletion times
// masked.
func changeRecords(t *testing.T, lines []string) string {
	t.Helper()
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, `{"type":"RECORD"`) {
			continue
		}
		var m struct{ Record json.RawMessage }
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, string(m.Record))
	}
	return deletedAtRE.ReplaceAllString(strings.Join(out, "\n"), `"_sdc_deleted_at":"<time>"`)
}

var deletedAtRE = regexp.MustCompile(`"_sdc_deleted_at":"[0-9T:Z-]+"`)

// gtidTable makes a table on a MariaDB server with GTIDs, with the rows
// given, and a LOG_BASED catalog selecting it, read by a driver of cfg
// (nil: the test config). It returns the database handle, the table's
// quoted name, the stream id, the env and the catalog.
func gtidTable(t *testing.T, table, rows string, cfg func(*Config)) (*sql.DB, string, string, *sqltaptest.Env, *singer.Catalog) {
	t.Helper()
	db := connect(t)
	var gtidNow string
	if err := db.QueryRow(`SELECT @@global.gtid_binlog_pos`).Scan(&gtidNow); err != nil {
		testenv.Missing(t, "the server is not MariaDB (no gtid_binlog_pos): %v", err)
	}
	name := testDB(t, db)
	tbl := quoteIdent(name) + "." + table
	mustExec(t, db, "CREATE TABLE "+tbl+" (id int PRIMARY KEY, name varchar(20))")
	mustExec(t, db, "INSERT INTO "+tbl+" VALUES "+rows)
	c := testConfig(t, name)
	if cfg != nil {
		cfg(c)
	}
	d, err := Open(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	env := &sqltaptest.Env{Driver: d}
	id := name + "-" + table
	cat := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationLogBased, "", id)
	return db, tbl, id, env, cat
}

// TestMy5GTID: on a server with GTIDs the bookmark carries the GTID set of
// its file:pos; a later run resumes from the GTID set, also when the
// file:pos is bogus (so the set is what is used), and a state of an older
// release (file:pos only) resumes and gains the set.
func TestMy5GTID(t *testing.T) {
	db, tbl, id, env, cat := gtidTable(t, "my5_items", "(1, 'a'), (2, 'b')", nil)
	exec := func(s string) { t.Helper(); mustExec(t, db, s) }

	lines, err := sqltaptest.Sync(t, env, logOptions(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeRecords(t, lines), "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b\"}"; got != want {
		t.Errorf("snapshot:\n%s\nwant\n%s", got, want)
	}
	state := lastState(t, lines)
	v, _ := state.Bookmark(id, "lsn")
	pos1, err := parsePos(v)
	if err != nil {
		t.Fatal(err)
	}
	// The set is the one of exactly the recorded file:pos.
	var want1 string
	if err := db.QueryRow(`SELECT BINLOG_GTID_POS(?, ?)`, pos1.file, pos1.pos).Scan(&want1); err != nil {
		t.Fatal(err)
	}
	if pos1.gtid == "" || pos1.gtid != want1 {
		t.Fatalf("snapshot bookmark %q: GTID %q, want BINLOG_GTID_POS of its file:pos, %q", v, pos1.gtid, want1)
	}

	exec("INSERT INTO " + tbl + " VALUES (3, 'c')")
	exec("UPDATE " + tbl + " SET name = 'B' WHERE id = 2")
	exec("DELETE FROM " + tbl + " WHERE id = 1")
	lines, err = sqltaptest.Sync(t, env, logOptions(), cat, state)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`{"id":3,"name":"c","_sdc_deleted_at":null}`,
		`{"id":2,"name":"B","_sdc_deleted_at":null}`,
		`{"id":1,"name":"a","_sdc_deleted_at":"<time>"}`,
	}, "\n")
	if got := changeRecords(t, lines); got != want {
		t.Errorf("changes from the GTID set:\n%s\nwant\n%s", got, want)
	}
	state = lastState(t, lines)
	v, _ = state.Bookmark(id, "lsn")
	pos2, err := parsePos(v)
	if err != nil {
		t.Fatal(err)
	}
	if pos2.gtid == "" || pos2.compare(pos1) <= 0 {
		t.Fatalf("bookmark after the changes %q does not move past %q", pos2, pos1)
	}
	// The recorded GTID set is the server's at the recorded file:pos.
	var want2 string
	if err := db.QueryRow(`SELECT BINLOG_GTID_POS(?, ?)`, pos2.file, pos2.pos).Scan(&want2); err != nil {
		t.Fatal(err)
	}
	if pos2.gtid != want2 {
		t.Errorf("bookmark %q: GTID %q, the server's at its file:pos is %q", v, pos2.gtid, want2)
	}

	exec("INSERT INTO " + tbl + " VALUES (4, 'd')")
	exec("UPDATE " + tbl + " SET name = 'C' WHERE id = 3")
	want = strings.Join([]string{
		`{"id":4,"name":"d","_sdc_deleted_at":null}`,
		`{"id":3,"name":"C","_sdc_deleted_at":null}`,
	}, "\n")

	// A file:pos that no server has, with the valid GTID set: the set is used.
	bogus := singer.NewState()
	bogus.SetBookmark(id, "lsn", "mysql-bin.999999:4"+gtidSep+pos2.gtid)
	lines, err = sqltaptest.Sync(t, env, logOptions(), cat, bogus)
	if err != nil {
		t.Fatal(err)
	}
	if got := changeRecords(t, lines); got != want {
		t.Errorf("changes from a bogus file:pos with a valid GTID set:\n%s\nwant\n%s", got, want)
	}
	v, _ = lastState(t, lines).Bookmark(id, "lsn")
	pos3, err := parsePos(v)
	if err != nil {
		t.Fatal(err)
	}
	if pos3.file == "mysql-bin.999999" || pos3.compare(pos2) <= 0 {
		t.Errorf("bookmark %q after the GTID resume does not move past %q", v, pos2)
	}

	// A state of an older release: file:pos only. The same changes, and
	// the bookmark gains a GTID set.
	old := singer.NewState()
	old.SetBookmark(id, "lsn", binlogPos{file: pos2.file, pos: pos2.pos}.String())
	lines, err = sqltaptest.Sync(t, env, logOptions(), cat, old)
	if err != nil {
		t.Fatal(err)
	}
	if got := changeRecords(t, lines); got != want {
		t.Errorf("changes from a file:pos-only state:\n%s\nwant\n%s", got, want)
	}
	v, _ = lastState(t, lines).Bookmark(id, "lsn")
	if pos4, err := parsePos(v); err != nil || pos4.gtid == "" {
		t.Errorf("bookmark %q after a file:pos-only state has no GTID set (%v)", v, err)
	}

	// A GTID set the server never logged: a clear resync error.
	gone := singer.NewState()
	gone.SetBookmark(id, "lsn", "mysql-bin.999999:4"+gtidSep+"77-77-1")
	_, err = sqltaptest.Sync(t, env, logOptions(), cat, gone)
	wantErr := `stream "` + id + `": binlog position mysql-bin.999999:4 gtid=77-77-1 is no longer on the server (its file or GTID was purged, or it comes from another server): a full resync is needed: remove the stream's bookmark from the state to snapshot it again`
	if err == nil || err.Error() != wantErr {
		t.Errorf("err = %v\nwant %s", err, wantErr)
	}
}

func TestParsePos(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{in: "mysql-bin.000003:1547", want: "mysql-bin.000003:1547"},
		{in: "mysql-bin.000003:1547 gtid=0-1-1935", want: "mysql-bin.000003:1547 gtid=0-1-1935"},
		{in: "mysql-bin.000003:1547 gtid=0-1-1935,1-2-7", want: "mysql-bin.000003:1547 gtid=0-1-1935,1-2-7"},
		{in: "binlog.000002:157 gtid=3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", want: "binlog.000002:157 gtid=3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5"},
		{in: "mysql-bin.000003", err: `binlog position "mysql-bin.000003" is not "file:pos" or "file:pos gtid=SET"`},
		{in: "mysql-bin.000003:1 gtid=x-y", err: `binlog position "mysql-bin.000003:1 gtid=x-y": GTID set "x-y"`},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			p, err := parsePos(c.in)
			if c.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), c.err) {
					t.Errorf("err = %v, want prefix %s", err, c.err)
				}
				return
			}
			if err != nil || p.String() != c.want {
				t.Errorf("parsePos = %q, %v; want %q", p, err, c.want)
			}
		})
	}
}

func TestStartPosition(t *testing.T) {
	d := &Driver{}
	const a, b = "3e11fa47-71ca-11e1-9e33-c80aa9429562", "4f22fa47-71ca-11e1-9e33-c80aa9429562"
	cases := []struct {
		name, flavor string
		positions    []string
		start, set   string
	}{
		{"the set the others hold, whatever its file:pos", "mariadb",
			[]string{"f.000002:100 gtid=0-1-10", "f.000001:50 gtid=0-1-12"}, "f.000002:100 gtid=0-1-10", "0-1-10"},
		{"mysql sets that nest", "mysql",
			[]string{"b.000001:9 gtid=" + a + ":1-7", "b.000001:4 gtid=" + a + ":1-5"}, "b.000001:4 gtid=" + a + ":1-5", a + ":1-5"},
		{"mysql sets that do not nest: earliest file:pos", "mysql",
			[]string{"b.000001:9 gtid=" + a + ":1-5", "b.000001:4 gtid=" + b + ":1-3"}, "b.000001:4", ""},
		{"a stream without a set (mysql): file:pos", "mysql",
			[]string{"b.000001:9 gtid=" + a + ":1-5", "b.000001:4"}, "b.000001:4", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ps []binlogPos
			for _, s := range c.positions {
				p, err := parsePos(s)
				if err != nil {
					t.Fatal(err)
				}
				ps = append(ps, p)
			}
			start, set, err := d.startPosition(t.Context(), ps, c.flavor)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if set != nil {
				got = set.String()
			}
			if start.String() != c.start || got != c.set {
				t.Errorf("start %q set %q, want %q %q", start, got, c.start, c.set)
			}
		})
	}
}

// TestUseGTIDFalse: with use_gtid false (PipelineWise's default) the
// bookmarks are binlog file:pos only, on a server that has GTIDs, and a
// bookmark's GTID set is ignored: the run resumes from its file:pos (a
// set naming a domain the server never logged would be a resync error if
// it were used).
func TestUseGTIDFalse(t *testing.T) {
	db, tbl, id, env, cat := gtidTable(t, "nogtid_items", "(1, 'a')", func(c *Config) {
		off := false
		c.UseGTID = &off
	})
	exec := func(s string) { t.Helper(); mustExec(t, db, s) }

	lines, err := sqltaptest.Sync(t, env, logOptions(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeRecords(t, lines), `{"id":1,"name":"a"}`; got != want {
		t.Errorf("snapshot:\n%s\nwant\n%s", got, want)
	}
	v, _ := lastState(t, lines).Bookmark(id, "lsn")
	pos1, err := parsePos(v)
	if err != nil || pos1.gtid != "" || pos1.file == "" {
		t.Fatalf("snapshot bookmark %q (%v): want file:pos only", v, err)
	}

	exec("INSERT INTO " + tbl + " VALUES (2, 'b')")
	exec("UPDATE " + tbl + " SET name = 'A' WHERE id = 1")
	// The file:pos of the bookmark with a GTID set the server never
	// logged: ignored, so the run resumes from file:pos.
	st := singer.NewState()
	st.SetBookmark(id, "lsn", pos1.String()+gtidSep+"77-77-1")
	lines, err = sqltaptest.Sync(t, env, logOptions(), cat, st)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`{"id":2,"name":"b","_sdc_deleted_at":null}`,
		`{"id":1,"name":"A","_sdc_deleted_at":null}`,
	}, "\n")
	if got := changeRecords(t, lines); got != want {
		t.Errorf("changes from file:pos:\n%s\nwant\n%s", got, want)
	}
	v, _ = lastState(t, lines).Bookmark(id, "lsn")
	pos2, err := parsePos(v)
	if err != nil || pos2.gtid != "" || pos2.compare(pos1) <= 0 {
		t.Errorf("bookmark %q after the changes (%v): want file:pos only, past %q", v, err, pos1)
	}
}

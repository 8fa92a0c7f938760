package mysql

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

func logOptions() sqltap.Options {
	o := sqltaptest.Options()
	o.LogIdle = 700 * time.Millisecond
	return o
}

// lastState returns the value of the last STATE line.
func lastState(t *testing.T, lines []string) *singer.State {
	t.Helper()
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], `{"type":"STATE"`) {
			var m struct{ Value json.RawMessage }
			if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
				t.Fatal(err)
			}
			st, err := singer.ParseState(m.Value)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	t.Fatal("no STATE line")
	return nil
}

// TestLogBased: the first run snapshots and records a binlog position;
// the second streams inserts, updates and deletes after it (deletes with
// _sdc_deleted_at); a third with no change to the table still moves the
// position when the server's binlog moved.
func TestLogBased(t *testing.T) {
	db := connect(t)
	name := testDB(t, db)
	exec := func(s string) { t.Helper(); mustExec(t, db, s) }
	tbl := quoteIdent(name) + ".items"
	exec("CREATE TABLE " + tbl + " (id int PRIMARY KEY, name varchar(20), amount decimal(8,2))")
	exec("INSERT INTO " + tbl + " VALUES (1, 'a', 1.50), (2, 'b', 2.00)")
	env := &sqltaptest.Env{Driver: testDriver(t, name)}
	id := name + "-items"
	cat := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationLogBased, "", id)
	records := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if i := strings.Index(l, `"record":`); i >= 0 {
				var m struct{ Record json.RawMessage }
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatal(err)
				}
				out = append(out, string(m.Record))
			}
		}
		return out
	}
	lines, err := sqltaptest.Sync(t, env, logOptions(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(records(lines), " "), `{"id":1,"name":"a","amount":1.50,"_sdc_deleted_at":null} {"id":2,"name":"b","amount":2.00,"_sdc_deleted_at":null}`; got != want && got != strings.ReplaceAll(want, `,"_sdc_deleted_at":null`, "") {
		t.Errorf("snapshot records %s\nwant %s", got, want)
	}
	state := lastState(t, lines)
	pos1, _ := state.Bookmark(id, "lsn")
	if pos1 == nil {
		t.Fatalf("no binlog position in the state: %s", lines[len(lines)-1])
	}

	exec("INSERT INTO " + tbl + " VALUES (3, 'c', -0.01)")
	exec("UPDATE " + tbl + " SET name = 'B', amount = 20.10 WHERE id = 2")
	exec("DELETE FROM " + tbl + " WHERE id = 1")
	lines, err = sqltaptest.Sync(t, env, logOptions(), cat, state)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(records(lines), "\n")
	got = regexp.MustCompile(`"_sdc_deleted_at":"[0-9T:Z-]+"`).ReplaceAllString(got, `"_sdc_deleted_at":"<time>"`)
	want := strings.Join([]string{
		`{"id":3,"name":"c","amount":-0.01,"_sdc_deleted_at":null}`,
		`{"id":2,"name":"B","amount":20.10,"_sdc_deleted_at":null}`,
		`{"id":1,"name":"a","amount":1.50,"_sdc_deleted_at":"<time>"}`,
	}, "\n")
	if got != want {
		t.Errorf("changes:\n%s\nwant\n%s", got, want)
	}
	state = lastState(t, lines)
	pos2, _ := state.Bookmark(id, "lsn")
	if env.Driver.(*Driver).ComparePositions(pos2, pos1) <= 0 {
		t.Errorf("position %v did not move past %v", pos2, pos1)
	}

	// Nothing changes in the table, other tables do: the bookmark moves.
	exec("CREATE TABLE " + quoteIdent(name) + ".other (id int PRIMARY KEY)")
	exec("INSERT INTO " + quoteIdent(name) + ".other VALUES (1)")
	lines, err = sqltaptest.Sync(t, env, logOptions(), cat, state)
	if err != nil {
		t.Fatal(err)
	}
	if r := records(lines); len(r) != 0 {
		t.Errorf("records without changes: %v", r)
	}
	pos3, _ := lastState(t, lines).Bookmark(id, "lsn")
	if env.Driver.(*Driver).ComparePositions(pos3, pos2) <= 0 {
		t.Errorf("position %v did not move past %v", pos3, pos2)
	}

	// A position whose file is gone: a clear resync error.
	state.SetBookmark(id, "lsn", "mysql-bin.999999:4")
	_, err = sqltaptest.Sync(t, env, logOptions(), cat, state)
	wantErr := fmt.Sprintf(`stream %q: binlog position mysql-bin.999999:4 is no longer on the server (its file or GTID was purged, or it comes from another server): a full resync is needed: remove the stream's bookmark from the state to snapshot it again`, id)
	if err == nil || err.Error() != wantErr {
		t.Errorf("err = %v\nwant %s", err, wantErr)
	}
}

// TestLogBasedDatatypes: every type of the datatype table, inserted after
// the snapshot, comes out of the binlog exactly as the snapshot writes it.
func TestLogBasedDatatypes(t *testing.T) {
	db := connect(t)
	name := testDB(t, db)
	ctx := t.Context()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(s string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	exec("SET SESSION sql_mode = 'ALLOW_INVALID_DATES', time_zone = '+02:00'")
	var ids []string
	for i, c := range datatypeCases {
		tbl := quoteIdent(name) + "." + quoteIdent(fmt.Sprintf("c%02d", i))
		exec(fmt.Sprintf("CREATE TABLE %s (id integer PRIMARY KEY, v %s)", tbl, c.sqlType))
		ids = append(ids, fmt.Sprintf("%s-c%02d", name, i))
	}
	env := &sqltaptest.Env{Driver: testDriver(t, name)}
	cat := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationLogBased, "", ids...)
	lines, err := sqltaptest.Sync(t, env, logOptions(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	state := lastState(t, lines)
	for i, c := range datatypeCases {
		exec(fmt.Sprintf("INSERT INTO %s VALUES (1, %s)", quoteIdent(name)+"."+quoteIdent(fmt.Sprintf("c%02d", i)), c.input))
	}
	lines, err = sqltaptest.Sync(t, env, logOptions(), cat, state)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for _, l := range lines {
		var m struct {
			Type, Stream string
			Record       map[string]json.RawMessage
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m.Type == "RECORD" {
			values[m.Stream] = string(m.Record["v"])
		}
	}
	for i, c := range datatypeCases {
		t.Run(c.name, func(t *testing.T) {
			if got := values[ids[i]]; got != c.want {
				t.Errorf("binlog value of %s %s: got %s, want %s", c.sqlType, c.input, got, c.want)
			}
		})
	}
}

func TestBinlogProblems(t *testing.T) {
	cases := []struct {
		name, logBin, format, image string
		want                        []string
	}{
		{"ready", "1", "ROW", "FULL", nil},
		{"ready ON", "ON", "row", "full", nil},
		{"all wrong", "0", "STATEMENT", "MINIMAL", []string{
			"LOG_BASED needs the binary log: start the server with log_bin (e.g. log_bin=mysql-bin in my.cnf) and restart it",
			"LOG_BASED needs binlog_format=ROW, the server has STATEMENT: set binlog_format=ROW in my.cnf (or SET GLOBAL binlog_format='ROW')",
			"LOG_BASED needs binlog_row_image=FULL, the server has MINIMAL: set binlog_row_image=FULL in my.cnf (or SET GLOBAL binlog_row_image='FULL')",
		}},
		{"mixed format", "1", "MIXED", "FULL", []string{
			"LOG_BASED needs binlog_format=ROW, the server has MIXED: set binlog_format=ROW in my.cnf (or SET GLOBAL binlog_format='ROW')",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := binlogProblems(c.logBin, c.format, c.image)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("problems:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestComparePositions(t *testing.T) {
	d := &Driver{}
	cases := []struct {
		name string
		a, b any
		want int
	}{
		{"same file", "mysql-bin.000002:400", "mysql-bin.000002:1200", -1},
		{"later file", "mysql-bin.000010:4", "mysql-bin.000009:99999", 1},
		{"equal", "mysql-bin.000003:154", "mysql-bin.000003:154", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := d.ComparePositions(c.a, c.b); got != c.want {
				t.Errorf("ComparePositions(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
			}
		})
	}
}

func TestComparePositionsGTID(t *testing.T) {
	d := &Driver{}
	cases := []struct {
		name string
		a, b any
		want int
	}{
		{"later set wins over file:pos", "mysql-bin.000001:400 gtid=0-1-10", "mysql-bin.999999:4 gtid=0-1-9", 1},
		{"earlier set", "mysql-bin.999999:4 gtid=0-1-9", "mysql-bin.000001:400 gtid=0-1-10", -1},
		{"equal sets: file:pos", "mysql-bin.000001:400 gtid=0-1-10", "mysql-bin.000001:500 gtid=0-1-10", -1},
		{"sets that do not nest: file:pos", "mysql-bin.000002:4 gtid=0-1-10", "mysql-bin.000001:4 gtid=1-1-10", 1},
		{"one without a set: file:pos", "mysql-bin.000001:400", "mysql-bin.000001:300 gtid=0-1-10", 1},
		{"mysql sets", "b.000001:4 gtid=3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", "b.000001:9 gtid=3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := d.ComparePositions(c.a, c.b); got != c.want {
				t.Errorf("ComparePositions(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
			}
		})
	}
}

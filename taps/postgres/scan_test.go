package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// TestKeylessResumeByCtid interrupts a FULL_TABLE sync of a table without a
// key and resumes it after the last ctid of the state, in the same
// version; after a VACUUM FULL (a rewrite: the ctids mean something else)
// the resumed run reads the whole table again in a new version.
func TestKeylessResumeByCtid(t *testing.T) {
	conn := connect(t)
	schema := testSchema(t, conn)
	ctx := context.Background()
	exec := func(sql string) { t.Helper(); mustExec(t, conn, sql) }
	tbl := pgx.Identifier{schema, "logs"}.Sanitize()
	exec("CREATE TABLE " + tbl + " (n integer)")
	exec("INSERT INTO " + tbl + " SELECT generate_series(1, 5)")
	id := schema + "-logs"
	env := &sqltaptest.Env{Driver: testDriver(t, schema)}
	cat := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationFullTable, "", id)
	opts := sqltaptest.Options()
	opts.ChunkSize = 2
	lines, err := sqltaptest.Sync(t, env, opts, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	var filenode int64
	if err := conn.QueryRow(ctx, "SELECT pg_relation_filenode($1::regclass)::int8", tbl).Scan(&filenode); err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, l := range lines {
		if strings.Contains(l, "last_ctid") {
			states = append(states, l)
		}
	}
	pos := func(ctid string) string {
		return fmt.Sprintf(`{"type":"STATE","value":{"bookmarks":{%q:{"last_ctid":{"ctid":%q,"relfilenode":%d},"version":%d}},"currently_syncing":%q}}`, id, ctid, filenode, sqltaptest.Version, id)
	}
	if want := pos("(0,2)") + "\n" + pos("(0,4)"); strings.Join(states, "\n") != want {
		t.Fatalf("states with last_ctid:\n%s\nwant:\n%s", strings.Join(states, "\n"), want)
	}
	rec := func(n int, version int64) string {
		return fmt.Sprintf(`{"type":"RECORD","stream":%q,"record":{"n":%d},"version":%d,"time_extracted":"2024-05-06T07:08:09Z"}`, id, n, version)
	}
	body := func(lines []string) string {
		var out []string
		for _, l := range lines {
			if strings.HasPrefix(l, `{"type":"RECORD"`) || strings.HasPrefix(l, `{"type":"ACTIVATE_VERSION"`) {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}

	// Killed after the STATE at (0,2): the resumed run sends 3, 4, 5 in
	// the same version.
	st, err := singer.ParseState([]byte(states[0]))
	if err != nil {
		t.Fatal(err)
	}
	lines, err = sqltaptest.Sync(t, env, opts, cat, st.Clone())
	if err != nil {
		t.Fatal(err)
	}
	v := sqltaptest.Version
	want := strings.Join([]string{rec(3, v), rec(4, v), rec(5, v), fmt.Sprintf(`{"type":"ACTIVATE_VERSION","stream":%q,"version":%d}`, id, v)}, "\n")
	if got := body(lines); got != want {
		t.Errorf("resumed run:\n%s\nwant:\n%s", got, want)
	}

	// VACUUM FULL between the runs: the position is stale, the table is
	// read again from the start, in a new version.
	exec("DELETE FROM " + tbl + " WHERE n = 1")
	exec("VACUUM FULL " + tbl)
	later := sqltaptest.Now.Add(time.Hour)
	opts.Now = func() time.Time { return later }
	lines, err = sqltaptest.Sync(t, env, opts, cat, st.Clone())
	if err != nil {
		t.Fatal(err)
	}
	v2 := later.UnixMilli()
	want = strings.Join([]string{
		strings.ReplaceAll(rec(2, v2), "2024-05-06T07:08:09Z", "2024-05-06T08:08:09Z"),
		strings.ReplaceAll(rec(3, v2), "2024-05-06T07:08:09Z", "2024-05-06T08:08:09Z"),
		strings.ReplaceAll(rec(4, v2), "2024-05-06T07:08:09Z", "2024-05-06T08:08:09Z"),
		strings.ReplaceAll(rec(5, v2), "2024-05-06T07:08:09Z", "2024-05-06T08:08:09Z"),
		fmt.Sprintf(`{"type":"ACTIVATE_VERSION","stream":%q,"version":%d}`, id, v2),
	}, "\n")
	if got := body(lines); got != want {
		t.Errorf("run after VACUUM FULL:\n%s\nwant:\n%s", got, want)
	}

	// A last_ctid that is not the tap's: a usage error.
	bad, _ := singer.ParseState([]byte(`{"bookmarks":{"` + id + `":{"last_ctid":"(0,2)","version":1}}}`))
	lines, err = sqltaptest.Sync(t, env, opts, cat, bad)
	var ue *cli.UsageError
	if want := `catalog stream "` + id + `": state bookmark last_ctid: "(0,2)" is not {"ctid": "(page,item)", "relfilenode": n} (a state from another tap?): remove the stream's bookmark to read it again`; err == nil || err.Error() != want {
		t.Errorf("corrupt last_ctid: %v\nwant %s", err, want)
	} else if !errors.As(err, &ue) {
		t.Errorf("corrupt last_ctid: %T is not a usage error", err)
	}
	if len(lines) != 1 || lines[0] != "" {
		t.Errorf("corrupt last_ctid: output before the error: %q", lines)
	}
}

package sqltap_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap/memdriver"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

var recordID = regexp.MustCompile(`^\{"type":"RECORD".*"record":\{"(?:id|n)":(\d+)`)

// ids returns the id of every RECORD line, in order.
func ids(lines []string) string {
	var out []string
	for _, l := range lines {
		if m := recordID.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return strings.Join(out, ",")
}

func lastState(t *testing.T, lines []string) *singer.State {
	t.Helper()
	for i := len(lines) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(lines[i], `{"type":"STATE","value":`); ok {
			st, err := singer.ParseState([]byte(strings.TrimSuffix(v, "}")))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	t.Fatalf("no STATE in %q", lines)
	return nil
}

// TestScanFailsMidChunk: the connection is lost while the second chunk is
// read; the run fails with the error, its last state is the end of the
// first chunk, and a run from that state sends the rest, every row once
// from there.
func TestScanFailsMidChunk(t *testing.T) {
	db := memdriver.NewDB()
	for _, s := range []string{"CREATE TABLE s.items (id integer PRIMARY KEY, name varchar(20))",
		"INSERT INTO s.items (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (6, 'f'), (7, 'g')"} {
		if err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	d := db.Driver("s")
	var delivered atomic.Int32
	lost := errors.New("connection reset by peer")
	d.Hooks.Row = func(context.Context, string, int) error {
		if delivered.Add(1) == 5 {
			return lost
		}
		return nil
	}
	env := &sqltaptest.Env{Driver: d}
	cat := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationFullTable, "", "s-items")
	opts := sqltaptest.Options()
	opts.ChunkSize = 3
	lines, err := sqltaptest.Sync(t, env, opts, cat, nil)
	if !errors.Is(err, lost) {
		t.Fatalf("err = %v, want the lost connection", err)
	}
	if got := ids(lines); got != "1,2,3,4" {
		t.Errorf("records %s, want 1,2,3,4 (the fifth row failed)", got)
	}
	st := lastState(t, lines)
	b, _ := st.MarshalJSON()
	if want := fmt.Sprintf(`{"bookmarks":{"s-items":{"last_pk_fetched":{"id":3},"version":%d}},"currently_syncing":"s-items"}`, sqltaptest.Version); string(b) != want {
		t.Errorf("last state %s, want %s", b, want)
	}
	lines, err = sqltaptest.Sync(t, env, opts, cat, st)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(lines); got != "4,5,6,7" {
		t.Errorf("resumed run sent %s, want 4,5,6,7", got)
	}
}

// TestStalePositionRestarts: a keyless table read in physical order is
// dropped and made again between runs; the state's position is of the
// old table, so the run reads the new one from the start.
func TestStalePositionRestarts(t *testing.T) {
	db := memdriver.NewDB()
	exec := func(s string) {
		t.Helper()
		if err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	exec("CREATE TABLE s.logs (n integer)")
	exec("INSERT INTO s.logs (n) VALUES (1), (2), (3)")
	env := &sqltaptest.Env{Driver: db.Driver("s")}
	cat := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationFullTable, "", "s-logs")
	opts := sqltaptest.Options()
	opts.ChunkSize = 1
	lines, err := sqltaptest.Sync(t, env, opts, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	var first *singer.State
	for _, l := range lines {
		if strings.Contains(l, `"last_row"`) {
			st, err := singer.ParseState([]byte(strings.TrimSuffix(strings.TrimPrefix(l, `{"type":"STATE","value":`), "}")))
			if err != nil {
				t.Fatal(err)
			}
			first = st
			break
		}
	}
	if first == nil {
		t.Fatalf("no state with last_row: %q", lines)
	}
	exec("DROP TABLE s.logs")
	exec("CREATE TABLE s.logs (n integer)")
	exec("INSERT INTO s.logs (n) VALUES (7), (8)")
	lines, err = sqltaptest.Sync(t, env, opts, cat, first)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(lines); got != "7,8" {
		t.Errorf("records %s, want the new table's 7,8 from its start", got)
	}
}

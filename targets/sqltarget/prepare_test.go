package sqltarget_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/singerkit/singerkit/targets/sqltarget"
	"github.com/singerkit/singerkit/targets/sqltarget/memdialect"
)

// schemasThenRecords is three streams' SCHEMA messages, then a record of
// each (keys as in a tap that reuses its key list), then a STATE.
const schemasThenRecords = `{"type":"SCHEMA","stream":"a","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":["id"]}
{"type":"SCHEMA","stream":"b","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":["v"]}
{"type":"SCHEMA","stream":"c","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"a","record":{"id":1,"v":"x"}}
{"type":"RECORD","stream":"b","record":{"id":2,"v":"y"}}
{"type":"RECORD","stream":"b","record":{"id":2,"v":"z"}}
{"type":"RECORD","stream":"c","record":{"id":3,"v":"w"}}
{"type":"STATE","value":{"pos":1}}
`

// TestSchemasPreparedTogether: the tables of the SCHEMA messages before
// the first record are prepared by both loaders at once (stream a's
// preparation waits until b's has started, which fails if the reader
// waits for each table in turn), and each stream keeps its own keys.
func TestSchemasPreparedTogether(t *testing.T) {
	db, d := newDialect()
	started := map[string]chan struct{}{"t.a": make(chan struct{}), "t.b": make(chan struct{}), "t.c": make(chan struct{})}
	d.Hooks.Prepare = func(ctx context.Context, table string) error {
		close(started[table])
		if table == "t.a" {
			select {
			case <-started["t.b"]:
			case <-time.After(20 * time.Second):
				return errors.New("table b was not being prepared while a was")
			}
		}
		return nil
	}
	states, _, err := run(context.Background(), d, sqltarget.Config{MaxParallelFlushes: 2}, schemasThenRecords)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(states, ",") != `{"pos":1}` {
		t.Errorf("states %v", states)
	}
	for table, want := range map[string]string{"a": "1|x", "b": "2|y,2|z", "c": "3|w"} {
		rows, err := db.Rows("t", table, []string{"id", "v"}, "v")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(rows, ",") != want {
			t.Errorf("table %s: %v, want %s (b's key is v: two rows)", table, rows, want)
		}
	}
}

// TestDeferredPrepareFails: a table that cannot be prepared stops the run
// with its error before any record is loaded, and no state is printed.
func TestDeferredPrepareFails(t *testing.T) {
	db, d := newDialect()
	d.Hooks.Prepare = func(ctx context.Context, table string) error {
		if table == "t.b" {
			return fmt.Errorf("permission denied for schema t")
		}
		return nil
	}
	states, _, err := run(context.Background(), d, sqltarget.Config{MaxParallelFlushes: 2}, schemasThenRecords)
	if err == nil || !strings.Contains(err.Error(), `preparing table for stream "b"`) || !strings.Contains(err.Error(), "permission denied for schema t") {
		t.Fatalf("error %v", err)
	}
	if len(states) != 0 {
		t.Errorf("states %v", states)
	}
	for _, table := range []string{"a", "c"} {
		if rows, err := db.Rows("t", table, []string{"id"}, "id"); err == nil && len(rows) > 0 {
			t.Errorf("table %s has rows %v", table, rows)
		}
	}
}

// TestSpreadLoads: with a dialect whose batches spread (Spreading), an
// append stream's loads run on both sessions at once (the first load waits
// for a second to start, which never happens one load at a time), every
// record lands once and the last state comes out; upsert and a table with
// a key keep one load at a time.
func TestSpreadLoads(t *testing.T) {
	for _, c := range []struct {
		name   string
		method string
		keys   bool
		spread bool
	}{{"append", "append", true, true}, {"append without keys", "append", false, true}, {"upsert", "upsert", true, false}} {
		t.Run(c.name, func(t *testing.T) {
			db, d := newDialect()
			d.Spread = true
			var mu sync.Mutex
			active, most, calls := 0, 0, 0
			second := make(chan struct{})
			d.Hooks.BeforeCommit = func(ctx context.Context, table string, rows int) error {
				mu.Lock()
				active++
				calls++
				most = max(most, active)
				n := calls
				mu.Unlock()
				defer func() { mu.Lock(); active--; mu.Unlock() }()
				switch {
				case n == 2:
					close(second)
				case n == 1 && c.spread:
					select {
					case <-second:
					case <-time.After(20 * time.Second):
						return errors.New("no second load started while the first was loading")
					}
				}
				return nil
			}
			states, _, err := run(context.Background(), d, sqltarget.Config{LoadMethod: c.method, BatchSizeRows: 1000, MaxParallelFlushes: 2}, input(10000, 2500, c.keys))
			if err != nil {
				t.Fatal(err)
			}
			checkLoaded(t, db, states, 10000)
			if want := map[bool]int{true: 2, false: 1}[c.spread]; most != want {
				t.Errorf("%d loads at once at most, want %d", most, want)
			}
		})
	}
}

// manyStreams is n streams' SCHEMA messages, then a record of each, then
// a STATE.
func manyStreams(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"type":"SCHEMA","stream":"s%d","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":["id"]}`+"\n", i)
	}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"type":"RECORD","stream":"s%d","record":{"id":%d,"v":"x%d"}}`+"\n", i, i, i)
	}
	b.WriteString(`{"type":"STATE","value":{"pos":1}}` + "\n")
	return b.String()
}

// checkStreams checks that each of n streams' tables holds its one row.
func checkStreams(t *testing.T, db *memdialect.DB, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		rows, err := db.Rows("t", fmt.Sprintf("s%d", i), []string{"id", "v"}, "id")
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d|x%d", i, i); strings.Join(rows, ",") != want {
			t.Fatalf("table s%d: %v, want %s", i, rows, want)
		}
	}
}

// TestPrepareGroups: the first new stream's table is prepared at once, the
// tables of the SCHEMA messages after it go to their loader as groups
// (sqltarget.PreparingMany) of at most 100, in SCHEMA order, each table
// in one group only.
func TestPrepareGroups(t *testing.T) {
	seq := func(from, to, step int) string {
		var names []string
		for i := from; i <= to; i += step {
			names = append(names, fmt.Sprintf("t.s%d", i))
		}
		return strings.Join(names, " ")
	}
	for _, c := range []struct {
		streams, loaders int
		want             []string
	}{
		{30, 1, []string{seq(2, 30, 1)}},
		{30, 2, []string{seq(3, 29, 2), seq(4, 30, 2)}},
		{150, 1, []string{seq(2, 101, 1), seq(102, 150, 1)}},
	} {
		t.Run(fmt.Sprintf("%d streams, %d loaders", c.streams, c.loaders), func(t *testing.T) {
			db, d := newDialect()
			var mu sync.Mutex
			var groups []string
			d.Hooks.PrepareTables = func(ctx context.Context, tables []string) error {
				mu.Lock()
				defer mu.Unlock()
				groups = append(groups, strings.Join(tables, " "))
				return nil
			}
			states, _, err := run(context.Background(), d, sqltarget.Config{MaxParallelFlushes: c.loaders}, manyStreams(c.streams))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(states, ",") != `{"pos":1}` {
				t.Errorf("states %v", states)
			}
			checkStreams(t, db, c.streams)
			slices.Sort(groups)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(groups, want) {
				t.Errorf("groups\n%q\nwant\n%q", groups, want)
			}
		})
	}
}

// TestPrepareGroupFails: when a group's preparation fails, each of its
// tables is prepared on its own: the run goes on if they all can be, and
// stops with the error of the one that cannot.
func TestPrepareGroupFails(t *testing.T) {
	for _, bad := range []string{"", "t.s7"} {
		t.Run("bad table "+bad, func(t *testing.T) {
			db, d := newDialect()
			d.Hooks.Prepare = func(ctx context.Context, table string) error {
				if table == bad {
					return errors.New("permission denied for table s7")
				}
				return nil
			}
			groups := 0
			d.Hooks.PrepareTables = func(ctx context.Context, tables []string) error {
				groups++
				return errors.New("the group failed")
			}
			states, _, err := run(context.Background(), d, sqltarget.Config{MaxParallelFlushes: 1}, manyStreams(10))
			if groups != 1 {
				t.Errorf("%d groups, want 1", groups)
			}
			if bad == "" {
				if err != nil {
					t.Fatal(err)
				}
				checkStreams(t, db, 10)
				if strings.Join(states, ",") != `{"pos":1}` {
					t.Errorf("states %v", states)
				}
				return
			}
			if want := `preparing table for stream "s7": permission denied for table s7`; err == nil || err.Error() != want {
				t.Fatalf("error %v, want %s", err, want)
			}
			if len(states) != 0 {
				t.Errorf("states %v", states)
			}
		})
	}
}

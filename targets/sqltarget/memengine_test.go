package sqltarget_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
	"github.com/singerkit/singerkit/targets/sqltarget/memdialect"
)

// These tests drive the engine on the in-memory dialect with failures and
// slow loads on demand, and check what a database would hold afterwards.

// input is a stream s of records 1..n (keyed by id when keys), with a state
// {"pos":i} after every `every` records.
func input(n, every int, keys bool) string {
	k := ""
	if keys {
		k = `"id"`
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":[%s]}`+"\n", k)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, `{"type":"RECORD","stream":"s","record":{"id":%d,"v":"r%d"}}`+"\n", i, i)
		if i%every == 0 {
			fmt.Fprintf(&sb, `{"type":"STATE","value":{"pos":%d}}`+"\n", i)
		}
	}
	return sb.String()
}

// run runs the engine on d and returns the states it emitted, its log and
// its error.
func run(ctx context.Context, d *memdialect.Dialect, cfg sqltarget.Config, in string) (states []string, logs string, err error) {
	var out, log bytes.Buffer
	if cfg.DefaultTargetSchema == "" {
		cfg.DefaultTargetSchema = "t"
	}
	e := sqltarget.New(d, cfg, singer.NewLog(&log))
	enc := singer.NewEncoder(&out)
	err = e.Run(ctx, strings.NewReader(in), enc)
	enc.Flush()
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l != "" {
			states = append(states, l)
		}
	}
	return states, log.String(), err
}

func newDialect() (*memdialect.DB, *memdialect.Dialect) {
	db := memdialect.NewDB()
	var log bytes.Buffer
	return db, memdialect.New(db, singer.NewLog(&log))
}

func rowsOf(t *testing.T, db *memdialect.DB) []string {
	t.Helper()
	rows, err := db.Rows("t", "s", []string{"id", "v"}, "id")
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func want(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%d|r%d", i, i))
	}
	return out
}

func intp(n int) *int           { return &n }
func floatp(f float64) *float64 { return &f }
func join(s []string) string    { return strings.Join(s, ",") }
func statesUpTo(n, every int) string {
	var out []string
	for i := every; i <= n; i += every {
		out = append(out, fmt.Sprintf(`{"pos":%d}`, i))
	}
	return join(out)
}

// TestFailedLoadLeavesNothing: the third load fails (not a transient
// error): its rows are not in the table, the loads before it are, and the
// states emitted cover exactly the committed records.
func TestFailedLoadLeavesNothing(t *testing.T) {
	for _, keys := range []bool{true, false} {
		t.Run(fmt.Sprintf("keys=%v", keys), func(t *testing.T) {
			db, d := newDialect()
			var loads atomic.Int32
			d.Hooks.BeforeCommit = func(_ context.Context, table string, rows int) error {
				if loads.Add(1) == 3 {
					return errors.New("disk full")
				}
				return nil
			}
			states, _, err := run(context.Background(), d, sqltarget.Config{BatchSizeRows: 10, MaxParallelFlushes: 1}, input(50, 10, keys))
			if err == nil || err.Error() != `loading 10 records of stream "s" into s: disk full` {
				t.Fatalf("error %v", err)
			}
			if got := join(rowsOf(t, db)); got != join(want(1, 20)) {
				t.Errorf("rows %s, want the two committed batches (1..20)", got)
			}
			if got := join(states); got != statesUpTo(20, 10) {
				t.Errorf("states %s, want %s", got, statesUpTo(20, 10))
			}
		})
	}
}

// TestTransientFailuresRetried: every other attempt fails with a
// transient error; each batch is loaded once, all states come out.
func TestTransientFailuresRetried(t *testing.T) {
	db, d := newDialect()
	var attempts, opens atomic.Int32
	d.Hooks.Open = func(context.Context) error { opens.Add(1); return nil }
	d.Hooks.BeforeCommit = func(context.Context, string, int) error {
		if attempts.Add(1)%2 == 1 {
			return &sqltarget.TransientError{Err: errors.New("deadlock detected")}
		}
		return nil
	}
	states, logs, err := run(context.Background(), d, sqltarget.Config{BatchSizeRows: 10, MaxParallelFlushes: 1, MaxRetries: intp(1), RetryBackoffSeconds: floatp(0)}, input(30, 10, true))
	if err != nil {
		t.Fatal(err)
	}
	if got := join(rowsOf(t, db)); got != join(want(1, 30)) {
		t.Errorf("rows %s", got)
	}
	if got := join(states); got != statesUpTo(30, 10) {
		t.Errorf("states %s", got)
	}
	if n := attempts.Load(); n != 6 {
		t.Errorf("%d attempts, want 6 (3 batches, each failing once)", n)
	}
	if n := strings.Count(logs, "deadlock detected"); n != 3 {
		t.Errorf("%d retry warnings, want 3:\n%s", n, logs)
	}
	if opens.Load() < 4 {
		t.Errorf("%d sessions opened: a retry runs on a new session", opens.Load())
	}
}

// TestInDoubtAppendNotRepeated: an append whose COMMIT reply is lost, but
// which committed, is not loaded again: every record is in the table once.
func TestInDoubtAppendNotRepeated(t *testing.T) {
	db, d := newDialect()
	var n atomic.Int32
	d.Hooks.AfterCommit = func(context.Context, string, int) error {
		if n.Add(1) == 2 {
			return errors.New("connection reset by peer")
		}
		return nil
	}
	states, _, err := run(context.Background(), d, sqltarget.Config{BatchSizeRows: 10, MaxParallelFlushes: 1, RetryBackoffSeconds: floatp(0)}, input(30, 10, false))
	if err != nil {
		t.Fatal(err)
	}
	if got := join(rowsOf(t, db)); got != join(want(1, 30)) {
		t.Errorf("rows %s, want each record once", got)
	}
	if got := join(states); got != statesUpTo(30, 10) {
		t.Errorf("states %s", got)
	}
}

// TestSlowParallelLoads: loads are slow and run on three sessions at once,
// one stream each (they are held until three are in flight); states still
// come out in order and only once every record before them is committed.
func TestSlowParallelLoads(t *testing.T) {
	db, d := newDialect()
	var mu sync.Mutex
	inFlight, maxInFlight := map[string]int{}, map[string]int{}
	total, maxTotal := 0, 0
	all := make(chan struct{})
	var once sync.Once
	d.Hooks.BeforeCommit = func(ctx context.Context, table string, _ int) error {
		mu.Lock()
		inFlight[table]++
		maxInFlight[table] = max(maxInFlight[table], inFlight[table])
		total++
		maxTotal = max(maxTotal, total)
		if total == 3 {
			once.Do(func() { close(all) })
		}
		mu.Unlock()
		select {
		case <-all:
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		inFlight[table]--
		total--
		mu.Unlock()
		return nil
	}
	streams := []string{"a", "b", "c"}
	var in strings.Builder
	for _, st := range streams {
		fmt.Fprintf(&in, `{"type":"SCHEMA","stream":"%s","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":["id"]}`+"\n", st)
	}
	for i := 1; i <= 210; i++ {
		fmt.Fprintf(&in, `{"type":"RECORD","stream":"%s","record":{"id":%d,"v":"r%d"}}`+"\n", streams[i%3], i, i)
		if i%30 == 0 {
			fmt.Fprintf(&in, `{"type":"STATE","value":{"pos":%d}}`+"\n", i)
		}
	}
	states, _, err := run(context.Background(), d, sqltarget.Config{LoadMethod: "append", BatchSizeRows: 7, MaxParallelFlushes: 3}, in.String())
	if err != nil {
		t.Fatal(err)
	}
	if maxTotal != 3 {
		t.Errorf("at most %d loads at once, want 3", maxTotal)
	}
	if len(maxInFlight) != 3 {
		t.Errorf("loads into %v, want three tables", maxInFlight)
	}
	for table, n := range maxInFlight {
		// One session per stream: its loads never overlap.
		if n != 1 {
			t.Errorf("table %s: %d loads at once, want 1", table, n)
		}
	}
	for k, st := range streams {
		rows, err := db.Rows("t", st, []string{"id", "v"}, "id")
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := 1; i <= 210; i++ {
			if i%3 == k {
				want = append(want, fmt.Sprintf("%d|r%d", i, i))
			}
		}
		if join(rows) != join(want) {
			t.Errorf("stream %s: rows %s, want %s", st, join(rows), join(want))
		}
	}
	last := 0
	for _, st := range states {
		var pos int
		if _, err := fmt.Sscanf(st, `{"pos":%d}`, &pos); err != nil || pos <= last {
			t.Errorf("state %s after pos %d: states only move forward", st, last)
		}
		last = pos
	}
	if last != 210 {
		t.Errorf("last state pos %d, want 210", last)
	}
}

// TestCancelDuringSlowLoad: the run is cancelled (a signal) while a load
// hangs past shutdown_timeout_seconds; the load's transaction is abandoned
// (its rows are not in the table), no state covers them, and the error
// says so.
func TestCancelDuringSlowLoad(t *testing.T) {
	db, d := newDialect()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var loads atomic.Int32
	d.Hooks.BeforeCommit = func(ctx context.Context, _ string, _ int) error {
		if loads.Add(1) == 2 {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	states, _, err := run(ctx, d, sqltarget.Config{BatchSizeRows: 10, MaxParallelFlushes: 1, ShutdownTimeoutSeconds: floatp(0.2)}, input(40, 10, true))
	if err == nil || err.Error() != "interrupted by a signal, and the loads under way did not finish within shutdown_timeout_seconds (200ms): loading 10 records of stream \"s\" into s was abandoned before it committed" {
		t.Fatalf("error %v", err)
	}
	if got := join(rowsOf(t, db)); got != join(want(1, 10)) {
		t.Errorf("rows %s, want only the first batch", got)
	}
	if got := join(states); got != statesUpTo(10, 10) {
		t.Errorf("states %s, want only the one the first batch covers", got)
	}
}

// TestRampedBatches: a dialect that ramps gets batches of 1/16 of
// batch_size_rows doubling up to it; one that does not gets whole
// batches; a policy under 16000 rows is kept batch for batch.
func TestRampedBatches(t *testing.T) {
	for _, c := range []struct {
		name  string
		ramp  bool
		rows  int
		n     int
		loads string
	}{
		{"ramped", true, 32000, 70000, "2000,4000,8000,16000,32000,8000"},
		{"not asked", false, 32000, 70000, "32000,32000,6000"},
		{"small policy kept", true, 8000, 20000, "8000,8000,4000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, d := newDialect()
			d.Ramp = c.ramp
			loads := recordLoads(d)
			states, _, err := run(context.Background(), d, sqltarget.Config{BatchSizeRows: c.rows}, input(c.n, 1000, true))
			if err != nil {
				t.Fatal(err)
			}
			if got := join(*loads); got != c.loads {
				t.Errorf("loads %s, want %s", got, c.loads)
			}
			checkLoaded(t, db, states, c.n)
		})
	}
}

// TestIdleFlush: with idle flushes, a batch goes to its loader as soon as
// the loader has nothing to do and the batch has 1/16 of its limit: the
// first load (the loader is idle at the start) has 2000/16 rows; loads
// then take what came while the one before ran, never more than the
// limit; every record is loaded once and the last state comes out.
func TestIdleFlush(t *testing.T) {
	db, d := newDialect()
	d.Ramp, d.IdleFlush = true, true
	loads := recordLoads(d)
	states, _, err := run(context.Background(), d, sqltarget.Config{BatchSizeRows: 32000}, input(70000, 1000, true))
	if err != nil {
		t.Fatal(err)
	}
	if len(*loads) == 0 || (*loads)[0] != "125" {
		t.Fatalf("loads %s, want the first of 125 rows", join(*loads))
	}
	total := 0
	for _, l := range *loads {
		var n int
		fmt.Sscan(l, &n)
		if n > 32000 {
			t.Errorf("a load of %d rows, over batch_size_rows", n)
		}
		total += n
	}
	if total != 70000 {
		t.Errorf("%d rows loaded in all, want 70000 (%s)", total, join(*loads))
	}
	checkLoaded(t, db, states, 70000)
}

// recordLoads makes d record the row count of each load, in order.
func recordLoads(d *memdialect.Dialect) *[]string {
	var mu sync.Mutex
	loads := new([]string)
	d.Hooks.BeforeCommit = func(_ context.Context, _ string, rows int) error {
		mu.Lock()
		*loads = append(*loads, fmt.Sprint(rows))
		mu.Unlock()
		return nil
	}
	return loads
}

// checkLoaded: the table has rows 1..n and the last state is pos n.
func checkLoaded(t *testing.T, db *memdialect.DB, states []string, n int) {
	t.Helper()
	if got := join(rowsOf(t, db)); got != join(want(1, n)) {
		t.Errorf("%d rows, want 1..%d", len(rowsOf(t, db)), n)
	}
	if len(states) == 0 || states[len(states)-1] != fmt.Sprintf(`{"pos":%d}`, n) {
		t.Errorf("states end %v, want pos %d", states[max(len(states)-1, 0):], n)
	}
}

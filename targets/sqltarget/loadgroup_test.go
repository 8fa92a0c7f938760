package sqltarget_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
	"github.com/singerkit/singerkit/targets/sqltarget/memdialect"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// runGrouped runs the engine on sqltargettest.GroupedInput (one loader, batches of two,
// append; maxRetries when not nil) with a loader that waits, the first
// time it could gather loads, until three are queued.
func runGrouped(t *testing.T, d *memdialect.Dialect, maxRetries *int) (states []string, err error) {
	t.Helper()
	var out, log bytes.Buffer
	e := sqltarget.New(d, sqltarget.Config{DefaultTargetSchema: "t", BatchSizeRows: 2, MaxParallelFlushes: 1, LoadMethod: "append", MaxRetries: maxRetries}, singer.NewLog(&log))
	var once sync.Once
	e.SetGatherHook(func(queued func() int) {
		once.Do(func() {
			deadline := time.Now().Add(10 * time.Second)
			for queued() < 3 {
				if time.Now().After(deadline) {
					t.Errorf("only %d loads queued behind the first", queued())
					return
				}
				runtime.Gosched()
			}
		})
	})
	enc := singer.NewEncoder(&out)
	err = e.Run(context.Background(), strings.NewReader(sqltargettest.GroupedInput(`["id"]`)), enc)
	enc.Flush()
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l != "" {
			states = append(states, l)
		}
	}
	return states, err
}

func tableRows(t *testing.T, db *memdialect.DB, table string) string {
	t.Helper()
	rows, err := db.Rows("t", table, []string{"id", "v"}, "id")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(rows, ",")
}

// TestLoadGroups: the appends of other streams queued behind a load go
// with it in one LoadMany, in their order; a stream's next batch loads on
// its own after the group (so that the stream fills a batch meanwhile).
// Every row lands once and the state comes after all of them.
func TestLoadGroups(t *testing.T) {
	db, d := newDialect()
	d.Group = true
	var groups []string
	d.Hooks.LoadMany = func(_ context.Context, tables []string) error {
		groups = append(groups, strings.Join(tables, " "))
		return nil
	}
	states, err := runGrouped(t, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(groups, "|"); got != "t.a t.b t.c" {
		t.Errorf("groups %q, want one of a, b, c", got)
	}
	for table, want := range map[string]string{"a": "1|a1,2|a2,7|a7,8|a8", "b": "3|b3,4|b4", "c": "5|c5,6|c6"} {
		if got := tableRows(t, db, table); got != want {
			t.Errorf("table %s: %s, want %s", table, got, want)
		}
	}
	if strings.Join(states, ",") != `{"pos":8}` {
		t.Errorf("states %v", states)
	}
}

// TestLoadGroupFails: a group the database refuses is loaded batch by
// batch, so the batch that cannot be loaded stops the run with its own
// error, the batches before it committed. A group that fails with a
// transient error until the retries are spent may have committed (a
// COMMIT without reply): its batches are not loaded again one by one, the
// run stops with the group's error. No state is emitted past what
// committed.
func TestLoadGroupFails(t *testing.T) {
	zero := 0
	for _, c := range []struct {
		name       string
		groupErr   error
		maxRetries *int
		wantErr    string
		wantRows   map[string]string
	}{
		{"refused", errors.New("the group failed"), nil, `loading 2 records of stream "c" into c: disk full`,
			map[string]string{"a": "1|a1,2|a2", "b": "3|b3,4|b4", "c": ""}},
		{"transient", &sqltarget.TransientError{Err: errors.New("connection reset")}, &zero, `loading 6 records of 3 batches (streams "a" to "c") in one transaction: connection reset`,
			map[string]string{"a": "", "b": "", "c": ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, d := newDialect()
			d.Group = true
			var groups int
			d.Hooks.LoadMany = func(context.Context, []string) error {
				groups++
				return c.groupErr
			}
			d.Hooks.BeforeCommit = func(_ context.Context, table string, _ int) error {
				if table == "t.c" {
					return errors.New("disk full")
				}
				return nil
			}
			states, err := runGrouped(t, d, c.maxRetries)
			if err == nil || err.Error() != c.wantErr {
				t.Fatalf("error %v, want %s", err, c.wantErr)
			}
			if groups != 1 {
				t.Errorf("%d groups tried, want 1", groups)
			}
			for table, want := range c.wantRows {
				if got := tableRows(t, db, table); got != want {
					t.Errorf("table %s: %q, want %q", table, got, want)
				}
			}
			if len(states) != 0 {
				t.Errorf("states %v", states)
			}
		})
	}
}

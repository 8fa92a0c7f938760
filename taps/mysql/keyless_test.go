package mysql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// cancelOnRecords cancels the run at the first write that holds a
// RECORD: a SIGTERM in the middle of the one-pass read of a keyless table.
type cancelOnRecords struct {
	buf    bytes.Buffer
	cancel context.CancelFunc
}

func (c *cancelOnRecords) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(`{"type":"RECORD"`)) {
		c.cancel()
	}
	return c.buf.Write(p)
}

// TestMy5KeylessRestart: a keyless table has no cursor to resume from, so
// an interrupted FULL_TABLE sync starts over under a new table version;
// the target's ACTIVATE_VERSION at its end removes the rows the
// interrupted run left. The second run sends every row exactly once,
// all under the new version, and announces it only at the end.
func TestMy5KeylessRestart(t *testing.T) {
	db := connect(t)
	name := testDB(t, db)
	tbl := quoteIdent(name) + ".my5_logs"
	const rows = 20000
	mustExec(t, db,
		"CREATE TABLE "+tbl+" (msg varchar(10), n int)",
		fmt.Sprintf("INSERT INTO %s SELECT CONCAT('m', seq %% 7), seq FROM seq_1_to_%d", tbl, rows),
	)
	env := &sqltaptest.Env{Driver: testDriver(t, name)}
	id := name + "-my5_logs"
	cat := sqltaptest.Discover(t, env)
	sqltaptest.Select(t, cat, singer.ReplicationFullTable, "", id)

	first := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelOnRecords{cancel: cancel}
	out := singer.NewEncoder(w)
	e := &sqltap.Engine{Driver: env.Driver, Options: sqltap.Options{Now: func() time.Time { return first }}}
	err := e.Sync(ctx, cat, singer.NewState(), out)
	_ = out.Flush()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
	}
	lines := strings.Split(strings.TrimSpace(w.buf.String()), "\n")
	sent := strings.Count(w.buf.String(), `{"type":"RECORD"`)
	if sent == 0 || sent >= rows {
		t.Fatalf("the interrupted run sent %d of %d rows: not interrupted in the middle", sent, rows)
	}
	last := lines[len(lines)-1]
	want := fmt.Sprintf(`{"type":"STATE","value":{"bookmarks":{%q:{"version":%d}},"currently_syncing":%q}}`, id, first.UnixMilli(), id)
	if last != want {
		t.Fatalf("interrupted run ends with\n%s\nwant\n%s", last, want)
	}
	state, err := singer.ParseState([]byte(last[strings.Index(last, `"value":`)+8 : len(last)-1]))
	if err != nil {
		t.Fatal(err)
	}

	second := first.Add(time.Hour)
	opts := sqltaptest.Options()
	opts.Now = func() time.Time { return second }
	got, err := sqltaptest.Sync(t, env, opts, cat, state)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]int, rows+1)
	var activates []string
	for _, l := range got {
		var m struct {
			Type    string
			Version int64
			Record  struct {
				Msg string
				N   int
			}
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		switch m.Type {
		case "RECORD":
			if m.Version != second.UnixMilli() {
				t.Fatalf("record %s: version %d, want the new version %d", l, m.Version, second.UnixMilli())
			}
			if m.Record.N < 1 || m.Record.N > rows || m.Record.Msg != fmt.Sprintf("m%d", m.Record.N%7) {
				t.Fatalf("record %s is not a row of the table", l)
			}
			seen[m.Record.N]++
		case "ACTIVATE_VERSION":
			activates = append(activates, l)
		}
	}
	for n := 1; n <= rows; n++ {
		if seen[n] != 1 {
			t.Fatalf("row n=%d sent %d times by the second run, want once", n, seen[n])
		}
	}
	wantActivate := fmt.Sprintf(`{"type":"ACTIVATE_VERSION","stream":%q,"version":%d}`, id, second.UnixMilli())
	if len(activates) != 1 || activates[0] != wantActivate {
		t.Errorf("ACTIVATE_VERSION lines %v, want only %s at the end", activates, wantActivate)
	}
	wantLast := fmt.Sprintf(`{"type":"STATE","value":{"bookmarks":{%q:{"version":%d}},"currently_syncing":null}}`, id, second.UnixMilli())
	if got[len(got)-1] != wantLast {
		t.Errorf("second run ends with\n%s\nwant\n%s", got[len(got)-1], wantLast)
	}
}

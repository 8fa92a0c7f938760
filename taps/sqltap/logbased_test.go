package sqltap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/singerkit/singerkit/singer"
)

// snapDriver has tables of ids 1..n, a change log without changes, and a
// snapshot opened with it; it records what the engine asks, in order.
type snapDriver struct {
	tables []*Table
	n      int
	events []string
	// failScan, when set, makes the scan of that stream fail before any row.
	failScan string
}

func snapTable(name string) *Table {
	return &Table{
		TapStreamID: "s-" + name, Stream: "s-" + name, Namespace: "s", Name: name, Keys: []string{"id"},
		Columns: []Column{{Name: "id", SQLType: "integer", Schema: json.RawMessage(`{"type":"integer"}`), Orderable: true}},
	}
}

func (d *snapDriver) Discover(context.Context) ([]*Table, error) { return d.tables, nil }

func (d *snapDriver) Scan(ctx context.Context, req *ScanRequest, sink func(Row) error) ([]any, error) {
	d.events = append(d.events, fmt.Sprintf("scan %s snapshot=%v", req.Table.Name, req.Snapshot))
	if req.Table.TapStreamID == d.failScan {
		return nil, errors.New("connection lost")
	}
	return (&memDriver{n: d.n}).Scan(ctx, req, sink)
}

func (d *snapDriver) LogPosition(context.Context, []*Table) (any, error) {
	d.events = append(d.events, "position")
	return json.Number("7"), nil
}

func (d *snapDriver) LogSnapshot(_ context.Context, tables []*Table) (any, func() error, error) {
	d.events = append(d.events, fmt.Sprintf("snapshot of %d tables", len(tables)))
	return json.Number("5"), func() error { d.events = append(d.events, "end snapshot"); return nil }, nil
}

func (d *snapDriver) ReadLog(_ context.Context, req *LogRequest, _ LogSink) error {
	d.events = append(d.events, fmt.Sprintf("read log of %d streams", len(req.Streams)))
	return nil
}

func (d *snapDriver) ComparePositions(a, b any) int {
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func (d *snapDriver) CheckLog(context.Context, *LogRequest) error { return nil }

func snapCatalog(d *snapDriver, methods ...string) *singer.Catalog {
	cat := &singer.Catalog{}
	for i, t := range d.tables {
		e := CatalogEntry(t)
		e.Metadata.SetSelected(nil, true)
		e.Metadata.SetReplicationMethod(methods[i])
		cat.Streams = append(cat.Streams, e)
	}
	return cat
}

// TestSyncLogSnapshot: every LOG_BASED stream without a position reads in
// the one snapshot the driver opened with the log, a FULL_TABLE stream
// between them does not, and the snapshot ends after the last of them,
// before the change phase.
func TestSyncLogSnapshot(t *testing.T) {
	d := &snapDriver{tables: []*Table{snapTable("a"), snapTable("f"), snapTable("b"), snapTable("g")}, n: 3}
	cat := snapCatalog(d, singer.ReplicationLogBased, singer.ReplicationFullTable, singer.ReplicationLogBased, singer.ReplicationFullTable)
	var buf bytes.Buffer
	out := singer.NewEncoder(&buf)
	e := &Engine{Driver: d, Options: Options{ChunkSize: 10, Now: func() time.Time { return testNow }}}
	if err := e.Sync(context.Background(), cat, singer.NewState(), out); err != nil {
		t.Fatal(err)
	}
	out.Flush()
	want := []string{
		"snapshot of 2 tables",
		"scan a snapshot=true",
		"scan f snapshot=false",
		"scan b snapshot=true",
		"end snapshot",
		"scan g snapshot=false",
		"read log of 2 streams",
	}
	if got := strings.Join(d.events, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	v := testNow.UnixMilli()
	wantState := fmt.Sprintf(`{"type":"STATE","value":{"bookmarks":{"s-a":{"lsn":5,"version":%d},"s-b":{"lsn":5,"version":%d},"s-f":{"version":%d},"s-g":{"version":%d}},"currently_syncing":null}}`, v, v, v, v)
	if got := lines[len(lines)-1]; got != wantState {
		t.Errorf("last state:\n got %s\nwant %s", got, wantState)
	}
}

// TestSyncLogSnapshotFailsBeforeProgress: a LOG_BASED table read that
// fails before any progress bookmark leaves no lsn in the state, so the
// next run reads the table again instead of taking it for done.
func TestSyncLogSnapshotFailsBeforeProgress(t *testing.T) {
	d := &snapDriver{tables: []*Table{snapTable("a"), snapTable("b")}, n: 3, failScan: "s-b"}
	cat := snapCatalog(d, singer.ReplicationLogBased, singer.ReplicationLogBased)
	state := singer.NewState()
	e := &Engine{Driver: d, Options: Options{ChunkSize: 10, Now: func() time.Time { return testNow }}}
	var buf bytes.Buffer
	err := e.Sync(context.Background(), cat, state, singer.NewEncoder(&buf))
	if err == nil || err.Error() != `stream "s-b": connection lost` {
		t.Fatalf("err = %v", err)
	}
	if _, ok := state.Bookmark("s-b", BookmarkLogPosition); ok {
		t.Errorf("the failed stream keeps its lsn: %v", state.Bookmarks["s-b"])
	}
	if pos, _ := state.Bookmark("s-a", BookmarkLogPosition); fmt.Sprint(pos) != "5" {
		t.Errorf("the read stream's lsn is %v, want 5", pos)
	}
	if got := d.events[len(d.events)-1]; got != "end snapshot" {
		t.Errorf("last event %q, want the snapshot ended", got)
	}
}

// trickleDriver's change log has one change, committed at position "9",
// then nothing more until the run is cancelled: a trickle.
type trickleDriver struct{ snapDriver }

func (d *trickleDriver) ReadLog(ctx context.Context, req *LogRequest, sink LogSink) error {
	if err := sink.Change(0, []byte(`{"id":4,"_sdc_deleted_at":null}`)); err != nil {
		return err
	}
	if err := sink.Advance("9"); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

// stateWatch passes lines on and closes seen at the first line holding want.
type stateWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  string
	seen  chan struct{}
	found bool
}

func (w *stateWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.found && strings.Contains(w.buf.String(), w.want) {
		w.found = true
		close(w.seen)
	}
	return len(p), nil
}

// TestLogStateOnTime: a change phase whose position moved writes its state
// within LogStateInterval, though far fewer changes than StateEvery came
// and the log then stays quiet (before, the position was only written
// after StateEvery changes or at the end of the run: a killed run kept
// none of it).
func TestLogStateOnTime(t *testing.T) {
	d := &trickleDriver{snapDriver{tables: []*Table{snapTable("a")}, n: 0}}
	cat := snapCatalog(&d.snapDriver, singer.ReplicationLogBased)
	state := singer.NewState()
	state.SetBookmark("s-a", BookmarkLogPosition, "5")
	state.SetBookmark("s-a", BookmarkVersion, json.Number("1"))
	want := `{"type":"STATE","value":{"bookmarks":{"s-a":{"lsn":"9","version":1}},"currently_syncing":null}}`
	w := &stateWatch{want: want, seen: make(chan struct{})}
	e := &Engine{Driver: d, Options: Options{StateEvery: 1000, LogStateInterval: 10 * time.Millisecond, LogIdle: time.Hour, Now: func() time.Time { return testNow }}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Sync(ctx, cat, state, singer.NewEncoder(w)) }()
	select {
	case <-w.seen:
	case err := <-done:
		t.Fatalf("the run ended (%v) without the state; output:\n%s", err, w.buf.String())
	case <-time.After(time.Minute):
		t.Fatalf("no STATE with the moved position while the run went on; output:\n%s", w.buf.String())
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(w.buf.String()), "\n")
	rec := fmt.Sprintf(`{"type":"RECORD","stream":"s-a","record":{"id":4,"_sdc_deleted_at":null},"version":1,"time_extracted":"%s"}`, testNow.UTC().Format(time.RFC3339))
	i := slices.Index(lines, rec)
	j := slices.Index(lines, want)
	if i < 0 || j < i {
		t.Errorf("want the record, then the state after it; output:\n%s", w.buf.String())
	}
}

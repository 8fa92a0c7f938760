package sqltap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
)

// memDriver is an in-memory table of integer ids 1..n, for engine tests
// that need no database.
type memDriver struct {
	n       int
	cancel  context.CancelFunc
	afterID int // cancel the context once this id has been sent
}

var memTable = &Table{
	TapStreamID: "s-t", Stream: "s-t", Namespace: "s", Name: "t", Keys: []string{"id"},
	Columns: []Column{{Name: "id", SQLType: "integer", Schema: json.RawMessage(`{"type":"integer"}`), Orderable: true}},
}

func (d *memDriver) Discover(context.Context) ([]*Table, error) { return []*Table{memTable}, nil }

type memRow struct{ id int }

func (r memRow) Record() []byte { return fmt.Appendf(nil, `{"id":%d}`, r.id) }
func (r memRow) Order() []any   { return []any{json.Number(fmt.Sprint(r.id))} }

func (d *memDriver) Scan(ctx context.Context, req *ScanRequest, sink func(Row) error) ([]any, error) {
	from := 0
	if req.After != nil {
		fmt.Sscan(fmt.Sprint(req.After[0]), &from)
	}
	var last []any
	sent := 0
	for id := from + 1; id <= d.n; id++ {
		if req.Limit > 0 && sent == req.Limit {
			break
		}
		if err := ctx.Err(); err != nil {
			return last, err
		}
		if err := sink(memRow{id}); err != nil {
			return last, err
		}
		sent++
		last = memRow{id}.Order()
		if id == d.afterID {
			d.cancel()
		}
	}
	return last, nil
}

func memCatalog(t *testing.T, method string) *singer.Catalog {
	t.Helper()
	e := CatalogEntry(memTable)
	e.Metadata.SetSelected(nil, true)
	if method != "" {
		e.Metadata.SetReplicationMethod(method)
	}
	return &singer.Catalog{Streams: []singer.CatalogEntry{e}}
}

var testNow = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func TestSyncCancelledWritesState(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := &memDriver{n: 10, cancel: cancel, afterID: 3}
	var buf bytes.Buffer
	out := singer.NewEncoder(&buf)
	e := &Engine{Driver: d, Options: Options{ChunkSize: 2, Now: func() time.Time { return testNow }}}
	err := e.Sync(ctx, memCatalog(t, ""), singer.NewState(), out)
	out.Flush()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	v := testNow.UnixMilli()
	want := fmt.Sprintf(`{"type":"STATE","value":{"bookmarks":{"s-t":{"last_pk_fetched":{"id":3},"version":%d}},"currently_syncing":"s-t"}}`, v)
	if got := lines[len(lines)-1]; got != want {
		t.Errorf("last line:\n got %s\nwant %s", got, want)
	}
	if n := strings.Count(buf.String(), `"type":"RECORD"`); n != 3 {
		t.Errorf("%d records before the cancel, want 3", n)
	}
}

func TestSyncRefusals(t *testing.T) {
	cases := []struct {
		name    string
		catalog *singer.Catalog
		want    string
	}{
		{"no catalog", nil, "--catalog is required: run --discover, select streams, and pass the edited catalog"},
		{"log based without a log reader", memCatalog(t, singer.ReplicationLogBased), `catalog stream "s-t": replication method LOG_BASED is not supported by this tap (use FULL_TABLE or INCREMENTAL)`},
		{"unknown method", memCatalog(t, "SOMETIMES"), `catalog stream "s-t": replication method "SOMETIMES" is not supported (use FULL_TABLE, INCREMENTAL or LOG_BASED)`},
		{"incremental without key", memCatalog(t, singer.ReplicationIncremental), `catalog stream "s-t": INCREMENTAL needs a replication-key (one of the stream's valid-replication-keys)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := &Engine{Driver: &memDriver{n: 1}}
			err := e.Sync(context.Background(), c.catalog, singer.NewState(), singer.NewEncoder(&buf))
			var ue *cli.UsageError
			if !errors.As(err, &ue) || err.Error() != c.want {
				t.Errorf("err = %v, want usage error %q", err, c.want)
			}
			if buf.Len() != 0 {
				t.Errorf("output %q, want none", buf.String())
			}
		})
	}
}

// physDriver is a keyless in-memory table of ids 1..n read in a
// resumable physical order; positions are "gen:id", and a position of
// another generation is stale.
type physDriver struct {
	n   int
	gen int
}

var physTable = &Table{
	TapStreamID: "s-k", Stream: "s-k", Namespace: "s", Name: "k",
	Columns: []Column{{Name: "id", SQLType: "integer", Schema: json.RawMessage(`{"type":"integer"}`)}},
}

func (d *physDriver) Discover(context.Context) ([]*Table, error) { return []*Table{physTable}, nil }

func (d *physDriver) PhysicalBookmark(*Table) string { return "last_pos" }

func (d *physDriver) CheckPosition(_ *Table, pos any) error {
	if s, ok := pos.(string); !ok || !strings.Contains(s, ":") {
		return fmt.Errorf("%v is not gen:id", pos)
	}
	return nil
}

type physRow struct{ gen, id int }

func (r physRow) Record() []byte { return fmt.Appendf(nil, `{"id":%d}`, r.id) }
func (r physRow) Order() []any   { return []any{fmt.Sprintf("%d:%d", r.gen, r.id)} }

func (d *physDriver) Scan(ctx context.Context, req *ScanRequest, sink func(Row) error) ([]any, error) {
	if !req.Physical {
		return nil, errors.New("not a physical scan")
	}
	from := 0
	if req.After != nil {
		var gen int
		fmt.Sscanf(req.After[0].(string), "%d:%d", &gen, &from)
		if gen != d.gen {
			return nil, fmt.Errorf("position %v: %w", req.After[0], ErrPositionStale)
		}
	}
	var last []any
	for id := from + 1; id <= d.n; id++ {
		if err := sink(physRow{d.gen, id}); err != nil {
			return last, err
		}
		last = physRow{d.gen, id}.Order()
	}
	return last, nil
}

func TestSyncPhysicalResume(t *testing.T) {
	e := CatalogEntry(physTable)
	e.Metadata.SetSelected(nil, true)
	cat := &singer.Catalog{Streams: []singer.CatalogEntry{e}}
	v := testNow.UnixMilli()
	run := func(d *physDriver, state string, now time.Time) []string {
		t.Helper()
		st, err := singer.ParseState([]byte(state))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		out := singer.NewEncoder(&buf)
		eng := &Engine{Driver: d, Options: Options{ChunkSize: 2, Now: func() time.Time { return now }}}
		if err := eng.Sync(context.Background(), cat, st, out); err != nil {
			t.Fatal(err)
		}
		out.Flush()
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if !strings.Contains(l, `"type":"SCHEMA"`) {
				lines = append(lines, l)
			}
		}
		return lines
	}
	rec := func(id int, v int64) string {
		return fmt.Sprintf(`{"type":"RECORD","stream":"s-k","record":{"id":%d},"version":%d,"time_extracted":"2024-01-02T03:04:05Z"}`, id, v)
	}
	state := func(bm string, v int64, syncing string) string {
		return fmt.Sprintf(`{"type":"STATE","value":{"bookmarks":{"s-k":{%s"version":%d}},"currently_syncing":%s}}`, bm, v, syncing)
	}
	compare := func(got, want []string) {
		t.Helper()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// Resume after position 1:2 in the same version: 3, 4, 5, with a STATE
	// every 2 rows.
	d := &physDriver{n: 5, gen: 1}
	compare(run(d, fmt.Sprintf(`{"bookmarks":{"s-k":{"last_pos":"1:2","version":%d}}}`, v), testNow), []string{
		state(`"last_pos":"1:2",`, v, `"s-k"`),
		rec(3, v), rec(4, v),
		state(`"last_pos":"1:4",`, v, `"s-k"`),
		rec(5, v),
		fmt.Sprintf(`{"type":"ACTIVATE_VERSION","stream":"s-k","version":%d}`, v),
		state("", v, `"s-k"`),
		state("", v, "null"),
	})
	// The table was rewritten (generation 2): the whole table again, in a
	// new version, no ACTIVATE_VERSION before it (the old rows stay visible
	// until the new version is complete).
	d.gen = 2
	later := testNow.Add(time.Minute)
	v2 := later.UnixMilli()
	rec2 := func(id int) string {
		return strings.Replace(rec(id, v2), "03:04:05Z", "03:05:05Z", 1)
	}
	compare(run(d, fmt.Sprintf(`{"bookmarks":{"s-k":{"last_pos":"1:2","version":%d}}}`, v), later), []string{
		state(`"last_pos":"1:2",`, v, `"s-k"`),
		rec2(1), rec2(2),
		state(`"last_pos":"2:2",`, v2, `"s-k"`),
		rec2(3), rec2(4),
		state(`"last_pos":"2:4",`, v2, `"s-k"`),
		rec2(5),
		fmt.Sprintf(`{"type":"ACTIVATE_VERSION","stream":"s-k","version":%d}`, v2),
		state("", v2, `"s-k"`),
		state("", v2, "null"),
	})
}

func TestSyncPhysicalBadPosition(t *testing.T) {
	e := CatalogEntry(physTable)
	e.Metadata.SetSelected(nil, true)
	st, _ := singer.ParseState([]byte(`{"bookmarks":{"s-k":{"last_pos":7,"version":1}}}`))
	var buf bytes.Buffer
	err := (&Engine{Driver: &physDriver{n: 1}}).Sync(context.Background(), &singer.Catalog{Streams: []singer.CatalogEntry{e}}, st, singer.NewEncoder(&buf))
	var ue *cli.UsageError
	if want := `catalog stream "s-k": state bookmark last_pos: 7 is not gen:id`; !errors.As(err, &ue) || err.Error() != want {
		t.Errorf("err = %v, want usage error %q", err, want)
	}
	if buf.Len() != 0 {
		t.Errorf("output %q, want none", buf.String())
	}
}

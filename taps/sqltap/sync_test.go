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
			var ue *singer.UsageError
			if !errors.As(err, &ue) || err.Error() != c.want {
				t.Errorf("err = %v, want usage error %q", err, c.want)
			}
			if buf.Len() != 0 {
				t.Errorf("output %q, want none", buf.String())
			}
		})
	}
}

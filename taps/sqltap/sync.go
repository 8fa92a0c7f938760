package sqltap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
)

// Bookmark keys the engine keeps per stream in the state.
const (
	BookmarkVersion             = "version"
	BookmarkLastPKFetched       = "last_pk_fetched"
	BookmarkReplicationKey      = "replication_key"
	BookmarkReplicationKeyValue = "replication_key_value"
)

// Options tune a sync.
type Options struct {
	// ChunkSize is the number of rows a FULL_TABLE chunk reads (and the
	// number of rows between STATEs); default 10000.
	ChunkSize int
	// StateEvery is the number of INCREMENTAL rows between STATEs; default
	// ChunkSize.
	StateEvery int
	// DefaultReplicationMethod applies to streams whose catalog entry names
	// none; default FULL_TABLE.
	DefaultReplicationMethod string
	// Now is the clock (time_extracted and table versions); default
	// time.Now.
	Now func() time.Time
	// LogIdle ends the LOG_BASED change phase after this long without a
	// change (default 10s); LogMaxRun ends it in any case (default 12h).
	LogIdle   time.Duration
	LogMaxRun time.Duration
	// LogStateInterval is the longest time the change phase goes without
	// a STATE once a position moved (default DefaultLogStateInterval); a
	// STATE also follows every StateEvery changes.
	LogStateInterval time.Duration
}

// Engine runs discovery and syncs over one driver.
type Engine struct {
	Driver  Driver
	Options Options
	Log     *singer.Log
}

// stream is one selected catalog entry, resolved against the database.
type stream struct {
	entry   *singer.CatalogEntry
	table   *Table
	cols    []int // selected columns, in table order
	keys    []int // key columns (chunk order)
	method  string
	repKey  int // replication key column, -1 when none
	schema  json.RawMessage
	keyName []string // key_properties of the SCHEMA
	// chunkKey names the keys (the table's primary key).
	chunkKey []string
}

// Sync writes SCHEMA, RECORD, ACTIVATE_VERSION and STATE messages for the
// selected streams of catalog to out, starting from state. Problems with the
// catalog or the state are *cli.UsageError (exit 2), reported all at once
// before anything is written. On ctx cancellation it writes the state of
// what it sent and returns ctx.Err().
func (e *Engine) Sync(ctx context.Context, catalog *singer.Catalog, state *singer.State, out *singer.Encoder) error {
	if catalog == nil {
		return cli.Usagef("--catalog is required: run --discover, select streams, and pass the edited catalog")
	}
	if err := catalog.Validate(); err != nil {
		return cli.Usagef("invalid catalog: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	tables, err := e.Driver.Discover(ctx)
	if err != nil {
		return err
	}
	streams, err := e.resolve(catalog, tables, state)
	if err != nil {
		return err
	}
	if err := e.checkKeys(ctx, streams, state); err != nil {
		return err
	}
	if len(streams) == 0 {
		e.logf("no stream is selected in the catalog")
	}
	// Resume: start with the stream an interrupted run was in.
	if cs := state.CurrentlySyncing; cs != "" {
		if i := slices.IndexFunc(streams, func(s *stream) bool { return s.table.TapStreamID == cs }); i > 0 {
			streams = append(streams[i:], streams[:i]...)
		}
	}
	counters := singer.NewCounters(e.log(), "record_count", 60*time.Second)
	defer counters.Close()
	// LOG_BASED: the positions the run started with are what the target
	// has committed; only they may be confirmed to the database.
	var logStreams []*stream
	var confirm, snapshotPos any
	lr, _ := e.Driver.(LogReader)
	// snap is the snapshot a LogSnapshotter opened with the change log, open
	// while LOG_BASED streams are left to read in it.
	snap := &logSnapshot{e: e}
	defer snap.close()
	for _, s := range streams {
		if s.method != singer.ReplicationLogBased {
			continue
		}
		logStreams = append(logStreams, s)
		if p, ok := state.Bookmark(s.table.TapStreamID, BookmarkLogPosition); ok && p != nil {
			if confirm == nil || lr.ComparePositions(p, confirm) < 0 {
				confirm = p
			}
		}
	}
	if len(logStreams) > 0 {
		req := &LogRequest{}
		for _, s := range logStreams {
			pos, _ := state.Bookmark(s.table.TapStreamID, BookmarkLogPosition)
			req.Streams = append(req.Streams, LogStream{Table: s.table, Columns: s.cols, Position: pos})
		}
		if err := lr.CheckLog(ctx, req); err != nil {
			return err
		}
	}
	for _, s := range streams {
		id := s.table.TapStreamID
		state.CurrentlySyncing = id
		if err := writeState(out, state); err != nil {
			return err
		}
		if err := out.WriteSchema(singer.SchemaMessage{Stream: s.entry.Stream, Schema: s.schema, KeyProperties: s.keyName, BookmarkProperties: s.bookmarkProperties()}); err != nil {
			return err
		}
		r := &run{e: e, s: s, state: state, out: out, counter: counters.For(s.entry.Stream), now: e.now()}
		switch s.method {
		case singer.ReplicationIncremental:
			err = r.incremental(ctx)
		case singer.ReplicationLogBased:
			bm := state.Bookmarks[id]
			_, hasPos := bm[BookmarkLogPosition]
			_, inSnapshot := bm[BookmarkLastPKFetched]
			if pb := physicalBookmark(e.Driver, s); pb != "" {
				if _, ok := bm[pb]; ok {
					inSnapshot = true
				}
			}
			if hasPos && !inSnapshot {
				continue // snapshot done: changes follow in the log phase
			}
			if !hasPos {
				if snapshotPos == nil {
					if snapshotPos, err = snap.begin(ctx, lr, logStreams, state); err != nil {
						return fmt.Errorf("stream %q: %w", id, err)
					}
				}
				// The snapshot begins: clear what a finished one left.
				state.ClearBookmark(id, BookmarkVersion)
				state.SetBookmark(id, BookmarkLogPosition, snapshotPos)
				r.snapshot = snap.holds(s)
			}
			err = r.fullTable(ctx)
			if err != nil && !r.snapshotStarted() {
				// Nothing tells where the read stopped: without the lsn the
				// resumed run reads the table again from the start, under a
				// new position, instead of taking it for done.
				state.ClearBookmark(id, BookmarkLogPosition)
			}
			if r.snapshot {
				snap.done(s)
			}
		default:
			err = r.fullTable(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				// The state already written covers what was sent.
				_ = writeState(out, state)
				return ctx.Err()
			}
			return fmt.Errorf("stream %q: %w", id, err)
		}
	}
	state.CurrentlySyncing = ""
	snap.close()
	if len(logStreams) > 0 {
		if err := writeState(out, state); err != nil {
			return err
		}
		if err := e.logPhase(ctx, lr, logStreams, state, out, confirm, counters); err != nil {
			// The state covers the changes sent before the failure, so
			// that a rerun (after the user fixed the cause) resumes there.
			_ = writeState(out, state)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("LOG_BASED: %w", err)
		}
	}
	return writeState(out, state)
}

func (s *stream) bookmarkProperties() []string {
	if s.repKey >= 0 {
		return []string{s.table.Columns[s.repKey].Name}
	}
	return nil
}

func (e *Engine) now() time.Time {
	if e.Options.Now != nil {
		return e.Options.Now()
	}
	return time.Now()
}

func (e *Engine) log() *singer.Log {
	if e.Log == nil {
		return singer.NewLog(discard{})
	}
	return e.Log
}

func (e *Engine) logf(format string, args ...any) { e.log().Infof(format, args...) }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// resolve matches the selected catalog entries to the database's tables and
// checks columns, methods and keys, returning every problem at once.
func (e *Engine) resolve(catalog *singer.Catalog, tables []*Table, state *singer.State) ([]*stream, error) {
	byID := make(map[string]*Table, len(tables))
	for _, t := range tables {
		byID[t.TapStreamID] = t
	}
	var problems []string
	var out []*stream
	for _, entry := range catalog.SelectedStreams() {
		id := entry.TapStreamID
		bad := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("catalog stream %q: ", id)+fmt.Sprintf(format, args...))
		}
		t := byID[id]
		if t == nil {
			bad("no such table or view in the database (run --discover again)")
			continue
		}
		s := &stream{entry: entry, table: t, repKey: -1}
		for _, name := range entry.SelectedProperties() {
			i := t.Column(name)
			switch {
			case i < 0:
				bad("column %q is not in the table (run --discover again)", name)
			case t.Columns[i].Unsupported:
				// Never selected by the rules; a hand-written catalog may still list it.
			default:
				s.cols = append(s.cols, i)
			}
		}
		slices.Sort(s.cols)
		s.keyName = entry.KeyProperties()
		for _, k := range s.keyName {
			if i := t.Column(k); i < 0 {
				bad("key property %q is not a column of the table", k)
			} else if !slices.Contains(s.cols, i) {
				s.cols = append(s.cols, i)
			}
		}
		// Chunks follow the table's own primary key, whatever the catalog
		// calls the key: a cursor on a column that is not unique would skip
		// the rows sharing a value at a chunk boundary.
		s.chunkKey = t.Keys
		for _, k := range t.Keys {
			if i := t.Column(k); i >= 0 {
				s.keys = append(s.keys, i)
			}
		}
		s.method = entry.ReplicationMethod()
		if s.method == "" {
			s.method = e.Options.DefaultReplicationMethod
		}
		if s.method == "" || t.IsView && s.method != singer.ReplicationIncremental {
			s.method = singer.ReplicationFullTable
		}
		switch s.method {
		case singer.ReplicationFullTable:
			if t.IsView {
				// A view has no index to chunk on: read in one pass.
				s.keys, s.chunkKey = nil, nil
			}
		case singer.ReplicationIncremental:
			rk := entry.ReplicationKey()
			if rk == "" {
				bad("INCREMENTAL needs a replication-key (one of the stream's valid-replication-keys)")
				break
			}
			i := t.Column(rk)
			if i < 0 {
				bad("replication key %q is not a column of the table (dropped or renamed? run --discover again and choose a replication-key)", rk)
				break
			}
			if !t.Columns[i].Orderable {
				bad("replication key %q has type %s, which cannot be compared for a bookmark", rk, t.Columns[i].SQLType)
				break
			}
			s.repKey = i
		case singer.ReplicationLogBased:
			// (A view never gets here: it is read as FULL_TABLE.)
			if _, ok := e.Driver.(LogReader); !ok {
				bad("replication method LOG_BASED is not supported by this tap (use FULL_TABLE or INCREMENTAL)")
			}
		default:
			bad("replication method %q is not supported (use FULL_TABLE, INCREMENTAL or LOG_BASED)", s.method)
		}
		for _, i := range append(slices.Clone(s.keys), s.repKey) {
			if i >= 0 && !slices.Contains(s.cols, i) {
				s.cols = append(s.cols, i)
			}
		}
		slices.Sort(s.cols)
		if bm := state.Bookmarks[id]; bm != nil {
			if pk, ok := bm[BookmarkLastPKFetched]; ok && s.method != singer.ReplicationIncremental {
				m, isObj := pk.(map[string]any)
				for _, k := range s.chunkKey {
					v, has := m[k]
					if !has || !isObj {
						bad("state bookmark %s does not hold key %q (a state from another tap or catalog?)", BookmarkLastPKFetched, k)
						break
					}
					if c := t.Column(k); c >= 0 && !keyValueFits(&t.Columns[c], v) {
						bad("%s", keyValueProblem(k, v, &t.Columns[c], ""))
					}
				}
			}
		}
		if pb := physicalBookmark(e.Driver, s); pb != "" && s.method != singer.ReplicationIncremental {
			if pos, ok := state.Bookmarks[id][pb]; ok {
				if err := e.Driver.(PhysicalOrder).CheckPosition(t, pos); err != nil {
					bad("state bookmark %s: %v", pb, err)
				}
			}
		}
		s.schema = tableSchema(t, s.cols)
		if s.method == singer.ReplicationLogBased {
			s.schema = append(s.schema[:len(s.schema)-2:len(s.schema)-2], `,"`+DeletedAtProperty+`":`+deletedAtSchema+`}}`...)
		}
		out = append(out, s)
	}
	if len(problems) > 0 {
		return nil, &cli.UsageError{Msg: strings.Join(problems, "; ")}
	}
	return out, nil
}

// keyValueFits reports whether v, a last_pk_fetched value from a state,
// can be a value of column c: never null, an object or an array, and a number
// (or a numeral) for a numeric column. The driver may check further (see
// KeyChecker).
func keyValueFits(c *Column, v any) bool {
	switch x := v.(type) {
	case nil, map[string]any, []any:
		// (A primary key column holds no null: a resumed read after
		// null would find no row and take the table for read.)
		return false
	case string:
		if columnIsNumeric(c) {
			_, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			return err == nil
		}
	case bool:
		return !columnIsNumeric(c)
	}
	return true
}

func columnIsNumeric(c *Column) bool {
	var s struct {
		Type any `json:"type"`
	}
	if json.Unmarshal(c.Schema, &s) != nil {
		return false
	}
	types, _ := s.Type.([]any)
	if t, ok := s.Type.(string); ok {
		types = []any{t}
	}
	numeric := false
	for _, t := range types {
		switch t {
		case "integer", "number":
			numeric = true
		case "null":
		default:
			return false
		}
	}
	return numeric
}

// keyValueProblem is the line for a last_pk_fetched value the key column
// cannot hold; detail is the database's reason, if any.
func keyValueProblem(key string, v any, c *Column, detail string) string {
	shown, err := json.Marshal(v)
	if err != nil {
		shown = []byte(fmt.Sprint(v))
	}
	if detail != "" {
		detail = ": " + detail
	}
	return fmt.Sprintf("state bookmark %s: key %q holds %s, which is not a value of the column (%s)%s: remove the stream's bookmarks from the state to read it again from the start", BookmarkLastPKFetched, key, shown, c.SQLType, detail)
}

// checkKeys asks a KeyChecker driver whether the last_pk_fetched of each
// stream that resumes a table read is usable, all problems at once.
func (e *Engine) checkKeys(ctx context.Context, streams []*stream, state *singer.State) error {
	kc, ok := e.Driver.(KeyChecker)
	if !ok {
		return nil
	}
	var problems []string
	for _, s := range streams {
		if s.method == singer.ReplicationIncremental || len(s.keys) == 0 {
			continue
		}
		pk, ok := state.Bookmarks[s.table.TapStreamID][BookmarkLastPKFetched].(map[string]any)
		if !ok {
			continue
		}
		after := make([]any, len(s.chunkKey))
		for i, k := range s.chunkKey {
			after[i] = pk[k]
		}
		bad, reason, err := kc.CheckKey(ctx, s.table, s.keys, after)
		if err != nil {
			return fmt.Errorf("stream %q: checking the state's %s: %w", s.table.TapStreamID, BookmarkLastPKFetched, err)
		}
		if bad >= 0 {
			c := &s.table.Columns[s.keys[bad]]
			problems = append(problems, fmt.Sprintf("catalog stream %q: ", s.table.TapStreamID)+keyValueProblem(c.Name, after[bad], c, reason))
		}
	}
	if len(problems) > 0 {
		return &cli.UsageError{Msg: strings.Join(problems, "; ")}
	}
	return nil
}

func writeState(out *singer.Encoder, state *singer.State) error {
	raw, err := state.MarshalJSON()
	if err != nil {
		return err
	}
	return out.WriteState(raw)
}

// run is one stream's sync.
type run struct {
	e       *Engine
	s       *stream
	state   *singer.State
	out     *singer.Encoder
	counter *singer.Counter
	now     time.Time
	version int64
	rec     singer.RecordMessage
	// snapshot reads the table in the LogSnapshotter's snapshot.
	snapshot bool
}

// snapshotStarted reports whether the state tells where the stream's
// interrupted table read stopped (last_pk_fetched or the physical bookmark,
// set once a row was sent).
func (r *run) snapshotStarted() bool {
	bm := r.state.Bookmarks[r.id()]
	if _, ok := bm[BookmarkLastPKFetched]; ok {
		return true
	}
	if pb := r.physicalBookmark(); pb != "" {
		_, ok := bm[pb]
		return ok
	}
	return false
}

func (r *run) id() string { return r.s.table.TapStreamID }

func (r *run) write(row Row) error {
	r.rec.Record = row.Record()
	r.counter.Add(1)
	return r.out.WriteRecord(r.rec)
}

// fullTable reads the table in key order, one chunk at a time, with a STATE
// after each chunk holding the last key, so a killed run resumes after it.
// A table without keys is read in one pass, and restarts from the beginning
// when interrupted.
func (r *run) fullTable(ctx context.Context) error {
	id, s := r.id(), r.s
	bm := r.state.Bookmarks[id]
	var after []any
	physical := r.physicalBookmark()
	version, hasVersion := singer.BookmarkInt(bm[BookmarkVersion])
	if pk, ok := bm[BookmarkLastPKFetched].(map[string]any); ok && hasVersion && len(s.keys) > 0 {
		for _, k := range s.chunkKey {
			after = append(after, pk[k])
		}
	} else if pos, ok := bm[physical]; ok && physical != "" && hasVersion && pos != nil {
		after = []any{pos}
	} else {
		firstTime := !hasVersion
		version = r.now.UnixMilli()
		r.state.ClearBookmark(id, BookmarkLastPKFetched)
		if physical != "" {
			r.state.ClearBookmark(id, physical)
		}
		r.state.SetBookmark(id, BookmarkVersion, version)
		if firstTime {
			// The target may show the (empty) table at once.
			if err := r.out.WriteActivateVersion(s.entry.Stream, version); err != nil {
				return err
			}
		}
	}
	r.version = version
	r.rec = singer.RecordMessage{Stream: s.entry.Stream, Version: version, HasVersion: true, TimeExtracted: r.now}
	chunk := r.e.Options.ChunkSize
	if chunk <= 0 {
		chunk = 10000
	}
	if len(s.keys) == 0 && physical != "" {
		if err := r.physicalScan(ctx, physical, after, chunk); err != nil {
			return err
		}
		r.state.ClearBookmark(id, physical)
	} else if len(s.keys) == 0 {
		if _, err := r.e.Driver.Scan(ctx, &ScanRequest{Table: s.table, Columns: s.cols, Snapshot: r.snapshot}, r.write); err != nil {
			return err
		}
	} else {
		for {
			n := 0
			req := &ScanRequest{Table: s.table, Columns: s.cols, OrderBy: s.keys, After: after, Limit: chunk, Snapshot: r.snapshot}
			last, err := r.e.Driver.Scan(ctx, req, func(row Row) error { n++; return r.write(row) })
			if last != nil {
				after = last
				pk := make(map[string]any, len(s.chunkKey))
				for i, k := range s.chunkKey {
					pk[k] = last[i]
				}
				r.state.SetBookmark(id, BookmarkLastPKFetched, pk)
			}
			if err != nil {
				return err
			}
			if n < chunk {
				break
			}
			if err := writeState(r.out, r.state); err != nil {
				return err
			}
		}
	}
	r.state.ClearBookmark(id, BookmarkLastPKFetched)
	if err := r.out.WriteActivateVersion(s.entry.Stream, r.version); err != nil {
		return err
	}
	return writeState(r.out, r.state)
}

// physicalBookmark is the bookmark of a keyless table the driver reads in
// a resumable physical order, "" when none.
func (r *run) physicalBookmark() string {
	return physicalBookmark(r.e.Driver, r.s)
}

func physicalBookmark(d Driver, s *stream) string {
	po, ok := d.(PhysicalOrder)
	if !ok || len(s.keys) > 0 || s.table.IsView {
		return ""
	}
	return po.PhysicalBookmark(s.table)
}

// physicalScan reads a keyless table in the driver's physical order, after
// the position after[0] when resuming, with a STATE holding the last row's
// position every chunk rows. When the position went stale (the table was
// rewritten), it starts over in a new version.
func (r *run) physicalScan(ctx context.Context, bookmark string, after []any, chunk int) error {
	id := r.id()
	n := 0
	scan := func() error {
		req := &ScanRequest{Table: r.s.table, Columns: r.s.cols, Physical: true, After: after, Snapshot: r.snapshot}
		last, err := r.e.Driver.Scan(ctx, req, func(row Row) error {
			if err := r.write(row); err != nil {
				return err
			}
			if n++; n%chunk == 0 {
				r.state.SetBookmark(id, bookmark, row.Order()[0])
				return writeState(r.out, r.state)
			}
			return nil
		})
		if last != nil {
			r.state.SetBookmark(id, bookmark, last[0])
		}
		return err
	}
	err := scan()
	if errors.Is(err, ErrPositionStale) && n == 0 {
		r.e.log().Warnf("stream %q: %v (VACUUM FULL, CLUSTER, TRUNCATE or a table rewrite): reading it again from the start in a new version", id, err)
		r.version = r.now.UnixMilli()
		if v, ok := singer.BookmarkInt(r.state.Bookmarks[id][BookmarkVersion]); ok && v >= r.version {
			r.version = v + 1
		}
		r.state.ClearBookmark(id, bookmark)
		r.state.SetBookmark(id, BookmarkVersion, r.version)
		r.rec.Version = r.version
		after = nil
		err = scan()
	}
	return err
}

// incremental reads rows whose replication key is >= the bookmark, in key
// order, with a STATE every StateEvery rows. >= resends the rows equal to
// the bookmark (at least once), so no row sharing the last value is lost.
func (r *run) incremental(ctx context.Context) error {
	id, s := r.id(), r.s
	rkName := s.table.Columns[s.repKey].Name
	var from any
	bm := r.state.Bookmarks[id]
	if v, ok := bm[BookmarkReplicationKeyValue]; ok && v != nil && bm[BookmarkReplicationKey] == rkName {
		from = v
	}
	r.state.ClearBookmark(id, BookmarkVersion)
	r.state.ClearBookmark(id, BookmarkLastPKFetched)
	r.state.SetBookmark(id, BookmarkReplicationKey, rkName)
	if from != nil {
		r.state.SetBookmark(id, BookmarkReplicationKeyValue, from)
	}
	r.rec = singer.RecordMessage{Stream: s.entry.Stream, TimeExtracted: r.now}
	every := r.e.Options.StateEvery
	if every <= 0 {
		every = r.e.Options.ChunkSize
	}
	if every <= 0 {
		every = 10000
	}
	n := 0
	req := &ScanRequest{Table: s.table, Columns: s.cols, OrderBy: []int{s.repKey}, From: from, NullsFirst: from == nil}
	last, err := r.e.Driver.Scan(ctx, req, func(row Row) error {
		if err := r.write(row); err != nil {
			return err
		}
		n++
		if n%every == 0 {
			if v := row.Order()[0]; v != nil {
				r.state.SetBookmark(id, BookmarkReplicationKeyValue, v)
			}
			return writeState(r.out, r.state)
		}
		return nil
	})
	if last != nil && last[0] != nil {
		r.state.SetBookmark(id, BookmarkReplicationKeyValue, last[0])
	}
	if err != nil {
		return err
	}
	return writeState(r.out, r.state)
}

package sqltap

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/singerkit/singerkit/singer"
)

// BookmarkLogPosition is the bookmark of a LOG_BASED stream: the change log
// position its records are complete up to.
const BookmarkLogPosition = "lsn"

// DeletedAtProperty is the property LOG_BASED streams add to their schema:
// the commit time of a delete, null for inserts and updates.
const DeletedAtProperty = "_sdc_deleted_at"

const deletedAtSchema = `{"type":["null","string"],"format":"date-time"}`

// LogReader is the optional driver ability LOG_BASED replication needs (a
// database change log: PostgreSQL logical replication, MySQL binlog).
// Positions are JSON-able bookmark values the driver alone interprets.
type LogReader interface {
	// LogPosition readies the change log for tables and returns its current
	// position: a snapshot read after this call, followed by the changes
	// after the position, misses nothing.
	LogPosition(ctx context.Context, tables []*Table) (any, error)
	// ReadLog streams the committed changes of req.Streams, each after its
	// own position, until the log has been idle for req.Idle or req.MaxRun
	// has passed (or ctx ends). It calls sink.Change for each row change and
	// sink.Advance whenever every change up to a position has been given.
	ReadLog(ctx context.Context, req *LogRequest, sink LogSink) error
	// ComparePositions orders two positions like strings.Compare.
	ComparePositions(a, b any) int
	// CheckLog reports what would stop ReadLog for req (positions not yet
	// known are nil), before the run writes anything.
	CheckLog(ctx context.Context, req *LogRequest) error
}

// LogSnapshotter is an optional LogReader ability: starting the change log
// together with a snapshot of the database taken at exactly its start
// position (PostgreSQL: the snapshot a new replication slot exports), so
// the initial reads of the LOG_BASED streams hold precisely the changes
// before the position and the log precisely those after it: each change
// once, never in both.
type LogSnapshotter interface {
	// LogSnapshot readies the change log for tables like LogPosition and
	// returns the position. When it could open a snapshot at that position
	// (only when it starts the log anew), end is not nil: until end is
	// called, Scans with ScanRequest.Snapshot set read that snapshot, all of
	// them the same one. When end is nil, the position is LogPosition's and
	// the engine reads the tables as after LogPosition (at least once).
	LogSnapshot(ctx context.Context, tables []*Table) (pos any, end func() error, err error)
}

// LogStream is one stream of a LogRequest.
type LogStream struct {
	Table *Table
	// Columns are the record's columns, as in ScanRequest.
	Columns  []int
	Position any
}

// LogRequest asks a LogReader for changes.
type LogRequest struct {
	Streams []LogStream
	// Confirm is the position the database may release the log up to: the
	// lowest position of the state the run started with (what the target
	// had committed). Nil confirms nothing.
	Confirm     any
	Idle        time.Duration
	MaxRun      time.Duration
	StatusEvery time.Duration
}

// LogSink receives changes.
type LogSink interface {
	// Change is one row change of req.Streams[stream]; record is the JSON
	// object, with DeletedAtProperty set for a delete.
	Change(stream int, record []byte) error
	// Advance says every change up to pos has been given.
	Advance(pos any) error
}

// logRun is the change phase of a sync. The driver's read loop calls
// Change and Advance; a ticker writes the state on time. mu serialises
// their writes to out and the state.
type logRun struct {
	e        *Engine
	lr       LogReader
	streams  []*stream
	state    *singer.State
	out      *singer.Encoder
	recs     []singer.RecordMessage
	counters *singer.Counters

	mu sync.Mutex
	// pending counts the changes since the last STATE; dirty says a
	// position moved since then.
	pending int
	dirty   bool
	every   int
	// tickErr is a failed timed STATE write, returned by the next call.
	tickErr error
}

func (l *logRun) Change(i int, record []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tickErr != nil {
		return l.tickErr
	}
	m := &l.recs[i]
	m.Record = record
	m.TimeExtracted = l.e.now()
	l.pending++
	l.counters.For(m.Stream).Add(1)
	return l.out.WriteRecord(*m)
}

func (l *logRun) Advance(pos any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tickErr != nil {
		return l.tickErr
	}
	for _, s := range l.streams {
		id := s.table.TapStreamID
		cur, ok := l.state.Bookmark(id, BookmarkLogPosition)
		if !ok || l.lr.ComparePositions(pos, cur) > 0 {
			l.state.SetBookmark(id, BookmarkLogPosition, pos)
			l.dirty = true
		}
	}
	if l.dirty && l.pending >= l.every {
		return l.writeState()
	}
	return nil
}

// writeState writes the state (and flushes the records before it). mu is
// held.
func (l *logRun) writeState() error {
	l.pending, l.dirty = 0, false
	return writeState(l.out, l.state)
}

// tick writes the state when a position moved since the last one: a
// trickle of changes (or none, while the server's position moves) still
// checkpoints every interval, so a killed run replays at most that much
// and the database may release its log up to it on the next run.
func (l *logRun) tick() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dirty && l.tickErr == nil {
		l.tickErr = l.writeState()
	}
}

// logPhase streams the changes of the LOG_BASED streams after their
// snapshots. confirm is the lowest position of the input state.
func (e *Engine) logPhase(ctx context.Context, lr LogReader, streams []*stream, state *singer.State, out *singer.Encoder, confirm any, counters *singer.Counters) error {
	req := &LogRequest{Confirm: confirm, Idle: e.Options.LogIdle, MaxRun: e.Options.LogMaxRun}
	if req.Idle <= 0 {
		req.Idle = 10 * time.Second
	}
	if req.MaxRun <= 0 {
		req.MaxRun = 12 * time.Hour
	}
	l := &logRun{e: e, lr: lr, streams: streams, state: state, out: out, every: e.Options.StateEvery, counters: counters}
	if l.every <= 0 {
		l.every = 10000
	}
	for _, s := range streams {
		pos, _ := state.Bookmark(s.table.TapStreamID, BookmarkLogPosition)
		req.Streams = append(req.Streams, LogStream{Table: s.table, Columns: s.cols, Position: pos})
		m := singer.RecordMessage{Stream: s.entry.Stream}
		if v, ok := singer.BookmarkInt(state.Bookmarks[s.table.TapStreamID][BookmarkVersion]); ok {
			m.Version, m.HasVersion = v, true
		}
		l.recs = append(l.recs, m)
	}
	interval := e.Options.LogStateInterval
	if interval <= 0 {
		interval = DefaultLogStateInterval
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				l.tick()
			}
		}
	}()
	err := lr.ReadLog(ctx, req, l)
	close(stop)
	<-stopped
	if err == nil {
		err = l.tickErr
	}
	return err
}

// DefaultLogStateInterval is how often the change phase writes its state
// when a position moved, whatever the volume.
const DefaultLogStateInterval = 5 * time.Second

// logSnapshot starts the change log of a sync's LOG_BASED streams that have
// no position yet, in the snapshot of a LogSnapshotter when the driver can
// open one, and closes that snapshot once they are read.
type logSnapshot struct {
	e *Engine
	// end closes the open snapshot; nil when none is open.
	end func() error
	// left are the streams still to read in it.
	left []*stream
}

// begin returns the position the streams without one start from. With a
// snapshot, every LOG_BASED stream without a position reads in it, so they
// all agree with each other and with the position.
func (l *logSnapshot) begin(ctx context.Context, lr LogReader, streams []*stream, state *singer.State) (any, error) {
	tables := make([]*Table, len(streams))
	for i, s := range streams {
		tables[i] = s.table
	}
	ls, ok := lr.(LogSnapshotter)
	if !ok {
		return lr.LogPosition(ctx, tables)
	}
	pos, end, err := ls.LogSnapshot(ctx, tables)
	if err != nil || end == nil {
		return pos, err
	}
	l.end = end
	for _, s := range streams {
		if _, ok := state.Bookmarks[s.table.TapStreamID][BookmarkLogPosition]; !ok {
			l.left = append(l.left, s)
		}
	}
	return pos, nil
}

// holds reports whether s is read in the open snapshot.
func (l *logSnapshot) holds(s *stream) bool {
	return l.end != nil && slices.Contains(l.left, s)
}

// done notes that s was read (or failed); the last one closes the snapshot.
func (l *logSnapshot) done(s *stream) {
	if i := slices.Index(l.left, s); i >= 0 {
		l.left = slices.Delete(l.left, i, i+1)
	}
	if len(l.left) == 0 {
		l.close()
	}
}

// close ends the snapshot (the reads in it are complete or abandoned, so a
// failure to end it only warrants a warning). Idempotent.
func (l *logSnapshot) close() {
	if l.end == nil {
		return
	}
	end := l.end
	l.end, l.left = nil, nil
	if err := end(); err != nil {
		l.e.log().Warnf("closing the LOG_BASED snapshot: %v", err)
	}
}

package sqltarget

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/batchfile"

	"github.com/singerkit/singerkit/internal/input"
	"github.com/singerkit/singerkit/internal/streammap"
	"github.com/singerkit/singerkit/internal/watermark"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/singerkit/singerkit/singer"
)

// Engine runs a SQL target: one per process run.
type Engine[B Batch[B]] struct {
	d      Dialect[B]
	cfg    Config
	log    *singer.Log
	policy FlushPolicy
	// The dialect ramps batches up, and flushes them when their loader
	// is idle (Ramping).
	ramps, idleFlush bool
	// The dialect's sessions prepare tables in groups (PreparingMany).
	groupPrepares bool
	// groupLoads: the sessions load queued appends together (LoadingMany).
	groupLoads bool

	batchRoots batchfile.Roots

	wm      *watermark.Watermark
	out     *singer.Encoder
	outMu   sync.Mutex
	streams map[string]*stream[B]
	// compiled: the schemas compiled so far, by their text.
	compiled map[string]*singer.Schema
	// deferred: new streams whose tables are being prepared while the
	// input is read on (settle).
	deferred []deferredInstall[B]
	tables   map[string]map[string]string // per destination schema: table key -> stream
	loaders  []*loader[B]
	metrics  *singer.Counters

	failed   atomic.Bool
	errMu    sync.Mutex
	firstErr error

	// hold: states are not written as they are released but kept in held
	// (under outMu) until the end of the run (overwrite: the tables change
	// only when the run's replacements are swapped in).
	hold bool
	held []byte

	runStart time.Time
	seq      int64
	records  atomic.Int64

	// Progress, when set, gets a live one-line progress (a terminal).
	Progress io.Writer
	// Maps, when set, are the config's stream maps: the engine applies
	// them to the messages it decodes (streammap.Mapper.ApplyTo), so
	// mapped records are decoded once.
	Maps     *streammap.Mapper
	buffered int // bytes in open batches, all streams
	// inflight: bytes of batches handed to loaders and not yet loaded,
	// all streams; loaded gets a token each time a load ends.
	inflight atomic.Int64
	loaded   chan struct{}
	now      func() time.Time
	// gatherHook, set by tests (export_test.go), runs when a loader is
	// about to gather the loads queued behind one; queued tells how many
	// jobs wait on it.
	gatherHook func(queued func() int)
}

// New returns an engine for a dialect.
func New[B Batch[B]](d Dialect[B], cfg Config, log *singer.Log) *Engine[B] {
	p := cfg.Policy()
	var ramp, idle bool
	if r, ok := d.(Ramping); ok && p.Rows >= rampMinRows {
		ramp, idle = r.RampBatches()
	}
	return &Engine[B]{d: d, cfg: cfg, log: log, policy: p, ramps: ramp, idleFlush: ramp && idle, streams: make(map[string]*stream[B]), tables: make(map[string]map[string]string), now: time.Now}
}

type stream[B Batch[B]] struct {
	nflush  int // flushes so far: with spread loads, the next loader
	name    string
	rawKey  string // schema bytes + keys: a repeated SCHEMA changes nothing
	schema  *singer.Schema
	keys    []string
	table   *Table
	repl    *Table // overwrite: the table the run's records go to, swapped in at the end
	batch   B
	free    chan B
	mark    *watermark.StreamMark
	row     singer.Row
	vals    []singer.Value
	keyIdx  []int
	meta    []metaSlot
	loader  *loader[B]
	started time.Time // first row of the open batch
	// The open batch is flushed at limitRows rows or limitBytes bytes:
	// the policy's, or a ramp up to it (Ramping).
	limitRows, limitBytes int
	spares                int // batches besides the open one (1: one loading while the next fills)
	counter               *singer.Counter
	planCols              int
	// Columns the stream's records called for beyond its schema (kept
	// for every later SCHEMA of the stream): _sdc_deleted_at, _sdc_extra,
	// _sdc_table_version.
	wantDeleted, wantExtra, wantVersion bool
	// The current record's values for them.
	deletedVal, extraVal singer.Value
	extraBuf             []byte
	warnedExtra          bool
	// ACTIVATE_VERSION bookkeeping (see activate).
	versions   map[int64]bool // versions of this stream's records or ACTIVATE_VERSIONs seen in this run
	pending    bool           // an ACTIVATE_VERSION waits to be told start from end
	pendingVer int64
	pendingTok watermark.FlushToken
	// open: records of openVer came and it is not activated yet; records
	// without a version belong to it.
	open      bool
	openVer   int64
	lastVer   int64 // the version of the stream's last versioned record
	lastVerOK bool
	// The last time_extracted read and its parsed time: taps stamp many
	// records with the same one.
	extractedRaw []byte
	extracted    time.Time
	hasExtracted bool

	// scratch holds values rewritten by the NUL rule until the batch has
	// encoded them; warnedNUL: the rule was announced for the stream.
	scratch   []byte
	warnedNUL bool
}

type metaSlot struct {
	col  int
	kind MetaColumn
}

// Run reads messages from in until the end or an error and writes released
// states to out.
func (e *Engine[B]) Run(ctx context.Context, in io.Reader, out *singer.Encoder) (err error) {
	if err := e.cfg.Validate(); err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return err
		}
		return &config.Error{Problems: []string{err.Error()}}
	}
	e.batchRoots, _ = batchfile.NewRoots(e.cfg.BatchRoots) // checked by Validate
	// The open batches are kept under batch_size_bytes, and so are the
	// batches loading (see flush): a soft limit at four times it keeps
	// the collector from letting garbage double that.
	cli.SetMemoryLimit(int64(4*e.policy.Bytes) + cli.BaseMemoryLimit)
	e.loaded = make(chan struct{}, 1)
	e.out = out
	e.wm = watermark.New()
	e.hold = e.cfg.LoadMethod == "overwrite"
	e.runStart = e.now()
	e.metrics = singer.NewCounters(e.log, "record_count", 60*time.Second)
	defer e.metrics.Close()
	// Loaders use their own context: a first signal stops the reading, not
	// the commit of what was read, which gets shutdown_timeout_seconds; a
	// second signal stops the loaders at once (cli.AbortContext).
	lctx, cancelLoaders := context.WithCancelCause(cli.AbortContext(ctx))
	defer cancelLoaders(nil)
	stopWatch := context.AfterFunc(ctx, func() {
		d := e.cfg.shutdownTimeout()
		if e.hold {
			// Overwrite commits nothing of an unfinished run: the tables
			// keep their rows and the replacements are dropped.
			e.log.Infof("interrupted: stopped reading; overwrite keeps the tables as they were and drops this run's replacements (within shutdown_timeout_seconds: %s; a second signal aborts at once)", d)
		} else {
			e.log.Infof("interrupted: stopped reading; committing what was read (within shutdown_timeout_seconds: %s; a second signal aborts at once)", d)
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			cancelLoaders(fmt.Errorf("%w, and the loads under way did not finish within shutdown_timeout_seconds (%s)", cli.ErrInterrupted, d))
		case <-lctx.Done():
		}
	})
	defer stopWatch()
	for i := 0; i < e.cfg.parallel(); i++ {
		sess, err := e.d.Open(lctx)
		if err != nil {
			e.closeLoaders()
			return err
		}
		// Where sessions load groups (LoadingMany), room for a group to
		// queue while one loads: the batches' memory is bounded by
		// batch_size_bytes and one spare batch a stream, not by this
		// queue.
		if i == 0 {
			_, e.groupLoads = sess.(LoadingMany[B])
		}
		queue := 2
		if e.groupLoads {
			queue = maxLoadGroup
		}
		l := &loader[B]{e: e, sess: sess, jobs: make(chan job[B], queue), done: make(chan struct{}), retries: e.cfg.maxRetries()}
		e.loaders = append(e.loaders, l)
		go l.run(lctx)
	}
	_, e.groupPrepares = any(e.loaders[0].sess).(PreparingMany[B])
	defer e.closeLoaders()

	if e.Progress != nil {
		stop := e.showProgress()
		defer stop()
	}
	var tick <-chan time.Time
	if e.policy.MaxAge > 0 {
		t := time.NewTicker(e.policy.MaxAge / 4)
		defer t.Stop()
		tick = t.C
	}
	cr := input.NewReader(ctx, in, tick, e.flushAged)
	dec := singer.NewDecoder(cr)
	dec.OpenRecords = true // every record is decoded in place by its plan
	dec.Warn = func(s string) { e.log.Warnf("%s", s) }

	readErr := e.read(ctx, dec)
	if err := e.settle(); err != nil && readErr == nil {
		readErr = err
	}
	interrupted := ctx.Err() != nil
	if e.failed.Load() {
		// A load failed: commit nothing more, release nothing more.
		e.drain()
		return e.err()
	}
	for _, s := range e.streams {
		if s.pending {
			e.log.Warnf("stream %q: ACTIVATE_VERSION %d was followed by no record, STATE or end of the version before the input ended: nothing deleted", s.name, s.pendingVer)
		}
	}
	// Input ended, went bad or was interrupted: what was read and is valid
	// is committed, and the state covering it released. (Overwrite
	// replaces the tables only after a complete run: loading the rest of
	// an incomplete one would be wasted.)
	complete := readErr == nil && !interrupted
	if complete || !e.hold {
		for _, s := range e.streams {
			e.flush(s)
		}
	}
	e.drain()
	if e.failed.Load() {
		return e.err()
	}
	if e.hold {
		// Overwrite: only a run that read its input to the end replaces
		// the tables; one that stops early leaves them as they were, and
		// prints no state (a resume re-sends the whole run).
		if err := e.endReplace(complete); err != nil || !complete {
			if err == nil {
				err = readErr
				if interrupted && (err == nil || errors.Is(err, context.Canceled)) {
					err = cli.ErrInterrupted
				}
			}
			return err
		}
		// One state: the latest.
		e.outMu.Lock()
		e.hold = false
		if v := e.wm.Release(); v != nil {
			e.held = v
		}
		if e.held != nil {
			e.writeState(e.held)
		}
		e.outMu.Unlock()
	}
	e.release()
	switch {
	case readErr != nil && !(interrupted && errors.Is(readErr, context.Canceled)):
		return readErr
	case interrupted:
		return cli.ErrInterrupted
	}
	return nil
}

func (e *Engine[B]) read(ctx context.Context, dec *singer.Decoder) error {
	r := &reading[B]{e: e, ctx: ctx, finish: dec.FinishRecord}
	for dec.Next() {
		if e.failed.Load() {
			return nil
		}
		var err error
		if e.Maps != nil {
			err = e.Maps.ApplyTo(dec.Message(), dec.FinishRecord, r)
		} else {
			err = r.message(dec.Message())
		}
		if err != nil {
			return err
		}
	}
	return dec.Err()
}

// reading is the state of the read loop; as a streammap.Sink it takes
// the messages the stream maps made of the input.
type reading[B Batch[B]] struct {
	e      *Engine[B]
	ctx    context.Context
	finish func(n int) error // the decoder's FinishRecord
	last   *stream[B]
	rows   map[*streammap.RowMap]*rowPlan[B]
}

func (r *reading[B]) stream(m *singer.Message, name string) (*stream[B], error) {
	s := r.last
	if s == nil || s.name != name {
		s = r.e.streams[name]
		if s == nil {
			return nil, fmt.Errorf("line %d: RECORD for stream %q before its SCHEMA", m.Line, name)
		}
		r.last = s
	}
	return s, nil
}

func (r *reading[B]) Schema(m *singer.Message) error {
	r.last = nil
	return r.e.schema(r.ctx, m)
}

func (r *reading[B]) Record(m *singer.Message, stream string, rec []byte) error {
	if err := r.e.settle(); err != nil {
		return err
	}
	s, err := r.stream(m, stream)
	if err != nil {
		return err
	}
	return r.e.record(s, rec, m, m.Line, nil)
}

func (r *reading[B]) Pass(m *singer.Message) error { return r.message(m) }

// The engine maps records on the values it decoded (streammap.RowSink):
// each input record is decoded once, with the input schema the maps
// give (RowMap.In), and the mapped row is made of its values and those
// of the computed properties (RowMap.Sub).

// rowPlan is where each column of a mapped stream's row comes from.
type rowPlan[B Batch[B]] struct {
	s       *stream[B]
	schema  *singer.Schema // the stream's schema the columns were matched to
	in, sub singer.Row
	from    []int // per column of s: the column of RowMap.In, or -1
	fromSub []int // per column of s: the column of RowMap.Sub, or -1
}

func (r *reading[B]) SchemaOptions() singer.SchemaOptions {
	return singer.SchemaOptions{FlattenDepth: r.e.cfg.FlatteningMaxLevel}
}

func (r *reading[B]) RowSchema(out *singer.Message, rm *streammap.RowMap) (bool, error) {
	if err := r.e.settle(); err != nil {
		return false, err
	}
	s := r.e.streams[out.Stream]
	if s == nil {
		return false, nil
	}
	p := &rowPlan[B]{s: s}
	if !p.match(rm) {
		return false, nil
	}
	if r.rows == nil {
		r.rows = map[*streammap.RowMap]*rowPlan[B]{}
	}
	r.rows[rm] = p
	return true, nil
}

// match matches the columns of the stream's schema to those of rm's
// schemas; false when one has no source.
func (p *rowPlan[B]) match(rm *streammap.RowMap) bool {
	key := func(path []string) string { return strings.Join(path, "\x00") }
	inCols, subCols := map[string]int{}, map[string]int{}
	for i, c := range rm.In.Plan.Columns {
		inCols[key(c.Path)] = i
	}
	for i, c := range rm.Sub.Plan.Columns {
		subCols[key(c.Path)] = i
	}
	cols := p.s.schema.Plan.Columns
	p.from, p.fromSub = make([]int, len(cols)), make([]int, len(cols))
	for i, c := range cols {
		src, ok := rm.Source(c.Path[0])
		if !ok {
			return false
		}
		p.from[i], p.fromSub[i] = -1, -1
		if src.From != "" {
			j, ok := inCols[key(append([]string{src.From}, c.Path[1:]...))]
			if !ok {
				return false
			}
			p.from[i] = j
		}
		if src.Sub {
			j, ok := subCols[key(c.Path)]
			if !ok {
				return false
			}
			p.fromSub[i] = j
		}
	}
	p.schema = p.s.schema
	return true
}

func (r *reading[B]) RowRecord(m *singer.Message, rm *streammap.RowMap) error {
	if err := r.e.settle(); err != nil {
		return err
	}
	p := r.rows[rm]
	if p == nil || (p.s.schema != p.schema && !p.match(rm)) {
		// Another SCHEMA of the mapped stream (two streams aliased to
		// one) changed its columns: its records go as bytes.
		return streammap.ErrNotRows
	}
	e, s := r.e, p.s
	validate := e.cfg.validate()
	rec := m.Record
	n, valid, err := rm.In.DecodePrefixPlan(rec, &p.in)
	if err == nil {
		if m.RecordOpen {
			if err := r.finish(n); err != nil {
				return err
			}
		} else if rest := bytes.TrimLeft(rec[n:], " \t\r\n"); len(rest) > 0 {
			err = &singer.ValidationError{Msg: "record is not valid JSON: unexpected data after the record"}
		}
	}
	if err == nil {
		// The filter first: a record it drops is not checked, as when
		// the target reads the mapped records.
		keep, merr := rm.Map(m, &p.in)
		if merr != nil || !keep {
			return merr
		}
		if !valid && validate {
			p.in.Judged = true
			err = rm.In.JudgeRaw(rec[:n])
		}
	}
	if err == nil {
		err = rm.DecodeSub(&p.sub, validate)
	}
	if err != nil {
		return fmt.Errorf("line %d: stream %q: record does not match its schema: %v", m.Line, s.name, err)
	}
	row := &s.row
	if cap(row.Values) < len(p.from) {
		row.Values = make([]singer.Value, len(p.from))
	}
	row.Values = row.Values[:len(p.from)]
	for i, f := range p.from {
		var v singer.Value
		if f >= 0 {
			v = p.in.Values[f]
		}
		if v.Kind == singer.Absent && p.fromSub[i] >= 0 {
			v = p.sub.Values[p.fromSub[i]]
		}
		row.Values[i] = v
	}
	row.Extra = row.Extra[:0]
	for _, x := range p.in.Extra {
		if x.Prefix != "" || rm.KeepExtra(x.Name) {
			row.Extra = append(row.Extra, x)
		}
	}
	row.Extra = append(row.Extra, p.sub.Extra...)
	return e.load(s, m, m.Line)
}

// message handles one decoded message.
func (r *reading[B]) message(m *singer.Message) error {
	e := r.e
	if len(e.deferred) > 0 && m.Type != singer.TypeSchema {
		if err := e.settle(); err != nil {
			return err
		}
	}
	switch m.Type {
	case singer.TypeRecord:
		s, err := r.stream(m, m.Stream)
		if err != nil {
			return err
		}
		if err := e.record(s, m.Record, m, m.Line, r.finish); err != nil {
			return err
		}
	case singer.TypeSchema:
		if err := r.Schema(m); err != nil {
			return err
		}
	case singer.TypeState:
		// A STATE ends the versions announced and left empty.
		for _, s := range e.streams {
			e.applyPending(s)
		}
		e.wm.State(m.Value)
		e.release()
	case singer.TypeActivateVersion:
		s := e.streams[m.Stream]
		if s == nil {
			return fmt.Errorf("line %d: ACTIVATE_VERSION for stream %q before its SCHEMA", m.Line, m.Stream)
		}
		if err := e.activate(s, m.Version, m.Line); err != nil {
			return err
		}
	case singer.TypeBatch:
		s := e.streams[m.Stream]
		if s == nil {
			return fmt.Errorf("line %d: BATCH for stream %q before its SCHEMA", m.Line, m.Stream)
		}
		if err := e.batchFiles(s, m); err != nil {
			return err
		}
	}
	return nil
}

// record decodes, validates and appends one record. finish, when not
// nil, completes an envelope the decoder left open (Decoder.OpenRecords).
func (e *Engine[B]) record(s *stream[B], rec []byte, m *singer.Message, line int64, finish func(n int) error) error {
	if finish != nil {
		n, err := s.schema.DecodePrefix(rec, &s.row, e.cfg.validate())
		if err != nil {
			return fmt.Errorf("line %d: stream %q: record does not match its schema: %v", line, s.name, err)
		}
		if err := finish(n); err != nil {
			return err
		}
	} else if err := s.schema.Decode(rec, &s.row, e.cfg.validate()); err != nil {
		return fmt.Errorf("line %d: stream %q: record does not match its schema: %v", line, s.name, err)
	}
	return e.load(s, m, line)
}

// load appends the record decoded into s.row.
func (e *Engine[B]) load(s *stream[B], m *singer.Message, line int64) error {
	if err := s.readExtracted(m); err != nil {
		return fmt.Errorf("line %d: stream %q: %v", line, s.name, err)
	}
	if err := e.extras(s, line); err != nil {
		return err
	}
	if m != nil && m.HasVersion {
		if err := e.versioned(s, m.Version, line); err != nil {
			return err
		}
	} else if s.pending {
		e.started(s)
	}
	vals := s.vals
	copy(vals, s.row.Values)
	s.scratch = s.scratch[:0]
	for i := range s.planCols {
		if HasNUL(&vals[i]) {
			s.scratch = RemoveNUL(&vals[i], s.scratch)
			if !s.warnedNUL {
				s.warnedNUL = true
				e.log.Warnf("line %d: stream %q: NUL characters (U+0000) removed from column %s, here and in any later value of the stream (no singerkit SQL target stores NUL: see the type table in docs/target-postgres.md)", line, s.name, s.table.Columns[i].Name)
			}
		}
	}
	for _, k := range s.keyIdx {
		if vals[k].Kind <= singer.Null {
			return fmt.Errorf("line %d: stream %q: %s", line, s.name, singer.MissingKeyMessage(s.table.Columns[k].Property))
		}
	}
	if len(s.meta) > 0 {
		e.fillMeta(s, vals, m)
		if s.extraVal.Kind == singer.Object && HasNUL(&s.extraVal) {
			// The NUL rule holds for undeclared properties too.
			for _, ms := range s.meta {
				if ms.kind == MetaExtra {
					s.scratch = RemoveNUL(&vals[ms.col], s.scratch)
					if !s.warnedNUL {
						s.warnedNUL = true
						e.log.Warnf("line %d: stream %q: NUL characters (U+0000) removed from column %s, here and in any later value of the stream (no singerkit SQL target stores NUL: see the type table in docs/target-postgres.md)", line, s.name, s.table.Columns[ms.col].Name)
					}
				}
			}
		}
	}
	if s.batch.Rows() == 0 {
		s.started = e.now()
	}
	before := s.batch.Bytes()
	if err := e.appendWidening(s, vals, line, &before); err != nil {
		var ve *ValueError
		if errors.As(err, &ve) {
			return fmt.Errorf("line %d: stream %q: %v", line, s.name, err)
		}
		return fmt.Errorf("line %d: stream %q: %w", line, s.name, err)
	}
	e.buffered += s.batch.Bytes() - before
	s.mark.Record()
	s.counter.Add(1)
	e.records.Add(1)
	if s.batch.Rows() >= s.limitRows || s.batch.Bytes() >= s.limitBytes {
		e.flush(s)
	} else if e.buffered > e.policy.Bytes {
		// Many streams: their open batches together stay under
		// batch_size_bytes.
		e.flushLargest()
	} else if s.batch.Rows() >= s.limitRows/idleDiv && e.idleFlush && s.loader.pending.Load() == 0 {
		// The stream's loader has nothing to load: it takes what the
		// batch has (see Ramping).
		e.flush(s)
	}
	return nil
}

// readExtracted parses the record's time_extracted: one that is not an
// RFC 3339 timestamp is refused, as singer check flags it, whether or not
// a _sdc_extracted_at column would hold it.
func (s *stream[B]) readExtracted(m *singer.Message) error {
	if m == nil || m.TimeExtracted == nil {
		s.hasExtracted = false
		return nil
	}
	if s.extractedRaw != nil && string(m.TimeExtracted) == string(s.extractedRaw) {
		s.hasExtracted = true
		return nil
	}
	t, ok, err := m.ExtractedAt()
	if err != nil {
		return err
	}
	s.extractedRaw = append(s.extractedRaw[:0], m.TimeExtracted...)
	s.extracted, s.hasExtracted = t, ok
	return nil
}

func (e *Engine[B]) fillMeta(s *stream[B], vals []singer.Value, m *singer.Message) {
	now := e.now()
	e.seq++
	for _, ms := range s.meta {
		v := &vals[ms.col]
		switch ms.kind {
		case MetaExtractedAt:
			*v = singer.Value{Kind: singer.Null}
			if s.hasExtracted {
				*v = singer.Value{Kind: singer.String, HasTime: true, Time: s.extracted}
			}
		case MetaReceivedAt:
			*v = singer.Value{Kind: singer.String, HasTime: true, Time: now}
		case MetaBatchedAt:
			t := s.started
			if s.batch.Rows() == 0 {
				t = now
			}
			*v = singer.Value{Kind: singer.String, HasTime: true, Time: t}
		case MetaDeletedAt:
			*v = s.deletedVal
		case MetaExtra:
			*v = s.extraVal
		case MetaSequence:
			n := e.runStart.UnixMilli()*1_000_000 + e.seq
			*v = singer.Value{Kind: singer.Number, IsInt: true, IntOK: true, Int: n}
		case MetaTableVersion:
			*v = singer.Value{Kind: singer.Null}
			if m != nil && m.HasVersion {
				*v = singer.Value{Kind: singer.Number, IsInt: true, IntOK: true, Int: m.Version}
			} else if s.open {
				*v = singer.Value{Kind: singer.Number, IsInt: true, IntOK: true, Int: s.openVer}
			}
		}
	}
}

// schema handles a SCHEMA message: a new stream, or a changed schema of a
// known one (flush what was buffered under the old schema, then evolve).
func (e *Engine[B]) schema(ctx context.Context, m *singer.Message) error {
	key := string(m.Schema) + "\x00" + strings.Join(m.KeyProperties, "\x00")
	s := e.streams[m.Stream]
	if s != nil {
		if err := e.settle(); err != nil {
			return err
		}
		if s.rawKey == key {
			return nil
		}
	}
	sch, err := e.compile(m.Schema)
	if err != nil {
		return fmt.Errorf("line %d: stream %q: %v", m.Line, m.Stream, err)
	}
	if e.cfg.PrimaryKeyRequired && len(m.KeyProperties) == 0 {
		return fmt.Errorf("line %d: stream %q has no key_properties and primary_key_required is set", m.Line, m.Stream)
	}
	if s == nil {
		s = &stream[B]{name: m.Stream, mark: e.wm.Stream(m.Stream), counter: e.metrics.For(m.Stream)}
		s.loader = e.loaders[len(e.streams)%len(e.loaders)]
		e.streams[m.Stream] = s
		if e.cfg.LoadMethod != "overwrite" {
			return e.installLater(s, sch, m.KeyProperties, m.Line, key)
		}
	} else {
		e.flush(s)
		e.quiesce(s)
	}
	if err := e.install(s, sch, m.KeyProperties, m.Line); err != nil {
		return err
	}
	s.rawKey = key
	return nil
}

// compile compiles a SCHEMA message's schema, once for all the streams
// that send the same one (the partitions or tenants of one table: a
// compiled schema is read, never changed, by the streams that use it).
func (e *Engine[B]) compile(raw []byte) (*singer.Schema, error) {
	if sch := e.compiled[string(raw)]; sch != nil {
		return sch, nil
	}
	sch, err := singer.CompileSchema(raw, singer.SchemaOptions{FlattenDepth: e.cfg.FlatteningMaxLevel})
	if err != nil {
		return nil, err
	}
	if e.compiled == nil {
		e.compiled = map[string]*singer.Schema{}
	}
	e.compiled[string(raw)] = sch
	return sch, nil
}

// install plans the stream's table from its schema (and the columns its
// records called for), creates or evolves it, and makes the stream's
// batches for it. The stream's open batch must be empty.
func (e *Engine[B]) install(s *stream[B], sch *singer.Schema, keys []string, line int64) error {
	t, err := e.planFor(s, sch, keys, line)
	if err != nil {
		return err
	}
	p := e.prepare(s, t)
	if p.err == nil && e.cfg.LoadMethod == "overwrite" {
		// The run's records go to a replacement table made like the
		// table, swapped in at the end of the run (endReplace).
		repl, err := e.replacement(t)
		if err != nil {
			return fmt.Errorf("line %d: %v", line, err)
		}
		if s.repl == nil {
			what := fmt.Sprintf("creating %s to build the replacement of %s in", repl.Name, t.Name)
			p.err = e.call(s.loader, what, func(ctx context.Context, sess Session[B]) error { return sess.BeginReplace(ctx, t, repl) })
		}
		if p.err == nil {
			p = e.prepare(s, repl)
		}
		s.repl = repl
	}
	if p.err != nil {
		return p.err
	}
	e.installed(s, sch, keys, t, p.batch)
	return nil
}

// planFor plans the stream's table for a SCHEMA message of line.
func (e *Engine[B]) planFor(s *stream[B], sch *singer.Schema, keys []string, line int64) (*Table, error) {
	t, err := e.planTable(s, sch, keys)
	if err != nil {
		return nil, fmt.Errorf("line %d: %v", line, err)
	}
	t.UniqueKey = len(t.Keys) > 0 && e.cfg.LoadMethod != "append"
	return t, nil
}

// deferredInstall is a new stream whose table a loader is preparing.
type deferredInstall[B Batch[B]] struct {
	s     *stream[B]
	sch   *singer.Schema
	keys  []string
	t     *Table
	key   string
	reply chan prepared[B]
}

// installLater is install for a new stream (not overwrite) without
// waiting for its table: the SCHEMA messages a tap sends before its
// records have their tables created or evolved by all the loaders at once
// while the input is read on, instead of one after the other with the
// reader waiting on each. settle waits for them before anything that
// needs a stream's batch (any message but a new stream's SCHEMA).
func (e *Engine[B]) installLater(s *stream[B], sch *singer.Schema, keys []string, line int64, key string) error {
	t, err := e.planFor(s, sch, keys, line)
	if err != nil {
		return err
	}
	// The first new stream's table is prepared at once; those of the
	// SCHEMA messages that follow it go to its loader together, when
	// something needs them (settle) or when they make a whole group.
	reply := make(chan prepared[B], 1)
	j := job[B]{kind: jobPrepare, table: t, reply: reply}
	if l := s.loader; !l.preparing || !e.groupPrepares {
		l.preparing = true
		l.jobs <- j
	} else if l.unsent = append(l.unsent, j); len(l.unsent) == maxPrepareGroup {
		l.sendUnsent()
	}
	// keys is the decoder's, reused by the next message: copied.
	keys = append([]string(nil), keys...)
	e.deferred = append(e.deferred, deferredInstall[B]{s: s, sch: sch, keys: keys, t: t, key: key, reply: reply})
	return nil
}

// settle completes the deferred installs, in the order of their SCHEMA
// messages. On the first error the streams not installed are forgotten
// (the run stops with that error).
func (e *Engine[B]) settle() error {
	if len(e.deferred) == 0 {
		return nil
	}
	for _, l := range e.loaders {
		l.sendUnsent()
		l.preparing = false
	}
	list := e.deferred
	e.deferred = nil
	var first error
	for _, d := range list {
		p := <-d.reply
		if first == nil && p.err != nil {
			first = p.err
		}
		if first != nil {
			delete(e.streams, d.s.name)
			continue
		}
		e.installed(d.s, d.sch, d.keys, d.t, p.batch)
		d.s.rawKey = d.key
	}
	return first
}

// installed makes the stream's batches for its prepared table.
func (e *Engine[B]) installed(s *stream[B], sch *singer.Schema, keys []string, t *Table, batch B) {
	s.schema, s.keys, s.table = sch, append([]string(nil), keys...), t
	s.batch = batch
	if s.limitRows == 0 {
		s.limitRows, s.limitBytes = e.policy.first(e.ramps)
	}
	// One batch loading while the next fills, on the stream's one
	// session: a stream's appends spread over two sessions (as before
	// 2026-12-03) cost the server 25-90% more CPU and the client 40-70%
	// more for no gain in time on 2 cores (make bench, flat 1M), and
	// interleave key ranges in the table's indexes.
	s.spares = 1
	if sp, ok := any(batch).(Spreading); ok && sp.SpreadLoads() && e.cfg.LoadMethod == "append" {
		// Except where loads of one stream run in parallel to gain
		// (Spreading): one batch per loader.
		s.spares = len(e.loaders)
	}
	s.free = make(chan B, s.spares)
	for i := 0; i < s.spares; i++ {
		s.free <- batch.Fresh()
	}
	s.planCols = len(sch.Plan.Columns)
	s.vals = make([]singer.Value, len(t.Columns))
	s.keyIdx, s.meta = nil, nil
	for i, c := range t.Columns {
		if c.Key {
			s.keyIdx = append(s.keyIdx, i)
		}
		if c.Meta != MetaNone && i >= s.planCols {
			s.meta = append(s.meta, metaSlot{col: i, kind: c.Meta})
		}
	}
}

// prepare creates or evolves a table on the stream's loader.
func (e *Engine[B]) prepare(s *stream[B], t *Table) prepared[B] {
	return <-e.startPrepare(s, t)
}

// startPrepare queues the preparation of a table on the stream's loader;
// the reply comes on the channel returned.
func (e *Engine[B]) startPrepare(s *stream[B], t *Table) chan prepared[B] {
	reply := make(chan prepared[B], 1)
	s.loader.jobs <- job[B]{kind: jobPrepare, table: t, reply: reply}
	return reply
}

// call runs fn on a loader's session, after the jobs queued before it
// (again on a new session after a transient error, as every job).
func (e *Engine[B]) call(l *loader[B], what string, fn func(context.Context, Session[B]) error) error {
	reply := make(chan prepared[B], 1)
	l.jobs <- job[B]{kind: jobCall, call: fn, what: what, reply: reply}
	return (<-reply).err
}

// replacement is the table an overwrite run loads a stream's records into:
// t's columns, in t's schema, under a name of its own that is the same in
// every run (a run that was killed leaves it; the next one replaces it).
// The name is the stream's like its table's: no other stream may load into
// it.
func (e *Engine[B]) replacement(t *Table) (*Table, error) {
	r := *t
	r.Name = e.d.FoldIdentifier(TruncateWithHash("_sk_overwrite_"+t.Name, e.d.MaxIdentifier()))
	owners := e.tables[t.Schema]
	if other, taken := owners[e.d.IdentifierKey(r.Name)]; taken && other != t.Stream {
		return nil, fmt.Errorf("stream %q loads into table %s of schema %s, which overwrite needs to build the replacement of table %s of stream %q: route one elsewhere with schema_mapping", other, r.Name, t.Schema, t.Name, t.Stream)
	}
	owners[e.d.IdentifierKey(r.Name)] = t.Stream
	return &r, nil
}

// endReplace ends every overwrite stream's replacement: with swap, the
// tables take the replacements' rows (each table in one transaction of its
// own), else the replacements are dropped and the tables left as they
// were. The state is released only after every swap.
func (e *Engine[B]) endReplace(swap bool) error {
	var wg sync.WaitGroup
	errs := make([]error, 0, len(e.streams))
	var mu sync.Mutex
	for _, s := range e.streams {
		if s.repl == nil {
			continue
		}
		t, repl := s.table, s.repl
		wg.Add(1)
		go func() {
			defer wg.Done()
			what := fmt.Sprintf("dropping %s, the unfinished replacement of %s (stream %q)", repl.Name, t.Name, t.Stream)
			if swap {
				what = fmt.Sprintf("replacing the rows of %s with this run's records (stream %q)", t.Name, t.Stream)
			}
			err := e.call(s.loader, what, func(ctx context.Context, sess Session[B]) error { return sess.EndReplace(ctx, t, repl, swap) })
			if err != nil {
				mu.Lock()
				if swap {
					errs = append(errs, err)
				} else {
					e.log.Warnf("%v (the next run replaces it)", err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// planTable derives the destination table of a stream from its schema.
func (e *Engine[B]) planTable(s *stream[B], sch *singer.Schema, keys []string) (*Table, error) {
	streamName := s.name
	dest, table := e.destination(streamName)
	name := e.d.FoldIdentifier(table)
	owners := e.tables[dest]
	if owners == nil {
		owners = map[string]string{}
		e.tables[dest] = owners
	}
	// Two streams never share a table: that would merge their rows.
	if other, taken := owners[e.d.IdentifierKey(name)]; taken && other != streamName {
		fix := "route one elsewhere with schema_mapping, or set full_stream_names to name tables after whole stream names"
		if e.cfg.FullStreamNames {
			fix = "route one elsewhere with schema_mapping, or rename a stream (e.g. with a stream map)"
		}
		return nil, fmt.Errorf("streams %q and %q would both load into table %s of schema %s: %s", other, streamName, name, dest, fix)
	}
	owners[e.d.IdentifierKey(name)] = streamName
	t := &Table{Stream: streamName, Schema: dest, Name: name}
	cols := newNameSet(e.d.IdentifierKey, e.d.MaxIdentifier())
	byProp := map[string]*Column{}
	for _, pc := range sch.Plan.Columns {
		c := &Column{Name: cols.claim(pc.Name, e.d.FoldIdentifier(pc.Name)), Property: pc.Name, Type: LogicalTypeOf(pc.Schema), Schema: pc.Schema}
		switch pc.Name {
		case "_sdc_deleted_at":
			c.Meta = MetaDeletedAt
		case "_sdc_table_version":
			c.Meta = MetaTableVersion
		}
		t.Columns = append(t.Columns, c)
		byProp[pc.Name] = c
	}
	for _, k := range keys {
		c := byProp[k]
		if c == nil {
			return nil, fmt.Errorf("stream %q: key property %q is not a property of the schema (or is inside a flattened object)", streamName, k)
		}
		c.Key = true
		t.Keys = append(t.Keys, c.Name)
	}
	add := func(name string, kind MetaColumn, lt LogicalType) {
		if _, ok := byProp[name]; ok {
			return
		}
		t.Columns = append(t.Columns, &Column{Name: cols.claim(name, e.d.FoldIdentifier(name)), Property: name, Type: lt, Meta: kind})
	}
	if e.cfg.AddMetadataColumns {
		add("_sdc_extracted_at", MetaExtractedAt, LogicalType{Kind: KindTimestamp})
		add("_sdc_received_at", MetaReceivedAt, LogicalType{Kind: KindTimestamp})
		add("_sdc_batched_at", MetaBatchedAt, LogicalType{Kind: KindTimestamp})
		add("_sdc_deleted_at", MetaDeletedAt, LogicalType{Kind: KindTimestamp})
		add("_sdc_sequence", MetaSequence, LogicalType{Kind: KindInteger})
		add("_sdc_table_version", MetaTableVersion, LogicalType{Kind: KindInteger})
	}
	hasMeta := func(kind MetaColumn) bool {
		for _, c := range t.Columns {
			if c.Meta == kind {
				return true
			}
		}
		return false
	}
	if s.wantDeleted && !hasMeta(MetaDeletedAt) {
		add("_sdc_deleted_at", MetaDeletedAt, LogicalType{Kind: KindTimestamp})
	}
	if s.wantVersion && !hasMeta(MetaTableVersion) {
		add("_sdc_table_version", MetaTableVersion, LogicalType{Kind: KindInteger})
	}
	if s.wantExtra || len(sch.Plan.Columns) == 0 {
		// A schema without properties keeps its records' data here.
		t.Columns = append(t.Columns, &Column{Name: cols.claim(ExtraColumn, e.d.FoldIdentifier(ExtraColumn)), Property: ExtraColumn,
			Type: LogicalType{Kind: KindJSON}, Meta: MetaExtra, Schema: map[string]any{"type": []any{"null", "object"}}})
	}
	if len(t.Columns) == 0 {
		add("_sdc_received_at", MetaReceivedAt, LogicalType{Kind: KindTimestamp})
	}
	return t, nil
}

// destination maps a stream to its destination schema and table name
// (before the dialect folds it): see Config.Destination.
func (e *Engine[B]) destination(streamName string) (schema, table string) {
	return e.cfg.Destination(streamName)
}

// Destination is the schema and table (before the dialect folds the name)
// a stream loads into under this config: SplitStreamName's table, or the
// whole stream name with full_stream_names, in the schema_mapping target of
// its source schema, else in default_target_schema. singer canary looks for
// its tracers where this says.
func (c *Config) Destination(streamName string) (schema, table string) {
	source, table := SplitStreamName(streamName)
	if c.FullStreamNames {
		table = streamName
	}
	if m, ok := c.SchemaMapping[source]; ok && source != "" && m.TargetSchema != "" {
		return m.TargetSchema, table
	}
	return c.DefaultTargetSchema, table
}

// SplitStreamName reads a stream name the way PipelineWise's targets do, so
// that swapping one of them for ours writes to the same tables: split on
// '-', "schema-table" is a source schema and a table, "catalog-schema-t1-t2"
// a catalog, a source schema and the table "t1_t2", a name without '-' is
// the table. The table part is lower-cased, with '.' made '_'. The source
// schema selects the target schema through schema_mapping.
func SplitStreamName(stream string) (sourceSchema, table string) {
	parts := strings.Split(stream, "-")
	switch {
	case len(parts) == 2:
		sourceSchema, table = parts[0], parts[1]
	case len(parts) > 2:
		sourceSchema, table = parts[1], strings.Join(parts[2:], "_")
	default:
		table = stream
	}
	if table == "" {
		table = stream
	}
	return sourceSchema, strings.ToLower(strings.ReplaceAll(table, ".", "_"))
}

// mode is how a stream's batches load: append mode appends; upsert and
// overwrite (into its replacement table) merge by key, and append when the
// stream has no keys.
func (e *Engine[B]) mode(s *stream[B]) LoadMode {
	return LoadMode{HardDelete: e.cfg.HardDelete, Upsert: e.cfg.LoadMethod != "append" && len(s.keys) > 0}
}

// flush hands the stream's open batch to its loader and takes the spare one
// (waiting for it while the loader still loads it). The batches loading,
// all streams together, stay under batch_size_bytes: a flush that would go
// beyond waits for loads to end (one batch alone may be as large as it).
func (e *Engine[B]) flush(s *stream[B]) {
	if s.free == nil || s.batch.Rows() == 0 { // free is made with the first batch (install)
		return
	}
	size := int64(s.batch.Bytes())
	e.buffered -= int(size)
	for n := e.inflight.Load(); n > 0 && n+size > int64(e.policy.Bytes); n = e.inflight.Load() {
		<-e.loaded
	}
	e.inflight.Add(size)
	l := s.loader
	if s.spares > 1 {
		// Spread loads (Spreading): the loaders in turn.
		l = e.loaders[s.nflush%len(e.loaders)]
		s.nflush++
	}
	l.pending.Add(1)
	tok := s.mark.Flush()
	mode := e.mode(s)
	l.jobs <- job[B]{kind: jobLoad, batch: s.batch, token: tok, mode: mode, free: s.free, size: size}
	s.batch = <-s.free
	s.batch.Reset()
	s.limitRows, s.limitBytes = min(2*s.limitRows, e.policy.Rows), min(2*s.limitBytes, e.policy.Bytes)
}

// quiesce waits until every batch of the stream handed to a loader has
// been loaded (all spare batches are back), so that what comes next (a new
// schema, an ACTIVATE_VERSION) follows every earlier load of the stream.
func (e *Engine[B]) quiesce(s *stream[B]) {
	if s.free == nil {
		return
	}
	held := make([]B, 0, s.spares)
	for i := 0; i < s.spares; i++ {
		held = append(held, <-s.free)
	}
	for _, b := range held {
		s.free <- b
	}
}

func (e *Engine[B]) flushLargest() {
	var big *stream[B]
	for _, s := range e.streams {
		if s.free != nil && (big == nil || s.batch.Bytes() > big.batch.Bytes()) {
			big = s
		}
	}
	if big != nil {
		e.flush(big)
	}
}

// flushAged flushes batches older than max_batch_age_seconds.
func (e *Engine[B]) flushAged() {
	now := e.now()
	for _, s := range e.streams {
		if s.free != nil && s.batch.Rows() > 0 && now.Sub(s.started) >= e.policy.MaxAge {
			e.flush(s)
		}
	}
}

// ExtraColumn is the JSON column that keeps a record's properties its
// schema does not declare.
const ExtraColumn = "_sdc_extra"

// extras reads the current record's undeclared properties: _sdc_deleted_at
// marks a delete (as if declared: log based taps send it undeclared), the
// others go, with their JSON text as sent, into one JSON object in
// _sdc_extra. A column the stream lacks for them is added first.
func (e *Engine[B]) extras(s *stream[B], line int64) error {
	s.deletedVal = singer.Value{Kind: singer.Null}
	s.extraVal = singer.Value{Kind: singer.Null}
	if len(s.row.Extra) == 0 {
		return nil
	}
	buf := s.extraBuf[:0]
	var names []string
	for _, x := range s.row.Extra {
		if x.Prefix == "" && string(x.Name) == "_sdc_deleted_at" {
			var t string
			switch {
			case string(x.Raw) == "null":
			case x.Raw[0] == '"' && json.Unmarshal(x.Raw, &t) == nil:
				s.deletedVal = singer.Value{Kind: singer.String, Bytes: []byte(t)}
			default:
				return fmt.Errorf("line %d: stream %q: _sdc_deleted_at must be a date-time string or null, not %s", line, s.name, x.Raw)
			}
			continue
		}
		if len(buf) == 0 {
			buf = append(buf, '{')
		} else {
			buf = append(buf, ',')
		}
		name := x.Prefix + string(x.Name)
		buf = singer.AppendJSONString(buf, name)
		buf = append(buf, ':')
		buf = append(buf, x.Raw...)
		if !s.warnedExtra && len(names) < 5 {
			names = append(names, strconv.Quote(name))
		}
	}
	if len(buf) > 0 {
		buf = append(buf, '}')
		s.extraVal = singer.Value{Kind: singer.Object, Bytes: buf}
	}
	s.extraBuf = buf
	replan := false
	if s.deletedVal.Kind == singer.String && !s.wantDeleted && s.table.metaIndex(MetaDeletedAt) < 0 {
		s.wantDeleted, replan = true, true
		e.log.Warnf("stream %q: records carry _sdc_deleted_at, which the SCHEMA does not declare: added column %s; a record with it %s its row", s.name,
			e.d.FoldIdentifier("_sdc_deleted_at"), map[bool]string{true: "deletes (hard_delete)", false: "marks (soft delete)"}[e.cfg.HardDelete])
	}
	if len(buf) > 0 && !s.wantExtra && s.table.metaIndex(MetaExtra) < 0 {
		s.wantExtra, replan = true, true
	}
	if len(buf) > 0 && !s.warnedExtra {
		s.warnedExtra = true
		e.log.Warnf("stream %q: line %d: properties its SCHEMA does not declare (%s) are kept as JSON in column %s", s.name, line, strings.Join(names, ", "), e.d.FoldIdentifier(ExtraColumn))
	}
	if replan {
		return e.replan(s, line)
	}
	return nil
}

// replan evolves the stream's table for columns its records called for.
func (e *Engine[B]) replan(s *stream[B], line int64) error {
	e.flush(s)
	e.quiesce(s)
	return e.install(s, s.schema, s.keys, line)
}

// metaIndex returns the index of the table's column of a metadata kind,
// or -1.
// ColumnOf returns the table's metadata column of a kind
// (_sdc_table_version, _sdc_deleted_at...), nil when it has none.
func (t *Table) ColumnOf(kind MetaColumn) *Column {
	if i := t.metaIndex(kind); i >= 0 {
		return t.Columns[i]
	}
	return nil
}

func (t *Table) metaIndex(kind MetaColumn) int {
	for i, c := range t.Columns {
		if c.Meta == kind {
			return i
		}
	}
	return -1
}

// versioned notes a record of a version: the table gets
// _sdc_table_version if it has none, and an ACTIVATE_VERSION waiting to be
// told start from end is settled.
func (e *Engine[B]) versioned(s *stream[B], version int64, line int64) error {
	if s.pending {
		if s.pendingVer == version {
			e.started(s)
		} else {
			e.applyPending(s)
		}
	}
	if s.lastVerOK && s.lastVer == version {
		return nil // the hot path: every record of a version
	}
	s.lastVer, s.lastVerOK = version, true
	s.open, s.openVer = true, version
	if s.versions == nil {
		s.versions = map[int64]bool{}
	}
	s.versions[version] = true
	if !s.wantVersion {
		s.wantVersion = true
		if s.table.metaIndex(MetaTableVersion) < 0 {
			return e.replan(s, line)
		}
	}
	return nil
}

// activate handles ACTIVATE_VERSION. Rows of older versions, and rows
// without a version, are deleted (hard_delete) or soft-deleted once the
// records before it are loaded. The table gets _sdc_table_version (and,
// for soft deletes, _sdc_deleted_at) if it has none.
//
// A FULL_TABLE tap sends ACTIVATE_VERSION twice: before the version's
// records (the first sync only) and after them. The first must not empty
// the table, so an ACTIVATE_VERSION of a version no record has carried yet
// waits: if records of that version (or records without a version: BATCH
// files) follow, it was the start and deletes nothing; if another
// ACTIVATE_VERSION of it, a STATE, or a record of another version follows,
// the version is empty and it applies then. At the end of the input it is left unapplied (a warning): a tap
// that stopped right after announcing a version must not empty the table.
// It counts as a record of the stream, so a STATE after it waits for it.
func (e *Engine[B]) activate(s *stream[B], version int64, line int64) error {
	if !s.wantVersion && s.table.metaIndex(MetaTableVersion) < 0 || !e.cfg.HardDelete && !s.wantDeleted && s.table.metaIndex(MetaDeletedAt) < 0 {
		s.wantVersion = true
		s.wantDeleted = s.wantDeleted || !e.cfg.HardDelete
		if err := e.replan(s, line); err != nil {
			return err
		}
	}
	if s.versions == nil {
		s.versions = map[int64]bool{}
	}
	if s.pending {
		if s.pendingVer == version {
			// The start and the end of an empty version.
			e.wm.Committed(s.pendingTok)
			s.pending = false
			e.release()
			s.versions[version] = true
		} else {
			e.applyPending(s)
		}
	}
	if s.versions[version] {
		e.apply(s, version, e.token(s))
		return nil
	}
	s.pending, s.pendingVer, s.pendingTok = true, version, e.token(s)
	return nil
}

// token flushes the stream and returns a watermark token standing for one
// more message of it (an ACTIVATE_VERSION).
func (e *Engine[B]) token(s *stream[B]) watermark.FlushToken {
	e.flush(s)
	s.mark.Record()
	return s.mark.Flush()
}

// started settles the waiting ACTIVATE_VERSION of a stream as the start
// of its version (a FULL_TABLE sync's first one): records of it follow,
// nothing is deleted before them, and records without a version (BATCH
// files carry none) belong to it until it is activated.
func (e *Engine[B]) started(s *stream[B]) {
	e.wm.Committed(s.pendingTok)
	s.pending = false
	e.release()
	s.versions[s.pendingVer] = true
	s.open, s.openVer = true, s.pendingVer
}

// applyPending applies the waiting ACTIVATE_VERSION of a stream.
func (e *Engine[B]) applyPending(s *stream[B]) {
	if !s.pending {
		return
	}
	s.pending = false
	e.apply(s, s.pendingVer, s.pendingTok)
}

func (e *Engine[B]) apply(s *stream[B], version int64, tok watermark.FlushToken) {
	s.open, s.lastVerOK = false, false
	e.flush(s)
	e.quiesce(s)
	t := s.table
	if s.repl != nil {
		t = s.repl // overwrite: the run's records are there
	}
	s.loader.jobs <- job[B]{kind: jobActivate, table: t, version: version, token: tok, hardDelete: e.cfg.HardDelete}
}

// batchFiles reads the files of a BATCH message as records.
func (e *Engine[B]) batchFiles(s *stream[B], m *singer.Message) error {
	if m.Encoding.Format != "jsonl" {
		return fmt.Errorf("line %d: BATCH for stream %q: format %q is not supported (jsonl is)", m.Line, s.name, m.Encoding.Format)
	}
	for _, ref := range m.Manifest {
		if err := e.batchFile(s, m, ref); err != nil {
			return fmt.Errorf("line %d: BATCH for stream %q: %w", m.Line, s.name, err)
		}
	}
	return nil
}

func (e *Engine[B]) batchFile(s *stream[B], m *singer.Message, ref string) error {
	bf, err := e.batchRoots.Open(ref, m.Encoding.Compression)
	if err != nil {
		return err
	}
	defer bf.Close()
	for {
		rec, err := bf.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := e.record(s, rec, nil, m.Line, nil); err != nil {
			return fmt.Errorf("%s line %d: %v", bf.Path, bf.Line, err)
		}
	}
}

// release writes the latest releasable state (or holds it, see hold).
// Loaders release concurrently: taking and writing a state under one lock
// keeps the states in order.
func (e *Engine[B]) release() {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	v := e.wm.Release()
	switch {
	case v == nil:
	case e.hold:
		e.held = v
	default:
		e.writeState(v)
	}
}

// writeState writes a state line; outMu is held.
func (e *Engine[B]) writeState(v []byte) {
	if err := e.out.WriteStateValue(v); err != nil {
		e.fail(fmt.Errorf("writing state to stdout: %w", err))
	}
}

func (e *Engine[B]) fail(err error) {
	e.errMu.Lock()
	if e.firstErr == nil {
		e.firstErr = err
	}
	e.errMu.Unlock()
	e.failed.Store(true)
}

func (e *Engine[B]) err() error {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	return e.firstErr
}

// drain waits until every loader has finished its queued jobs.
func (e *Engine[B]) drain() {
	for _, l := range e.loaders {
		reply := make(chan prepared[B], 1)
		l.jobs <- job[B]{kind: jobBarrier, reply: reply}
		<-reply
	}
}

func (e *Engine[B]) closeLoaders() {
	for _, l := range e.loaders {
		l.close()
	}
	e.loaders = nil
}

type jobKind uint8

const (
	jobPrepare jobKind = iota
	jobLoad
	jobActivate
	jobBarrier
	jobCall
	jobPrepareGroup
)

type job[B Batch[B]] struct {
	kind       jobKind
	table      *Table
	batch      B
	token      watermark.FlushToken
	mode       LoadMode
	free       chan B
	size       int64 // jobLoad: the batch's bytes, counted in Engine.inflight
	version    int64
	hardDelete bool
	reply      chan prepared[B]
	group      []job[B]                                // jobPrepareGroup: a jobPrepare for each table
	call       func(context.Context, Session[B]) error // jobCall, named what
	what       string
}

type prepared[B Batch[B]] struct {
	batch B
	err   error
}

// loader owns one session and runs its jobs in order.
type loader[B Batch[B]] struct {
	e    *Engine[B]
	sess Session[B] // nil after a failure, until the next attempt opens one
	jobs chan job[B]
	done chan struct{}
	// The deferred preparations of new streams (installLater) not handed
	// to the loader yet, and whether one was since the last settle: the
	// reader's goroutine alone uses them.
	unsent    []job[B]
	preparing bool
	// pending: loads handed to the loader and not ended (see load).
	pending atomic.Int32
	closed  bool
	retries int
}

func (l *loader[B]) run(ctx context.Context) {
	defer close(l.done)
	var next *job[B] // taken from jobs while gathering loads: runs next
	for {
		var j job[B]
		if next != nil {
			j, next = *next, nil
		} else {
			var ok bool
			if j, ok = <-l.jobs; !ok {
				return
			}
		}
		switch j.kind {
		case jobPrepare:
			l.prepareOne(ctx, j)
		case jobPrepareGroup:
			if !l.prepareMany(ctx, j.group) {
				for _, j := range j.group {
					l.prepareOne(ctx, j)
				}
			}
		case jobLoad:
			group := []job[B]{j}
			if l.e.groupLoads && !j.mode.Upsert {
				// The appends of other streams queued behind it go with it
				// (LoadingMany), up to the first job of another kind or of
				// a stream already in the group, which runs next. (A
				// stream's next batch waits: while it loads alone, the
				// stream fills the batch after it.)
				if h := l.e.gatherHook; h != nil {
					h(func() int { return len(l.jobs) })
				}
				streams := map[chan B]bool{j.free: true}
			gather:
				for len(group) < maxLoadGroup {
					select {
					case nj, ok := <-l.jobs:
						if !ok {
							break gather
						}
						if nj.kind == jobLoad && !nj.mode.Upsert && !streams[nj.free] {
							streams[nj.free] = true
							group = append(group, nj)
							continue
						}
						next = &nj
						break gather
					default:
						break gather
					}
				}
			}
			if len(group) == 1 || !l.loadMany(ctx, group) {
				for _, j := range group {
					l.loadOne(ctx, j)
				}
			}
		case jobActivate:
			if !l.e.failed.Load() {
				what := fmt.Sprintf("activating version %d of stream %q", j.version, j.table.Stream)
				if err := l.attempt(ctx, what, true, func(s Session[B]) error { return s.ActivateVersion(ctx, j.table, j.version, j.hardDelete) }); err != nil {
					l.e.fail(stopped(ctx, what, err))
				} else {
					l.e.wm.Committed(j.token)
					l.e.release()
				}
			}
		case jobBarrier:
			j.reply <- prepared[B]{}
		case jobCall:
			err := l.attempt(ctx, j.what, true, func(s Session[B]) error { return j.call(ctx, s) })
			if err != nil {
				err = stopped(ctx, j.what, err)
			}
			j.reply <- prepared[B]{err: err}
		}
	}
}

// maxLoadGroup bounds the batches loaded in one transaction.
const maxLoadGroup = 100

// loadOne loads one batch and ends its job.
func (l *loader[B]) loadOne(ctx context.Context, j job[B]) {
	if !l.e.failed.Load() {
		start := time.Now()
		what := fmt.Sprintf("loading %d records of stream %q into %s", j.batch.Rows(), j.batch.Table().Stream, j.batch.Table().Name)
		// A merge by key ends the same when run twice; an append
		// may not.
		redo := j.mode.Upsert
		if err := l.attempt(ctx, what, redo, func(s Session[B]) error { return s.Load(ctx, j.batch, j.mode) }); err != nil {
			l.e.fail(stopped(ctx, what, err))
		} else {
			l.committed(j, time.Since(start))
		}
	}
	l.end(j)
}

// loadMany loads a group of appends in one transaction (LoadingMany) and
// ends their jobs. It returns false, having ended none, when the session
// does not load groups or refused the group (nothing of it committed):
// each batch is then loaded on its own.
func (l *loader[B]) loadMany(ctx context.Context, group []job[B]) bool {
	if l.e.failed.Load() {
		return false // loadOne ends each job
	}
	batches := make([]B, len(group))
	modes := make([]LoadMode, len(group))
	rows := 0
	for i, j := range group {
		batches[i], modes[i] = j.batch, j.mode
		rows += j.batch.Rows()
	}
	many := false
	start := time.Now()
	what := fmt.Sprintf("loading %d records of %d batches (streams %q to %q) in one transaction", rows, len(group), group[0].batch.Table().Stream, group[len(group)-1].batch.Table().Stream)
	err := l.attempt(ctx, what, false, func(s Session[B]) error {
		lm, ok := s.(LoadingMany[B])
		if !ok {
			return nil
		}
		many = true
		return lm.LoadMany(ctx, batches, modes)
	})
	if !many {
		return false
	}
	var te *TransientError
	if err != nil && ctx.Err() == nil && !errors.As(err, &te) {
		// Refused: the transaction rolled back, nothing of the group is
		// in the tables. After a transient error (retries spent, a COMMIT
		// without reply) the group may have committed: loading its
		// batches again could duplicate their rows, so the run stops as
		// for one batch.
		return false
	}
	if err != nil {
		l.e.fail(stopped(ctx, what, err))
	}
	took := time.Since(start)
	for _, j := range group {
		if err == nil {
			// Each batch's share of the transaction's time, by rows.
			l.committed(j, took*time.Duration(j.batch.Rows())/time.Duration(max(rows, 1)))
		}
		l.end(j)
	}
	return true
}

// committed records a batch as loaded and durable.
func (l *loader[B]) committed(j job[B], took time.Duration) {
	l.e.wm.Committed(j.token)
	l.e.log.Metric(singer.Metric{Type: "timer", Metric: "batch_load_seconds", Value: took.Seconds(),
		Tags: map[string]any{"stream": j.batch.Table().Stream, "rows": j.batch.Rows()}})
	l.e.release()
}

// end returns a load job's batch to its stream, loaded or not.
func (l *loader[B]) end(j job[B]) {
	j.batch.Reset()
	l.e.inflight.Add(-j.size)
	select {
	case l.e.loaded <- struct{}{}:
	default:
	}
	j.free <- j.batch
	l.pending.Add(-1)
}

// stopped names the work an error stopped; when the loaders' context was
// cancelled (a second signal, or shutdown_timeout_seconds after the
// first), the cause replaces the driver's error, which only says that its
// context ended.
// maxPrepareGroup bounds the tables prepared in one transaction.
const maxPrepareGroup = 100

// sendUnsent hands the loader the preparations held back by installLater:
// several as one group (PreparingMany), one as itself.
func (l *loader[B]) sendUnsent() {
	switch len(l.unsent) {
	case 0:
		return
	case 1:
		l.jobs <- l.unsent[0]
	default:
		l.jobs <- job[B]{kind: jobPrepareGroup, group: l.unsent}
	}
	l.unsent = nil
}

// prepareMany prepares a group's tables with one PrepareTables call and
// replies to each job. It returns false, having replied to none, when the
// session does not prepare groups, or when the group failed and the run
// goes on: each table is then prepared on its own, so that a table that
// cannot be prepared fails with its own error.
func (l *loader[B]) prepareMany(ctx context.Context, group []job[B]) bool {
	if l.e.failed.Load() {
		return false // prepareOne replies with the run's error
	}
	tables := make([]*Table, len(group))
	for i, j := range group {
		tables[i] = j.table
	}
	var batches []B
	many := false
	what := fmt.Sprintf("preparing the tables of %d streams (%q to %q)", len(group), group[0].table.Stream, group[len(group)-1].table.Stream)
	err := l.attempt(ctx, what, true, func(s Session[B]) (err error) {
		pm, ok := s.(PreparingMany[B])
		if !ok {
			return nil
		}
		many = true
		batches, err = pm.PrepareTables(ctx, tables)
		return err
	})
	if !many || err != nil && ctx.Err() == nil {
		// Its own error, if any, comes from the table that has it.
		return false
	}
	for i, j := range group {
		if err != nil {
			j.reply <- prepared[B]{err: stopped(ctx, what, err)}
			continue
		}
		j.reply <- prepared[B]{batch: batches[i]}
	}
	return true
}

// prepareOne prepares one table and replies to its job.
func (l *loader[B]) prepareOne(ctx context.Context, j job[B]) {
	if l.e.failed.Load() {
		j.reply <- prepared[B]{err: l.e.err()}
		return
	}
	var b B
	what := fmt.Sprintf("preparing table for stream %q", j.table.Stream)
	err := l.attempt(ctx, what, true, func(s Session[B]) (err error) {
		b, err = s.PrepareTable(ctx, j.table)
		return err
	})
	if err != nil {
		err = stopped(ctx, what, err)
	}
	j.reply <- prepared[B]{batch: b, err: err}
}

func stopped(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return fmt.Errorf("%w: %s was abandoned before it committed", cause, what)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// attempt runs work on the loader's session, and again on a new session
// after a *TransientError, waiting retry_backoff_seconds (doubling) in
// between, up to max_retries times. redo tells whether the work may run
// again after a COMMIT whose outcome is unknown.
func (l *loader[B]) attempt(ctx context.Context, what string, redo bool, work func(Session[B]) error) error {
	var first error
	var inDoubt func(context.Context) (bool, error) // ask before redoing
	for n := 1; ; n++ {
		err := ctx.Err()
		if err == nil && l.sess == nil {
			l.sess, err = l.e.d.Open(ctx)
		}
		if err == nil && inDoubt != nil {
			var committed bool
			if committed, err = inDoubt(ctx); err == nil {
				if committed {
					l.e.log.Infof("%s: the attempt whose COMMIT got no reply did commit", what)
					return nil
				}
				inDoubt = nil
			}
		}
		if err == nil {
			if err = work(l.sess); err == nil {
				return nil
			}
		}
		var te *TransientError
		if ctx.Err() != nil || !errors.As(err, &te) {
			return err
		}
		if te.InDoubt && !redo {
			if te.Committed == nil {
				return fmt.Errorf("%w (the connection was lost after COMMIT was sent: the batch may have committed, and loading it again could duplicate its rows, so it is not retried)", err)
			}
			inDoubt = te.Committed
		}
		if first == nil {
			first = err
		}
		if n > l.retries {
			if l.retries > 0 {
				last := err
				err = fmt.Errorf("%w (gave up after %d attempts, max_retries %d)", err, n, l.retries)
				if first.Error() != last.Error() {
					err = fmt.Errorf("%w; the first attempt failed with: %v", err, first)
				}
			}
			return err
		}
		wait := l.e.cfg.backoff(n)
		l.e.log.Warnf("%s failed (attempt %d of %d), retrying in %s: %v", what, n, l.retries+1, wait, err)
		l.closeSession()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

func (l *loader[B]) closeSession() {
	if l.sess != nil {
		l.sess.Close()
		l.sess = nil
	}
}

func (l *loader[B]) close() {
	if l.closed {
		return
	}
	l.closed = true
	close(l.jobs)
	<-l.done
	l.closeSession()
}

// showProgress prints a live progress line every second until stopped.
func (e *Engine[B]) showProgress() (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				fmt.Fprint(e.Progress, "\r\033[K")
				return
			case now := <-t.C:
				n := e.records.Load()
				rate := float64(n) / now.Sub(start).Seconds()
				fmt.Fprintf(e.Progress, "\r\033[K%d records, %.0f records/s, %d states waiting", n, rate, e.wm.Pending())
			}
		}
	}()
	return func() { close(done); <-finished }
}

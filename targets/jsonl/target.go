package jsonl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/singerkit/singerkit/internal/config"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/batchfile"

	"github.com/singerkit/singerkit/internal/input"
	"github.com/singerkit/singerkit/internal/watermark"

	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
)

// Spec returns target-jsonl's command-line spec for cli.RunTarget.
func Spec() cli.TargetSpec {
	return spec(time.Now)
}

func spec(now func() time.Time) cli.TargetSpec {
	return cli.TargetSpec{
		About: cli.About{
			Name:          "target-jsonl",
			Description:   "Appends each stream's records to <destination_path>/<stream>.jsonl and echoes a STATE only once the records before it are on disk.",
			Version:       cli.Version,
			Capabilities:  []string{"about", "batch", "validate-records"},
			Settings:      schemas.Get("target-jsonl.config.json"),
			SettingsNotes: settingsNotes,
		},
		Run: func(ctx context.Context, env *cli.Env, in io.Reader, out *singer.Encoder) error {
			cfg, err := decodeConfig(env.Config)
			if err != nil {
				return err
			}
			return run(ctx, cfg, env.Log, in, out, now)
		},
	}
}

const settingsNotes = `A STATE is echoed (its bare value, one line) only after every record before it, in every stream, is flushed and fsynced. ` +
	`On an error every file is cut back to exactly the records the last echoed state covers (to its size at the start of the run when no state was echoed) and the run exits 1; ` +
	`rerunning from the last echoed state appends again (at least once: deduplicate downstream by key).`

// target is one run: the streams seen so far and the watermark that decides
// which STATE may be echoed.
type target struct {
	cfg Config
	// batchRoots are where BATCH files may be read from.
	batchRoots batchfile.Roots
	log        *singer.Log
	out        *singer.Encoder
	now        func() time.Time
	mark       *watermark.Watermark
	metrics    *singer.Counters
	streams    map[string]*stream
	dirty      []*stream // streams written to since the last commit
	pending    int       // records written since the last full commit

	// files are the stream files in the order this run opened them. A
	// STATE takes a snapshot of their sizes (what the records before it
	// take up); snaps holds the snapshots of the states the watermark has
	// not released yet, one for each, oldest first. When a state is
	// echoed, its snapshot becomes the files' covered sizes: what an error
	// cuts them back to.
	files []*streamFile
	snaps [][]int64

	seq       int64      // _sdc_sequence of the next record
	line      []byte     // scratch for a record with metadata columns
	received  stampCache // formats _sdc_received_at
	extracted []byte     // the last time_extracted seen, as written
	extOut    []byte     // ... and as _sdc_extracted_at writes it

	interruptedCleanly bool // cancelled, and what was read is committed
}

// stream is what the target keeps per stream.
type stream struct {
	name    string
	schema  *singer.Schema
	keyCols []int // the plan columns of the key properties
	row     singer.Row
	mark    *watermark.StreamMark
	count   *singer.Counter
	file    *streamFile // nil until the first record
	isDirty bool
}

// run reads Singer messages from in, appends records to the stream files
// under cfg.DestinationPath and writes each releasable STATE value to out.
// On an error it cuts every file back to what the last state written to out
// covers (to its size at the start when none was) and returns the error; on
// ctx cancellation it commits what it has, writes the state that covers it
// and returns ctx.Err(). now is the clock of the metadata columns.
func run(ctx context.Context, cfg Config, log *singer.Log, in io.Reader, out *singer.Encoder, now func() time.Time) (err error) {
	if err := os.MkdirAll(cfg.DestinationPath, 0o755); err != nil {
		return fmt.Errorf("cannot create destination_path %s: %w", cfg.DestinationPath, config.WithoutPath(err))
	}
	roots, err := batchfile.NewRoots(cfg.BatchRoots)
	if err != nil {
		return err
	}
	t := &target{
		cfg:        cfg,
		batchRoots: roots,
		log:        log,
		out:        out,
		now:        now,
		mark:       watermark.New(),
		metrics:    singer.NewCounters(log, "record_count", 60*time.Second),
		streams:    make(map[string]*stream),
		seq:        now().UnixNano(),
	}
	defer t.metrics.Close()
	defer func() {
		// An interrupted run returns ctx.Err() with everything committed and
		// its state echoed: nothing to cut back.
		cerr := t.close(err != nil && !t.interruptedCleanly)
		switch {
		case err == nil:
			err = cerr
		case cerr != nil:
			// The run fails with its own error; a file that could not be
			// cut back must not go unnoticed. One line, like every message.
			log.Warnf("%s", strings.ReplaceAll(cerr.Error(), "\n", "; "))
		}
	}()

	dec := singer.NewDecoder(input.NewReader(ctx, in, nil, nil))
	dec.Warn = func(msg string) { log.Warnf("%s", msg) }
	// Cancellation surfaces as a read error once the lines already read are
	// handled: what was read before the signal is written and committed, a
	// partial line is dropped.
	for dec.Next() {
		if err := t.handle(dec.Message()); err != nil {
			return err
		}
	}
	if err := dec.Err(); err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return t.interrupted(ctx)
		}
		return err
	}
	return t.commit()
}

// interrupted commits what was read before the cancellation and echoes the
// state that covers it.
func (t *target) interrupted(ctx context.Context) error {
	if err := t.commit(); err != nil {
		return err
	}
	t.interruptedCleanly = true
	return ctx.Err()
}

func (t *target) handle(m *singer.Message) error {
	switch m.Type {
	case singer.TypeRecord:
		s, err := t.recordStream(m)
		if err != nil {
			return err
		}
		return t.record(s, m, m.Record, nil)
	case singer.TypeSchema:
		return t.schema(m)
	case singer.TypeState:
		t.state(m.Value)
		return t.commit()
	case singer.TypeActivateVersion:
		t.log.Infof("line %d: stream %q: ACTIVATE_VERSION %d noted; a jsonl file keeps the records of every version (add_metadata_columns shows each record's in _sdc_table_version)",
			m.Line, m.Stream, m.Version)
		return nil
	case singer.TypeBatch:
		return t.batch(m)
	}
	return nil
}

func (t *target) recordStream(m *singer.Message) (*stream, error) {
	s := t.streams[m.Stream]
	if s == nil {
		return nil, &singer.InputError{Line: m.Line, Msg: fmt.Sprintf("%s for stream %q comes before any SCHEMA for that stream", m.Type, m.Stream)}
	}
	return s, nil
}

// schema compiles a stream's schema. A changed schema for a known stream
// first commits what was written under the old one.
func (t *target) schema(m *singer.Message) error {
	s := t.streams[m.Stream]
	if s != nil && bytes.Equal(s.schema.Raw, m.Schema) {
		return nil
	}
	compiled, err := singer.CompileSchema(m.Schema, singer.SchemaOptions{})
	if err != nil {
		return &singer.InputError{Line: m.Line, Msg: fmt.Sprintf("stream %q: %v", m.Stream, err)}
	}
	keyCols, err := compiled.KeyColumns(m.KeyProperties)
	if err != nil {
		return &singer.InputError{Line: m.Line, Msg: fmt.Sprintf("stream %q: %v", m.Stream, err)}
	}
	if s == nil {
		s = &stream{name: m.Stream, mark: t.mark.Stream(m.Stream), count: t.metrics.For(m.Stream)}
		t.streams[m.Stream] = s
	} else if s.isDirty {
		if err := t.commitStreams([]*stream{s}); err != nil {
			return err
		}
		t.removeDirty(s)
		if err := t.release(); err != nil {
			return err
		}
	}
	s.schema, s.keyCols = compiled, keyCols
	return nil
}

// record validates and appends one record: a RECORD message's, or a line
// of a BATCH file (bf, named in errors).
func (t *target) record(s *stream, m *singer.Message, rec []byte, bf *batchfile.File) error {
	// Decoded even without validation: a record with a key twice or
	// without a key value is refused by every target (DESIGN: one rule for
	// the same input everywhere).
	if err := s.schema.Decode(rec, &s.row, t.cfg.ValidateRecords); err != nil {
		return recordError(s, m, bf, err)
	}
	if msg := s.schema.MissingKey(s.keyCols, &s.row); msg != "" {
		return recordError(s, m, bf, errors.New(msg))
	}
	if s.file == nil {
		if err := t.open(s); err != nil {
			return err
		}
	}
	line := rec
	if t.cfg.AddMetadataColumns {
		var err error
		if line, err = t.withMetadata(m, rec); err != nil {
			return recordError(s, m, bf, err)
		}
	}
	if err := s.file.write(line); err != nil {
		return fmt.Errorf("stream %q: writing %s: %w", s.name, s.file.path, err)
	}
	s.mark.Record()
	s.count.Add(1)
	if !s.isDirty {
		s.isDirty = true
		t.dirty = append(t.dirty, s)
	}
	t.pending++
	if t.pending >= t.cfg.BatchSizeRows {
		return t.commit()
	}
	return nil
}

// open opens the file of a stream. Two streams must not share a file (on a
// case-insensitive file system "Users" and "users" do): their buffered
// appends would interleave inside lines.
func (t *target) open(s *stream) error {
	f, err := openStreamFile(t.cfg.DestinationPath, FileName(s.name), t.log)
	if err != nil {
		return fmt.Errorf("stream %q: %w", s.name, err)
	}
	fi, err := f.f.Stat()
	if err != nil {
		f.close()
		return fmt.Errorf("stream %q: %w", s.name, err)
	}
	for _, o := range t.streams {
		if o.file == nil {
			continue
		}
		if ofi, err := o.file.f.Stat(); err == nil && os.SameFile(fi, ofi) {
			f.close()
			return fmt.Errorf("streams %q and %q would write to the same file %s (a case-insensitive file system, or a link); rename one of the streams",
				o.name, s.name, f.path)
		}
	}
	s.file = f
	t.files = append(t.files, f)
	return nil
}

// recordError names the input line, the stream and, for a BATCH record, the
// file and its line.
func recordError(s *stream, m *singer.Message, bf *batchfile.File, err error) error {
	if bf != nil {
		return &singer.InputError{Line: m.Line, Msg: fmt.Sprintf("stream %q: batch file %s line %d: %v", s.name, bf.Path, bf.Line, err)}
	}
	return &singer.InputError{Line: m.Line, Msg: fmt.Sprintf("stream %q: %v", s.name, err)}
}

// The metadata columns, in the order they are appended.
var metadataKeys = [...]string{"_sdc_extracted_at", "_sdc_received_at", "_sdc_sequence", "_sdc_table_version"}

// withMetadata returns rec with the metadata columns appended. A top-level
// key of the same name already in rec is dropped first, so the object never
// has a duplicate key. A BATCH message has neither time_extracted nor
// version: its records get nulls.
func (t *target) withMetadata(m *singer.Message, rec []byte) ([]byte, error) {
	var err error
	if bytes.Contains(rec, []byte("_sdc_")) || bytes.Contains(rec, []byte(`\u005`)) {
		if rec, err = dropKeys(rec, metadataKeys[:]); err != nil {
			return nil, err
		}
	}
	b := append(t.line[:0], rec[:len(rec)-1]...)
	if len(bytes.TrimSpace(rec[1:len(rec)-1])) > 0 {
		b = append(b, ',')
	}
	b = append(b, `"_sdc_extracted_at":`...)
	switch {
	case m.TimeExtracted == nil:
		b = append(b, "null"...)
	case bytes.Equal(m.TimeExtracted, t.extracted) && t.extOut != nil:
		b = append(b, t.extOut...) // taps stamp many records alike
	default:
		at, _, err := m.ExtractedAt()
		if err != nil {
			return nil, err
		}
		t.extracted = append(t.extracted[:0], m.TimeExtracted...)
		t.extOut = append(append(append(t.extOut[:0], '"'), singer.AppendTimestamp(nil, at)...), '"')
		b = append(b, t.extOut...)
	}
	b = append(b, `,"_sdc_received_at":"`...)
	b = t.received.append(b, t.now())
	b = append(b, `","_sdc_sequence":`...)
	b = strconv.AppendInt(b, t.seq, 10)
	t.seq++
	b = append(b, `,"_sdc_table_version":`...)
	if m.HasVersion {
		b = strconv.AppendInt(b, m.Version, 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, '}')
	t.line = b
	return b, nil
}

// stampCache formats times as RFC 3339 in UTC with microseconds (fixed
// width, so the text sorts as the time), formatting the part up to the
// seconds once per second.
type stampCache struct {
	sec    int64
	prefix []byte // "2006-01-02T15:04:05."
}

func (c *stampCache) append(b []byte, t time.Time) []byte {
	t = t.UTC()
	if sec := t.Unix(); sec != c.sec || c.prefix == nil {
		c.sec = sec
		c.prefix = t.AppendFormat(c.prefix[:0], "2006-01-02T15:04:05.")
	}
	b = append(b, c.prefix...)
	us := t.Nanosecond() / 1000
	var d [6]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = byte('0' + us%10)
		us /= 10
	}
	b = append(b, d[:]...)
	return append(b, 'Z')
}

// dropKeys rebuilds a JSON object without the given top-level keys; the
// other members keep their exact bytes. It is the slow path, taken only
// when a record might already carry a metadata column.
func dropKeys(rec []byte, keys []string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(rec))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	out := []byte{'{'}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		drop := false
		for _, k := range keys {
			if key == k {
				drop = true
				break
			}
		}
		if drop {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = singer.AppendJSONString(out, key)
		out = append(out, ':')
		out = append(out, v...)
	}
	return append(out, '}'), nil
}

// batch appends the records of a BATCH message's files.
func (t *target) batch(m *singer.Message) error {
	s, err := t.recordStream(m)
	if err != nil {
		return err
	}
	if m.Encoding.Format != "jsonl" {
		return &singer.InputError{Line: m.Line, Msg: fmt.Sprintf(`BATCH for stream %q: unsupported format %q (only "jsonl")`, s.name, m.Encoding.Format)}
	}
	// The manifest points into the decoder's message, which t.record does
	// not touch; the loop may keep using it.
	for _, entry := range m.Manifest {
		if err := t.batchFile(s, m, entry); err != nil {
			return err
		}
	}
	return nil
}

func (t *target) batchFile(s *stream, m *singer.Message, entry string) error {
	bf, err := t.batchRoots.Open(entry, m.Encoding.Compression)
	if err != nil {
		return &singer.InputError{Line: m.Line, Msg: fmt.Sprintf("BATCH for stream %q: %v", s.name, err)}
	}
	defer bf.Close()
	for {
		rec, err := bf.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &singer.InputError{Line: m.Line, Msg: fmt.Sprintf("BATCH for stream %q: %v", s.name, err)}
		}
		if rec[0] != '{' || !json.Valid(rec) || !utf8.Valid(rec) {
			return recordError(s, m, bf, errors.New("not a JSON object in UTF-8"))
		}
		if err := t.record(s, m, rec, bf); err != nil {
			return err
		}
	}
}

// state hands a STATE value to the watermark and snapshots the size of
// every file with it: the bytes of the records before the state, committed
// or not. A file opened later is not in the snapshot: the state covers none
// of its records.
func (t *target) state(v []byte) {
	t.mark.State(v)
	snap := make([]int64, len(t.files))
	for i, f := range t.files {
		snap[i] = f.size
	}
	if t.mark.Pending() > len(t.snaps) {
		t.snaps = append(t.snaps, snap)
	} else {
		// No record since the previous pending state: the watermark let
		// this one supersede it, and its snapshot is the same sizes.
		t.snaps[len(t.snaps)-1] = snap
	}
}

// commit makes every written record durable, then echoes the latest state
// they cover.
func (t *target) commit() error {
	if err := t.commitStreams(t.dirty); err != nil {
		return err
	}
	for _, s := range t.dirty {
		s.isDirty = false
	}
	t.dirty = t.dirty[:0]
	t.pending = 0
	return t.release()
}

// commitStreams flushes and fsyncs the streams' files, then marks their
// records committed. The flushes all come before the first fsync, so the
// kernel writes the files out together.
func (t *target) commitStreams(ss []*stream) error {
	if len(ss) == 0 {
		return nil
	}
	tokens := make([]watermark.FlushToken, len(ss))
	for i, s := range ss {
		tokens[i] = s.mark.Flush()
		if err := s.file.flush(); err != nil {
			return fmt.Errorf("stream %q: %w", s.name, err)
		}
	}
	if t.cfg.Fsync {
		for _, s := range ss {
			if err := s.file.sync(); err != nil {
				return fmt.Errorf("stream %q: %w", s.name, err)
			}
		}
	}
	for i := range ss {
		t.mark.Committed(tokens[i])
	}
	return nil
}

// release echoes the latest state whose records are all committed and
// makes its snapshot the files' covered sizes. The watermark releases the
// oldest pending states together and returns the latest of them; the
// states it keeps pending are the newest, so the snapshots before them go.
func (t *target) release() error {
	v := t.mark.Release()
	if v == nil {
		return nil
	}
	n := len(t.snaps) - t.mark.Pending()
	snap := t.snaps[n-1]
	t.snaps = append(t.snaps[:0], t.snaps[n:]...)
	if err := t.out.WriteStateValue(v); err != nil {
		return fmt.Errorf("writing state to stdout: %w", err)
	}
	for i, size := range snap {
		t.files[i].covered = size
	}
	return nil
}

func (t *target) removeDirty(s *stream) {
	for i, d := range t.dirty {
		if d == s {
			t.dirty = append(t.dirty[:i], t.dirty[i+1:]...)
			break
		}
	}
	s.isDirty = false
}

// close closes every file. After a failure it first cuts each file back to
// the size the last echoed state covers, so no record after that state stays
// on disk, even one a batch_size_rows or SCHEMA commit made durable.
func (t *target) close(failed bool) error {
	var errs []error
	removed := false
	for _, f := range t.files {
		if failed {
			r, err := f.rollback(t.cfg.Fsync)
			if err != nil {
				errs = append(errs, err)
			}
			removed = removed || r
		}
		if err := f.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if removed && t.cfg.Fsync {
		if err := syncDir(t.cfg.DestinationPath); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

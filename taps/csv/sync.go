package csvtap

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
)

// Bookmark keys of a stream in the state.
const (
	bookmarkMtime = "file_mtime" // the file's modification time, RFC 3339 UTC
	bookmarkSize  = "file_size"  // the file's size in bytes
	bookmarkRow   = "row"        // data rows already emitted
	bookmarkDone  = "done"       // true once the whole file was emitted
)

// Sync writes SCHEMA, RECORD and STATE messages for the selected files, in
// config order. See the package documentation for the state it keeps.
func Sync(ctx context.Context, env *cli.Env, catalog *singer.Catalog, state *singer.State, out *singer.Encoder) error {
	selection, err := selectionOf(catalog)
	if err != nil {
		return err
	}
	return syncSelected(ctx, env, selection, state, out)
}

// syncSelected syncs the streams of selection (all when it is nil).
func syncSelected(ctx context.Context, env *cli.Env, selection map[string]*streamSelection, state *singer.State, out *singer.Encoder) error {
	cfg, err := parseConfig(env.Config)
	if err != nil {
		return err
	}
	var files []*FileConfig
	for i := range cfg.Files {
		fc := &cfg.Files[i]
		if selection == nil || selection[fc.Stream] != nil {
			files = append(files, fc)
		}
	}
	if selection != nil {
		for _, id := range sortedKeys(selection) {
			if !slicesContainsStream(cfg.Files, id) {
				env.Log.Warnf("the catalog selects stream %q, which is not in the config's files; ignored", id)
			}
		}
		if len(files) == 0 {
			env.Log.Warnf(`the catalog selects none of the configured streams (select one with "selected": true in the metadata of its empty breadcrumb)`)
		}
	}
	// Every file must be readable before anything is emitted, and the user
	// hears of every missing file at once.
	var problems []error
	for _, fc := range files {
		if _, err := statFile(fc.Path); err != nil {
			problems = append(problems, err)
		}
	}
	if err := errors.Join(problems...); err != nil {
		return err
	}

	counters := singer.NewCounters(env.Log, "record_count", time.Minute)
	defer counters.Close()
	s := &syncer{cfg: cfg, log: env.Log, state: state, out: out, counters: counters}
	for _, fc := range files {
		if err := ctx.Err(); err != nil {
			return s.interrupted(err)
		}
		var sel *streamSelection
		if selection != nil {
			sel = selection[fc.Stream]
		}
		if err := s.syncFile(ctx, fc, sel); err != nil {
			return err
		}
	}
	if s.state.CurrentlySyncing != "" {
		s.state.CurrentlySyncing = ""
		s.pending = true
	}
	// The state goes out at the end even when every file was skipped, so
	// the output always ends with the state to resume from.
	if s.pending || !s.wrote {
		return s.writeState()
	}
	return nil
}

func slicesContainsStream(files []FileConfig, stream string) bool {
	for i := range files {
		if files[i].Stream == stream {
			return true
		}
	}
	return false
}

// syncer holds what a sync run shares between files.
type syncer struct {
	cfg      *Config
	log      *singer.Log
	state    *singer.State
	out      *singer.Encoder
	counters *singer.Counters
	pending  bool // the state changed since it was last written
	wrote    bool // a state was written in this run
	line     []byte
}

func (s *syncer) writeState() error {
	raw, err := s.state.MarshalJSON()
	if err != nil {
		return err
	}
	if err := s.out.WriteState(raw); err != nil {
		return err
	}
	s.pending, s.wrote = false, true
	return nil
}

// interrupted writes the state covering what was emitted and returns err.
func (s *syncer) interrupted(err error) error {
	if s.pending {
		if werr := s.writeState(); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}

func (s *syncer) setBookmark(stream string, info fileInfo, rows int64, done bool) {
	bm := map[string]any{bookmarkMtime: info.mtime, bookmarkSize: info.size, bookmarkRow: rows}
	if done {
		bm[bookmarkDone] = true
	}
	s.state.Bookmarks[stream] = bm
	s.pending = true
}

// resumePoint reads the stream's bookmark: the rows to skip, or done when
// the file was emitted whole and has not changed since.
func (s *syncer) resumePoint(fc *FileConfig, info fileInfo) (skip int64, done bool) {
	bm := s.state.Bookmarks[fc.Stream]
	if bm == nil {
		return 0, false
	}
	size, okSize := singer.BookmarkInt(bm[bookmarkSize])
	mtime, okMtime := bm[bookmarkMtime].(string)
	if !okSize || !okMtime {
		s.log.Infof("stream %q: the state's bookmark has no file_size and file_mtime; reading %s from the start", fc.Stream, fc.Path)
		return 0, false
	}
	if size != info.size || mtime != info.mtime {
		s.log.Infof("stream %q: %s changed since the state was written (size %d -> %d, modified %s -> %s); reading it again from the start",
			fc.Stream, fc.Path, size, info.size, mtime, info.mtime)
		return 0, false
	}
	if d, _ := bm[bookmarkDone].(bool); d {
		s.log.Infof("stream %q: skipped: %s was emitted whole and has not changed since (state)", fc.Stream, fc.Path)
		return 0, true
	}
	row, ok := singer.BookmarkInt(bm[bookmarkRow])
	if !ok || row < 0 {
		s.log.Infof("stream %q: the state's bookmark has no valid row; reading %s from the start", fc.Stream, fc.Path)
		return 0, false
	}
	if row > 0 {
		s.log.Infof("stream %q: resuming %s after row %d (state)", fc.Stream, fc.Path, row)
	}
	return row, false
}

// syncFile emits one file: SCHEMA, then its rows from the resume point,
// with a STATE every state_every_rows records and at the end.
func (s *syncer) syncFile(ctx context.Context, fc *FileConfig, sel *streamSelection) error {
	info, err := statFile(fc.Path)
	if err != nil {
		return err
	}
	skip, done := s.resumePoint(fc, info)
	if done {
		return nil
	}
	cf, err := openCSV(fc)
	if err != nil {
		return err
	}
	defer cf.close()
	inf, sampled, err := sampleTypes(cf, s.cfg.SampleRows)
	if err != nil {
		return err
	}
	st, err := buildStream(fc, cf.columns, inf, sampled, sel)
	if err != nil {
		return err
	}
	if err := cf.rewind(); err != nil {
		return err
	}
	if err := s.out.WriteSchema(singer.SchemaMessage{Stream: fc.Stream, Schema: st.schema, KeyProperties: fc.KeyProperties}); err != nil {
		return err
	}
	s.state.CurrentlySyncing = fc.Stream
	s.setBookmark(fc.Stream, info, skip, false)

	// The envelope around each record is encoded once per file: records are
	// written whole with WriteRaw, and time_extracted is when the tap began
	// reading the file.
	prefix := singer.AppendJSONString([]byte(`{"type":"RECORD","stream":`), fc.Stream)
	prefix = append(prefix, `,"record":`...)
	suffix := singer.AppendTimestamp([]byte(`,"time_extracted":"`), time.Now().Truncate(time.Microsecond))
	suffix = append(suffix, `"}`...)

	counter := s.counters.For(fc.Stream)
	every := int64(s.cfg.StateEveryRows)
	cancelled := ctx.Done()
	var rows, sinceState int64
	for {
		select {
		case <-cancelled:
			if sinceState > 0 {
				s.setBookmark(fc.Stream, info, rows, false)
			}
			return s.interrupted(ctx.Err())
		default:
		}
		row, err := cf.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		rows++
		if rows <= skip {
			continue
		}
		// The periodic state goes out before the next record rather than
		// after the last one counted, so the end of a file never gets two
		// states in a row.
		if sinceState == every {
			s.setBookmark(fc.Stream, info, rows-1, false)
			if err := s.writeState(); err != nil {
				return err
			}
			sinceState = 0
		}
		line := append(s.line[:0], prefix...)
		line, err = st.appendRecord(line, row, cf)
		if err != nil {
			return err
		}
		line = append(line, suffix...)
		s.line = line
		if err := s.out.WriteRaw(line); err != nil {
			return err
		}
		counter.Add(1)
		sinceState++
	}
	s.state.CurrentlySyncing = ""
	s.setBookmark(fc.Stream, info, rows, true)
	return s.writeState()
}

package sqltarget

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/singerkit/singerkit/singer"
)

// WidenError is what Batch.Append returns for a value its column cannot
// hold as it is, but could after the column is widened by the dialect's own
// evolution rules (PrepareTable with Want for the column): an integer
// beyond BIGINT, a number beyond DECIMAL(65,30). The engine then loads the
// rows before the record as they are, evolves the column, and appends the
// record again, so the widening is decided before any batch holding the
// value is loaded and every value keeps its exact text. A dialect returns
// it only for columns of types it creates itself (a column made by hand is
// never changed to fit a value).
type WidenError struct {
	Column int         // index in Table.Columns; Append fills it in
	Want   LogicalType // what the column must take (fed to PrepareTable)
	Msg    string      // what does not fit, for the log line
}

func (e *WidenError) Error() string { return e.Msg }

// widen evolves the column of a WidenError: flush and wait for what came
// before, prepare the table with the wider type (the dialect ALTERs the
// column by its documented rules), and start a new batch.
func (e *Engine[B]) widen(s *stream[B], we *WidenError, line int64) error {
	e.flush(s)
	e.quiesce(s)
	if e.failed.Load() {
		return e.err()
	}
	old := s.table.Columns[we.Column]
	t := *s.table
	t.Columns = append([]*Column(nil), s.table.Columns...)
	c := *old
	c.Type = we.Want
	t.Columns[we.Column] = &c
	e.log.Warnf("line %d: stream %q: column %s: %s: widening the column to take it (every value kept exactly)", line, s.name, c.Name, we.Msg)
	p := e.prepare(s, &t)
	if p.err == nil && s.repl != nil {
		// Overwrite: the run's records go to the replacement, which
		// widens the same way.
		r := t
		r.Name = s.repl.Name
		if p = e.prepare(s, &r); p.err == nil {
			s.repl = &r
		}
	}
	if p.err != nil {
		return fmt.Errorf("widening column %s: %w", c.Name, p.err)
	}
	s.table = &t
	s.batch = p.batch
	for i := 0; i < s.spares; i++ {
		<-s.free
	}
	for i := 0; i < s.spares; i++ {
		s.free <- p.batch.Fresh()
	}
	return nil
}

// appendWidening appends vals to the stream's batch, widening columns
// (WidenError) as often as the record needs: at most once per column.
// *before is the size of the batch before the record (a widening starts a
// new batch).
func (e *Engine[B]) appendWidening(s *stream[B], vals []singer.Value, line int64, before *int) error {
	for tries := 0; ; tries++ {
		err := s.batch.Append(vals)
		if err == nil {
			return nil // before errors.As, whose target escapes: no allocation per record
		}
		var we *WidenError
		if !errors.As(err, &we) || tries >= len(vals) {
			return err
		}
		if err := e.widen(s, we, line); err != nil {
			return err
		}
		s.started = e.now()
		*before = s.batch.Bytes()
	}
}

// IntegerDigits reports whether v is a number with an integral value
// (7, 7.0, 1e30) and how many digits its integer part has; a dialect uses
// it to widen an integer column for a value beyond its range.
func IntegerDigits(v *singer.Value) (digits int, ok bool) {
	if v.Kind != singer.Number {
		return 0, false
	}
	b := v.Bytes
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	mant, exp := b, 0
	if i := bytes.IndexAny(b, "eE"); i >= 0 {
		e, err := strconv.Atoi(string(b[i+1:]))
		if err != nil || e > 100000 || e < -100000 {
			return 0, false
		}
		mant, exp = b[:i], e
	}
	ip, fp, _ := bytes.Cut(mant, []byte("."))
	fp = bytes.TrimRight(fp, "0")
	ip = bytes.TrimLeft(ip, "0")
	if len(fp) > exp {
		return 0, false
	}
	if len(ip) == 0 && len(fp) == 0 {
		return 1, true // zero
	}
	return len(ip) + exp, true
}

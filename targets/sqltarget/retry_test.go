package sqltarget

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/singerkit/singerkit/singer"
)

// scripted is a dialect whose loads fail as a test says: each Load takes
// the next error of the script (nil: success) and counts the rows it
// committed.
type scripted struct {
	mu     sync.Mutex
	script []error
	opens  int
	loads  int
	rows   int
}

func (d *scripted) FoldIdentifier(name string) string { return name }
func (d *scripted) IdentifierKey(name string) string  { return name }
func (d *scripted) MaxIdentifier() int                { return 63 }
func (d *scripted) Open(context.Context) (Session[*countBatch], error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.opens++
	return &scriptedSession{d: d}, nil
}

type scriptedSession struct{ d *scripted }

func (s *scriptedSession) PrepareTable(_ context.Context, t *Table) (*countBatch, error) {
	return &countBatch{t: t}, nil
}

func (s *scriptedSession) Load(_ context.Context, b *countBatch, _ LoadMode) error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.loads++
	var err error
	if len(s.d.script) > 0 {
		err, s.d.script = s.d.script[0], s.d.script[1:]
	}
	var te *TransientError
	if err == nil || (errors.As(err, &te) && te.InDoubt && te.Committed != nil) {
		s.d.rows += b.Rows() // committed (the in-doubt case: committed, reply lost)
	}
	return err
}

func (s *scriptedSession) ActivateVersion(context.Context, *Table, int64, bool) error { return nil }
func (s *scriptedSession) BeginReplace(context.Context, *Table, *Table) error         { return nil }
func (s *scriptedSession) EndReplace(context.Context, *Table, *Table, bool) error     { return nil }
func (s *scriptedSession) Close() error                                               { return nil }

type countBatch struct {
	t    *Table
	rows int
}

func (b *countBatch) Append([]singer.Value) error { b.rows++; return nil }
func (b *countBatch) Rows() int                   { return b.rows }
func (b *countBatch) Bytes() int                  { return b.rows }
func (b *countBatch) Reset()                      { b.rows = 0 }
func (b *countBatch) Fresh() *countBatch          { return &countBatch{t: b.t} }
func (b *countBatch) Table() *Table               { return b.t }

func TestRetries(t *testing.T) {
	lost := errors.New("connection reset by peer")
	committed := func(context.Context) (bool, error) { return true, nil }
	cases := []struct {
		name      string
		keys      string
		script    []error
		wantErr   string // "" for success
		wantLoads int
		wantRows  int
	}{
		{"transient errors are retried on a new session", `"id"`, []error{&TransientError{Err: lost}, &TransientError{Err: lost}}, "", 3, 2},
		{"other errors are not", `"id"`, []error{errors.New("value too long")}, `loading 2 records of stream "s" into s: value too long`, 1, 0},
		{"retries run out", `"id"`, []error{&TransientError{Err: lost}, &TransientError{Err: lost}, &TransientError{Err: errors.New("refused")}},
			`loading 2 records of stream "s" into s: refused (gave up after 3 attempts, max_retries 2); the first attempt failed with: connection reset by peer`, 3, 0},
		{"an upsert whose COMMIT is in doubt is redone", `"id"`, []error{&TransientError{Err: lost, InDoubt: true}}, "", 2, 2},
		{"an append whose COMMIT is in doubt is not", ``, []error{&TransientError{Err: lost, InDoubt: true}},
			`loading 2 records of stream "s" into s: connection reset by peer (the connection was lost after COMMIT was sent: the batch may have committed, and loading it again could duplicate its rows, so it is not retried)`, 1, 0},
		{"an append whose COMMIT did commit is not loaded again", ``, []error{&TransientError{Err: lost, InDoubt: true, Committed: committed}}, "", 1, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &scripted{script: c.script}
			retries, backoff := 2, 0.0
			e := New(d, Config{MaxRetries: &retries, RetryBackoffSeconds: &backoff, MaxParallelFlushes: 1}, singer.NewLog(&bytes.Buffer{}))
			var out bytes.Buffer
			in := `{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":[` + c.keys + `]}
{"type":"RECORD","stream":"s","record":{"id":1}}
{"type":"RECORD","stream":"s","record":{"id":2}}
{"type":"STATE","value":{"pos":2}}
`
			enc := singer.NewEncoder(&out)
			err := e.Run(context.Background(), strings.NewReader(in), enc)
			enc.Flush()
			if want := map[bool]string{true: "{\"pos\":2}\n", false: ""}[c.wantErr == ""]; out.String() != want {
				t.Errorf("stdout %q, want %q", out.String(), want)
			}
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.wantErr != "" && (err == nil || err.Error() != c.wantErr):
				t.Fatalf("error %v, want %s", err, c.wantErr)
			}
			if d.loads != c.wantLoads || d.rows != c.wantRows {
				t.Errorf("%d loads, %d rows committed; want %d, %d", d.loads, d.rows, c.wantLoads, c.wantRows)
			}
			// Every attempt after a failure runs on a new session (the
			// in-doubt check too).
			if c.wantErr == "" && d.opens != len(c.script)+1 {
				t.Errorf("%d sessions opened after %d failures: a retry must use a new session", d.opens, len(c.script))
			}
		})
	}
}

package singerlog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/singer"
)

// memLog is an in-memory log: a Writer and a Source. Acks resolve when the
// test releases them (release), so a test sees what the engine does while
// messages are unacknowledged.
type memLog struct {
	mu      sync.Mutex
	grew    *sync.Cond // signalled by Publish
	msgs    []singerlog.Message
	first   uint64 // position of msgs[0]
	schemas map[string][]schemaAt
	acks    []*memAck
	failAt  uint64 // position whose ack fails (0: none)
	// maxUnacked, when set, is the most bytes of bodies a Publish may find
	// unacknowledged (with its own); overWindow notes the first breach.
	maxUnacked int
	overWindow string
}

type schemaAt struct {
	pos  uint64
	line []byte
}

type memAck struct {
	pos  uint64
	err  error
	done chan struct{}
}

func newMemLog() *memLog {
	l := &memLog{first: 1, schemas: map[string][]schemaAt{}}
	l.grew = sync.NewCond(&l.mu)
	return l
}

func (l *memLog) Publish(_ context.Context, m *singerlog.Message) (singerlog.Ack, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := *m
	c.Position = l.first + uint64(len(l.msgs))
	if l.maxUnacked > 0 && l.overWindow == "" {
		unacked := 0
		for i, a := range l.acks {
			select {
			case <-a.done:
			default:
				unacked += len(l.msgs[i].Body)
			}
		}
		if unacked > 0 && unacked+len(m.Body) > l.maxUnacked {
			l.overWindow = fmt.Sprintf("message %d (%d bytes) published with %d bytes unacknowledged", c.Position, len(m.Body), unacked)
		}
	}
	l.msgs = append(l.msgs, c)
	a := &memAck{pos: c.Position, done: make(chan struct{})}
	if c.Position == l.failAt {
		a.err = errors.New("the log refused it")
	}
	l.acks = append(l.acks, a)
	l.grew.Broadcast()
	return a, nil
}

// waitPublished waits until n messages are published.
func (l *memLog) waitPublished(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.msgs) < n {
		l.grew.Wait()
	}
}

// release acknowledges the next n messages, waiting for them to be
// published.
func (l *memLog) release(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for n > 0 {
		for _, a := range l.acks {
			if n == 0 {
				return
			}
			select {
			case <-a.done:
			default:
				close(a.done)
				n--
			}
		}
		if n > 0 {
			l.grew.Wait()
		}
	}
}

func (a *memAck) Wait(ctx context.Context) (uint64, error) {
	select {
	case <-a.done:
		return a.pos, a.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (l *memLog) KeepSchema(_ context.Context, stream string, pos uint64, line []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.schemas[stream] = append(l.schemas[stream], schemaAt{pos, append([]byte(nil), line...)})
	return nil
}

func (l *memLog) Bounds(context.Context) (uint64, uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first, l.first + uint64(len(l.msgs)) - 1, nil
}

func (l *memLog) Seek(_ context.Context, t time.Time) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if !m.WrittenAt.Before(t) {
			return m.Position, nil
		}
	}
	return l.first + uint64(len(l.msgs)), nil
}

func (l *memLog) Read(_ context.Context, from uint64) (singerlog.Cursor, error) {
	return &memCursor{l: l, next: from}, nil
}

func (l *memLog) Schema(_ context.Context, stream string, before uint64) ([]byte, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	es := l.schemas[stream]
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].pos < before {
			return es[i].line, true, nil
		}
	}
	return nil, false, nil
}

// dropBefore deletes the messages before pos (retention).
func (l *memLog) dropBefore(pos uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = l.msgs[pos-l.first:]
	l.first = pos
}

type memCursor struct {
	l    *memLog
	next uint64
}

func (c *memCursor) Next(ctx context.Context) (*singerlog.Message, error) {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	if c.next < c.l.first {
		c.next = c.l.first // a broker's consumer moves on silently: the engine must notice
	}
	i := c.next - c.l.first
	if i >= uint64(len(c.l.msgs)) {
		return nil, errors.New("memLog: no message (follow is not simulated)")
	}
	m := c.l.msgs[i]
	c.next++
	return &m, nil
}

func (c *memCursor) Close() error { return nil }

const (
	sch1 = `{"type":"SCHEMA","stream":"s","schema":{"type":"object"},"key_properties":[]}`
	sch2 = `{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"a":{"type":"integer"}}},"key_properties":[]}`
	rec1 = `{"type":"RECORD","stream":"s","record":{"a":1.50}}`
	rec2 = `{"type":"RECORD","stream":"s","record":{"a":2}}`
	st1  = `{"type":"STATE","value":{"n":1}}`
	st2  = `{"type":"STATE","value":{"n":2}}`
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// writeAsync runs Write in the background.
func writeAsync(l *memLog, input string) (out *syncBuffer, done chan error) {
	return writeAsyncOpts(l, input, singerlog.WriteOptions{Producer: "p", MaxInFlight: 100})
}

func writeAsyncOpts(l *memLog, input string, opts singerlog.WriteOptions) (out *syncBuffer, done chan error) {
	out = &syncBuffer{}
	done = make(chan error, 1)
	go func() {
		enc := singer.NewEncoder(out)
		err := singerlog.Write(context.Background(), l, opts, singer.NewLog(&bytes.Buffer{}), strings.NewReader(input), enc)
		enc.Flush()
		done <- err
	}()
	return out, done
}

// TestStateWaitsForAcks: a STATE is echoed only once it and every message
// before it are acknowledged, in order.
func TestStateWaitsForAcks(t *testing.T) {
	l := newMemLog()
	out, done := writeAsync(l, strings.Join([]string{sch1, rec1, st1, rec2, st2}, "\n")+"\n")
	l.release(2) // SCHEMA and RECORD, not the STATE: nothing echoed
	if got := out.String(); got != "" {
		t.Errorf("echoed %q before the STATE was acknowledged", got)
	}
	l.release(1) // the first STATE
	l.release(2) // the rest
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "{\"n\":1}\n{\"n\":2}\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	var bodies []string
	for _, m := range l.msgs {
		bodies = append(bodies, string(m.Body))
	}
	if got, want := strings.Join(bodies, "\n"), strings.Join([]string{sch1, rec1, st1, rec2, st2}, "\n"); got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
	if m := l.msgs[1]; m.Type != singer.TypeRecord || m.Stream != "s" || m.Producer != "p" || m.ID == "" || m.WrittenAt.IsZero() {
		t.Errorf("envelope %+v", m)
	}
}

// TestFailedAckEchoesNothingAfter: the state before a failed message is
// echoed, none after, and the run fails.
func TestFailedAckEchoesNothingAfter(t *testing.T) {
	l := newMemLog()
	l.failAt = 4
	out, done := writeAsync(l, strings.Join([]string{sch1, rec1, st1, rec2, st2}, "\n")+"\n")
	l.release(5)
	err := <-done
	if err == nil || err.Error() != "the log did not acknowledge a RECORD message: the log refused it" {
		t.Errorf("error %v", err)
	}
	if got, want := out.String(), "{\"n\":1}\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}

// TestReadSchemaInForce: a reader that starts after a SCHEMA gets the one
// in force at its position, not a later one; a deleted position and a
// position skipped by the consumer are errors.
func TestReadSchemaInForce(t *testing.T) {
	l := newMemLog()
	_, done := writeAsync(l, strings.Join([]string{sch1, rec1, st1, sch2, rec2, st2}, "\n")+"\n")
	l.release(6)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	read := func(state string) (string, error) {
		var out bytes.Buffer
		st := singer.NewState()
		if state != "" {
			var err error
			if st, err = singer.ParseState([]byte(state)); err != nil {
				t.Fatal(err)
			}
		}
		enc := singer.NewEncoder(&out)
		err := singerlog.Read(context.Background(), l, singerlog.ReadOptions{Topic: "t"}, singer.NewLog(&bytes.Buffer{}), st, enc)
		enc.Flush()
		return out.String(), err
	}
	// From position 2 (rec1): sch1 comes from the store, then the log.
	got, err := read(`{"log":{"topic":"t","next":2}}`)
	want := strings.Join([]string{sch1, rec1, `{"type":"STATE","value":{"log":{"topic":"t","next":4},"upstream":{"n":1}}}`, sch2, rec2,
		`{"type":"STATE","value":{"log":{"topic":"t","next":7},"upstream":{"n":2}}}`}, "\n") + "\n"
	if err != nil || got != want {
		t.Errorf("from 2: %v\n%s\nwant:\n%s", err, got, want)
	}
	// From position 5 (rec2): sch2, the latest before 5.
	got, err = read(`{"log":{"topic":"t","next":5},"upstream":{"n":1}}`)
	want = strings.Join([]string{sch2, rec2, `{"type":"STATE","value":{"log":{"topic":"t","next":7},"upstream":{"n":2}}}`}, "\n") + "\n"
	if err != nil || got != want {
		t.Errorf("from 5: %v\n%s\nwant:\n%s", err, got, want)
	}
	// Retention took 1 to 3.
	l.dropBefore(4)
	if _, err := read(`{"log":{"topic":"t","next":2}}`); err == nil || !strings.Contains(err.Error(), "the state's position 2 is no longer in the log (its retention deleted messages 2 to 3; the oldest kept is 4)") {
		t.Errorf("deleted position: %v", err)
	}
}

// TestBatchedRecords: consecutive RECORDs of one stream share a log message
// (up to the line and byte limits); the reader writes them back one a line.
func TestBatchedRecords(t *testing.T) {
	l := newMemLog()
	rec3 := `{"type":"RECORD","stream":"s","record":{"a":3}}`
	other := `{"type":"SCHEMA","stream":"o","schema":{},"key_properties":[]}`
	recO := `{"type":"RECORD","stream":"o","record":{}}`
	input := []string{sch1, rec1, rec2, rec3, other, recO, rec1, st1}
	_, done := writeAsyncOpts(l, strings.Join(input, "\n")+"\n", singerlog.WriteOptions{MaxInFlight: 100, BatchRecords: 2, BatchBytes: 1 << 20})
	l.release(7)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range l.msgs {
		bodies = append(bodies, m.Type.String()+" "+m.Stream+" "+string(m.Body))
	}
	want := []string{"SCHEMA s " + sch1, "RECORD s " + rec1 + "\n" + rec2, "RECORD s " + rec3, "SCHEMA o " + other, "RECORD o " + recO, "RECORD s " + rec1, "STATE  " + st1}
	if strings.Join(bodies, "|") != strings.Join(want, "|") {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(bodies, "\n"), strings.Join(want, "\n"))
	}
	var out bytes.Buffer
	enc := singer.NewEncoder(&out)
	if err := singerlog.Read(context.Background(), l, singerlog.ReadOptions{Topic: "t"}, singer.NewLog(&bytes.Buffer{}), singer.NewState(), enc); err != nil {
		t.Fatal(err)
	}
	enc.Flush()
	wantOut := strings.Join(append(input[:7:7], `{"type":"STATE","value":{"log":{"topic":"t","next":8},"upstream":{"n":1}}}`), "\n") + "\n"
	if out.String() != wantOut {
		t.Errorf("read back:\n%s\nwant:\n%s", out.String(), wantOut)
	}
}

// TestInFlightBytes: the bodies published and not yet acknowledged stay
// within MaxInFlightBytes (a message is published only once the acks
// before it made room), and everything lands.
func TestInFlightBytes(t *testing.T) {
	l := newMemLog()
	var input []string
	input = append(input, sch1)
	for i := range 10 {
		input = append(input, fmt.Sprintf(`{"type":"RECORD","stream":"s","record":{"a":%d}}`, 10+i))
	}
	input = append(input, st1)
	// Room for the SCHEMA and two records (48 bytes each): the writer
	// publishes three messages, then one more for each acknowledgement.
	window := len(sch1) + 2*len(input[1])
	l.maxUnacked = window
	out, done := writeAsyncOpts(l, strings.Join(input, "\n")+"\n", singerlog.WriteOptions{MaxInFlight: 100, MaxInFlightBytes: window, BatchRecords: 1})
	for i := range len(input) {
		l.waitPublished(min(len(input), i+3))
		l.release(1)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if l.overWindow != "" {
		t.Errorf("window of %d bytes exceeded: %s", window, l.overWindow)
	}
	if len(l.msgs) != len(input) || string(l.msgs[10].Body) != input[10] {
		t.Errorf("%d messages in the log, want %d", len(l.msgs), len(input))
	}
	if got := out.String(); got != "{\"n\":1}\n" {
		t.Errorf("stdout %q", got)
	}
}

// limitedLog is a memLog whose log takes messages up to max bytes.
type limitedLog struct {
	*memLog
	max int
}

func (l limitedLog) MaxMessageBytes() int { return l.max }

// TestMessageLimit: batches stay under the log's message size (less room
// for the headers) whatever batch_bytes says, and a line longer than the
// log takes stops the run naming it, its state not echoed.
func TestMessageLimit(t *testing.T) {
	rec := func(n int) string {
		return `{"type":"RECORD","stream":"s","record":{"t":"` + strings.Repeat("x", n-48) + `"}}`
	}
	if len(rec(1000)) != 1000 {
		t.Fatalf("rec(1000) is %d bytes", len(rec(1000)))
	}
	// 10,240 bytes a message: bodies up to max(10240-8192, 10240/2) =
	// 5,120 bytes, five lines of 1,000.
	l := newMemLog()
	input := []string{sch1}
	for range 12 {
		input = append(input, rec(1000))
	}
	input = append(input, st1)
	var logged bytes.Buffer
	out := &syncBuffer{}
	enc := singer.NewEncoder(out)
	go l.release(5)
	err := singerlog.Write(context.Background(), limitedLog{l, 10240}, singerlog.WriteOptions{MaxInFlight: 100, BatchRecords: 100, BatchBytes: 1 << 20}, singer.NewLog(&logged), strings.NewReader(strings.Join(input, "\n")+"\n"), enc)
	enc.Flush()
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, m := range l.msgs {
		if m.Type == singer.TypeRecord {
			lines = append(lines, bytes.Count(m.Body, []byte("\n"))+1)
		}
	}
	if fmt.Sprint(lines) != "[5 5 2]" || out.String() != "{\"n\":1}\n" {
		t.Errorf("records per message %v, stdout %q", lines, out.String())
	}
	if !strings.Contains(logged.String(), "batch_bytes lowered from 1048576 to 5120: the log takes messages up to 10240 bytes with their headers") {
		t.Errorf("log: %s", logged.String())
	}

	// A line longer than a message body may be.
	l = newMemLog()
	input = []string{sch1, rec(1000), st1, rec(5121), rec(1000), st2}
	go l.release(3)
	out = &syncBuffer{}
	enc = singer.NewEncoder(out)
	err = singerlog.Write(context.Background(), limitedLog{l, 10240}, singerlog.WriteOptions{MaxInFlight: 100, BatchRecords: 100, BatchBytes: 1 << 20}, singer.NewLog(&bytes.Buffer{}), strings.NewReader(strings.Join(input, "\n")+"\n"), enc)
	enc.Flush()
	if err == nil || err.Error() != "line 4: the RECORD line is 5121 bytes, more than the log takes in one message (10240 bytes with its headers): raise the server's limit (NATS max_payload)" {
		t.Errorf("error %v", err)
	}
	if len(l.msgs) != 3 || out.String() != "{\"n\":1}\n" {
		t.Errorf("%d messages, stdout %q", len(l.msgs), out.String())
	}
}

// TestCompressedBatches: with a compression, each batch of records is one
// message whose body is the batch's lines compressed (an S2 block, a
// Zstandard frame) and whose Encoding names it; SCHEMA and STATE stay as
// they are. A topic written without compression and then with both reads
// back as the lines were written.
func TestCompressedBatches(t *testing.T) {
	l := newMemLog()
	var recs []string
	for i := range 40 {
		recs = append(recs, fmt.Sprintf(`{"type":"RECORD","stream":"s","record":{"id":%d,"name":"customer number %d","city":"Lisbon","note":"%s"}}`, i, i, strings.Repeat("ab", 100)))
	}
	var all []string
	for run, comp := range []string{singerlog.CompressionNone, singerlog.CompressionS2, singerlog.CompressionZstd} {
		input := append(append([]string{sch1}, recs[run*10:run*10+10]...), fmt.Sprintf(`{"type":"STATE","value":{"run":%d}}`, run))
		all = append(all, input...)
		before := len(l.msgs)
		_, done := writeAsyncOpts(l, strings.Join(input, "\n")+"\n", singerlog.WriteOptions{MaxInFlight: 100, BatchRecords: 5, BatchBytes: 1 << 20, Compression: comp})
		l.release(4) // SCHEMA, two batches of 5 records, STATE
		if err := <-done; err != nil {
			t.Fatalf("%s: %v", comp, err)
		}
		msgs := l.msgs[before:]
		if len(msgs) != 4 {
			t.Fatalf("%s: %d messages, want 4", comp, len(msgs))
		}
		wantEnc := comp
		if comp == singerlog.CompressionNone {
			wantEnc = ""
		}
		for i, m := range msgs {
			if m.Type != singer.TypeRecord {
				if m.Encoding != "" || (i == 0 && string(m.Body) != sch1) {
					t.Errorf("%s: the %s message has encoding %q, body %s: want it as written", comp, m.Type, m.Encoding, m.Body)
				}
				continue
			}
			lines := []byte(strings.Join(input[1+5*(i-1):1+5*i], "\n"))
			if m.Encoding != wantEnc {
				t.Fatalf("%s: batch %d has encoding %q, want %q", comp, i, m.Encoding, wantEnc)
			}
			var got []byte
			var err error
			switch m.Encoding {
			case "":
				got = m.Body
			case singerlog.EncodingS2:
				got, err = s2.Decode(nil, m.Body)
			case singerlog.EncodingZstd:
				dec, _ := zstd.NewReader(nil)
				got, err = dec.DecodeAll(m.Body, nil)
				dec.Close()
			}
			if err != nil || !bytes.Equal(got, lines) {
				t.Errorf("%s: batch %d decodes to %q (%v), want %q", comp, i, got, err, lines)
			}
			if m.Encoding != "" && len(m.Body) >= len(lines) {
				t.Errorf("%s: batch %d is %d bytes compressed, %d as lines", comp, i, len(m.Body), len(lines))
			}
		}
	}
	var out bytes.Buffer
	enc := singer.NewEncoder(&out)
	if err := singerlog.Read(context.Background(), l, singerlog.ReadOptions{Topic: "t"}, singer.NewLog(&bytes.Buffer{}), singer.NewState(), enc); err != nil {
		t.Fatal(err)
	}
	enc.Flush()
	var want []string
	for i, line := range all {
		if strings.Contains(line, `"STATE"`) {
			line = fmt.Sprintf(`{"type":"STATE","value":{"log":{"topic":"t","next":%d},"upstream":{"run":%d}}}`, 4*(i/12+1)+1, i/12)
		}
		want = append(want, line)
	}
	if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("read back:\n%s\nwant:\n%s", out.String(), strings.Join(want, "\n"))
	}
}

// TestUnreadableBody: a body in an encoding the reader does not know, or
// not valid in the one it names, stops the reader with the message's
// position, after the state of what it wrote.
func TestUnreadableBody(t *testing.T) {
	for _, c := range []struct {
		encoding, body, want string
	}{
		{"lz9", "x", `topic "t": position 3: the body's Singer-Encoding is "lz9", which this reader does not know (it reads "s2" and "zstd"): was it written by a newer target? upgrade this tap`},
		{"s2", "\xff\xff\xff\xff\x0f", `topic "t": position 3: the body would decode to 4294967295 bytes, more than a writer's message holds (134217728): a corrupt message`},
		{"s2", "\x05\x00junk", `topic "t": position 3: the body is not S2 data: s2: corrupt input`},
		{"zstd", "junk!", `topic "t": position 3: the body is not Zstandard data: invalid input: magic number mismatch`},
	} {
		l := newMemLog()
		l.msgs = []singerlog.Message{
			{Position: 1, Type: singer.TypeSchema, Stream: "s", Body: []byte(sch1)},
			{Position: 2, Type: singer.TypeRecord, Stream: "s", Body: []byte(rec1)},
			{Position: 3, Type: singer.TypeRecord, Stream: "s", Body: []byte(c.body), Encoding: c.encoding},
		}
		var out bytes.Buffer
		enc := singer.NewEncoder(&out)
		err := singerlog.Read(context.Background(), l, singerlog.ReadOptions{Topic: "t"}, singer.NewLog(&bytes.Buffer{}), singer.NewState(), enc)
		enc.Flush()
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: err = %v, want %s", c.encoding, err, c.want)
		}
		if want := sch1 + "\n" + rec1 + "\n" + `{"type":"STATE","value":{"log":{"topic":"t","next":3}}}` + "\n"; out.String() != want {
			t.Errorf("%s: wrote\n%s\nwant\n%s", c.encoding, out.String(), want)
		}
	}
}

// TestCompressedSingleRecords: with one record a message (BatchRecords 1)
// a record of 1 KB or more is compressed as a batch of one; a short one
// goes as it is.
func TestCompressedSingleRecords(t *testing.T) {
	l := newMemLog()
	long := fmt.Sprintf(`{"type":"RECORD","stream":"s","record":{"note":"%s"}}`, strings.Repeat("abc", 500))
	input := []string{sch1, long, rec1, st1}
	_, done := writeAsyncOpts(l, strings.Join(input, "\n")+"\n", singerlog.WriteOptions{MaxInFlight: 100, BatchRecords: 1, Compression: singerlog.CompressionS2})
	l.release(4)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range l.msgs {
		got = append(got, fmt.Sprintf("%s %q %d", m.Type, m.Encoding, len(m.Body)))
	}
	if want := fmt.Sprintf(`[SCHEMA "" %d RECORD "s2" %d RECORD "" %d STATE "" %d]`, len(sch1), len(l.msgs[1].Body), len(rec1), len(st1)); fmt.Sprint(got) != want || len(l.msgs[1].Body) >= len(long)/4 {
		t.Errorf("messages %v, want %s (the long record under a quarter of its %d bytes)", got, want, len(long))
	}
	if b, err := s2.Decode(nil, l.msgs[1].Body); err != nil || string(b) != long {
		t.Errorf("the long record decodes to %d bytes (%v)", len(b), err)
	}
}

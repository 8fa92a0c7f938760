// Package watermark tells a target when it may echo a STATE message: only
// once every record that came before the STATE, in every stream, is
// committed to the destination.
//
//	w := watermark.New()
//	users := w.Stream("users")
//	users.Record()            // a RECORD of users was read
//	w.State(value)            // a STATE was read
//	tok := users.Flush()      // the records so far go to a load
//	w.Committed(tok)          // ... and were committed
//	if v := w.Release(); v != nil {
//		// write v: every record before it is in the destination
//	}
package watermark

import "sync"

// Watermark decides when a target may echo a STATE: only once every record
// that came before it, in every stream, is committed. Records get a global
// sequence number as they arrive; a STATE remembers the sequence number at
// its arrival; a stream's records go to flushes in order; a state is
// released when the lowest uncommitted sequence number of all streams is
// past it. When several states become releasable at once, the latest is
// released (it supersedes the others).
//
// The methods are safe for concurrent use: loaders call Committed from their
// own goroutines.
type Watermark struct {
	mu      sync.Mutex
	seq     uint64 // sequence number of the last record received
	streams map[string]*StreamMark
	pending []pendingState
}

type pendingState struct {
	seq   uint64
	value []byte
}

// StreamMark tracks one stream's records. Get it once per stream with
// Watermark.Stream: counting a record then costs no map lookup.
type StreamMark struct {
	w         *Watermark
	openFirst uint64   // first record not yet handed to a flush; 0 when none
	inflight  []uint64 // first sequence number of each flush not yet committed
}

// FlushToken stands for a flush of one stream's records; commit it with
// Watermark.Committed once the data is durable.
type FlushToken struct {
	mark  *StreamMark
	first uint64 // 0 for an empty flush
}

// New returns an empty Watermark.
func New() *Watermark {
	return &Watermark{streams: make(map[string]*StreamMark)}
}

// Stream returns the mark of a stream, creating it.
func (w *Watermark) Stream(name string) *StreamMark {
	w.mu.Lock()
	defer w.mu.Unlock()
	m, ok := w.streams[name]
	if !ok {
		m = &StreamMark{w: w}
		w.streams[name] = m
	}
	return m
}

// Record counts one record of the stream.
func (m *StreamMark) Record() {
	w := m.w
	w.mu.Lock()
	w.seq++
	if m.openFirst == 0 {
		m.openFirst = w.seq
	}
	w.mu.Unlock()
}

// Flush hands every record of the stream received so far to a flush.
func (m *StreamMark) Flush() FlushToken {
	w := m.w
	w.mu.Lock()
	defer w.mu.Unlock()
	t := FlushToken{mark: m, first: m.openFirst}
	if m.openFirst != 0 {
		m.inflight = append(m.inflight, m.openFirst)
		m.openFirst = 0
	}
	return t
}

// Discard forgets the stream's records not yet handed to a flush (records
// dropped on purpose, never loaded).
func (m *StreamMark) Discard() {
	m.w.mu.Lock()
	m.openFirst = 0
	m.w.mu.Unlock()
}

// State records a STATE value arriving after every record counted so far.
// The value is copied.
func (w *Watermark) State(value []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v := append([]byte(nil), value...)
	if n := len(w.pending); n > 0 && w.pending[n-1].seq == w.seq {
		w.pending[n-1].value = v // no record in between: the newer state supersedes
		return
	}
	w.pending = append(w.pending, pendingState{seq: w.seq, value: v})
}

// Committed marks a flush durable. Flushes of one stream must be committed
// in the order they were made.
func (w *Watermark) Committed(t FlushToken) {
	if t.first == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	m := t.mark
	for i, f := range m.inflight {
		if f == t.first {
			m.inflight = append(m.inflight[:i], m.inflight[i+1:]...)
			break
		}
	}
}

// lowWater returns the lowest sequence number not yet committed, or seq+1.
func (w *Watermark) lowWater() uint64 {
	low := w.seq + 1
	for _, m := range w.streams {
		if m.openFirst != 0 && m.openFirst < low {
			low = m.openFirst
		}
		if len(m.inflight) > 0 && m.inflight[0] < low {
			low = m.inflight[0]
		}
	}
	return low
}

// Release returns the latest state whose preceding records are all
// committed, or nil when no new state can be released. A released state is
// returned once.
func (w *Watermark) Release() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 {
		return nil
	}
	low := w.lowWater()
	n := 0
	for n < len(w.pending) && w.pending[n].seq < low {
		n++
	}
	if n == 0 {
		return nil
	}
	v := w.pending[n-1].value
	w.pending = append(w.pending[:0], w.pending[n:]...)
	return v
}

// Pending tells how many states wait for commits.
func (w *Watermark) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

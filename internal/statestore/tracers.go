package statestore

import (
	"context"
	"time"
)

// Tracer is one canary tracer (singer canary): a row or message injected
// at a pipeline's source, and the destinations it must reach.
type Tracer struct {
	ID       string    `json:"id"`
	Pipeline string    `json:"pipeline"`
	SentAt   time.Time `json:"sent_at"`
	// Destinations name where the tracer must arrive.
	Destinations []string `json:"destinations"`
	// Arrivals are the destinations it was found in, by name.
	Arrivals map[string]Arrival `json:"arrivals,omitempty"`
}

// Arrival is when a tracer was found in one destination.
type Arrival struct {
	At time.Time `json:"at"`
}

// Latency is how long the tracer took to reach dest, and whether it did.
func (t *Tracer) Latency(dest string) (time.Duration, bool) {
	a, ok := t.Arrivals[dest]
	if !ok {
		return 0, false
	}
	return a.At.Sub(t.SentAt), true
}

// TracerStore keeps the tracers of singer canary: both stores implement
// it. The kept tracers of a pipeline are its latency history.
type TracerStore interface {
	// AddTracer records a tracer just sent, and forgets the oldest
	// tracers of its pipeline beyond keep (keep < 1 keeps them all).
	AddTracer(ctx context.Context, t Tracer, keep int) error
	// Tracers returns the kept tracers of a pipeline, oldest first.
	Tracers(ctx context.Context, pipeline string) ([]Tracer, error)
	// AddArrivals records arrivals of a kept tracer; an arrival already
	// recorded for a destination is kept (the first one counts), and a
	// tracer no longer kept is left alone.
	AddArrivals(ctx context.Context, pipeline, id string, arrivals map[string]Arrival) error
}

// mergeArrivals adds to t the arrivals it does not have yet.
func mergeArrivals(t *Tracer, arrivals map[string]Arrival) {
	for d, a := range arrivals {
		if _, ok := t.Arrivals[d]; ok {
			continue
		}
		if t.Arrivals == nil {
			t.Arrivals = map[string]Arrival{}
		}
		t.Arrivals[d] = Arrival{At: a.At.UTC()}
	}
}

func normalizeTracer(t *Tracer) {
	t.SentAt = t.SentAt.UTC()
	for d, a := range t.Arrivals {
		t.Arrivals[d] = Arrival{At: a.At.UTC()}
	}
}

var (
	_ TracerStore = (*FileStore)(nil)
	_ TracerStore = (*PostgresStore)(nil)
)

package canary

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/singerkit/singerkit/internal/project"
	"github.com/singerkit/singerkit/internal/statestore"
)

// Canary sends and checks the tracers of a project's pipelines.
type Canary struct {
	Project *project.Project
	Store   statestore.TracerStore
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// usageError is a mistake in the project file or the command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func (c *Canary) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

// Pipelines returns the named pipelines (all with a canary section when
// names is empty), refusing a name without one.
func (c *Canary) Pipelines(names []string) ([]*project.Pipeline, error) {
	if len(names) == 0 {
		var out []*project.Pipeline
		for _, n := range c.Project.PipelineNames() {
			if pl := c.Project.Pipelines[n]; pl.Canary != nil {
				out = append(out, pl)
			}
		}
		if len(out) == 0 {
			return nil, &usageError{fmt.Sprintf("no pipeline of %s has a canary section (add `canary: {}` to a pipeline: see docs/singer-canary.md)", c.Project.Path)}
		}
		return out, nil
	}
	var out []*project.Pipeline
	for _, n := range names {
		pl, ok := c.Project.Pipelines[n]
		if !ok {
			return nil, &usageError{fmt.Sprintf("no pipeline named %q in %s (pipelines: %s)", n, c.Project.Path, strings.Join(c.Project.PipelineNames(), ", "))}
		}
		if pl.Canary == nil {
			return nil, &usageError{fmt.Sprintf("pipeline %s has no canary section in %s (add `canary: {}` under it)", n, c.Project.Path)}
		}
		out = append(out, pl)
	}
	return out, nil
}

// route is a pipeline's injection point and destinations.
type route struct {
	pl    *project.Pipeline
	src   source
	dests []destination
}

func (r *route) close() {
	r.src.close()
	for _, d := range r.dests {
		d.close()
	}
}

// routes resolves every pipeline first, so a mistake in the file is
// reported (all of them) before anything is sent.
func (c *Canary) routes(pls []*project.Pipeline) ([]*route, error) {
	var out []*route
	var problems []string
	for _, pl := range pls {
		src, err := newSource(c.Project, pl)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		dests, err := newDestinations(c.Project, pl, src.stream())
		if err != nil {
			src.close()
			problems = append(problems, err.Error())
			continue
		}
		out = append(out, &route{pl: pl, src: src, dests: dests})
	}
	if len(problems) > 0 {
		for _, r := range out {
			r.close()
		}
		return nil, &usageError{strings.Join(problems, "\n")}
	}
	return out, nil
}

// Validate resolves the named pipelines' sources and destinations
// without connecting to anything.
func (c *Canary) Validate(names []string) error {
	pls, err := c.Pipelines(names)
	if err != nil {
		return err
	}
	rs, err := c.routes(pls)
	for _, r := range rs {
		r.close()
	}
	return err
}

// Init creates the canary table at each pipeline's source; it reports
// each table on out.
func (c *Canary) Init(ctx context.Context, names []string, report func(pipeline, where string)) error {
	pls, err := c.Pipelines(names)
	if err != nil {
		return err
	}
	rs, err := c.routes(pls)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		if err := r.src.init(ctx); err != nil {
			errs = append(errs, fmt.Errorf("pipeline %s: %w", r.pl.Name, err))
		} else if _, topic := r.src.(*logSource); topic {
			report(r.pl.Name, "tracers are published to "+r.src.where()+" (nothing to create)")
		} else if _, gate := r.src.(*gateSource); gate {
			report(r.pl.Name, "tracers are pushed through "+r.src.where()+" (nothing to create)")
		} else {
			report(r.pl.Name, "canary table "+r.src.where()+" ready")
		}
		r.close()
	}
	return errors.Join(errs...)
}

// Sent is one tracer sent.
type Sent struct {
	Pipeline     string    `json:"pipeline"`
	ID           string    `json:"id"`
	SentAt       time.Time `json:"sent_at"`
	Source       string    `json:"source"`
	Destinations []string  `json:"destinations"`
}

// Send injects one tracer per pipeline and records it; a pipeline whose
// source fails does not stop the others.
func (c *Canary) Send(ctx context.Context, names []string) ([]Sent, error) {
	pls, err := c.Pipelines(names)
	if err != nil {
		return nil, err
	}
	rs, err := c.routes(pls)
	if err != nil {
		return nil, err
	}
	var out []Sent
	var errs []error
	for _, r := range rs {
		s, err := c.send(ctx, r)
		r.close()
		if err != nil {
			errs = append(errs, fmt.Errorf("pipeline %s: %w", r.pl.Name, err))
			continue
		}
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

func (c *Canary) send(ctx context.Context, r *route) (Sent, error) {
	id, err := newID()
	if err != nil {
		return Sent{}, err
	}
	// Destinations keep microseconds: the tracer is compared with what
	// they hold.
	at := c.now().Truncate(time.Microsecond)
	s := Sent{Pipeline: r.pl.Name, ID: id, SentAt: at, Source: r.src.where()}
	for _, d := range r.dests {
		s.Destinations = append(s.Destinations, d.name())
	}
	// Injected first, recorded then: a tracer that could not be injected
	// is not waited for (the send fails instead). One that arrives before
	// it is recorded is found by the next check all the same (the
	// destination holds its row).
	if err := r.src.send(ctx, r.pl.Name, id, at); err != nil {
		return Sent{}, err
	}
	if err := c.Store.AddTracer(ctx, statestore.Tracer{ID: id, Pipeline: r.pl.Name, SentAt: at, Destinations: s.Destinations}, r.pl.Canary.Keep); err != nil {
		return Sent{}, err
	}
	return s, nil
}

func newID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Status is the state of one pipeline's tracers in one destination.
type Status struct {
	Pipeline    string `json:"pipeline"`
	Destination string `json:"destination"`
	// Status of the latest tracer: arrived, waiting, overdue; "none" when
	// no tracer was sent yet; "error" when the destination could not be
	// queried.
	Status string     `json:"status"`
	Tracer string     `json:"tracer,omitempty"`
	SentAt *time.Time `json:"sent_at,omitempty"`
	// Latency of the latest tracer that arrived, and when it arrived.
	LatencySeconds *float64   `json:"latency_seconds,omitempty"`
	LastArrival    *time.Time `json:"last_arrival,omitempty"`
	// Overdue counts the tracers not arrived past the threshold.
	Overdue        int     `json:"overdue"`
	OverdueSeconds float64 `json:"overdue_after_seconds"`
	Note           string  `json:"note,omitempty"`
	Error          string  `json:"error,omitempty"`
}

// Late is one overdue tracer.
type Late struct {
	Pipeline    string    `json:"pipeline"`
	Destination string    `json:"destination"`
	Tracer      string    `json:"tracer"`
	SentAt      time.Time `json:"sent_at"`
	AgeSeconds  float64   `json:"age_seconds"`
	Note        string    `json:"note,omitempty"`
	limit       time.Duration
}

// Line is the one line that names an overdue tracer.
func (l Late) Line() string {
	s := fmt.Sprintf("overdue: pipeline %s, destination %s: tracer %s sent %s has not arrived within %s",
		l.Pipeline, l.Destination, l.Tracer, l.SentAt.Format(time.RFC3339Nano), l.limit)
	if l.Note != "" {
		s += " (" + l.Note + ")"
	}
	return s
}

// Result is what a check found.
type Result struct {
	CheckedAt time.Time `json:"checked_at"`
	Statuses  []Status  `json:"destinations"`
	Overdue   []Late    `json:"overdue"`
}

// Failed tells whether the check should fail (exit 1): a tracer overdue,
// or a destination that could not be queried.
func (r *Result) Failed() bool {
	if len(r.Overdue) > 0 {
		return true
	}
	for _, s := range r.Statuses {
		if s.Error != "" {
			return true
		}
	}
	return false
}

// Check looks for the outstanding tracers of each pipeline in each of its
// destinations, records the arrivals, and reports.
func (c *Canary) Check(ctx context.Context, names []string) (*Result, error) {
	pls, err := c.Pipelines(names)
	if err != nil {
		return nil, err
	}
	rs, err := c.routes(pls)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, r := range rs {
			r.close()
		}
	}()
	res := &Result{CheckedAt: c.now(), Overdue: []Late{}}
	for _, r := range rs {
		if err := c.check(ctx, r, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (c *Canary) check(ctx context.Context, r *route, res *Result) error {
	tracers, err := c.Store.Tracers(ctx, r.pl.Name)
	if err != nil {
		return err
	}
	now := res.CheckedAt
	limit := r.pl.Canary.Overdue
	arrivals := map[string]map[string]statestore.Arrival{}
	for _, d := range r.dests {
		name := d.name()
		st := Status{Pipeline: r.pl.Name, Destination: name, OverdueSeconds: limit.Seconds()}
		got, err := d.latest(ctx, r.pl.Name)
		if err != nil {
			st.Error = err.Error()
		}
		latest, found, missing := got.sentAt, got.found, got.missing
		switch {
		case missing != "":
			st.Note = missing
		case err == nil && !found:
			st.Note = "no row of the pipeline there"
		case err == nil:
			// Said when a tracer is late: how far the destination got.
			missing = "the newest tracer there was sent " + latest.UTC().Format(time.RFC3339Nano)
		}
		var last *statestore.Tracer
		for i := range tracers {
			t := &tracers[i]
			if !contains(t.Destinations, name) {
				continue
			}
			last = t
			if _, ok := t.Arrivals[name]; !ok && found && !t.SentAt.After(latest) {
				// The destination holds this tracer's row or a later
				// one of the pipeline: the data sent with it has arrived.
				// Found now; loaded (by the target's own clock) maybe
				// earlier: the earlier of the two that is not before the
				// send.
				a := statestore.Arrival{At: now}
				if l := got.loadedAt; !l.IsZero() && l.Before(now) && !l.Before(t.SentAt) {
					a.At = l.UTC()
				}
				if t.Arrivals == nil {
					t.Arrivals = map[string]statestore.Arrival{}
				}
				t.Arrivals[name] = a
				if arrivals[t.ID] == nil {
					arrivals[t.ID] = map[string]statestore.Arrival{}
				}
				arrivals[t.ID][name] = a
			}
			if a, ok := t.Arrivals[name]; ok {
				if st.LastArrival == nil || a.At.After(*st.LastArrival) {
					at := a.At
					st.LastArrival = &at
					sec := a.At.Sub(t.SentAt).Seconds()
					st.LatencySeconds = &sec
				}
				continue
			}
			if age := now.Sub(t.SentAt); age > limit {
				st.Overdue++
				res.Overdue = append(res.Overdue, Late{Pipeline: r.pl.Name, Destination: name, Tracer: t.ID, SentAt: t.SentAt, AgeSeconds: age.Seconds(), Note: lateNote(st.Note, missing, st.Error), limit: limit})
			}
		}
		switch {
		case st.Error != "":
			st.Status = "error"
		case last == nil:
			st.Status = "none"
		default:
			st.Tracer = last.ID
			sent := last.SentAt
			st.SentAt = &sent
			switch _, ok := last.Arrivals[name]; {
			case ok:
				st.Status = "arrived"
			case now.Sub(last.SentAt) > limit:
				st.Status = "overdue"
			default:
				st.Status = "waiting"
			}
		}
		res.Statuses = append(res.Statuses, st)
	}
	ids := make([]string, 0, len(arrivals))
	for id := range arrivals {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := c.Store.AddArrivals(ctx, r.pl.Name, id, arrivals[id]); err != nil {
			return err
		}
	}
	return nil
}

func lateNote(note, progress, err string) string {
	switch {
	case err != "":
		return "the destination could not be queried: " + err
	case note != "":
		return note
	}
	return progress
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

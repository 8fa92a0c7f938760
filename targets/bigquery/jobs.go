package bigquery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"cloud.google.com/go/bigquery"
)

// Job IDs. Every load and query job is submitted under an ID chosen by the
// target, not by the service: "sk_<run>_<table>_<n>_<step>_a<attempt>",
// where run is random per process, n counts the jobs the run needs (one
// per statement or load of a batch), and attempt counts the jobs that ran
// and failed. A retry after an answer that was lost (a timeout, a dropped
// connection: the job may exist) resubmits the same ID; BigQuery answers
// "already exists" when the first submission got through, and the target
// then waits for that job instead of running the work twice. Only a job
// known to have finished with an error is run again, under attempt + 1.

// jobSeq numbers the jobs of a run.
var jobSeq atomic.Int64

func newRunID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("%x", time.Now().UnixNano())
	}
	return hex.EncodeToString(b[:])
}

// jobBase is the ID of a job without its attempt suffix.
func (d *Dialect) jobBase(table, step string) string {
	var t strings.Builder
	for _, r := range table {
		if r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			t.WriteRune(r)
		}
	}
	name := t.String()
	if len(name) > 100 {
		name = name[:100]
	}
	if name == "" {
		return fmt.Sprintf("sk_%s_%d_%s", d.runID, jobSeq.Add(1), step)
	}
	return fmt.Sprintf("sk_%s_%s_%d_%s", d.runID, name, jobSeq.Add(1), step)
}

// job is what runJob needs of a submitted job.
type job interface {
	Wait(ctx context.Context) (*bigquery.JobStatus, error)
}

// jobFailed is a job that ran and finished with an error: a retry must
// run a new job.
type jobFailed struct{ err error }

func (e *jobFailed) Error() string { return e.err.Error() }
func (e *jobFailed) Unwrap() error { return e.err }

// runJob runs one job under base + "_a<attempt>" with retries: submit
// starts the job under an ID, lookup finds an existing job by ID. A
// submission answered "already exists" waits for the job of that ID.
func runJob(ctx context.Context, retry func(context.Context, func() error) error, base string,
	submit func(ctx context.Context, id string) (job, error), lookup func(ctx context.Context, id string) (job, error)) (*bigquery.JobStatus, error) {
	attempt := 0
	var st *bigquery.JobStatus
	err := retry(ctx, func() error {
		id := fmt.Sprintf("%s_a%d", base, attempt)
		j, err := submit(ctx, id)
		if conflict(err) {
			j, err = lookup(ctx, id)
		}
		if err != nil {
			return err
		}
		st, err = j.Wait(ctx)
		if err != nil {
			var be *bigquery.Error
			if errors.As(err, &be) {
				// The job finished with this error.
				attempt++
				return &jobFailed{err}
			}
			return err
		}
		if err := st.Err(); err != nil {
			attempt++
			return &jobFailed{err}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// lookupJob finds a job of this run by ID.
func (s *session) lookupJob(ctx context.Context, id string) (job, error) {
	if s.d.location != "" {
		return s.d.client.JobFromIDLocation(ctx, id, s.d.location)
	}
	return s.d.client.JobFromID(ctx, id)
}

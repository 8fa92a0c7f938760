package bigquery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Retries: the errors BigQuery documents as retryable (rateLimitExceeded,
// backendError, internalError, HTTP 429 and 5xx) are retried with
// exponential backoff, at most maxAttempts times in all.
const (
	maxAttempts  = 5
	firstBackoff = time.Second
	maxBackoff   = 16 * time.Second
)

var retryableReasons = map[string]bool{"rateLimitExceeded": true, "backendError": true, "internalError": true}

func retryable(err error) bool {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		for _, e := range ge.Errors {
			if retryableReasons[e.Reason] {
				return true
			}
		}
		return false
	}
	var be *bigquery.Error
	if errors.As(err, &be) {
		return retryableReasons[be.Reason]
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.Internal, codes.DeadlineExceeded:
			return true
		}
	}
	return false
}

// withRetry runs op until it succeeds, fails with an error that is not
// retryable, or has run maxAttempts times. sleep is the backoff clock.
func withRetry(ctx context.Context, sleep func(context.Context, time.Duration) error, op func() error) error {
	wait := firstBackoff
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !retryable(err) {
			return explain(err)
		}
		if attempt == maxAttempts {
			return fmt.Errorf("giving up after %d attempts: %w", attempt, explain(err))
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, maxBackoff)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// explain turns the errors users must act on into one clear sentence.
func explain(err error) error {
	if err == nil {
		return nil
	}
	reason, msg := "", err.Error()
	var ge *googleapi.Error
	var be *bigquery.Error
	switch {
	case errors.As(err, &ge):
		msg = ge.Message
		if len(ge.Errors) > 0 {
			reason = ge.Errors[0].Reason
		}
		switch {
		case ge.Code == http.StatusUnauthorized:
			return fmt.Errorf("authentication failed (check credentials_path or the application default credentials): %s", msg)
		case ge.Code == http.StatusForbidden && reason != "quotaExceeded" && reason != "rateLimitExceeded":
			return fmt.Errorf("permission denied (the credentials need the BigQuery Data Editor and Job User roles on the project and dataset): %s", msg)
		}
	case errors.As(err, &be):
		reason, msg = be.Reason, be.Message
	}
	switch reason {
	case "accessDenied":
		return fmt.Errorf("permission denied (the credentials need the BigQuery Data Editor and Job User roles on the project and dataset): %s", msg)
	case "quotaExceeded":
		return fmt.Errorf("BigQuery quota exceeded (wait, raise the quota, or send larger batches: batch_size_rows): %s", msg)
	}
	return err
}

func notFound(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusNotFound
}

func conflict(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusConflict
}

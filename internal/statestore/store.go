package statestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// ErrLocked is returned by Lock when another run holds the pipeline.
var ErrLocked = errors.New("another run of this pipeline is in progress")

// Store is where states, locks and run history live.
type Store interface {
	// State returns the saved state of a pipeline, nil when there is none.
	State(ctx context.Context, pipeline string) ([]byte, error)
	// SetState saves a state (a JSON value) durably before returning.
	SetState(ctx context.Context, pipeline string, state []byte) error
	// ClearState forgets a pipeline's state.
	ClearState(ctx context.Context, pipeline string) error
	// Pipelines lists the pipelines with a saved state.
	Pipelines(ctx context.Context) ([]string, error)
	// Lock takes the pipeline's run lock without waiting; ErrLocked when it
	// is held. The lock dies with the process that holds it.
	Lock(ctx context.Context, pipeline string) (unlock func(), err error)
	// AddRun appends to the run history; Runs returns it, oldest first.
	AddRun(ctx context.Context, r Run) error
	Runs(ctx context.Context, pipeline string) ([]Run, error)
	Close() error
}

// Run is one entry of the run history.
type Run struct {
	Pipeline    string           `json:"pipeline"`
	Attempt     int              `json:"attempt"`
	Start       time.Time        `json:"start"`
	End         time.Time        `json:"end"`
	Status      string           `json:"status"` // success, failed, interrupted
	TapExit     int              `json:"tap_exit"`
	TargetExit  int              `json:"target_exit"`
	Records     map[string]int64 `json:"records,omitempty"`
	StatesSaved int              `json:"states_saved"`
	Error       string           `json:"error,omitempty"`
}

// Open opens the store a URL names; relative file:// paths are resolved
// from dir (the project directory).
func Open(ctx context.Context, url, dir string) (Store, error) {
	switch {
	case strings.HasPrefix(url, "file://"):
		p := strings.TrimPrefix(url, "file://")
		if p == "" {
			return nil, fmt.Errorf("state store %q names no directory (write file://DIR)", url)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return OpenFile(p)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return OpenPostgres(ctx, url)
	}
	return nil, fmt.Errorf("state store: unsupported URL scheme (use file://DIR or postgres://...)")
}

// ValidState checks that b is one JSON value, as a target prints it.
func ValidState(b []byte) error {
	if !json.Valid(b) {
		return errors.New("not valid JSON")
	}
	return nil
}

package statestore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// The file store keeps a pipeline's tracers in <pipeline>.canary.jsonl,
// rewritten atomically (as the state) under a flock on
// <pipeline>.canary.lock, so a send and a check running at once do not
// lose each other's changes.

// AddTracer implements TracerStore.
func (s *FileStore) AddTracer(_ context.Context, t Tracer, keep int) error {
	normalizeTracer(&t)
	return s.updateTracers(t.Pipeline, func(ts []Tracer) []Tracer {
		ts = append(ts, t)
		if keep > 0 && len(ts) > keep {
			ts = ts[len(ts)-keep:]
		}
		return ts
	})
}

// Tracers implements TracerStore.
func (s *FileStore) Tracers(_ context.Context, pipeline string) ([]Tracer, error) {
	return s.readTracers(pipeline)
}

// AddArrivals implements TracerStore.
func (s *FileStore) AddArrivals(_ context.Context, pipeline, id string, arrivals map[string]Arrival) error {
	return s.updateTracers(pipeline, func(ts []Tracer) []Tracer {
		for i := range ts {
			if ts[i].ID == id {
				mergeArrivals(&ts[i], arrivals)
			}
		}
		return ts
	})
}

func (s *FileStore) readTracers(pipeline string) ([]Tracer, error) {
	b, err := os.ReadFile(s.path(pipeline, ".canary.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	var out []Tracer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var t Tracer
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("state store: %s line %d: %v (the file is written by singer canary; remove the line or the file)", s.path(pipeline, ".canary.jsonl"), n, err)
		}
		out = append(out, t)
	}
	return out, sc.Err()
}

func (s *FileStore) updateTracers(pipeline string, change func([]Tracer) []Tracer) error {
	lf, err := os.OpenFile(s.path(pipeline, ".canary.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("state store: %w", err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("state store: locking the tracers of %s: %w", pipeline, err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	ts, err := s.readTracers(pipeline)
	if err != nil {
		return err
	}
	ts = change(ts)
	var buf bytes.Buffer
	for _, t := range ts {
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if err := s.writeAtomic(pipeline, ".canary.jsonl", buf.Bytes()); err != nil {
		return fmt.Errorf("state store: saving the tracers of %s: %w", pipeline, err)
	}
	return nil
}

// writeAtomic replaces <pipeline><suffix>: temp file, fsync, rename, fsync
// of the directory.
func (s *FileStore) writeAtomic(pipeline, suffix string, data []byte) error {
	f, err := os.CreateTemp(s.dir, "."+pipeline+suffix+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path(pipeline, suffix))
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	return err
}

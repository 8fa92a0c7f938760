package statestore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// FileStore keeps <pipeline>.state.json, <pipeline>.lock and
// <pipeline>.runs.jsonl in one directory.
type FileStore struct {
	dir string
	mu  sync.Mutex
}

// OpenFile opens (and creates, 0700) a file store in dir.
func OpenFile(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	return &FileStore{dir: dir}, nil
}

func (s *FileStore) path(pipeline, suffix string) string {
	return filepath.Join(s.dir, pipeline+suffix)
}

// State implements Store.
func (s *FileStore) State(_ context.Context, pipeline string) ([]byte, error) {
	b, err := os.ReadFile(s.path(pipeline, ".state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	return bytes.TrimSpace(b), nil
}

// SetState implements Store: temp file, fsync, rename, fsync the directory.
func (s *FileStore) SetState(_ context.Context, pipeline string, state []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.CreateTemp(s.dir, "."+pipeline+".state-*")
	if err != nil {
		return fmt.Errorf("state store: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	_, err = f.Write(append(bytes.TrimSpace(state), '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path(pipeline, ".state.json"))
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("state store: saving the state of %s: %w", pipeline, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ClearState implements Store.
func (s *FileStore) ClearState(_ context.Context, pipeline string) error {
	err := os.Remove(s.path(pipeline, ".state.json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("state store: %w", err)
	}
	return syncDir(s.dir)
}

// Pipelines implements Store.
func (s *FileStore) Pipelines(context.Context) ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".state.json"); ok && !strings.HasPrefix(n, ".") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Lock implements Store with flock on <pipeline>.lock: the kernel drops it
// when the holder dies, so a killed runner leaves no lock behind.
func (s *FileStore) Lock(_ context.Context, pipeline string) (func(), error) {
	f, err := os.OpenFile(s.path(pipeline, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("state store: locking %s: %w", pipeline, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
		})
	}, nil
}

// AddRun implements Store.
func (s *FileStore) AddRun(_ context.Context, r Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(s.path(r.Pipeline, ".runs.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("state store: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Runs implements Store.
func (s *FileStore) Runs(_ context.Context, pipeline string) ([]Run, error) {
	f, err := os.Open(s.path(pipeline, ".runs.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	defer f.Close()
	var out []Run
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var r Run
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}

// Close implements Store.
func (s *FileStore) Close() error { return nil }

package statestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
)

// TestFileStore and TestPostgresStore run the same cases on both stores:
// what one promises, the other keeps.
func TestFileStore(t *testing.T) {
	dir := t.TempDir()
	storeCases(t, func(t *testing.T) Store {
		s, err := Open(context.Background(), "file://"+dir, "/unused")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPostgresStore(t *testing.T) {
	ctx := context.Background()
	url := os.Getenv("TEST_POSTGRES_URL")
	if url == "" {
		url = "postgres://root@127.0.0.1:5432/test?sslmode=disable"
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		testenv.Missing(t, "PostgreSQL unreachable, set TEST_POSTGRES_URL: %v", err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("sktest_store_%d", time.Now().UnixNano()%1_000_000_000)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	storeCases(t, func(t *testing.T) Store {
		s, err := Open(ctx, url+"&search_path="+schema, "")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// storeCases: open returns a new handle on the same store each call, as
// two runner processes would have.
func storeCases(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	s := open(t)
	t.Cleanup(func() { s.Close() })

	t.Run("state", func(t *testing.T) {
		if b, err := s.State(ctx, "p1"); err != nil || b != nil {
			t.Fatalf("no state yet: %q, %v", b, err)
		}
		for _, st := range []string{`{"bookmarks":{"a":{"id":1}}}`, `{"bookmarks":{"a":{"id":2}}}`} {
			if err := s.SetState(ctx, "p1", []byte(st+"\n")); err != nil {
				t.Fatal(err)
			}
			if b, err := s.State(ctx, "p1"); err != nil || string(b) != st {
				t.Fatalf("state %q, %v; want %q", b, err, st)
			}
		}
		if err := s.SetState(ctx, "p0", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		// Another handle sees what this one saved.
		o := open(t)
		defer o.Close()
		if b, err := o.State(ctx, "p1"); err != nil || string(b) != `{"bookmarks":{"a":{"id":2}}}` {
			t.Fatalf("state from another handle %q, %v", b, err)
		}
		if got, err := o.Pipelines(ctx); err != nil || !reflect.DeepEqual(got, []string{"p0", "p1"}) {
			t.Fatalf("pipelines %q, %v", got, err)
		}
		if err := s.ClearState(ctx, "p0"); err != nil {
			t.Fatal(err)
		}
		if b, err := s.State(ctx, "p0"); err != nil || b != nil {
			t.Fatalf("cleared state: %q, %v", b, err)
		}
		if got, err := s.Pipelines(ctx); err != nil || !reflect.DeepEqual(got, []string{"p1"}) {
			t.Fatalf("pipelines after clear %q, %v", got, err)
		}
		if err := s.ClearState(ctx, "never-saved"); err != nil {
			t.Fatalf("clearing a state never saved: %v", err)
		}
	})

	t.Run("runs", func(t *testing.T) {
		start := time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)
		want := []Run{
			{Pipeline: "r1", Attempt: 1, Start: start, End: start.Add(time.Second), Status: "failed", TapExit: 0, TargetExit: 1, StatesSaved: 2, Error: "target-x exited 1"},
			{Pipeline: "r1", Attempt: 2, Start: start.Add(5 * time.Second), End: start.Add(9 * time.Second), Status: "success", Records: map[string]int64{"items": 3}, StatesSaved: 1},
		}
		for _, r := range want {
			if err := s.AddRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddRun(ctx, Run{Pipeline: "other", Status: "success"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Runs(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		for i := range got { // times come back in the local zone from some stores
			got[i].Start, got[i].End = got[i].Start.UTC(), got[i].End.UTC()
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("runs\n%+v\nwant\n%+v", got, want)
		}
		if got, err := s.Runs(ctx, "none"); err != nil || len(got) != 0 {
			t.Errorf("runs of a pipeline never run: %v, %v", got, err)
		}
	})

	t.Run("tracers", func(t *testing.T) {
		ts, ok := s.(TracerStore)
		if !ok {
			t.Fatalf("%T does not keep tracers", s)
		}
		sent := time.Date(2026, 12, 3, 7, 0, 0, 123456000, time.UTC)
		for i, id := range []string{"t1", "t2", "t3", "t4"} {
			tr := Tracer{ID: id, Pipeline: "c1", SentAt: sent.Add(time.Duration(i) * time.Minute), Destinations: []string{"pg:public.singer_canary", "files:x.jsonl"}}
			if err := ts.AddTracer(ctx, tr, 3); err != nil {
				t.Fatal(err)
			}
		}
		if err := ts.AddTracer(ctx, Tracer{ID: "o1", Pipeline: "other", SentAt: sent}, 3); err != nil {
			t.Fatal(err)
		}
		arrived := sent.Add(90 * time.Second)
		if err := ts.AddArrivals(ctx, "c1", "t2", map[string]Arrival{"pg:public.singer_canary": {At: arrived}}); err != nil {
			t.Fatal(err)
		}
		// The first arrival counts; a later one for the same destination
		// is ignored, one for another destination is added.
		if err := ts.AddArrivals(ctx, "c1", "t2", map[string]Arrival{"pg:public.singer_canary": {At: arrived.Add(time.Hour)}, "files:x.jsonl": {At: arrived.Add(time.Second)}}); err != nil {
			t.Fatal(err)
		}
		if err := ts.AddArrivals(ctx, "c1", "t1", map[string]Arrival{"pg:public.singer_canary": {At: arrived}}); err != nil {
			t.Fatalf("arrival of a tracer no longer kept: %v", err)
		}
		o := open(t)
		defer o.Close()
		got, err := o.(TracerStore).Tracers(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tr := range got {
			ids = append(ids, tr.ID)
		}
		if !reflect.DeepEqual(ids, []string{"t2", "t3", "t4"}) {
			t.Fatalf("kept tracers %v, want the last 3", ids)
		}
		if l, ok := got[0].Latency("pg:public.singer_canary"); !ok || l != 30*time.Second {
			t.Errorf("latency of t2 in pg: %v %v, want 30s", l, ok)
		}
		if l, ok := got[0].Latency("files:x.jsonl"); !ok || l != 31*time.Second {
			t.Errorf("latency of t2 in files: %v %v, want 31s", l, ok)
		}
		if _, ok := got[1].Latency("pg:public.singer_canary"); ok {
			t.Error("t3 has an arrival it never had")
		}
		if !got[2].SentAt.Equal(sent.Add(3*time.Minute)) || !reflect.DeepEqual(got[2].Destinations, []string{"pg:public.singer_canary", "files:x.jsonl"}) {
			t.Errorf("t4 came back as %+v", got[2])
		}
		if other, _ := ts.Tracers(ctx, "other"); len(other) != 1 {
			t.Errorf("tracers of another pipeline: %+v", other)
		}
		if none, err := ts.Tracers(ctx, "none"); err != nil || len(none) != 0 {
			t.Errorf("tracers of a pipeline with none: %v %v", none, err)
		}
	})

	t.Run("lock", func(t *testing.T) {
		o := open(t)
		defer o.Close()
		unlock, err := s.Lock(ctx, "l1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Lock(ctx, "l1"); !errors.Is(err, ErrLocked) {
			t.Fatalf("second lock from another handle: %v, want ErrLocked", err)
		}
		u2, err := o.Lock(ctx, "l2")
		if err != nil {
			t.Fatalf("another pipeline's lock: %v", err)
		}
		u2()
		unlock()
		unlock() // idempotent
		u3, err := o.Lock(ctx, "l1")
		if err != nil {
			t.Fatalf("lock after unlock: %v", err)
		}
		u3()
	})

	// Many runs starting at once (separate handles, as separate
	// processes): exactly one holds the lock.
	t.Run("race", func(t *testing.T) {
		const n = 8
		handles := make([]Store, n)
		for i := range handles {
			handles[i] = open(t)
			defer handles[i].Close()
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, refused := 0, 0
		var unlocks []func()
		start := make(chan struct{})
		for _, h := range handles {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				u, err := h.Lock(ctx, "race")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
					unlocks = append(unlocks, u)
				case errors.Is(err, ErrLocked):
					refused++
				default:
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		for _, u := range unlocks {
			u()
		}
		if won != 1 || refused != n-1 {
			t.Errorf("%d runs got the lock, %d were refused; want 1 and %d", won, refused, n-1)
		}
	})
}

package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/faultproxy"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// faultEnv is a LOG_BASED setup on a throwaway server: a table
// public.items (id, v), a config and a catalog selecting it.
type faultEnv struct {
	t       *testing.T
	srv     *pgServer
	dir     string
	catalog string
}

func newFaultEnv(t *testing.T, settings ...string) *faultEnv {
	t.Helper()
	e := &faultEnv{t: t, srv: startPG(t, settings...), dir: t.TempDir()}
	e.exec("CREATE TABLE items (id integer PRIMARY KEY, v text)", "INSERT INTO items VALUES (1, 'a')")
	var out, stderr bytes.Buffer
	if code := cli.RunTap(context.Background(), Spec(), []string{"-c", e.config(nil), "--discover"}, nil, &out, &stderr); code != 0 {
		t.Fatalf("discover: exit %d: %s", code, stderr.String())
	}
	cat, err := singer.ReadCatalog(&out)
	if err != nil {
		t.Fatal(err)
	}
	sqltaptest.Select(t, cat, singer.ReplicationLogBased, "", "public-items")
	e.catalog = e.write("catalog.json", cat)
	return e
}

// exec runs statements on a new connection (the server may have
// restarted since the last one).
func (e *faultEnv) exec(stmts ...string) {
	e.t.Helper()
	conn, err := pgx.Connect(context.Background(), e.srv.url())
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	mustExec(e.t, conn, stmts...)
}

func (e *faultEnv) write(name string, v any) string {
	e.t.Helper()
	b, ok := v.([]byte)
	if !ok {
		var buf bytes.Buffer
		if cat, isCat := v.(*singer.Catalog); isCat {
			if err := cat.WriteJSON(&buf); err != nil {
				e.t.Fatal(err)
			}
		} else if err := json.NewEncoder(&buf).Encode(v); err != nil {
			e.t.Fatal(err)
		}
		b = buf.Bytes()
	}
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// config writes the tap's config: the server, short idle runs, and the
// settings given.
func (e *faultEnv) config(extra map[string]any) string {
	cfg := map[string]any{"url": e.srv.url(), "filter_schemas": []string{"public"}, "logical_poll_seconds": 0.5}
	for k, v := range extra {
		cfg[k] = v
	}
	return e.write("config.json", cfg)
}

// sync runs the tap to its end from state ("" for none), expecting exit 0,
// and returns its output and last state.
func (e *faultEnv) sync(state string) (*sqltaptest.Output, string) {
	e.t.Helper()
	args := []string{"-c", e.config(nil), "--catalog", e.catalog}
	if state != "" {
		args = append(args, "--state", e.write("state.json", []byte(state)))
	}
	r := sqltaptest.Start(Spec(), args...)
	if code, stderr := r.Wait(e.t); code != 0 {
		e.t.Fatalf("exit %d: %s", code, stderr)
	}
	return r.Out, r.Out.LastState(e.t)
}

// wantOneLine checks a run that failed: exit 1, one error line on stderr
// (besides INFO lines) with the prefix; it returns the line.
func wantOneLine(t *testing.T, code int, stderr, prefix string) string {
	t.Helper()
	var errs []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(l, "INFO ") {
			errs = append(errs, l)
		}
	}
	if code != cli.ExitRuntime || len(errs) != 1 || !strings.HasPrefix(errs[0], prefix) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and one line (besides INFO lines) starting %q", code, stderr, prefix)
		return ""
	}
	return errs[0]
}

// TestLogBasedSourceRestart: the server restarts while a LOG_BASED run
// reads changes. The run must fail (exit 1, one line), not end as if the
// log were idle, and its last state must resume: the next run gets the
// changes made since, and the one before the restart is not lost.
func TestLogBasedSourceRestart(t *testing.T) {
	e := newFaultEnv(t)
	_, state := e.sync("")
	r := sqltaptest.Start(Spec(), "-c", e.config(map[string]any{"logical_poll_seconds": 600}), "--catalog", e.catalog, "--state", e.write("state1.json", []byte(state)))
	e.exec("INSERT INTO items VALUES (2, 'b')")
	r.Out.WaitLine(t, r.Done, `"record":{"id":2,"v":"b"`)
	e.srv.restart()
	code, stderr := r.Wait(t)
	if l := wantOneLine(t, code, stderr, `tap-postgres: error: LOG_BASED: reading from slot "singerkit_postgres": `); l != "" && !strings.HasSuffix(l, ": run again to resume from the last state") {
		t.Errorf("error line %q does not say to run again", l)
	}
	e.exec("INSERT INTO items VALUES (3, 'c')")
	out, _ := e.sync(r.Out.LastState(t))
	var ids []string
	for _, l := range out.Lines() {
		if i := strings.Index(l, `"record":{"id":`); i >= 0 {
			ids = append(ids, l[i+len(`"record":{"id":`):i+len(`"record":{"id":`)+1])
		}
	}
	if got := strings.Join(ids, ","); got != "3" && got != "2,3" {
		t.Errorf("resumed run sent records of ids %s, want 3 (or 2,3: at least once)", got)
	}
}

// slotActive reports whether a walsender serves the slot now.
func (e *faultEnv) slotActive(conn *pgx.Conn) bool {
	e.t.Helper()
	var active bool
	if err := conn.QueryRow(context.Background(), `SELECT active FROM pg_replication_slots WHERE slot_name = 'singerkit_postgres'`).Scan(&active); err != nil {
		e.t.Fatal(err)
	}
	return active
}

// TestLogBasedSlowTarget: the tap's stdout blocks (a slow target) for
// longer than the server's wal_sender_timeout (2s) while changes wait. The
// server must not drop the replication connection (the tap keeps sending
// status from another goroutine), and the run ends normally with exactly
// the changes.
func TestLogBasedSlowTarget(t *testing.T) {
	e := newFaultEnv(t, "wal_sender_timeout=2s")
	_, state := e.sync("")
	r := sqltaptest.Start(Spec(), "-c", e.config(map[string]any{"logical_poll_seconds": 2, "state_every_seconds": 0.1}), "--catalog", e.catalog, "--state", e.write("state1.json", []byte(state)))
	conn := e.srv.connect()
	ctx := context.Background()
	for !e.slotActive(conn) {
		select {
		case <-r.Done:
			t.Fatalf("the run ended before it read the slot: %s", r.Stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	release := r.Out.Block()
	defer release()
	var pid int
	if err := conn.QueryRow(ctx, `SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'singerkit_postgres'`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	e.exec("INSERT INTO items VALUES (2, 'b'), (3, 'c')", "UPDATE items SET v = 'A' WHERE id = 1")
	// The output stays blocked until the walsender has heard from the tap
	// 6s (three wal_sender_timeouts) after the block began.
	blocked := time.Now()
	for {
		var reply *time.Time
		err := conn.QueryRow(ctx, `SELECT reply_time FROM pg_stat_replication WHERE pid = $1`, pid).Scan(&reply)
		if errors.Is(err, pgx.ErrNoRows) {
			t.Fatalf("the server dropped the replication connection while the output was blocked; server log:\n%s", e.srv.log())
		}
		if err != nil {
			t.Fatal(err)
		}
		if reply != nil && reply.Sub(blocked) > 6*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	release()
	code, stderr := r.Wait(t)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var recs []string
	for _, l := range r.Out.Lines() {
		if i := strings.Index(l, `"record":`); i >= 0 {
			recs = append(recs, l[i+len(`"record":`):strings.Index(l, `,"version"`)])
		}
	}
	want := []string{
		`{"id":2,"v":"b","_sdc_deleted_at":null}`,
		`{"id":3,"v":"c","_sdc_deleted_at":null}`,
		`{"id":1,"v":"A","_sdc_deleted_at":null}`,
	}
	if strings.Join(recs, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(recs, "\n"), strings.Join(want, "\n"))
	}
}

// TestStalledSource: a proxy between the tap and the server stops
// forwarding (the TCP connections stay up). A FULL_TABLE read and a
// LOG_BASED stream must fail within read_timeout_seconds (1s here) with
// exit 1 and one line, not wait forever.
func TestStalledSource(t *testing.T) {
	e := newFaultEnv(t)
	_, state := e.sync("")
	server := fmt.Sprintf("127.0.0.1:%d", e.srv.port)
	// run starts the tap through a new proxy, with catalog cat.
	run := func(t *testing.T, cat string, extra map[string]any, state string) (*sqltaptest.Run, *faultproxy.Proxy) {
		proxy := faultproxy.New(t, server)
		cfg := map[string]any{"url": strings.Replace(e.srv.url(), server, proxy.Addr(), 1), "read_timeout_seconds": 1, "itersize": 1}
		for k, v := range extra {
			cfg[k] = v
		}
		args := []string{"-c", e.write("stall-config.json", cfg), "--catalog", cat}
		if state != "" {
			args = append(args, "--state", e.write("stall-state.json", []byte(state)))
		}
		return sqltaptest.Start(Spec(), args...), proxy
	}
	const stalled = "no reply from the server for 1s: the connection is taken for dead"
	t.Run("FULL_TABLE read", func(t *testing.T) {
		b, err := os.ReadFile(e.catalog)
		if err != nil {
			t.Fatal(err)
		}
		cat := e.write("full.json", bytes.ReplaceAll(b, []byte(`"LOG_BASED"`), []byte(`"FULL_TABLE"`)))
		r, proxy := run(t, cat, nil, "")
		// The tap waits on its first output (before its first chunk):
		// the proxy stalls then.
		release := r.Out.Block()
		defer release()
		r.Out.WaitBlocked(t, r.Done)
		proxy.Stall()
		release()
		code, stderr := r.Wait(t)
		if l := wantOneLine(t, code, stderr, `tap-postgres: error: stream "public-items": `); l != "" && !strings.HasSuffix(l, stalled) {
			t.Errorf("the line does not end naming the stall: %s", l)
		}
	})
	t.Run("LOG_BASED stream", func(t *testing.T) {
		r, proxy := run(t, e.catalog, map[string]any{"logical_poll_seconds": 600}, state)
		r.Stderr.WaitLine(t, r.Done, "INFO reading changes from slot")
		proxy.Stall()
		code, stderr := r.Wait(t)
		if l := wantOneLine(t, code, stderr, `tap-postgres: error: LOG_BASED: reading from slot "singerkit_postgres": `); l != "" && !strings.Contains(l, stalled) {
			t.Errorf("the line does not name the stall: %s", l)
		}
	})
}

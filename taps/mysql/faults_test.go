package mysql

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/singerkit/singerkit/internal/faultproxy"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// faultEnv is a LOG_BASED setup on a throwaway server with the binlog on:
// database f, table items (id, v), a catalog selecting it LOG_BASED.
type faultEnv struct {
	t       *testing.T
	srv     *testServer
	dir     string
	catalog string
	cfg     map[string]any
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	e := &faultEnv{t: t, srv: startServer(t, "--log-bin=mysql-bin", "--server-id=7", "--binlog-format=ROW"), dir: t.TempDir()}
	e.exec("CREATE DATABASE f", "CREATE TABLE f.items (id int PRIMARY KEY, v varchar(10))", "INSERT INTO f.items VALUES (1, 'a')")
	e.cfg = map[string]any{"dsn": e.srv.dsn("root", "", "f"), "filter_dbs": []string{"f"}, "binlog_idle_seconds": 0.5}
	_, e.catalog = tapFiles(t, e.dir, e.cfg, "f-items")
	return e
}

// exec runs statements on a new connection (the server may have
// restarted since the last one).
func (e *faultEnv) exec(stmts ...string) {
	e.t.Helper()
	db, err := sql.Open("mysql", e.srv.dsn("root", "", ""))
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	mustExec(e.t, db, stmts...)
}

// start runs the tap in the background with the config's settings and
// extra ones, from state ("" for none).
func (e *faultEnv) start(extra map[string]any, catalog, state string) *sqltaptest.Run {
	e.t.Helper()
	cfg := map[string]any{}
	for k, v := range e.cfg {
		cfg[k] = v
	}
	for k, v := range extra {
		cfg[k] = v
	}
	args := []string{"--config", writeConfig(e.t, e.dir, "run.json", cfg), "--catalog", catalog}
	if state != "" {
		p := e.dir + "/state.json"
		if err := os.WriteFile(p, []byte(state), 0o600); err != nil {
			e.t.Fatal(err)
		}
		args = append(args, "--state", p)
	}
	return sqltaptest.Start(Spec(), args...)
}

// sync runs the tap to its end, expecting exit 0, and returns its ids of
// records and its last state.
func (e *faultEnv) sync(state string) ([]string, string) {
	e.t.Helper()
	r := e.start(nil, e.catalog, state)
	if code, stderr := r.Wait(e.t); code != 0 {
		e.t.Fatalf("exit %d: %s", code, stderr)
	}
	var ids []string
	for _, l := range r.Out.Lines() {
		if i := strings.Index(l, `"record":{"id":`); i >= 0 {
			ids = append(ids, l[i+len(`"record":{"id":`):i+len(`"record":{"id":`)+1])
		}
	}
	return ids, r.Out.LastState(e.t)
}

// wantOneLine checks a run that failed: exit 1, one error line (besides
// INFO lines) with the prefix and the suffix.
func wantOneLine(t *testing.T, code int, stderr, prefix, suffix string) {
	t.Helper()
	var errs []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(l, "INFO ") {
			errs = append(errs, l)
		}
	}
	if code != cli.ExitRuntime || len(errs) != 1 || !strings.HasPrefix(errs[0], prefix) || !strings.HasSuffix(errs[0], suffix) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and one line (besides INFO lines) %q...%q", code, stderr, prefix, suffix)
	}
}

// TestMy5SourceRestart: the server restarts while a LOG_BASED run reads
// the binlog. The run must fail (exit 1, one line), not end as if the
// binlog were idle, and its last state must resume: the next run gets the
// changes made since, and the one before the restart is not lost.
func TestMy5SourceRestart(t *testing.T) {
	e := newFaultEnv(t)
	_, state := e.sync("")
	r := e.start(map[string]any{"binlog_idle_seconds": 600}, e.catalog, state)
	e.exec("INSERT INTO f.items VALUES (2, 'b')")
	r.Out.WaitLine(t, r.Done, `"record":{"id":2,"v":"b"`)
	e.srv.Restart()
	code, stderr := r.Wait(t)
	wantOneLine(t, code, stderr, "tap-mysql: error: LOG_BASED: binlog at mysql-bin.", ": the server closed the connection (restarted, or the connection was cut): run again to resume from the last state")
	e.exec("INSERT INTO f.items VALUES (3, 'c')")
	ids, _ := e.sync(r.Out.LastState(t))
	if got := strings.Join(ids, ","); got != "3" && got != "2,3" {
		t.Errorf("resumed run sent records of ids %s, want 3 (or 2,3: at least once)", got)
	}
}

// TestMy5StalledSource: a proxy between the tap and the server stops
// forwarding (the TCP connections stay up). A FULL_TABLE read and the
// binlog stream must fail within read_timeout_seconds (1s here) with exit
// 1 and one line, not wait forever.
func TestMy5StalledSource(t *testing.T) {
	e := newFaultEnv(t)
	_, state := e.sync("")
	server := fmt.Sprintf("127.0.0.1:%d", e.srv.port)
	through := func(p *faultproxy.Proxy) map[string]any {
		mc, err := mysqldrv.ParseDSN(e.srv.dsn("root", "", "f"))
		if err != nil {
			t.Fatal(err)
		}
		mc.Addr = p.Addr()
		return map[string]any{"dsn": mc.FormatDSN(), "read_timeout_seconds": 1, "chunk_size": 1}
	}
	const stalled = "no reply from the server for 1s: the connection is taken for dead"
	t.Run("FULL_TABLE read", func(t *testing.T) {
		b, err := os.ReadFile(e.catalog)
		if err != nil {
			t.Fatal(err)
		}
		cat := writeConfig(t, e.dir, "full.json", jsonRaw(bytes.ReplaceAll(b, []byte(`"LOG_BASED"`), []byte(`"FULL_TABLE"`))))
		proxy := faultproxy.New(t, server)
		r := e.start(through(proxy), cat, "")
		// The tap waits on its first output (before its first chunk):
		// the proxy stalls then.
		release := r.Out.Block()
		defer release()
		r.Out.WaitBlocked(t, r.Done)
		proxy.Stall()
		release()
		code, stderr := r.Wait(t)
		wantOneLine(t, code, stderr, `tap-mysql: error: stream "f-items": reading f-items: `, stalled)
	})
	t.Run("binlog stream", func(t *testing.T) {
		proxy := faultproxy.New(t, server)
		extra := through(proxy)
		extra["binlog_idle_seconds"] = 600
		r := e.start(extra, e.catalog, state)
		e.exec("INSERT INTO f.items VALUES (5, 'e')")
		r.Out.WaitLine(t, r.Done, `"record":{"id":5,"v":"e"`)
		proxy.Stall()
		code, stderr := r.Wait(t)
		wantOneLine(t, code, stderr, "tap-mysql: error: LOG_BASED: binlog at mysql-bin.", stalled+": run again to resume from the last state")
	})
}

// jsonRaw is JSON text that writeConfig writes as is.
type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }

package canary

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/singerkit/singerkit/internal/runner"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// planted is a password the local servers accept and ignore (trust
// authentication): no output may show it.
const planted = "pl4nted-Canary-pw"

func pgURL() string {
	if u := os.Getenv("TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://root@127.0.0.1:5432/test?sslmode=disable"
}

func myDSN() string {
	if u := os.Getenv("TEST_MYSQL_URL"); u != "" {
		return u
	}
	return "root@tcp(127.0.0.1:3306)/test"
}

func mysqlDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", myDSN())
	if err == nil {
		err = db.PingContext(context.Background())
	}
	if err != nil {
		testenv.Missing(t, "MariaDB unreachable, set TEST_MYSQL_URL: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mysqlDatabase(t *testing.T, db *sql.DB, name string) {
	t.Helper()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
}

func withPassword(u string) string {
	return strings.Replace(u, "postgres://root@", "postgres://root:"+planted+"@", 1)
}

// uniqueName is a name for this test's server objects.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()%1_000_000_000)
}

func postgres(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, pgURL())
	if err != nil {
		testenv.Missing(t, "PostgreSQL unreachable, set TEST_POSTGRES_URL: %v", err)
	}
	t.Cleanup(func() { pg.Close(context.Background()) })
	return pg
}

func pgSchema(t *testing.T, pg *pgx.Conn, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := pg.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+name+" CASCADE") })
}

func binary(t *testing.T, name string) string {
	t.Helper()
	return sqltargettest.BuildBinary(t, name)
}

// writeProject writes singer.yaml into a new directory.
func writeProject(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "singer.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func noPlanted(t *testing.T, outs ...string) {
	t.Helper()
	for _, s := range outs {
		if strings.Contains(s, planted) {
			t.Fatalf("the planted password appears in the output:\n%s", s)
		}
	}
}

// canary runs `singer canary ARGS...` in-process.
func canary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"canary"}, args...), strings.NewReader(""), &out, &errb)
	noPlanted(t, out.String(), errb.String())
	return code, out.String(), errb.String()
}

// run runs `singer run` in-process and fails the test unless it succeeds.
func run(t *testing.T, path string, pipelines ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	code := runner.Main(context.Background(), append([]string{"run", "--project", path}, pipelines...), strings.NewReader(""), &out, &errb)
	noPlanted(t, out.String(), errb.String())
	if code != 0 {
		t.Fatalf("singer run: exit %d\n%s", code, errb.String())
	}
	return errb.String()
}

// send sends one tracer per named pipeline and returns them.
func send(t *testing.T, path string, pipelines ...string) []Sent {
	t.Helper()
	code, out, stderr := canary(t, append([]string{"send", "--format", "json", "--project", path}, pipelines...)...)
	if code != 0 {
		t.Fatalf("canary send: exit %d\n%s%s", code, out, stderr)
	}
	var sent []Sent
	if err := json.Unmarshal([]byte(out), &sent); err != nil {
		t.Fatalf("send output %q: %v", out, err)
	}
	return sent
}

// check runs `singer canary check --format json` and returns its result.
func check(t *testing.T, path string, pipelines ...string) (int, *Result, string) {
	t.Helper()
	code, out, stderr := canary(t, append([]string{"check", "--format", "json", "--project", path}, pipelines...)...)
	var res Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("check output %q (exit %d, %s): %v", out, code, stderr, err)
	}
	return code, &res, stderr
}

// status returns the one status of a pipeline and destination.
func status(t *testing.T, res *Result, pipeline, dest string) Status {
	t.Helper()
	for _, s := range res.Statuses {
		if s.Pipeline == pipeline && s.Destination == dest {
			return s
		}
	}
	t.Fatalf("no status for %s / %s in %+v", pipeline, dest, res.Statuses)
	return Status{}
}

// arrived asserts that the latest tracer of a pipeline arrived in dest,
// with the latency the check measured: from its send to the check.
func arrived(t *testing.T, res *Result, s Sent, dest string) float64 {
	t.Helper()
	st := status(t, res, s.Pipeline, dest)
	if st.Status != "arrived" || st.Tracer != s.ID || st.LatencySeconds == nil || st.LastArrival == nil {
		t.Fatalf("tracer %s in %s: %+v", s.ID, dest, st)
	}
	want := st.LastArrival.Sub(s.SentAt).Seconds()
	if *st.LatencySeconds != want || *st.LatencySeconds <= 0 || !st.LastArrival.Equal(res.CheckedAt) {
		t.Fatalf("latency %v, want %v (sent %s, arrived %s, checked %s)", *st.LatencySeconds, want, s.SentAt, st.LastArrival, res.CheckedAt)
	}
	return *st.LatencySeconds
}

// arrivedAt asserts that the latest tracer of a pipeline arrived in dest
// at the time the target loaded it (its metadata column), with the
// latency from its send to then.
func arrivedAt(t *testing.T, res *Result, s Sent, dest string, loaded time.Time) {
	t.Helper()
	st := status(t, res, s.Pipeline, dest)
	if st.Status != "arrived" || st.Tracer != s.ID || st.LatencySeconds == nil || st.LastArrival == nil {
		t.Fatalf("tracer %s in %s: %+v", s.ID, dest, st)
	}
	if !st.LastArrival.Equal(loaded) || *st.LatencySeconds != loaded.Sub(s.SentAt).Seconds() || !loaded.Before(res.CheckedAt) {
		t.Fatalf("arrival %s latency %v, want %s (loaded) and %v (sent %s, checked %s)", st.LastArrival, *st.LatencySeconds, loaded, loaded.Sub(s.SentAt).Seconds(), s.SentAt, res.CheckedAt)
	}
}

func pgCount(t *testing.T, pg *pgx.Conn, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pg.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// scrape runs `singer canary serve` on a free port, waits for its first
// check to show in /metrics, returns the page and stops the server
// (exit 0 expected).
func scrape(t *testing.T, path string, until string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"canary", "serve", "--project", path, "--listen", "127.0.0.1:0", "--interval", "1h"}, strings.NewReader(""), &out, &errb)
	}()
	deadline := time.Now().Add(30 * time.Second)
	var addr string
	for addr == "" {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", errb.String())
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d:\n%s", code, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
		if _, rest, ok := strings.Cut(errb.String(), "serving metrics on http://"); ok {
			addr, _, _ = strings.Cut(rest, "/metrics")
		}
	}
	var page string
	for !strings.Contains(page, until) {
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed %q:\n%s\n%s", until, page, errb.String())
		}
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page = string(b)
		if !strings.Contains(page, until) {
			time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve stopped with exit %d:\n%s", code, errb.String())
	}
	noPlanted(t, out.String(), errb.String())
	return page
}

// metric returns the value of one metric line of a /metrics page.
func metric(t *testing.T, page, series string) string {
	t.Helper()
	for _, l := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v
		}
	}
	t.Fatalf("no %s in\n%s", series, page)
	return ""
}

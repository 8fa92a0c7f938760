package runner

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestKilledRunResumesExactly: tap-mysql (FULL_TABLE in chunks) into
// target-postgres under singer run; the runner is SIGKILLed in the middle
// of the run, after target-postgres committed some chunks and the runner
// saved their state. The rerun resumes from that state and the table then
// holds every source row exactly once, with its exact values.
//
// The kill point is made certain by a wrapper around tap-mysql that
// passes its first lines and then holds (as a tap waiting on a slow
// source does): the target commits what it has on its batch age, the
// runner saves the state, and the test kills the runner then.
func TestKilledRunResumesExactly(t *testing.T) {
	ctx := context.Background()
	my, err := sql.Open("mysql", testenv.MySQLDSN())
	if err == nil {
		err = my.PingContext(ctx)
	}
	if err != nil {
		testenv.Missing(t, "MariaDB unreachable, set TEST_MYSQL_URL: %v", err)
	}
	defer my.Close()
	pg, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		testenv.Missing(t, "PostgreSQL unreachable, set TEST_POSTGRES_URL: %v", err)
	}
	defer pg.Close(ctx)

	const rows = 5000
	name := fmt.Sprintf("runkill_%d", time.Now().UnixNano()%1_000_000_000)
	for _, s := range []string{
		"CREATE DATABASE " + name,
		"CREATE TABLE " + name + ".items (id int PRIMARY KEY, name varchar(40), amount decimal(12,2))",
		"INSERT INTO " + name + ".items SELECT seq, CONCAT('item ', seq), seq / 100 FROM seq_1_to_" + strconv.Itoa(rows),
	} {
		if _, err := my.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { my.Exec("DROP DATABASE IF EXISTS " + name) })
	dst := name + "_dst"
	t.Cleanup(func() { pg.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+dst+" CASCADE") })

	tapBin := sqltargettest.BuildBinary(t, "tap-mysql")
	targetBin := sqltargettest.BuildBinary(t, "target-postgres")
	singerBin := sqltargettest.BuildBinary(t, "singer")
	dir := t.TempDir()
	// HOLD_AFTER lines of a sync pass, then the wrapper holds (its process
	// group is killed at cleanup); unset, or to discover, it is the tap.
	wrapper := filepath.Join(dir, "tap-held.sh")
	os.WriteFile(wrapper, []byte(`#!/bin/sh
case " $* " in *" --discover "*) exec "$TAP_BIN" "$@" ;; esac
if [ -z "$HOLD_AFTER" ]; then exec "$TAP_BIN" "$@"; fi
echo $$ > "$HOLD_PID"
"$TAP_BIN" "$@" | { head -n "$HOLD_AFTER"; exec sleep 100000; }
`), 0o755)
	t.Setenv("TAP_BIN", tapBin)
	path := filepath.Join(dir, "singer.yaml")
	src := `connectors:
  shop-db:
    command: ` + wrapper + `
    config: {dsn: "${SHOP_DSN}", filter_dbs: [` + name + `], chunk_size: 500}
    select: ["` + name + `-items.*"]
    metadata:
      ` + name + `-items: {replication-method: FULL_TABLE}
  warehouse:
    command: ` + targetBin + `
    config: {url: "${WAREHOUSE_URL}", default_target_schema: ` + dst + `, schema_mapping: {` + name + `: {target_schema: ` + dst + `}}, max_batch_age_seconds: 0.2}
pipelines:
  p1:
    tap: shop-db
    target: warehouse
state: file://state
`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SHOP_DSN", testenv.MySQLDSN())
	t.Setenv("WAREHOUSE_URL", withPassword(testenv.PostgresURL()))
	holdPID := filepath.Join(dir, "hold.pid")
	t.Setenv("HOLD_PID", holdPID)
	// SCHEMA, ACTIVATE_VERSION, then 500 records and a STATE a chunk: 1,600
	// lines hold three chunks and part of the fourth.
	t.Setenv("HOLD_AFTER", "1600")

	cmd := exec.Command(singerBin, "run", "--project", path, "p1")
	cmd.Env = os.Environ()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(dir, "state", "p1.state.json")
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(statePath)
		if strings.Contains(string(b), `"last_pk_fetched":{"id":1500}`) {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no saved state of the third chunk; state %s\nstderr:\n%s", b, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	testenv.WaitFor(t, "the wrapper's pid", func() bool { b, _ := os.ReadFile(holdPID); return len(b) > 0 })
	b, _ := os.ReadFile(holdPID)
	wpid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	t.Cleanup(func() { syscall.Kill(-wpid, syscall.SIGKILL) }) // the held sleep, whatever happened
	cmd.Process.Kill()
	cmd.Wait()
	var landed int
	if err := pg.QueryRow(ctx, "SELECT count(*) FROM "+dst+".items").Scan(&landed); err != nil {
		t.Fatal(err)
	}
	if landed < 1500 || landed >= rows {
		t.Fatalf("%d rows landed before the kill: want a run killed in the middle (the first three chunks committed)", landed)
	}
	saved, _ := os.ReadFile(statePath)

	t.Setenv("HOLD_AFTER", "")
	code, _, errs := runMain(t, "run", "--project", path, "p1")
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, errs)
	}
	// Every source row exactly once, with its values.
	var n, distinct int
	var mismatched int
	err = pg.QueryRow(ctx, `SELECT count(*), count(DISTINCT id),
	  count(*) FILTER (WHERE name <> 'item ' || id OR amount <> round(id / 100.0, 2))
	  FROM `+dst+`.items`).Scan(&n, &distinct, &mismatched)
	if err != nil {
		t.Fatal(err)
	}
	var lo, hi int
	pg.QueryRow(ctx, "SELECT min(id), max(id) FROM "+dst+".items").Scan(&lo, &hi)
	if n != rows || distinct != rows || mismatched != 0 || lo != 1 || hi != rows {
		t.Fatalf("after the rerun: %d rows, %d distinct ids (%d..%d), %d with other values; want %d rows, ids 1..%d, values as at the source (saved state before the rerun: %s)",
			n, distinct, lo, hi, mismatched, rows, rows, saved)
	}
	if !strings.Contains(errs, "records: "+name+"-items ") || strings.Contains(errs, "records: "+name+"-items "+strconv.Itoa(rows)+";") {
		t.Errorf("the rerun should have resumed from the saved state, not read all %d rows again:\n%s", rows, errs)
	}
}

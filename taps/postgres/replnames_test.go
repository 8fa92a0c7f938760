package postgres

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
)

// Replication slots and publications live on the whole server, not in a
// test's schema: two runs of the tests on one server (two checkouts, a
// rerun while a killed run's slot is still there) must never share one, and
// a slot left behind keeps WAL forever. So each test gets names made of
// sktest_, the time, the process and a sequence number, and drops them at
// cleanup, also when it fails; slots of a run that could not clean up (a
// killed process) are dropped by the next run once they are an hour old
// and inactive.

const replPrefix = "sktest_"

var replSeq atomic.Int64

// replicationNames returns a slot and a publication name unique to this
// test and run (tag says which test: lower case, digits, _), both dropped
// at cleanup.
func replicationNames(t *testing.T, tag string) (slot, pub string) {
	t.Helper()
	sweepLeakedReplication(t)
	base := fmt.Sprintf("%s%d_%d_%d_%s", replPrefix, time.Now().Unix(), os.Getpid(), replSeq.Add(1), tag)
	if len(base) > 58 {
		base = base[:58]
	}
	slot, pub = base, base+"_pub"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, testenv.PostgresURL())
		if err != nil {
			t.Errorf("dropping slot %s and publication %s: %v", slot, pub, err)
			return
		}
		defer conn.Close(context.Background())
		if err := dropReplication(ctx, conn, slot, pub); err != nil {
			t.Errorf("dropping slot %s and publication %s: %v", slot, pub, err)
		}
	})
	return slot, pub
}

// dropReplication drops a slot (ending the walsender that still reads it,
// if any) and a publication; neither need exist.
func dropReplication(ctx context.Context, conn *pgx.Conn, slot, pub string) error {
	if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL", slot); err != nil {
		return err
	}
	// A terminated walsender releases its slot a moment later.
	for try := 0; ; try++ {
		_, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot)
		if err == nil {
			break
		}
		if try == 100 || !strings.Contains(err.Error(), "is active") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
	_, err := conn.Exec(ctx, "DROP PUBLICATION IF EXISTS "+quoteIdent(pub))
	return err
}

var swept atomic.Bool

// sweepLeakedReplication drops, once per process, the inactive test slots
// and their publications made over an hour ago by a run that did not clean
// up.
func sweepLeakedReplication(t *testing.T) {
	t.Helper()
	if swept.Swap(true) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		return // the test's own connect says so
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT slot_name FROM pg_replication_slots WHERE NOT active AND starts_with(slot_name, $1)
		UNION SELECT substr(pubname, 1, length(pubname) - 4) FROM pg_publication WHERE starts_with(pubname, $1) AND pubname LIKE '%\_pub'`, replPrefix)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		unix, _, _ := strings.Cut(strings.TrimPrefix(name, replPrefix), "_")
		made, err := strconv.ParseInt(unix, 10, 64)
		if err != nil || time.Since(time.Unix(made, 0)) < time.Hour {
			continue
		}
		if err := dropReplication(ctx, conn, name, name+"_pub"); err != nil {
			t.Logf("dropping the leaked slot %s: %v", name, err)
		}
	}
}

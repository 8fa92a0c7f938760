package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestRowCountNeverAnalyzed checks the row-count estimate of tables never
// vacuumed or analyzed (reltuples = -1): the statistics' live-row count, for
// a plain table and for a partitioned one (the sum of its partitions), and
// the planner's estimate once analyzed.
func TestRowCountNeverAnalyzed(t *testing.T) {
	conn := connect(t)
	schema := testSchema(t, conn)
	ctx := context.Background()
	exec := func(sql string) { t.Helper(); mustExec(t, conn, sql) }
	tbl := func(n string) string { return pgx.Identifier{schema, n}.Sanitize() }
	exec("CREATE TABLE " + tbl("fresh") + " (id integer)")
	exec("CREATE TABLE " + tbl("analyzed") + " (id integer)")
	exec("CREATE TABLE " + tbl("parts") + " (id integer) PARTITION BY RANGE (id)")
	exec("CREATE TABLE " + tbl("parts_a") + " PARTITION OF " + tbl("parts") + " FOR VALUES FROM (0) TO (100)")
	exec("CREATE TABLE " + tbl("parts_b") + " PARTITION OF " + tbl("parts") + " FOR VALUES FROM (100) TO (200)")
	exec("CREATE TABLE " + tbl("empty") + " (id integer)")
	exec("INSERT INTO " + tbl("fresh") + " SELECT generate_series(1, 37)")
	exec("INSERT INTO " + tbl("analyzed") + " SELECT generate_series(1, 12)")
	exec("INSERT INTO " + tbl("parts") + " SELECT generate_series(1, 150)")
	exec("ANALYZE " + tbl("analyzed"))
	// The statistics of this session reach the shared counters now, not
	// up to a second later.
	exec("SELECT pg_stat_force_next_flush()")
	exec("SELECT 1")

	var reltuples float64
	if err := conn.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = $1::regclass", tbl("fresh")).Scan(&reltuples); err != nil || reltuples != -1 {
		t.Fatalf("reltuples of a new table = %v, %v; the test expects -1", reltuples, err)
	}
	tables, err := testDriver(t, schema).Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*int64{}
	for _, tb := range tables {
		got[tb.Name] = tb.RowCount
	}
	for name, want := range map[string]int64{"fresh": 37, "analyzed": 12, "parts": 150, "empty": 0} {
		if got[name] == nil || *got[name] != want {
			t.Errorf("row-count of %s = %v, want %d", name, show(got[name]), want)
		}
	}
}

func show(p *int64) any {
	if p == nil {
		return "absent"
	}
	return *p
}

package runner

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/singerkit/singerkit/internal/statestore"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// withPassword puts the planted password in a PostgreSQL URL: the local
// server trusts its users, so it is accepted and ignored, and any output
// that leaks it is caught.
func withPassword(u string) string {
	return strings.Replace(u, "postgres://root@", "postgres://root:"+planted+"@", 1)
}

// TestMySQLToPostgresFromProject runs tap-mysql into target-postgres from a
// project file on the PostgreSQL state store: rows land without the
// excluded column, the state is saved, the second run is incremental, a
// second concurrent run is refused, and the planted password appears in no
// output.
func TestMySQLToPostgresFromProject(t *testing.T) {
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

	name := fmt.Sprintf("runner_%d", time.Now().UnixNano()%1_000_000_000)
	for _, s := range []string{
		"CREATE DATABASE " + name,
		"CREATE TABLE " + name + ".items (id int PRIMARY KEY, name varchar(20), ssn varchar(11))",
		"INSERT INTO " + name + ".items VALUES (1,'a','111-11-1111'),(2,'b','222-22-2222'),(3,'c','333-33-3333')",
		"CREATE TABLE " + name + ".skipped (id int PRIMARY KEY)",
	} {
		if _, err := my.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { my.Exec("DROP DATABASE IF EXISTS " + name) })
	dst := name + "_dst"
	if _, err := pg.Exec(ctx, "CREATE SCHEMA "+dst); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+dst+" CASCADE") })

	binDir := filepath.Dir(sqltargettest.BuildBinary(t, "tap-mysql"))
	sqltargettest.BuildBinary(t, "target-postgres")
	tapBin := filepath.Join(binDir, "tap-mysql")
	targetBin := filepath.Join(filepath.Dir(sqltargettest.BuildBinary(t, "target-postgres")), "target-postgres")

	dir := t.TempDir()
	path := filepath.Join(dir, "singer.yaml")
	src := `connectors:
  shop-db:
    command: ` + tapBin + `
    config: {dsn: "${SHOP_DSN}", filter_dbs: [` + name + `]}
    select: ["` + name + `-items.*", "!*.ssn"]
    metadata:
      ` + name + `-items: {replication-method: INCREMENTAL, replication-key: id}
  warehouse:
    command: ` + targetBin + `
    config:
      url: ${WAREHOUSE_URL}
      default_target_schema: ` + dst + `
      schema_mapping: {` + name + `: {target_schema: ` + dst + `}}
pipelines:
  ` + name + `:
    tap: shop-db
    target: warehouse
state: ${STATE_URL}
`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SHOP_DSN", testenv.MySQLDSN())
	t.Setenv("WAREHOUSE_URL", withPassword(testenv.PostgresURL()))
	t.Setenv("STATE_URL", withPassword(testenv.PostgresURL()))

	rows := func() string {
		t.Helper()
		r, err := pg.Query(ctx, "SELECT id::text || ':' || name FROM "+dst+".items ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(r, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, ",")
	}

	code, _, stderr := runMain(t, "run", "--project", path, name)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if got := rows(); got != "1:a,2:b,3:c" {
		t.Fatalf("rows after the first run: %s", got)
	}
	var ssn int
	pg.QueryRow(ctx, "SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'ssn'", dst).Scan(&ssn)
	if ssn != 0 {
		t.Fatal("the excluded column ssn reached the target")
	}
	var skipped int
	pg.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'skipped'", dst).Scan(&skipped)
	if skipped != 0 {
		t.Fatal("the unselected table reached the target")
	}
	st, err := statestore.OpenPostgres(ctx, testenv.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t.Cleanup(func() {
		pg.Exec(context.Background(), "DELETE FROM singer_state WHERE pipeline = $1", name)
		pg.Exec(context.Background(), "DELETE FROM singer_runs WHERE pipeline = $1", name)
	})
	saved, _ := st.State(ctx, name)
	if !strings.Contains(string(saved), `"replication_key_value":3`) {
		t.Fatalf("saved state %s", saved)
	}

	// Second run: only rows from the bookmark on (>= 3); the update of row
	// 1 is not seen, which shows the run was incremental.
	for _, s := range []string{"UPDATE " + name + ".items SET name = 'changed' WHERE id = 1", "INSERT INTO " + name + ".items VALUES (4,'d','444'),(5,'e','555')"} {
		if _, err := my.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	code, _, stderr = runMain(t, "run", "--project", path, name)
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	if got := rows(); got != "1:a,2:b,3:c,4:d,5:e" {
		t.Fatalf("rows after the second run: %s", got)
	}
	if !strings.Contains(stderr, "records: "+name+"-items 3;") {
		t.Errorf("summary of the second run:\n%s", stderr)
	}
	runs, _ := st.Runs(ctx, name)
	if len(runs) != 2 || runs[1].Status != "success" || runs[1].Records[name+"-items"] != 3 {
		t.Fatalf("run history %+v", runs)
	}

	// A concurrent run is refused while another holds the lock.
	unlock, err := st.Lock(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runMain(t, "run", "--project", path, name)
	unlock()
	if code != ExitLocked || !strings.Contains(stderr, "another run of "+name+" is in progress") {
		t.Fatalf("concurrent run: exit %d\n%s", code, stderr)
	}
	if runs2, _ := st.Runs(ctx, name); len(runs2) != 2 {
		t.Fatal("the refused run was recorded or ran")
	}
}

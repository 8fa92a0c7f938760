package mysql

import (
	"context"
	"database/sql"
	"io"
	"testing"

	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
)

// BenchmarkFullTable reads a 10-column table of 200k rows with the engine
// into io.Discard and reports rows/s (scripts/bench-tap-mysql.sh compares
// the 1M-row figure with the mariadb client).
func BenchmarkFullTable(b *testing.B) {
	db, err := sql.Open("mysql", testenv.MySQLDSN())
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		testenv.Missing(b, "MySQL unreachable, set TEST_MYSQL_URL: %v", err)
	}
	defer db.Close()
	const name = "tapmy_bench"
	for _, s := range []string{
		"DROP DATABASE IF EXISTS " + name, "CREATE DATABASE " + name,
		"CREATE TABLE " + name + ".t (id bigint PRIMARY KEY, a int, b text, c decimal(12,2), d timestamp NULL, e tinyint(1), f double, g varchar(40), h date, i bigint)",
		`INSERT INTO ` + name + `.t WITH d(n) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
			UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9),
			s(i) AS (SELECT a.n*10000 + b.n*1000 + c.n*100 + e.n*10 + f.n + 1 FROM d a, d b, d c, d e, d f)
			SELECT i, i % 1000, CONCAT('text ', i), i * 1.25, TIMESTAMP('2024-01-01') + INTERVAL i SECOND, i % 2, i / 3e0, CONCAT('v', i),
			DATE('2024-01-01') + INTERVAL (i % 1000) DAY, i * 7 FROM s
			UNION ALL SELECT i + 100000, i % 1000, CONCAT('text ', i), i * 1.25, TIMESTAMP('2024-01-01') + INTERVAL i SECOND, i % 2, i / 3e0, CONCAT('v', i),
			DATE('2024-01-01') + INTERVAL (i % 1000) DAY, i * 7 FROM s`,
	} {
		if _, err := db.Exec(s); err != nil {
			b.Fatal(err)
		}
	}
	defer db.Exec("DROP DATABASE IF EXISTS " + name)
	ctx := context.Background()
	cfg := &Config{DSN: testenv.MySQLDSN(), FilterDBs: []string{name}, ChunkSize: 50000}
	d, err := Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	cat, err := Engine(cfg, d, nil).Discover(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cat.Streams[0].Metadata.SetSelected(nil, true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := singer.NewEncoder(io.Discard)
		if err := Engine(cfg, d, nil).Sync(ctx, cat, singer.NewState(), out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(200000*b.N)/b.Elapsed().Seconds(), "rows/s")
}

package postgres

import (
	"context"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
)

// BenchmarkFullTable reads a 10-column table of 200k rows with the engine
// into io.Discard and reports rows/s, next to psql's \copy ... TO STDOUT CSV
// of the same table in the same run (when psql is installed) and the ratio.
func BenchmarkFullTable(b *testing.B) {
	conn, err := pgx.Connect(context.Background(), testenv.PostgresURL())
	if err != nil {
		testenv.Missing(b, "PostgreSQL unreachable, set TEST_POSTGRES_URL: %v", err)
	}
	defer conn.Close(context.Background())
	const rows = 200000
	schema := "tappg_bench"
	ctx := context.Background()
	for _, sql := range []string{
		"DROP SCHEMA IF EXISTS " + schema + " CASCADE", "CREATE SCHEMA " + schema,
		"CREATE TABLE " + schema + ".t (id bigint PRIMARY KEY, a int, b text, c numeric(12,2), d timestamptz, e boolean, f double precision, g varchar(40), h date, i bigint)",
		"INSERT INTO " + schema + ".t SELECT i, i%1000, 'text ' || i, i*1.25, now() - i * interval '1 second', i%2=0, i/3.0, 'v' || i, current_date - (i%1000), i*7 FROM generate_series(1, 200000) i",
		"ANALYZE " + schema + ".t",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	defer conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	d, err := Open(ctx, &Config{URL: testenv.PostgresURL(), FilterSchemas: []string{schema}})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	cat, err := Engine(&Config{}, d, nil).Discover(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cat.Streams[0].Metadata.SetSelected(nil, true)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		e := Engine(&Config{Itersize: 50000}, d, nil)
		out := singer.NewEncoder(io.Discard)
		if err := e.Sync(ctx, cat, singer.NewState(), out); err != nil {
			b.Fatal(err)
		}
	}
	tapRate := float64(rows*b.N) / time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(tapRate, "rows/s")
	if _, err := exec.LookPath("psql"); err == nil {
		start = time.Now()
		cmd := exec.Command("psql", testenv.PostgresURL(), "-c", `\copy (SELECT * FROM `+schema+`.t) TO STDOUT CSV`)
		cmd.Stdout = io.Discard
		if err := cmd.Run(); err == nil {
			psqlRate := rows / time.Since(start).Seconds()
			b.ReportMetric(psqlRate, "psql-rows/s")
			b.ReportMetric(tapRate/psqlRate, "x-psql")
		}
	}
}

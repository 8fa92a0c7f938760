package mysql

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
	tappg "github.com/singerkit/singerkit/taps/postgres"
)

func postgresURL() string {
	if u := os.Getenv("TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://root@127.0.0.1:5432/test?sslmode=disable"
}

// TestPostgresToMySQL pipes tap-postgres into target-mysql (both in-process,
// through their command lines) and compares the tables row for row, after
// a first run and after changes at the source.
func TestPostgresToMySQL(t *testing.T) {
	connect(t)
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, postgresURL())
	if err != nil {
		testenv.Missing(t, "PostgreSQL unreachable, set TEST_POSTGRES_URL: %v", err)
	}
	defer pg.Close(ctx)
	src := fmt.Sprintf("sk_pg2my_%d", time.Now().UnixNano()%1_000_000)
	exec := func(sql string) {
		t.Helper()
		if _, err := pg.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE SCHEMA " + src)
	t.Cleanup(func() { pg.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+src+" CASCADE") })
	exec(`CREATE TABLE ` + src + `.orders (id bigint PRIMARY KEY, name varchar(40), amount numeric(12,3),
		placed timestamptz, due date, paid boolean, doc jsonb, note text)`)
	exec(`INSERT INTO ` + src + `.orders SELECT i, 'name ' || i || E' "q" ü', i * 1.125,
		'2024-01-01 00:00:00+00'::timestamptz + i * interval '1 hour 1.5 second', DATE '2024-01-01' + i, i % 2 = 0,
		jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i)), CASE WHEN i % 5 = 0 THEN NULL ELSE 'n' END
		FROM generate_series(1, 1500) AS i`)

	cfg, db := harness{}.Config(t)
	cfg["add_metadata_columns"] = true
	cfg["hard_delete"] = true
	cfg["schema_mapping"] = map[string]any{src: map[string]any{"target_schema": db}}
	dir := t.TempDir()
	write := func(name string, v any) string {
		p := filepath.Join(dir, name)
		b, _ := json.Marshal(v)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tapCfg := write("tap.json", map[string]any{"url": postgresURL(), "filter_schemas": []string{src}, "itersize": 400})
	tgtCfg := write("target.json", cfg)
	var catOut, stderr bytes.Buffer
	if code := singer.RunTap(ctx, tappg.Spec(), []string{"--config", tapCfg, "--discover"}, nil, &catOut, &stderr); code != 0 {
		t.Fatalf("discover: exit %d: %s", code, stderr.String())
	}
	cat, err := singer.ReadCatalog(&catOut)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cat.Streams {
		cat.Streams[i].Metadata.SetSelected(nil, true)
	}
	var cb bytes.Buffer
	cat.WriteJSON(&cb)
	catPath := filepath.Join(dir, "catalog.json")
	os.WriteFile(catPath, cb.Bytes(), 0o600)
	statePath := filepath.Join(dir, "state.json")

	pipe := func() {
		t.Helper()
		args := []string{"--config", tapCfg, "--catalog", catPath}
		if _, err := os.Stat(statePath); err == nil {
			args = append(args, "--state", statePath)
		}
		pr, pw := io.Pipe()
		var tapErr, tgtErr, states bytes.Buffer
		done := make(chan int)
		go func() {
			code := singer.RunTap(ctx, tappg.Spec(), args, nil, pw, &tapErr)
			pw.Close()
			done <- code
		}()
		tgtCode := singer.RunTarget(ctx, Spec(), []string{"--config", tgtCfg}, pr, &states, &tgtErr)
		_, _ = io.Copy(io.Discard, pr)
		if code := <-done; code != 0 {
			t.Fatalf("tap exit %d: %s", code, tapErr.String())
		}
		if tgtCode != 0 {
			t.Fatalf("target exit %d: %s", tgtCode, tgtErr.String())
		}
		lines := strings.Split(strings.TrimSpace(states.String()), "\n")
		os.WriteFile(statePath, []byte(lines[len(lines)-1]), 0o600)
	}
	// The source rendered as the suite's harness renders MySQL rows.
	source := func() []string {
		rows, err := pg.Query(ctx, `SELECT id::text, name, trim_scale(amount)::text,
			to_char(placed AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), due::text, paid::text, doc::text, note
			FROM `+src+`.orders o ORDER BY o.id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			vals := make([]*string, 8)
			ptrs := make([]any, 8)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			parts := make([]string, 8)
			for i, v := range vals {
				switch {
				case v == nil:
					parts[i] = "NULL"
				case i == 6: // jsonb: compact, sorted keys
					var d any
					json.Unmarshal([]byte(*v), &d)
					b, _ := json.Marshal(d)
					parts[i] = string(b)
				default:
					parts[i] = *v
				}
			}
			out = append(out, strings.Join(parts, "|"))
		}
		return out
	}
	compare := func() {
		t.Helper()
		want := source()
		got := harness{}.Rows(t, db, "orders", []string{"id", "name", "amount", "placed", "due", "paid", "doc", "note"}, "id")
		if len(got) != len(want) {
			t.Fatalf("destination has %d rows, source %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("row %d differs:\n src %s\n dst %s", i, want[i], got[i])
			}
		}
	}
	pipe()
	compare()
	exec(`UPDATE ` + src + `.orders SET name = 'changed', amount = -0.001 WHERE id % 100 = 0`)
	exec(`DELETE FROM ` + src + `.orders WHERE id = 7`)
	exec(`INSERT INTO ` + src + `.orders (id, name) VALUES (9999, 'new')`)
	pipe()
	compare()
}

package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/singer"
	targetpg "github.com/singerkit/singerkit/targets/postgres"
)

// TestEndToEnd pipes tap-postgres into target-postgres, both in-process
// through their command lines, and compares the tables row for row; a
// second run after changes must leave them equal again.
func TestEndToEnd(t *testing.T) {
	conn := connect(t)
	src := testSchema(t, conn)
	dst := src + "_dst"
	if len(dst) > 63 {
		dst = dst[len(dst)-63:]
	}
	ctx := context.Background()
	exec := func(sql string) { t.Helper(); mustExec(t, conn, sql) }
	qdst := pgx.Identifier{dst}.Sanitize()
	exec("DROP SCHEMA IF EXISTS " + qdst + " CASCADE")
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+qdst+" CASCADE") })

	tbl := pgx.Identifier{src, "orders"}.Sanitize()
	exec(`CREATE TABLE ` + tbl + ` (
		id bigint PRIMARY KEY, name varchar(40), amount numeric(12,3), ratio double precision,
		placed timestamptz, due date, paid boolean, doc jsonb, note text, grid integer[][])`)
	exec(`INSERT INTO ` + tbl + ` SELECT i, 'name ' || i || E' "q"\n', i * 1.125, i / 7.0,
		'2024-01-01 00:00:00+00'::timestamptz + i * interval '1 hour 1 second', DATE '2024-01-01' + i, i % 2 = 0,
		jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i)), CASE WHEN i % 5 = 0 THEN NULL ELSE 'n' END,
		ARRAY[[i, i + 1], [i + 2, NULL]]
		FROM generate_series(1, 2500) AS i`)

	dir := t.TempDir()
	write := func(name string, v any) string {
		p := filepath.Join(dir, name)
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tapCfg := write("tap.json", map[string]any{"url": testURL(), "filter_schemas": []string{src}, "itersize": 1000})
	tgtCfg := write("target.json", map[string]any{"url": testURL(), "default_target_schema": dst, "hard_delete": true, "add_metadata_columns": true,
		"schema_mapping": map[string]any{src: map[string]any{"target_schema": dst}}})

	var catOut, stderr bytes.Buffer
	if code := singer.RunTap(ctx, Spec(), []string{"--config", tapCfg, "--discover"}, nil, &catOut, &stderr); code != 0 {
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
	if err := cat.WriteJSON(&cb); err != nil {
		t.Fatal(err)
	}
	catPath := filepath.Join(dir, "catalog.json")
	if err := os.WriteFile(catPath, cb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

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
			code := singer.RunTap(ctx, Spec(), args, nil, pw, &tapErr)
			pw.Close()
			done <- code
		}()
		tgtCode := singer.RunTarget(ctx, targetpg.Spec(), []string{"--config", tgtCfg}, pr, &states, &tgtErr)
		_, _ = io.Copy(io.Discard, pr)
		if code := <-done; code != 0 {
			t.Fatalf("tap exit %d: %s", code, tapErr.String())
		}
		if tgtCode != 0 {
			t.Fatalf("target exit %d: %s", tgtCode, tgtErr.String())
		}
		lines := strings.Split(strings.TrimSpace(states.String()), "\n")
		if err := os.WriteFile(statePath, []byte(lines[len(lines)-1]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	compare := func() {
		t.Helper()
		const cols = `id::text, name, amount::text, ratio::text, placed::text, due::text, paid::text, doc::jsonb::text, coalesce(note, '<null>'), coalesce(to_jsonb(grid)::text, '<null>')`
		read := func(schema string) []string {
			rows, err := conn.Query(ctx, `SELECT concat_ws('|', `+cols+`) FROM `+pgx.Identifier{schema, "orders"}.Sanitize()+` ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			out, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		want, got := read(src), read(dst)
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

	exec(`UPDATE ` + tbl + ` SET name = 'changed', amount = -0.001 WHERE id % 100 = 0`)
	exec(`DELETE FROM ` + tbl + ` WHERE id = 7`)
	exec(`INSERT INTO ` + tbl + ` (id, name) VALUES (9999, 'new')`)
	pipe()
	// FULL_TABLE ends with ACTIVATE_VERSION: with hard_delete the row
	// deleted at the source is deleted at the destination too.
	compare()
}

package emulatortest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"cloud.google.com/go/bigquery"
	"github.com/singerkit/singerkit/singer"
	target "github.com/singerkit/singerkit/targets/bigquery"
)

// TestPostgresToBigQuery is the end-to-end check: a PostgreSQL table of
// many types, read by the tap-postgres binary (FULL_TABLE), piped into
// target-bigquery (in-process) against the emulator, then compared with the
// source row for row, every value exact.
func TestPostgresToBigQuery(t *testing.T) {
	pgURL := os.Getenv("TEST_POSTGRES_URL")
	if pgURL == "" {
		pgURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	if err := exec.Command("psql", pgURL, "-Atc", "SELECT 1").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at TEST_POSTGRES_URL is unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable (set TEST_POSTGRES_URL): %v", err)
	}
	schema := fmt.Sprintf("bqs_e2e_%d", time.Now().UnixNano())
	psql := func(sql string) string {
		t.Helper()
		cmd := exec.Command("psql", pgURL, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-At", "-F", "\x1f", "-P", "null=NULL", "-c", sql)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("psql %s: %v: %s", sql, err, errb.String())
		}
		return out.String()
	}
	t.Cleanup(func() { exec.Command("psql", pgURL, "-c", "DROP SCHEMA IF EXISTS "+schema+" CASCADE").Run() })
	psql(`CREATE SCHEMA ` + schema + `;
CREATE TABLE ` + schema + `.items (
  id bigint PRIMARY KEY,
  small smallint,
  price numeric(12,2),
  wide numeric(38,9),
  precise numeric(40,20),
  free numeric,
  name text,
  code varchar(10),
  at timestamptz,
  local timestamp,
  day date,
  doc jsonb,
  ok boolean
);
INSERT INTO ` + schema + `.items VALUES
 (1, 32767, 12.50, 12345678901234567890123456789.123456789, 12345678901234567890.12345678901234567890, 12345678901234567890123456789012345678.12345678901234567890123456789012345678,
  'Zoë 🚀 日本語 "quoted" tab	and' || chr(10) || 'newline', 'ab', '2024-02-29 23:59:59.123456+02', '2024-01-02 03:04:05.5', '2024-02-29',
  '{"a": [1, 2.50, {"b": null}], "ü": "x", "big": 123456789012345678901234567890.5}', true),
 (2, -32768, -0.01, -99999999999999999999999999999.999999999, -0.00000000000000000001, 0.1,
  '', 'x', '1970-01-01 00:00:00+00', '0001-01-01 00:00:00', '0001-01-01', '[]', false),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (9223372036854775807, 0, 0, 0, 0, -123456789012345678901234567890, 'last', NULL, '9999-12-31 23:59:59.999999+00', NULL, '9999-12-31', '"just a string"', NULL);`)

	// Discover, select the table, run the tap.
	dir := t.TempDir()
	tapCfg := filepath.Join(dir, "tap.json")
	writeJSON(t, tapCfg, map[string]any{"url": pgURL, "filter_schemas": []string{schema}})
	tap := buildBinary(t, "tap-postgres")
	disc, err := exec.Command(tap, "--config", tapCfg, "--discover").Output()
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	cat, err := singer.ReadCatalog(bytes.NewReader(disc))
	if err != nil {
		t.Fatal(err)
	}
	stream := schema + "-items"
	e := cat.Stream(stream)
	if e == nil {
		t.Fatalf("no stream %s in:\n%s", stream, disc)
	}
	e.Metadata.SetSelected(nil, true)
	catPath := filepath.Join(dir, "catalog.json")
	var cb bytes.Buffer
	if err := cat.WriteJSON(&cb); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(catPath, cb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	ds := dataset(t)
	tgtCfg := filepath.Join(dir, "target.json")
	// add_metadata_columns: the table is created with the _sdc_ columns.
	// Without it, the tap's ACTIVATE_VERSION makes the target add
	// _sdc_table_version and _sdc_deleted_at to the table it has just
	// created, and the emulator's MERGE does not see added columns (see
	// add_column in emulator_test.go).
	writeJSON(t, tgtCfg, map[string]any{"project": project, "dataset": ds, "api_endpoint": endpoint, "emulator": true,
		"add_metadata_columns": true,
		"schema_mapping":       map[string]any{schema: map[string]any{"target_schema": ds}}})
	cmd := exec.Command(tap, "--config", tapCfg, "--catalog", catPath)
	var tapErr bytes.Buffer
	cmd.Stderr = &tapErr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out, tgtErr bytes.Buffer
	code := cli.RunTarget(context.Background(), target.Spec(), []string{"--config", tgtCfg}, pipe, &out, &tgtErr)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tap-postgres: %v\n%s", err, tapErr.String())
	}
	if code != 0 {
		t.Fatalf("target-bigquery exit %d:\n%s", code, tgtErr.String())
	}
	// The last state is the tap's final bookmark, echoed once committed.
	states := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := states[len(states)-1]; !strings.Contains(last, `"`+stream+`"`) {
		t.Errorf("last state %s does not name the stream", last)
	}

	// Column types in BigQuery.
	md := metadata(t, ds, "items")
	var types []string
	for _, f := range md.Schema {
		if strings.HasPrefix(f.Name, "_sdc_") {
			continue // the metadata columns
		}
		ty := string(f.Type)
		if f.Precision > 0 {
			ty += fmt.Sprintf("(%d,%d)", f.Precision, f.Scale)
		}
		types = append(types, f.Name+" "+ty)
	}
	wantTypes := "id INTEGER, small INTEGER, price NUMERIC(12,2), wide NUMERIC(38,9), precise BIGNUMERIC(40,20), free BIGNUMERIC, name STRING, code STRING, at TIMESTAMP, local TIMESTAMP, day DATE, doc JSON, ok BOOLEAN"
	if got := strings.Join(types, ", "); got != wantTypes {
		t.Errorf("columns:\n got %s\nwant %s", got, wantTypes)
	}

	// Source rows, each value in the form the destination is rendered in.
	cols := []string{"id", "small", "price", "wide", "precise", "free", "name", "code", "at", "local", "day", "doc", "ok"}
	src := psql(`SELECT id, small, price, wide, precise, free, encode(convert_to(name, 'UTF8'), 'base64'), code,
  to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), to_char(local, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  to_char(day, 'YYYY-MM-DD'), doc::text, ok FROM ` + schema + `.items ORDER BY id`)
	var want []string
	for _, line := range strings.Split(strings.TrimSuffix(src, "\n"), "\n") {
		f := strings.Split(line, "\x1f")
		if len(f) != len(cols) {
			t.Fatalf("source line %q", line)
		}
		for i := range f {
			if f[i] == "NULL" {
				continue
			}
			switch cols[i] {
			case "price", "wide", "precise", "free":
				f[i] = exactDecimal(t, f[i])
			case "name":
				b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(f[i], "\n", ""))
				if err != nil {
					t.Fatal(err)
				}
				f[i] = string(b)
			case "doc":
				f[i] = canonicalJSON(t, f[i])
			case "ok":
				f[i] = map[string]string{"t": "true", "f": "false"}[f[i]]
			}
		}
		want = append(want, strings.Join(f, "|"))
	}
	got := destRows(t, ds, "items", cols)
	if len(got) != len(want) {
		t.Fatalf("%d rows in BigQuery, %d in PostgreSQL:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

// destRows reads the rows of a table, rendered as the harness does (exact
// numbers, UTC timestamps with microseconds, JSON canonical).
func destRows(t *testing.T, ds, table string, cols []string) []string {
	q := "SELECT `" + strings.Join(cols, "`, `") + "` FROM `" + project + "." + ds + "." + table + "` ORDER BY id"
	var out []string
	queryRows(t, q, func(row []bigquery.Value, schema bigquery.Schema) {
		parts := make([]string, len(row))
		for i, v := range row {
			parts[i] = render(t, v, schema[i].Type)
		}
		out = append(out, strings.Join(parts, "|"))
	})
	return out
}

// exactDecimal is a decimal's canonical text: no trailing fraction zeros,
// as render writes a *big.Rat.
func exactDecimal(t *testing.T, s string) string {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("decimal %q", s)
	}
	out := r.FloatString(40)
	return strings.TrimRight(strings.TrimRight(out, "0"), ".")
}

func canonicalJSON(t *testing.T, s string) string {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("JSON %q: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func writeJSON(t *testing.T, path string, v any) {
	b, _ := json.Marshal(v)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

var (
	binMu    sync.Mutex
	binDir   string
	binBuilt = map[string]error{}
)

// buildBinary builds one of the repository's binaries once per test run.
func buildBinary(t *testing.T, name string) string {
	binMu.Lock()
	defer binMu.Unlock()
	if binDir == "" {
		d, err := os.MkdirTemp("", "bqs-bin")
		if err != nil {
			t.Fatal(err)
		}
		binDir = d
	}
	p := filepath.Join(binDir, name)
	err, done := binBuilt[name]
	if !done {
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", p, "./cmd/"+name)
		cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..", "..")
		if out, berr := cmd.CombinedOutput(); berr != nil {
			err = fmt.Errorf("building %s: %v: %s", name, berr, out)
		}
		binBuilt[name] = err
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

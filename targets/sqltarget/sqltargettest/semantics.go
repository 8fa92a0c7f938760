package sqltargettest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The cases of issue 11: nothing dropped or changed silently, and names
// and deletes as PipelineWise and Meltano users already have them. They
// run with the others (RunSuite).
func init() { cases = append(cases, semanticCases...) }

var semanticCases = []suiteCase{
	{"undeclared_sdc_deleted_at_deletes", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		// Log based taps (PipelineWise tap-mysql) send _sdc_deleted_at
		// without declaring it: it deletes all the same, with or without
		// the metadata columns, hard or soft.
		props := `"id":{"type":"integer"},"name":{"type":["null","string"]}`
		in := lines(
			schemaMsg("d", props, `"id"`),
			rec("d", `{"id":1,"name":"a"}`), rec("d", `{"id":2,"name":"b"}`), rec("d", `{"id":3,"name":"c"}`),
			state(`{"s":1}`),
			rec("d", `{"id":2,"name":"b","_sdc_deleted_at":"2024-01-01T00:00:00Z"}`),
			rec("d", `{"id":3,"name":"c","_sdc_deleted_at":null}`),
			rec("d", `{"id":4,"name":"d"}`),
			state(`{"s":2}`),
		)
		for _, meta := range []bool{false, true} {
			c, sch := h.Config(t)
			r := Run(t, h, with(c, "hard_delete", true, "add_metadata_columns", meta, "batch_size_rows", 2), in)
			expectOK(t, r)
			if got := strings.Join(r.States(), ","); got != `{"s":1},{"s":2}` {
				t.Errorf("add_metadata_columns %v: states %q", meta, got)
			}
			expectRows(t, h.Rows(t, sch, "d", []string{"id", "name"}, "id"), []string{"1|a", "3|c", "4|d"})
			if cols := h.Columns(t, sch, "d"); slices.Contains(cols, "_sdc_extra") {
				t.Errorf("add_metadata_columns %v: columns %q: _sdc_deleted_at is no extra property", meta, cols)
			}
		}
		// Soft delete: the row stays, marked.
		c, sch := h.Config(t)
		expectOK(t, Run(t, h, with(c, "batch_size_rows", 2), in))
		expectRows(t, h.Rows(t, sch, "d", []string{"id", "name", "_sdc_deleted_at"}, "id"), []string{
			"1|a|NULL", "2|b|2024-01-01T00:00:00.000000Z", "3|c|NULL", "4|d|NULL"})
		// It must be a date-time string or null.
		r := Run(t, h, c, lines(schemaMsg("d", props, `"id"`), rec("d", `{"id":5,"_sdc_deleted_at":5}`)))
		expectError(t, r, `line 2: stream "d": _sdc_deleted_at must be a date-time string or null, not 5`)
	}},
	{"undeclared_properties_kept_in_sdc_extra", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		r := Run(t, h, cfg, lines(
			schemaMsg("u", `"id":{"type":"integer"},"name":{"type":["null","string"]}`, `"id"`),
			rec("u", `{"id":1,"name":"a"}`),
			rec("u", `{"id":2,"name":"b","tags":{"x":[1,2]},"n":1.5,"s":"t\u00e9"}`),
			rec("u", `{"id":3,"other":true}`),
			rec("u", `{"id":4,"z":"a\u0000b"}`),
		))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "u", []string{"id", "name", "_sdc_extra"}, "id"), []string{
			"1|a|NULL",
			`2|b|{"n":1.5,"s":"té","tags":{"x":[1,2]}}`,
			`3|NULL|{"other":true}`,
			`4|NULL|{"z":"ab"}`, // the NUL rule, as for declared properties
		})
		want := `stream "u": line 3: properties its SCHEMA does not declare ("tags", "n", "s") are kept as JSON in column _sdc_extra`
		if !strings.Contains(r.Stderr, want) || strings.Count(r.Stderr, "does not declare") != 1 {
			t.Errorf("stderr must say once %q:\n%s", want, r.Stderr)
		}
		// Inside an object flattened into columns too.
		cfg2, schema2 := h.Config(t)
		expectOK(t, Run(t, h, with(cfg2, "flattening_max_level", 1), lines(
			schemaMsg("f", `"id":{"type":"integer"},"addr":{"type":"object","properties":{"city":{"type":"string"}}}`, `"id"`),
			rec("f", `{"id":1,"addr":{"city":"K","zip":"50667"}}`),
		)))
		expectRows(t, h.Rows(t, schema2, "f", []string{"id", "addr__city", "_sdc_extra"}, "id"), []string{`1|K|{"addr__zip":"50667"}`})
	}},
	{"activate_version_without_metadata_columns", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		// ACTIVATE_VERSION works without add_metadata_columns: the version
		// column is added, and rows without a version (loaded before, or
		// by hand) are not part of the activated version.
		sm := schemaMsg("av", `"id":{"type":"integer"},"name":{"type":"string"}`, `"id"`)
		av := func(v int) string { return fmt.Sprintf(`{"type":"ACTIVATE_VERSION","stream":"av","version":%d}`, v) }
		vrec := func(v int, r string) string {
			return fmt.Sprintf(`{"type":"RECORD","stream":"av","record":%s,"version":%d}`, r, v)
		}
		for _, hard := range []bool{true, false} {
			c, sch := h.Config(t)
			c = with(c, "hard_delete", hard)
			expectOK(t, Run(t, h, c, lines(sm, rec("av", `{"id":1,"name":"old"}`), rec("av", `{"id":9,"name":"by hand"}`))))
			// A FULL_TABLE sync's first run: ACTIVATE_VERSION before the
			// records, and the run is cut short: nothing is deleted.
			expectOK(t, Run(t, h, c, lines(sm, av(5), vrec(5, `{"id":1,"name":"v5"}`), state(`{"s":1}`))))
			expectRows(t, h.Rows(t, sch, "av", []string{"id", "name", "_sdc_table_version"}, "id"), []string{"1|v5|5", "9|by hand|NULL"})
			// Resumed and finished: the row without a version goes.
			r := Run(t, h, c, lines(sm, vrec(5, `{"id":2,"name":"v5"}`), av(5), state(`{"s":2}`)))
			expectOK(t, r)
			if got := strings.Join(r.States(), ","); got != `{"s":2}` {
				t.Errorf("states %q", got)
			}
			if hard {
				expectRows(t, h.Rows(t, sch, "av", []string{"id", "name"}, "id"), []string{"1|v5", "2|v5"})
			} else {
				expectRows(t, h.Rows(t, sch, "av", []string{"id", "name", "_sdc_deleted_at IS NOT NULL"}, "id"), []string{"1|v5|false", "2|v5|false", "9|by hand|true"})
			}
			// An empty version (the source table was emptied) ends at the
			// STATE after it: every row goes.
			expectOK(t, Run(t, h, c, lines(sm, av(6), state(`{"s":3}`))))
			if hard {
				expectRows(t, h.Rows(t, sch, "av", []string{"id"}, "id"), nil)
			} else {
				expectRows(t, h.Rows(t, sch, "av", []string{"id", "_sdc_deleted_at IS NOT NULL"}, "id"), []string{"1|true", "2|true", "9|true"})
			}
		}
	}},
	{"activate_version_batch_records_belong_to_it", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		// BATCH files carry no version: between a version's first
		// ACTIVATE_VERSION and its last, their records belong to it.
		dir := t.TempDir()
		file := filepath.Join(dir, "part.jsonl")
		if err := os.WriteFile(file, []byte(`{"id":1,"name":"b"}`+"\n"+`{"id":2,"name":"b"}`+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c := with(cfg, "hard_delete", true, "batch_roots", []string{dir})
		sm := schemaMsg("av", `"id":{"type":"integer"},"name":{"type":"string"}`, `"id"`)
		expectOK(t, Run(t, h, c, lines(sm, rec("av", `{"id":1,"name":"old"}`), rec("av", `{"id":3,"name":"gone at the source"}`))))
		r := Run(t, h, c, lines(sm,
			`{"type":"ACTIVATE_VERSION","stream":"av","version":3}`,
			fmt.Sprintf(`{"type":"BATCH","stream":"av","encoding":{"format":"jsonl","compression":"none"},"manifest":[%q]}`, file),
			`{"type":"ACTIVATE_VERSION","stream":"av","version":3}`,
			state(`{"s":1}`)))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "av", []string{"id", "name", "_sdc_table_version"}, "id"), []string{"1|b|3", "2|b|3"})
	}},
	{"activate_version_start_does_not_wipe", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		c := with(cfg, "add_metadata_columns", true, "hard_delete", true)
		sm := schemaMsg("av", `"id":{"type":"integer"},"name":{"type":"string"}`, `"id"`)
		av := func(v int) string { return fmt.Sprintf(`{"type":"ACTIVATE_VERSION","stream":"av","version":%d}`, v) }
		vrec := func(v int, r string) string {
			return fmt.Sprintf(`{"type":"RECORD","stream":"av","record":%s,"version":%d}`, r, v)
		}
		expectOK(t, Run(t, h, c, lines(sm, av(4), vrec(4, `{"id":1,"name":"v4"}`), vrec(4, `{"id":3,"name":"v4"}`), av(4))))
		// The next version's first ACTIVATE_VERSION, records, and the
		// input ends before the last one: the old rows stay.
		r := Run(t, h, c, lines(sm, av(5), vrec(5, `{"id":1,"name":"v5"}`), state(`{"s":1}`)))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "av", []string{"id", "name"}, "id"), []string{"1|v5", "3|v4"})
		// An ACTIVATE_VERSION alone at the end of the input is not applied
		// (it may be a start whose records never came), and says so.
		r = Run(t, h, c, lines(sm, av(7)))
		expectOK(t, r)
		expectRows(t, h.Rows(t, schema, "av", []string{"id", "name"}, "id"), []string{"1|v5", "3|v4"})
		if want := `stream "av": ACTIVATE_VERSION 7 was followed by no record, STATE or end of the version before the input ended: nothing deleted`; !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r.Stderr)
		}
	}},
	{"table_names_follow_pipelinewise", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		// PipelineWise's targets strip the source schema (and catalog) part
		// of a stream name and lower-case the table: a drop-in replacement
		// must write to the same tables.
		props := `"id":{"type":"integer"}`
		expectOK(t, Run(t, h, cfg, lines(
			schemaMsg("shop-orders", props, `"id"`), rec("shop-orders", `{"id":1}`),
			schemaMsg("db-shop-Line.Items", props, `"id"`), rec("db-shop-Line.Items", `{"id":2}`),
			schemaMsg("Customers", props, `"id"`), rec("Customers", `{"id":3}`),
		)))
		expectRows(t, h.Rows(t, schema, "orders", []string{"id"}, "id"), []string{"1"})
		expectRows(t, h.Rows(t, schema, "line_items", []string{"id"}, "id"), []string{"2"})
		expectRows(t, h.Rows(t, schema, "customers", []string{"id"}, "id"), []string{"3"})
		// full_stream_names keeps the whole name, and schema_mapping still
		// routes by the source schema.
		cfg2, schema2 := h.Config(t)
		cfg3, schema3 := h.Config(t)
		mapped := with(cfg2, "full_stream_names", true, "schema_mapping", map[string]any{"shop": map[string]any{"target_schema": schema3}})
		expectOK(t, Run(t, h, mapped, lines(
			schemaMsg("shop-orders", props, `"id"`), rec("shop-orders", `{"id":4}`),
			schemaMsg("Customers", props, `"id"`), rec("Customers", `{"id":5}`),
		)))
		expectRows(t, h.Rows(t, schema3, "shop-orders", []string{"id"}, "id"), []string{"4"})
		expectRows(t, h.Rows(t, schema2, "Customers", []string{"id"}, "id"), []string{"5"})
		_ = cfg3
	}},
	{"two_streams_never_share_a_table", func(t *testing.T, h Harness, cfg map[string]any, schema string) {
		props := `"id":{"type":"integer"}`
		in := lines(
			schemaMsg("a-orders", props, `"id"`), rec("a-orders", `{"id":1}`), state(`{"s":1}`),
			schemaMsg("b-orders", props, `"id"`), rec("b-orders", `{"id":2}`), state(`{"s":2}`),
		)
		r := Run(t, h, cfg, in)
		expectError(t, r, `line 4: streams "a-orders" and "b-orders" would both load into table `)
		expectError(t, r, `: route one elsewhere with schema_mapping, or set full_stream_names to name tables after whole stream names`)
		expectRows(t, h.Rows(t, schema, "orders", []string{"id"}, "id"), []string{"1"})
		// Mapped apart, both load.
		cfg2, schema2 := h.Config(t)
		r = Run(t, h, with(cfg, "schema_mapping", map[string]any{"b": map[string]any{"target_schema": schema2}}), in)
		expectOK(t, r)
		_ = cfg2
		expectRows(t, h.Rows(t, schema, "orders", []string{"id"}, "id"), []string{"1"})
		expectRows(t, h.Rows(t, schema2, "orders", []string{"id"}, "id"), []string{"2"})
	}},
}

package sqltargettest

import (
	"testing"
)

// The cases of issue 11: nothing dropped or changed silently, and names
// and deletes as PipelineWise and Meltano users already have them. They
// run with the others (RunSuite).
func init() { cases = append(cases, semanticCases...) }

var semanticCases = []suiteCase{
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

// Package sqltaptest is the conformance suite of the SQL tap engine: named
// cases every driver runs against a real database (discovery, selection,
// chunked FULL_TABLE, resume after a kill, INCREMENTAL with >=, keyless
// tables, views, a missing table), checking exact output and that it passes
// check.Check.
//
//	func TestConformance(t *testing.T) { sqltaptest.RunSuite(t, harness{}) }
package sqltaptest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/check"
	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap"
)

// Env is one case's database: a namespace of its own (dropped by the
// harness in t.Cleanup) and a driver that discovers only it.
type Env struct {
	Driver sqltap.Driver
	// Exec runs one statement (failing the test on error).
	Exec func(sql string)
	// Table returns the quoted, qualified name of a table of the namespace.
	Table func(name string) string
	// StreamID returns the tap_stream_id of a table of the namespace.
	StreamID func(name string) string
}

// Harness sets up a case's database for one driver.
type Harness interface {
	Setup(t *testing.T) *Env
}

// Now is the clock the suite gives the engine: versions are its
// milliseconds and time_extracted is it.
var Now = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// Version is the table version a FULL_TABLE run of the suite writes.
var Version = Now.UnixMilli()

// RunSuite runs every case as a subtest.
func RunSuite(t *testing.T, h Harness) {
	cases := []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"discover", testDiscover},
		{"full_table_chunks", testFullTableChunks},
		{"resume_after_kill", testResume},
		{"cancel_then_resume", testCancelResume},
		{"catalog_key_not_primary", testCatalogKey},
		{"incremental_null_keys", testIncrementalNulls},
		{"incremental", testIncremental},
		{"selection", testSelection},
		{"keyless_table", testKeyless},
		{"view", testView},
		{"missing_table", testMissingTable},
		{"several_streams_resume_order", testStreamOrder},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, h) })
	}
}

// Sync runs the engine and returns its output lines; it fails the test
// when the output does not pass check.Check.
func Sync(t *testing.T, env *Env, opts sqltap.Options, cat *singer.Catalog, state *singer.State) ([]string, error) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return Now }
	}
	if state == nil {
		state = singer.NewState()
	}
	var buf bytes.Buffer
	out := singer.NewEncoder(&buf)
	e := &sqltap.Engine{Driver: env.Driver, Options: opts}
	err := e.Sync(context.Background(), cat, state, out)
	if ferr := out.Flush(); ferr != nil {
		t.Fatal(ferr)
	}
	if err == nil {
		rep, cerr := check.Check(context.Background(), bytes.NewReader(buf.Bytes()), check.Options{Strict: true, MaxFindings: 10})
		if cerr != nil {
			t.Fatal(cerr)
		}
		if !rep.OK {
			t.Errorf("output fails check.Check: %v\n%s", rep.Violations, buf.String())
		}
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n"), err
}

// Discover returns the driver's catalog.
func Discover(t *testing.T, env *Env) *singer.Catalog {
	t.Helper()
	cat, err := (&sqltap.Engine{Driver: env.Driver}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// Select marks the streams selected, with a replication method (and key
// when not empty).
func Select(t *testing.T, cat *singer.Catalog, method, key string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		e := cat.Stream(id)
		if e == nil {
			t.Fatalf("discovery has no stream %q", id)
		}
		e.Metadata.SetSelected(nil, true)
		if method != "" {
			e.Metadata.SetReplicationMethod(method)
		}
		if key != "" {
			e.Metadata.SetReplicationKey(key)
		}
	}
}

// itemRecord is the record of row i of createItems.
func itemRecord(i int) string {
	return fmt.Sprintf(`{"id":%d,"name":"n%d","updated":%d}`, i, i, 10*((i+1)/2))
}

func createItems(env *Env, n int) string {
	tbl := env.Table("items")
	env.Exec(fmt.Sprintf("CREATE TABLE %s (id integer PRIMARY KEY, name varchar(20), updated integer)", tbl))
	for i := 1; i <= n; i++ {
		env.Exec(fmt.Sprintf("INSERT INTO %s (id, name, updated) VALUES (%d, 'n%d', %d)", tbl, i, i, 10*((i+1)/2)))
	}
	return env.StreamID("items")
}

func rec(stream, record string, versioned bool) string {
	v := ""
	if versioned {
		v = fmt.Sprintf(`,"version":%d`, Version)
	}
	return fmt.Sprintf(`{"type":"RECORD","stream":%q,"record":%s%s,"time_extracted":"2024-05-06T07:08:09Z"}`, stream, record, v)
}

func activate(stream string) string {
	return fmt.Sprintf(`{"type":"ACTIVATE_VERSION","stream":%q,"version":%d}`, stream, Version)
}

func stateLine(v string) string { return `{"type":"STATE","value":` + v + `}` }

// withoutSchemas drops SCHEMA lines (their text is the driver's).
func withoutSchemas(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, `{"type":"SCHEMA"`) {
			out = append(out, l)
		}
	}
	return out
}

func compareLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func testDiscover(t *testing.T, h Harness) {
	env := h.Setup(t)
	id := createItems(env, 1)
	env.Exec(fmt.Sprintf("CREATE VIEW %s AS SELECT id, name FROM %s", env.Table("items_v"), env.Table("items")))
	cat := Discover(t, env)
	e := cat.Stream(id)
	if e == nil {
		t.Fatalf("no stream %q in %d streams", id, len(cat.Streams))
	}
	props, err := e.PropertyNames()
	if err != nil || strings.Join(props, ",") != "id,name,updated" {
		t.Errorf("properties = %v (%v), want id,name,updated", props, err)
	}
	md := e.Metadata
	if k, _ := md.TableKeyProperties(); strings.Join(k, ",") != "id" {
		t.Errorf("table-key-properties = %v, want [id]", k)
	}
	if k, _ := md.ValidReplicationKeys(); !strings.Contains(","+strings.Join(k, ",")+",", ",updated,") {
		t.Errorf("valid-replication-keys = %v, want updated among them", k)
	}
	if v, ok := md.IsView(); !ok || v {
		t.Errorf("is-view = %v (present %v), want false", v, ok)
	}
	if md.SchemaName() == "" || md.DatabaseName() == "" {
		t.Errorf("schema-name %q, database-name %q: want both", md.SchemaName(), md.DatabaseName())
	}
	if inc := md.Inclusion(singer.PropertyBreadcrumb("id")); inc != singer.InclusionAutomatic {
		t.Errorf("id inclusion = %q, want automatic", inc)
	}
	if inc := md.Inclusion(singer.PropertyBreadcrumb("name")); inc != singer.InclusionAvailable {
		t.Errorf("name inclusion = %q, want available", inc)
	}
	if sel, ok := md.SelectedByDefault(singer.PropertyBreadcrumb("name")); !ok || !sel {
		t.Errorf("name selected-by-default = %v, %v; want true", sel, ok)
	}
	if md.SQLDatatype(singer.PropertyBreadcrumb("name")) == "" {
		t.Errorf("name has no sql-datatype")
	}
	if e.IsSelected() {
		t.Errorf("discovery selected the stream; selection is the user's")
	}
	v := cat.Stream(env.StreamID("items_v"))
	if v == nil {
		t.Fatalf("no view stream %q", env.StreamID("items_v"))
	}
	if isView, _ := v.Metadata.IsView(); !isView {
		t.Errorf("view: is-view false")
	}
	if m := v.Metadata.ForcedReplicationMethod(); m != singer.ReplicationFullTable {
		t.Errorf("view: forced-replication-method = %q, want FULL_TABLE", m)
	}
	if err := cat.Validate(); err != nil {
		t.Errorf("catalog does not validate: %v", err)
	}
}

func testFullTableChunks(t *testing.T, h Harness) {
	env := h.Setup(t)
	id := createItems(env, 5)
	cat := Discover(t, env)
	Select(t, cat, singer.ReplicationFullTable, "", id)
	got, err := Sync(t, env, sqltap.Options{ChunkSize: 2}, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	bm := func(pk string) string {
		if pk == "" {
			return fmt.Sprintf(`{"bookmarks":{%q:{"version":%d}},"currently_syncing":%q}`, id, Version, id)
		}
		return fmt.Sprintf(`{"bookmarks":{%q:{"last_pk_fetched":{"id":%s},"version":%d}},"currently_syncing":%q}`, id, pk, Version, id)
	}
	want := []string{
		stateLine(fmt.Sprintf(`{"bookmarks":{},"currently_syncing":%q}`, id)),
		activate(id),
		rec(id, `{"id":1,"name":"n1","updated":10}`, true),
		rec(id, `{"id":2,"name":"n2","updated":10}`, true),
		stateLine(bm("2")),
		rec(id, `{"id":3,"name":"n3","updated":20}`, true),
		rec(id, `{"id":4,"name":"n4","updated":20}`, true),
		stateLine(bm("4")),
		rec(id, `{"id":5,"name":"n5","updated":30}`, true),
		activate(id),
		stateLine(bm("")),
		stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"version":%d}},"currently_syncing":null}`, id, Version)),
	}
	compareLines(t, withoutSchemas(got), want)
}

func testResume(t *testing.T, h Harness) {
	env := h.Setup(t)
	id := createItems(env, 5)
	cat := Discover(t, env)
	Select(t, cat, singer.ReplicationFullTable, "", id)
	// The state a run killed after its second chunk left behind.
	state, err := singer.ParseState([]byte(fmt.Sprintf(`{"bookmarks":{%q:{"last_pk_fetched":{"id":2},"version":%d}},"currently_syncing":%q}`, id, Version, id)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Sync(t, env, sqltap.Options{ChunkSize: 2, Now: func() time.Time { return Now }}, cat, state)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"last_pk_fetched":{"id":2},"version":%d}},"currently_syncing":%q}`, id, Version, id)),
		rec(id, `{"id":3,"name":"n3","updated":20}`, true),
		rec(id, `{"id":4,"name":"n4","updated":20}`, true),
		stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"last_pk_fetched":{"id":4},"version":%d}},"currently_syncing":%q}`, id, Version, id)),
		rec(id, `{"id":5,"name":"n5","updated":30}`, true),
		activate(id),
		stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"version":%d}},"currently_syncing":%q}`, id, Version, id)),
		stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"version":%d}},"currently_syncing":null}`, id, Version)),
	}
	compareLines(t, withoutSchemas(got), want)

	// A state whose key does not match the table is refused up front.
	bad, _ := singer.ParseState([]byte(fmt.Sprintf(`{"bookmarks":{%q:{"last_pk_fetched":{"code":"x"},"version":1}}}`, id)))
	_, err = Sync(t, env, sqltap.Options{}, cat, bad)
	var ue *cli.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `does not hold key "id"`) {
		t.Errorf("foreign state: err = %v, want a usage error naming key \"id\"", err)
	}
}

func testIncremental(t *testing.T, h Harness) {
	env := h.Setup(t)
	id := createItems(env, 4)
	cat := Discover(t, env)
	Select(t, cat, singer.ReplicationIncremental, "updated", id)
	got, err := Sync(t, env, sqltap.Options{StateEvery: 3}, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := func(v int, cs string) string {
		c := "null"
		if cs != "" {
			c = fmt.Sprintf("%q", cs)
		}
		if v == 0 {
			return stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"replication_key":"updated"}},"currently_syncing":%s}`, id, c))
		}
		return stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"replication_key":"updated","replication_key_value":%d}},"currently_syncing":%s}`, id, v, c))
	}
	want := []string{
		stateLine(fmt.Sprintf(`{"bookmarks":{},"currently_syncing":%q}`, id)),
		rec(id, `{"id":1,"name":"n1","updated":10}`, false),
		rec(id, `{"id":2,"name":"n2","updated":10}`, false),
		rec(id, `{"id":3,"name":"n3","updated":20}`, false),
		st(20, id),
		rec(id, `{"id":4,"name":"n4","updated":20}`, false),
		st(20, id),
		st(20, ""),
	}
	compareLines(t, withoutSchemas(got), want)

	// No new rows: the rows at the bookmark come again (>=), nothing else.
	state, err := singer.ParseState([]byte(strings.TrimSuffix(strings.TrimPrefix(got[len(got)-1], `{"type":"STATE","value":`), "}")))
	if err != nil {
		t.Fatalf("the run's last line %q is not its state: %v", got[len(got)-1], err)
	}
	got, err = Sync(t, env, sqltap.Options{}, cat, state)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		st(20, id),
		rec(id, `{"id":3,"name":"n3","updated":20}`, false),
		rec(id, `{"id":4,"name":"n4","updated":20}`, false),
		st(20, id),
		st(20, ""),
	}
	compareLines(t, withoutSchemas(got), want)

	// New rows, one of them at the bookmark value, and an old one changed
	// below it (not sent: the bookmark is past it).
	env.Exec(fmt.Sprintf("INSERT INTO %s (id, name, updated) VALUES (5, 'n5', 20), (6, 'n6', 40)", env.Table("items")))
	env.Exec(fmt.Sprintf("UPDATE %s SET name = 'changed' WHERE id = 1", env.Table("items")))
	got, err = Sync(t, env, sqltap.Options{}, cat, state)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		st(20, id),
		rec(id, `{"id":3,"name":"n3","updated":20}`, false),
		rec(id, `{"id":4,"name":"n4","updated":20}`, false),
		rec(id, `{"id":5,"name":"n5","updated":20}`, false),
		rec(id, `{"id":6,"name":"n6","updated":40}`, false),
		st(40, id),
		st(40, ""),
	}
	compareLines(t, withoutSchemas(got), want)
}

func testSelection(t *testing.T, h Harness) {
	env := h.Setup(t)
	id := createItems(env, 2)
	cat := Discover(t, env)
	Select(t, cat, singer.ReplicationFullTable, "", id)
	e := cat.Stream(id)
	e.Metadata.SetSelected(singer.PropertyBreadcrumb("name"), false)
	// A key cannot be deselected.
	e.Metadata.SetSelected(singer.PropertyBreadcrumb("id"), false)
	got, err := Sync(t, env, sqltap.Options{}, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	var schema string
	for _, l := range got {
		if strings.HasPrefix(l, `{"type":"SCHEMA"`) {
			schema = l
		}
	}
	var sm struct {
		Schema struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schema"`
		KeyProperties []string `json:"key_properties"`
	}
	if err := json.Unmarshal([]byte(schema), &sm); err != nil {
		t.Fatalf("SCHEMA line %q: %v", schema, err)
	}
	if _, ok := sm.Schema.Properties["name"]; ok || len(sm.Schema.Properties) != 2 {
		t.Errorf("SCHEMA properties = %v, want id and updated", sm.Schema.Properties)
	}
	if strings.Join(sm.KeyProperties, ",") != "id" {
		t.Errorf("key_properties = %v, want [id]", sm.KeyProperties)
	}
	// The whole run, not only its records: a deselected column changes
	// nothing else.
	compareLines(t, withoutSchemas(got), []string{
		stateLine(fmt.Sprintf(`{"bookmarks":{},"currently_syncing":%q}`, id)),
		activate(id),
		rec(id, `{"id":1,"updated":10}`, true),
		rec(id, `{"id":2,"updated":10}`, true),
		activate(id),
		stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"version":%d}},"currently_syncing":%q}`, id, Version, id)),
		stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"version":%d}},"currently_syncing":null}`, id, Version)),
	})
}

func testKeyless(t *testing.T, h Harness) {
	env := h.Setup(t)
	tbl := env.Table("logs")
	env.Exec(fmt.Sprintf("CREATE TABLE %s (msg varchar(10), n integer)", tbl))
	env.Exec(fmt.Sprintf("INSERT INTO %s (msg, n) VALUES ('a', 1), ('b', 2), ('a', 1)", tbl))
	id := env.StreamID("logs")
	cat := Discover(t, env)
	Select(t, cat, "", "", id)
	got, err := Sync(t, env, sqltap.Options{ChunkSize: 1}, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		stateLine(fmt.Sprintf(`{"bookmarks":{},"currently_syncing":%q}`, id)),
		activate(id),
		rec(id, `{"msg":"a","n":1}`, true),
		rec(id, `{"msg":"b","n":2}`, true),
		rec(id, `{"msg":"a","n":1}`, true),
		activate(id),
		stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"version":%d}},"currently_syncing":%q}`, id, Version, id)),
		stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"version":%d}},"currently_syncing":null}`, id, Version)),
	}
	pb := physicalBookmark(t, env, id)
	if pb == "" {
		compareLines(t, withoutSchemas(got), want)
		return
	}
	// A driver with a resumable physical order writes a STATE holding the
	// last row's position every chunk (here every row).
	var positions []string
	var rest []string
	for _, l := range withoutSchemas(got) {
		if strings.HasPrefix(l, `{"type":"STATE"`) && strings.Contains(l, `"`+pb+`"`) {
			positions = append(positions, l)
			continue
		}
		rest = append(rest, l)
	}
	compareLines(t, rest, want)
	if len(positions) != 3 {
		t.Fatalf("%d STATEs with %s, want one after each of the 3 rows", len(positions), pb)
	}
	// Resume after the first row: the other two, in the same version,
	// without a new ACTIVATE_VERSION first.
	state, err := singer.ParseState([]byte(positions[0]))
	if err != nil {
		t.Fatal(err)
	}
	got, err = Sync(t, env, sqltap.Options{ChunkSize: 10}, cat, state)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		positions[0],
		rec(id, `{"msg":"b","n":2}`, true),
		rec(id, `{"msg":"a","n":1}`, true),
		activate(id),
		stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"version":%d}},"currently_syncing":%q}`, id, Version, id)),
		stateLine(fmt.Sprintf(`{"bookmarks":{%q:{"version":%d}},"currently_syncing":null}`, id, Version)),
	}
	compareLines(t, withoutSchemas(got), want)
}

// physicalBookmark is the driver's PhysicalOrder bookmark for stream id, ""
// when the driver has none.
func physicalBookmark(t *testing.T, env *Env, id string) string {
	t.Helper()
	po, ok := env.Driver.(sqltap.PhysicalOrder)
	if !ok {
		return ""
	}
	tables, err := env.Driver.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.TapStreamID == id {
			return po.PhysicalBookmark(tb)
		}
	}
	return ""
}

func testView(t *testing.T, h Harness) {
	env := h.Setup(t)
	createItems(env, 3)
	env.Exec(fmt.Sprintf("CREATE VIEW %s AS SELECT id, name FROM %s WHERE id > 1", env.Table("items_v"), env.Table("items")))
	id := env.StreamID("items_v")
	cat := Discover(t, env)
	Select(t, cat, "", "", id)
	got, err := Sync(t, env, sqltap.Options{ChunkSize: 1}, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	var recs []string
	for _, l := range got {
		if strings.HasPrefix(l, `{"type":"RECORD"`) {
			recs = append(recs, l)
		}
	}
	// A view has no order of its own: compare as a set.
	joined := strings.Join(recs, "\n")
	for _, r := range []string{rec(id, `{"id":2,"name":"n2"}`, true), rec(id, `{"id":3,"name":"n3"}`, true)} {
		if !strings.Contains(joined, r) {
			t.Errorf("view output lacks %s:\n%s", r, joined)
		}
	}
	if len(recs) != 2 {
		t.Errorf("view: %d records, want 2", len(recs))
	}
}

func testMissingTable(t *testing.T, h Harness) {
	env := h.Setup(t)
	id := createItems(env, 1)
	cat := Discover(t, env)
	Select(t, cat, "", "", id)
	env.Exec("DROP TABLE " + env.Table("items"))
	got, err := Sync(t, env, sqltap.Options{}, cat, nil)
	var ue *cli.UsageError
	want := fmt.Sprintf(`catalog stream %q: no such table or view in the database (run --discover again)`, id)
	if !errors.As(err, &ue) || err.Error() != want {
		t.Errorf("err = %v, want usage error %q", err, want)
	}
	if len(got) != 1 || got[0] != "" {
		t.Errorf("output before the error: %q, want none", got)
	}
}

func testStreamOrder(t *testing.T, h Harness) {
	env := h.Setup(t)
	a := createItems(env, 1)
	env.Exec(fmt.Sprintf("CREATE TABLE %s (id integer PRIMARY KEY)", env.Table("zz")))
	env.Exec(fmt.Sprintf("INSERT INTO %s (id) VALUES (7)", env.Table("zz")))
	b := env.StreamID("zz")
	cat := Discover(t, env)
	Select(t, cat, singer.ReplicationFullTable, "", a, b)
	// Interrupted in the second stream: it goes first.
	state, _ := singer.ParseState([]byte(fmt.Sprintf(`{"currently_syncing":%q}`, b)))
	got, err := Sync(t, env, sqltap.Options{}, cat, state)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, l := range got {
		if strings.HasPrefix(l, `{"type":"RECORD"`) {
			order = append(order, l)
		}
	}
	compareLines(t, order, []string{rec(b, `{"id":7}`, true), rec(a, `{"id":1,"name":"n1","updated":10}`, true)})
}

// Options are the engine options the suite uses unless a case sets its own.
func Options() sqltap.Options {
	return sqltap.Options{Now: func() time.Time { return Now }}
}

// cancelAfter is an output that cancels the run once it has seen n RECORD
// lines: a SIGTERM in the middle of a chunk.
type cancelAfter struct {
	buf    bytes.Buffer
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.n -= bytes.Count(p, []byte(`{"type":"RECORD"`))
	if c.n <= 0 {
		c.cancel()
	}
	return c.buf.Write(p)
}

func testCancelResume(t *testing.T, h Harness) {
	env := h.Setup(t)
	id := createItems(env, 50)
	cat := Discover(t, env)
	Select(t, cat, singer.ReplicationFullTable, "", id)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelAfter{n: 20, cancel: cancel}
	out := singer.NewEncoder(w)
	// The encoder flushes at each STATE, so the cancel lands after the
	// chunk that crossed 20 records, while the next one is being read.
	e := &sqltap.Engine{Driver: env.Driver, Options: sqltap.Options{ChunkSize: 7, Now: func() time.Time { return Now }}}
	err := e.Sync(ctx, cat, singer.NewState(), out)
	_ = out.Flush()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
	}
	lines := strings.Split(strings.TrimSpace(w.buf.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, `{"type":"STATE"`) {
		t.Fatalf("interrupted run ends with %s, want its state", last)
	}
	seen := map[string]bool{}
	collect := func(ls []string) {
		for _, l := range ls {
			if i := strings.Index(l, `"record":{"id":`); i >= 0 {
				n := l[i+15 : strings.IndexByte(l[i:], ',')+i]
				seen[n] = true
				var k int
				fmt.Sscan(n, &k)
				if want := rec(id, itemRecord(k), true); l != want {
					t.Errorf("record %s, want %s", l, want)
				}
			}
		}
	}
	collect(lines)
	state, err := singer.ParseState([]byte(last))
	if err != nil {
		t.Fatal(err)
	}
	if state.CurrentlySyncing != id {
		t.Errorf("interrupted state: currently_syncing %q, want %q", state.CurrentlySyncing, id)
	}
	got, err := Sync(t, env, sqltap.Options{ChunkSize: 7}, cat, state)
	if err != nil {
		t.Fatal(err)
	}
	collect(got)
	for i := 1; i <= 50; i++ {
		if !seen[fmt.Sprint(i)] {
			t.Errorf("row %d was sent by neither run", i)
		}
	}
	if strings.Contains(got[len(got)-1], "last_pk_fetched") || !strings.Contains(got[len(got)-1], `"currently_syncing":null`) {
		t.Errorf("resumed run ends with %s", got[len(got)-1])
	}
	// The resumed run keeps the interrupted run's version and does not
	// announce it again before its records.
	if n := strings.Count(strings.Join(got, "\n"), `"type":"ACTIVATE_VERSION"`); n != 1 {
		t.Errorf("resumed run wrote %d ACTIVATE_VERSION, want 1 (at the end)", n)
	}
}

// testCatalogKey: a user who names a non-unique column as the key changes
// the SCHEMA's key_properties, not the chunk cursor (which would skip rows).
func testCatalogKey(t *testing.T, h Harness) {
	env := h.Setup(t)
	id := createItems(env, 5)
	cat := Discover(t, env)
	Select(t, cat, singer.ReplicationFullTable, "", id)
	if err := cat.Stream(id).Metadata.Set(nil, singer.MetaTableKeyProperties, []string{"updated"}); err != nil {
		t.Fatal(err)
	}
	got, err := Sync(t, env, sqltap.Options{ChunkSize: 2}, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	var recs, states []string
	for _, l := range got {
		switch {
		case strings.HasPrefix(l, `{"type":"SCHEMA"`) && !strings.HasSuffix(l, `"key_properties":["updated"]}`):
			t.Errorf("SCHEMA %s, want key_properties [updated]", l)
		case strings.HasPrefix(l, `{"type":"RECORD"`):
			recs = append(recs, l)
		case strings.Contains(l, "last_pk_fetched"):
			states = append(states, l[strings.Index(l, "last_pk_fetched"):strings.Index(l, `,"version"`)])
		}
	}
	var want []string
	for i := 1; i <= 5; i++ {
		want = append(want, rec(id, itemRecord(i), true))
	}
	compareLines(t, recs, want)
	if strings.Join(states, " ") != `last_pk_fetched":{"id":2} last_pk_fetched":{"id":4}` {
		t.Errorf("chunk states %v, want the primary key id", states)
	}
}

// testIncrementalNulls: rows with a NULL replication key are sent by the
// first run, and the bookmark is still the greatest value.
func testIncrementalNulls(t *testing.T, h Harness) {
	env := h.Setup(t)
	id := createItems(env, 3)
	env.Exec(fmt.Sprintf("INSERT INTO %s (id, name, updated) VALUES (4, 'n4', NULL)", env.Table("items")))
	cat := Discover(t, env)
	Select(t, cat, singer.ReplicationIncremental, "updated", id)
	got, err := Sync(t, env, sqltap.Options{}, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	// NULLs first, then by updated (rows 1 and 2 tie at 10: either order).
	var recs []string
	for _, l := range got {
		if strings.HasPrefix(l, `{"type":"RECORD"`) {
			recs = append(recs, l)
		}
	}
	want := []string{rec(id, `{"id":4,"name":"n4","updated":null}`, false), rec(id, itemRecord(1), false), rec(id, itemRecord(2), false), rec(id, itemRecord(3), false)}
	if len(recs) == 4 && recs[1] == want[2] && recs[2] == want[1] {
		recs[1], recs[2] = recs[2], recs[1]
	}
	compareLines(t, recs, want)
	if last := got[len(got)-1]; !strings.Contains(last, `"replication_key_value":20`) {
		t.Errorf("last state %s, want replication_key_value 20", last)
	}
}

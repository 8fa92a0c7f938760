package emulatortest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	target "github.com/singerkit/singerkit/targets/bigquery"
	"github.com/singerkit/singerkit/targets/bigquery/emulatortest/emu"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

const project = "test"

var (
	endpoint        string // REST, http://host:port
	storageEndpoint string // Storage Write API, gRPC host:port
	client          *bigquery.Client
	shared          *instance // the emulator of TestMain
)

func TestMain(m *testing.M) {
	// Both APIs on TCP: the target runs as a separate process.
	e, err := emu.Start(project, "127.0.0.1:0", "127.0.0.1:0", false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the BigQuery emulator:", err)
		os.Exit(1)
	}
	endpoint, storageEndpoint = e.URL, e.GRPCAddr
	client, err = bigquery.NewClient(context.Background(), project, option.WithEndpoint(endpoint), option.WithoutAuthentication())
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	shared = &instance{e: e, client: client}
	code := m.Run()
	client.Close()
	e.Close()
	os.Exit(code)
}

// harness runs the suite with one method of loading. With own set, each
// test gets an emulator of its own (see caseEmulator); otherwise all share
// the one TestMain starts.
type harness struct {
	method string
	own    bool
}

func (harness) Spec() cli.TargetSpec { return target.Spec() }

// unsupported lists the conformance cases the emulator cannot run, and why;
// each has a golden-SQL test in targets/bigquery instead.
var unsupported = map[string]string{
	"add_column":                         "after ALTER TABLE ADD COLUMN (and the metadata update) the emulator's MERGE analyzer still reports the new column as an unrecognized name; the ADD COLUMN SQL is checked by TestEvolutionSQL (golden file)",
	"widen_integer_to_number_and_string": "the emulator supports neither ALTER COLUMN SET DATA TYPE nor CREATE OR REPLACE TABLE t AS SELECT ... FROM t; the SQL is checked by TestEvolutionSQL (golden file)",
	// These add a column to a table that already has rows (the add_column
	// limitation above): the column the engine adds is named in the reason.
	"undeclared_properties_kept_in_sdc_extra":     addColumnLater("_sdc_extra", "the first undeclared property"),
	"undeclared_sdc_deleted_at_deletes":           addColumnLater("_sdc_deleted_at", "the first record that carries it undeclared"),
	"activate_version_without_metadata_columns":   addColumnLater("_sdc_table_version", "a later run's ACTIVATE_VERSION"),
	"activate_version_batch_records_belong_to_it": addColumnLater("_sdc_table_version", "a later run's ACTIVATE_VERSION"),
}

// addColumnLater is the reason for skipping a case whose run adds a column
// to an existing table: the emulator's ALTER TABLE ADD COLUMN (and tables
// API schema update) reaches its table metadata, not its storage.
func addColumnLater(col, when string) string {
	return "the engine adds column " + col + " to a table that exists already (at " + when + "); the emulator applies ALTER TABLE ADD COLUMN and the tables API's schema update to its metadata only, and the MERGE that follows fails with \"Unrecognized name: " + col + "\" (as in add_column); the ADD COLUMN SQL is checked by TestEvolutionSQL (golden file), and the case runs on PostgreSQL and MariaDB"
}

var (
	safe = regexp.MustCompile(`[^a-z0-9_]+`)
	seq  atomic.Int64
)

func (h harness) Config(t *testing.T) (map[string]any, string) {
	if why, ok := unsupported[t.Name()[strings.LastIndexByte(t.Name(), '/')+1:]]; ok {
		t.Skip("not possible on the emulator: " + why)
	}
	inst := shared
	if h.own {
		inst = caseEmulator(t)
	}
	name := safe.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	ds := fmt.Sprintf("sk_%s_%d", name, seq.Add(1))
	datasets.Store(ds, inst)
	t.Cleanup(func() {
		datasets.Delete(ds)
		if inst == shared {
			client.Dataset(ds).DeleteWithContents(context.Background())
		}
	})
	cfg := map[string]any{"project": project, "dataset": ds, "api_endpoint": inst.e.URL, "emulator": true}
	if h.method != "" {
		cfg["method"] = h.method
		cfg["storage_api_endpoint"] = inst.e.GRPCAddr
	}
	return cfg, ds
}

// instance is an emulator and a client of it.
type instance struct {
	e      *emu.Emulator
	client *bigquery.Client
}

var (
	perTest  sync.Map // *testing.T -> *instance
	datasets sync.Map // dataset name -> *instance
)

// caseEmulator returns the emulator of a conformance case, started at the
// case's first Config and closed when it ends. Each case has its own: the
// emulator serves one request at a time and slows down as its catalog
// grows (one shared emulator took 10 s for TestTableLayout fresh and 480 s
// after the suite), so cases on separate emulators run in parallel and
// stay as fast as the first.
func caseEmulator(t *testing.T) *instance {
	if v, ok := perTest.Load(t); ok {
		return v.(*instance)
	}
	e, err := emu.Start(project, "127.0.0.1:0", "127.0.0.1:0", false)
	if err != nil {
		t.Fatalf("starting an emulator: %v", err)
	}
	c, err := bigquery.NewClient(context.Background(), project, option.WithEndpoint(e.URL), option.WithoutAuthentication())
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	inst := &instance{e: e, client: c}
	perTest.Store(t, inst)
	t.Cleanup(func() {
		perTest.Delete(t)
		c.Close()
		e.Close()
	})
	return inst
}

// clientFor is the client of the emulator that holds dataset: a
// conformance case's own, or the shared one (tests outside the suite
// create their datasets there).
func clientFor(dataset string) *bigquery.Client {
	if v, ok := datasets.Load(dataset); ok {
		return v.(*instance).client
	}
	return client
}

func (harness) Rows(t *testing.T, dataset, table string, cols []string, orderBy string) []string {
	t.Helper()
	var sel []string
	for _, c := range cols {
		if strings.Contains(c, "(") || strings.Contains(c, " IS ") {
			sel = append(sel, c)
		} else {
			sel = append(sel, "`"+c+"`")
		}
	}
	if len(sel) == 0 {
		sel = []string{"1"}
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM `" + project + "." + dataset + "." + target.FoldName(table) + "`"
	if orderBy != "" {
		var ob []string
		for _, o := range strings.Split(orderBy, ",") {
			ob = append(ob, "`"+strings.TrimSpace(o)+"`")
		}
		q += " ORDER BY " + strings.Join(ob, ", ")
	}
	var out []string
	queryRowsOn(t, clientFor(dataset), q, func(row []bigquery.Value, schema bigquery.Schema) {
		parts := make([]string, len(row))
		for i, v := range row {
			parts[i] = render(t, v, schema[i].Type)
		}
		out = append(out, strings.Join(parts, "|"))
	})
	return out
}

// render writes a value the way the suite compares them.
func render(t *testing.T, v bigquery.Value, typ bigquery.FieldType) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case *big.Rat:
		s := x.FloatString(40)
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		return s
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000000Z")
	case civil.Date:
		return x.String()
	case civil.Time:
		return x.String()
	case string:
		if typ != bigquery.JSONFieldType {
			return x
		}
		dec := json.NewDecoder(strings.NewReader(x))
		dec.UseNumber()
		var j any
		if err := dec.Decode(&j); err != nil {
			t.Fatalf("JSON value %q: %v", x, err)
		}
		b, _ := json.Marshal(j)
		return string(b)
	}
	return fmt.Sprint(v)
}

func (harness) Columns(t *testing.T, dataset, table string) []string {
	md, err := clientFor(dataset).Dataset(dataset).Table(target.FoldName(table)).Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range md.Schema {
		names = append(names, f.Name)
	}
	return names
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func (harness) Binary(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "target-bigquery-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "target-bigquery")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..", "..")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/target-bigquery")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// TestConformance runs the shared suite once per method.
func TestConformance(t *testing.T) {
	for _, m := range []string{target.MethodStorageWrite, target.MethodBatchJob} {
		t.Run(m, func(t *testing.T) { sqltargettest.RunSuite(t, harness{method: m, own: true}) })
	}
}

// queryRows runs q on the emulator and calls f with each row and the
// result's schema; a failure stops the test.
func queryRows(t *testing.T, q string, f func(row []bigquery.Value, schema bigquery.Schema)) {
	t.Helper()
	queryRowsOn(t, client, q, f)
}

// queryRowsOn is queryRows on the emulator of client c.
func queryRowsOn(t *testing.T, c *bigquery.Client, q string, f func(row []bigquery.Value, schema bigquery.Schema)) {
	t.Helper()
	it, err := c.Query(q).Read(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if err == iterator.Done {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		f(row, it.Schema)
	}
}

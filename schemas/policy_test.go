package schemas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/internal/gate"
	"github.com/singerkit/singerkit/internal/streammap"

	"github.com/singerkit/singerkit/schemas"
	csvtap "github.com/singerkit/singerkit/taps/csv"
	kafkatap "github.com/singerkit/singerkit/taps/kafka"
	tapmysql "github.com/singerkit/singerkit/taps/mysql"
	natstap "github.com/singerkit/singerkit/taps/nats"
	tappostgres "github.com/singerkit/singerkit/taps/postgres"
	"github.com/singerkit/singerkit/targets/bigquery"
	targetduckdb "github.com/singerkit/singerkit/targets/duckdb"
	"github.com/singerkit/singerkit/targets/jsonl"
	kafkatarget "github.com/singerkit/singerkit/targets/kafka"
	targetmysql "github.com/singerkit/singerkit/targets/mysql"
	natstarget "github.com/singerkit/singerkit/targets/nats"
	targetpostgres "github.com/singerkit/singerkit/targets/postgres"
)

// binaries maps each binary to the struct its config decodes into.
var binaries = []struct {
	name   string
	config any
}{
	{"tap-csv", csvtap.Config{}},
	{"tap-nats", natstap.Config{}},
	{"tap-kafka", kafkatap.Config{}},
	{"target-nats", natstarget.Config{}},
	{"target-kafka", kafkatarget.Config{}},
	{"tap-postgres", tappostgres.Config{}},
	{"tap-mysql", tapmysql.Config{}},
	{"target-jsonl", jsonl.Config{}},
	{"target-postgres", targetpostgres.Config{}},
	{"target-mysql", targetmysql.Config{}},
	{"target-duckdb", targetduckdb.Config{}},
	{"target-bigquery", bigquery.Config{}},
	{"singer-gate", gate.Config{}},
}

// notOffered are fields of a binary's struct that its schema leaves out on
// purpose (so its users cannot set them): keys of the shared SQL engine's
// config that the binary's dialect does not offer (yet).
var notOffered = map[string][]string{
	"target-bigquery": {"max_retries", "network_timeout_seconds", "retry_backoff_seconds", "statement_timeout_seconds"},
	// An embedded database: no network, and no statement limit of its own.
	"target-duckdb": {"network_timeout_seconds", "statement_timeout_seconds"},
}

type schemaDoc struct {
	Properties map[string]json.RawMessage `json:"properties"`
	Items      json.RawMessage            `json:"items"`
	Compat     map[string]json.RawMessage `json:"x-compat"`
}

// schemaKeys lists the keys a schema declares: top-level names, and
// "parent[].child" for the objects inside an array of objects.
func schemaKeys(t *testing.T, raw []byte, prefix string) []string {
	var d schemaDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k, v := range d.Properties {
		keys = append(keys, prefix+k)
		var p schemaDoc
		_ = json.Unmarshal(v, &p)
		if p.Items != nil {
			var items schemaDoc
			_ = json.Unmarshal(p.Items, &items)
			if items.Properties != nil {
				keys = append(keys, schemaKeys(t, p.Items, prefix+k+"[].")...)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// structKeys lists the json names of a struct's exported fields (embedded
// structs flattened), with "parent[].child" for slices of structs.
func structKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			keys = append(keys, structKeys(f.Type, prefix)...)
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || tag == "-" || tag == "" {
			continue
		}
		keys = append(keys, prefix+tag)
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			keys = append(keys, structKeys(f.Type.Elem(), prefix+tag+"[].")...)
		}
	}
	sort.Strings(keys)
	return keys
}

func diff(a, b []string) []string {
	in := map[string]bool{}
	for _, k := range b {
		in[k] = true
	}
	var out []string
	for _, k := range a {
		if !in[k] {
			out = append(out, k)
		}
	}
	return out
}

// sharedKeys are the keys the shared command line reads for every binary
// (internal/cli: stream maps), not the binary's own struct; the SQL
// targets flatten by their own flattening_max_level, which Meltano's
// flattening_max_depth spells. singer gate is neither a tap nor a target:
// it reads no stream maps.
func sharedKeys(binary string) []string {
	switch binary {
	case "singer-gate":
		return nil
	case "target-postgres", "target-mysql", "target-duckdb", "target-bigquery":
		return []string{streammap.KeyStreamMaps, streammap.KeyStreamMapConfig}
	}
	return []string{streammap.KeyStreamMaps, streammap.KeyStreamMapConfig, streammap.KeyFlatteningEnabled, streammap.KeyFlatteningMaxDepth}
}

// TestStreamMapKeysEverywhere: every tap and target declares the stream
// map keys, each exactly as singer map does (one text for all).
func TestStreamMapKeysEverywhere(t *testing.T) {
	var canon struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(schemas.Get("singer-map.config.json"), &canon); err != nil {
		t.Fatal(err)
	}
	for _, b := range binaries {
		var d schemaDoc
		if err := json.Unmarshal(schemas.Get(b.name+".config.json"), &d); err != nil {
			t.Fatal(err)
		}
		for _, k := range sharedKeys(b.name) {
			if !jsonEqual(t, d.Properties[k], canon.Properties[k]) {
				t.Errorf("%s: %s is %s, want singer-map.config.json's %s", b.name, k, d.Properties[k], canon.Properties[k])
			}
		}
	}
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestConfigHasOneSource: the config schema embedded in schemas/ is the
// source of each binary's keys: the Go struct decodes exactly its keys
// (but the shared ones, which internal/cli reads).
// (Each docs/<binary>.md carries the settings table generated from the
// same schema; go test ./docs/ checks it.)
func TestConfigHasOneSource(t *testing.T) {
	for _, b := range binaries {
		t.Run(b.name, func(t *testing.T) {
			raw := schemas.Get(b.name + ".config.json")
			fromSchema := diff(schemaKeys(t, raw, ""), sharedKeys(b.name))
			fromStruct := structKeys(reflect.TypeOf(b.config), "")
			fromStruct = diff(fromStruct, notOffered[b.name])
			if d := diff(fromStruct, fromSchema); len(d) > 0 {
				t.Errorf("struct fields without a schema property: %v", d)
			}
			if d := diff(fromSchema, fromStruct); len(d) > 0 {
				t.Errorf("schema properties without a struct field: %v", d)
			}
		})
	}
}

// loadInto applies a binary's config policy to one config and decodes it
// into the binary's struct.
func loadInto(t *testing.T, binary, text string, dst any) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{path}, schemas.Get(binary+".config.json"))
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	if err := cfg.Decode(dst); err != nil {
		t.Fatalf("%s: decode: %v", text, err)
	}
	return cfg.Warnings
}

// TestConfigPolicyAcceptsOtherVariants: the PipelineWise and Meltano forms
// of each binary's settings load with the right effect and no warning.
func TestConfigPolicyAcceptsOtherVariants(t *testing.T) {
	t.Run("tap-postgres", func(t *testing.T) {
		var c tappostgres.Config
		w := loadInto(t, "tap-postgres", `{"host":"h","filter_schemas":"public, sales","ssl":"true","port":"5433","logical_poll_total_seconds":30,"database":"shop","break_at_end_lsn":true,"use_secondary":false}`, &c)
		if !reflect.DeepEqual(c.FilterSchemas, []string{"public", "sales"}) || c.SSLMode != "require" || c.Port != 5433 || c.LogicalPollSeconds != 30 || c.DBName != "shop" {
			t.Errorf("%+v", c)
		}
		if want := []string{`config key "break_at_end_lsn" (PipelineWise) is accepted but ignored: a LOG_BASED run always reads at least to the position the log was at when it started, then ends after logical_poll_seconds without a change or after max_run_seconds`}; !reflect.DeepEqual(w, want) {
			t.Errorf("warnings %q, want %q", w, want)
		}
	})
	t.Run("tap-mysql", func(t *testing.T) {
		var c tapmysql.Config
		w := loadInto(t, "tap-mysql", `{"host":"h","filter_dbs":"a, b","ssl":"true","use_gtid":true,"engine":"mariadb","export_batch_rows":"500","check_hostname":false}`, &c)
		if !reflect.DeepEqual(c.FilterDBs, []string{"a", "b"}) || c.SSL == nil || !*c.SSL || c.ChunkSize != 500 || !c.SSLSkipVerify || len(w) != 0 {
			t.Errorf("%+v, warnings %q", &c, w)
		}
		c = tapmysql.Config{}
		w = loadInto(t, "tap-mysql", `{"filter_db":"x","use_gtid":false}`, &c)
		if !reflect.DeepEqual(c.FilterDBs, []string{"x"}) || c.UseGTID == nil || *c.UseGTID || len(w) != 0 {
			t.Errorf("%+v, warnings %q", &c, w)
		}
	})
	t.Run("target-postgres", func(t *testing.T) {
		var c targetpostgres.Config
		w := loadInto(t, "target-postgres", `{"host":"h","data_flattening_max_level":2,"ssl":"true","batch_size":"5000","hard_delete":"true","load_method":"append-only","parallelism":0,"add_record_metadata":true,"primary_key_required":"false"}`, &c)
		if c.FlatteningMaxLevel != 2 || c.SSLMode != "require" || c.BatchSizeRows != 5000 || !c.HardDelete || c.LoadMethod != "append" || c.MaxParallelFlushes != 0 || !c.AddMetadataColumns || c.PrimaryKeyRequired || len(w) != 0 {
			t.Errorf("%+v, warnings %q", c, w)
		}
		c = targetpostgres.Config{}
		w = loadInto(t, "target-postgres", `{"temp_dir":"/tmp","flush_all_streams":true,"flattening_max_depth":1,"schema_mapping":{"shop":{"target_schema":"x","indices":{"t":["a"]}}}}`, &c)
		want := []string{
			`config key "flush_all_streams" (PipelineWise) is accepted but ignored: each stream flushes by its own batch limits; a STATE is echoed once every stream before it is committed`,
			`config key "schema_mapping.shop.indices" (PipelineWise) is accepted but ignored: no index is created besides the primary key`,
			`config key "temp_dir" (PipelineWise) is accepted but ignored: batches are staged in memory, bounded by batch_size_bytes`,
		}
		if c.FlatteningMaxLevel != 1 || !reflect.DeepEqual(w, want) {
			t.Errorf("%+v, warnings %q, want %q", c, w, want)
		}
	})
	t.Run("target-mysql", func(t *testing.T) {
		var c targetmysql.Config
		w := loadInto(t, "target-mysql", `{"database":"d","data_flattening_max_level":"1","ssl":"true","batch_size_rows":"10","local_infile":"false"}`, &c)
		if c.FlatteningMaxLevel != 1 || c.BatchSizeRows != 10 || c.LocalInfile == nil || *c.LocalInfile || len(w) != 0 {
			t.Errorf("%+v, warnings %q", c, w)
		}
	})
	t.Run("target-bigquery", func(t *testing.T) {
		var c bigquery.Config
		w := loadInto(t, "target-bigquery", `{"project":"p","dataset_id":"d","method":"storage_write_api","upsert":true,"denormalized":true,"flattening_max_depth":"1"}`, &c)
		if c.Dataset != "d" || c.Method != "storage_write" || c.LoadMethod != "upsert" || c.ObjectColumns != "record" || c.FlatteningMaxLevel != 1 || len(w) != 0 {
			t.Errorf("%+v, warnings %q", c, w)
		}
		c = bigquery.Config{}
		loadInto(t, "target-bigquery", `{"project_id":"p","dataset":"d","replication_method":"truncate"}`, &c)
		if c.Project != "p" || c.LoadMethod != "overwrite" {
			t.Errorf("%+v", c)
		}
	})
	t.Run("target-jsonl", func(t *testing.T) {
		var c jsonl.Config
		w := loadInto(t, "target-jsonl", `{"destination_path":"x","do_timestamp_file":false,"add_record_metadata":"true","fsync":"false","batch_size_rows":"5"}`, &c)
		if !c.AddMetadataColumns || c.Fsync || c.BatchSizeRows != 5 || len(w) != 0 {
			t.Errorf("%+v, warnings %q", c, w)
		}
	})
	t.Run("tap-csv", func(t *testing.T) {
		var c csvtap.Config
		w := loadInto(t, "tap-csv", `{"files":[{"entity":"s","path":"p","keys":["id"],"header":"false","columns":["id"]}],"sample_rows":"10","add_metadata_columns":false}`, &c)
		if len(c.Files) != 1 || c.Files[0].Stream != "s" || !reflect.DeepEqual(c.Files[0].KeyProperties, []string{"id"}) || c.Files[0].Header == nil || *c.Files[0].Header || c.SampleRows != 10 || len(w) != 0 {
			t.Errorf("%+v, warnings %q", c, w)
		}
	})
}

// TestConfigPolicyRefusesUnknownKeys: every binary refuses a key neither it
// nor its PipelineWise/Meltano variants know, exit 2, one line naming the
// closest key, before doing anything else.
func TestConfigPolicyRefusesUnknownKeys(t *testing.T) {
	cases := []struct {
		binary, config, want string
	}{
		{"target-postgres", `{"hard_delte":true}`, `unknown config key "hard_delte": did you mean "hard_delete"?`},
		{"target-mysql", `{"database":"d","hard_delte":true}`, `unknown config key "hard_delte": did you mean "hard_delete"?`},
		{"target-bigquery", `{"project":"p","dataset":"d","hard_delte":true}`, `unknown config key "hard_delte": did you mean "hard_delete"?`},
		{"target-jsonl", `{"destination_path":"x","fsnyc":false}`, `unknown config key "fsnyc": did you mean "fsync"?`},
		{"tap-postgres", `{"filter_schema":"public"}`, `unknown config key "filter_schema": did you mean "filter_schemas"?`},
		{"tap-mysql", `{"filter_dbz":"a"}`, `unknown config key "filter_dbz": did you mean "filter_db"?`},
		{"tap-csv", `{"files":[{"stream":"s","path":"p","delimeter":";"}]}`, `unknown config key "files[0].delimeter": did you mean "files[0].delimiter"?`},
		{"tap-nats", `{"servers":["nats://x"],"topic":"t","start_form":"beginning"}`, `unknown config key "start_form": did you mean "start_from"?`},
		{"tap-kafka", `{"brokers":["x:9092"],"topic":"t","folow":true}`, `unknown config key "folow": did you mean "follow"?`},
		{"target-nats", `{"servers":["nats://x"],"topic":"t","max_inflight":5}`, `unknown config key "max_inflight": did you mean "max_in_flight"?`},
		{"target-kafka", `{"brokers":["x:9092"],"topic":"t","replica":3}`, `unknown config key "replica": did you mean "replicas"?`},
		{"target-postgres", `{"zzzzqqqq":1}`, `unknown config key "zzzzqqqq" (see --about for the keys)`},
		{"target-mysql", `{"database":"d","schema_mapping":{"shop":{"target_schema":"x","target_shema":"y"}}}`, `unknown config key "schema_mapping.shop.target_shema": did you mean "schema_mapping.shop.target_schema"?`},
		{"target-postgres", `{"flattening_max_level":1,"data_flattening_max_level":2}`, `config keys "flattening_max_level" and "data_flattening_max_level" (PipelineWise's name for it) are both set: keep one`},
		{"target-postgres", `{"password":"s3cr3t-pw","pasword":"s3cr3t-pw"}`, `unknown config key "pasword": did you mean "password"?`},
	}
	specs := map[string]func([]string, *bytes.Buffer) int{
		"tap-csv":      func(a []string, e *bytes.Buffer) int { return runTap(csvtap.Spec(), a, e) },
		"tap-nats":     func(a []string, e *bytes.Buffer) int { return runTap(natstap.Spec(), a, e) },
		"tap-kafka":    func(a []string, e *bytes.Buffer) int { return runTap(kafkatap.Spec(), a, e) },
		"target-nats":  func(a []string, e *bytes.Buffer) int { return runTarget(natstarget.Spec(), a, e) },
		"target-kafka": func(a []string, e *bytes.Buffer) int { return runTarget(kafkatarget.Spec(), a, e) },
		"tap-postgres": func(a []string, e *bytes.Buffer) int { return runTap(tappostgres.Spec(), a, e) },
		"tap-mysql":    func(a []string, e *bytes.Buffer) int { return runTap(tapmysql.Spec(), a, e) },
		"target-jsonl": func(a []string, e *bytes.Buffer) int { return runTarget(jsonl.Spec(), a, e) },
		"target-postgres": func(a []string, e *bytes.Buffer) int {
			return runTarget(targetpostgres.Spec(), a, e)
		},
		"target-mysql":    func(a []string, e *bytes.Buffer) int { return runTarget(targetmysql.Spec(), a, e) },
		"target-bigquery": func(a []string, e *bytes.Buffer) int { return runTarget(bigquery.Spec(), a, e) },
	}
	for _, c := range cases {
		t.Run(c.binary+" "+c.config, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(path, []byte(c.config), 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			code := specs[c.binary]([]string{"--config", path}, &stderr)
			want := c.binary + ": error: invalid config: " + c.want + "\n"
			if code != 2 || stderr.String() != want {
				t.Errorf("exit %d, stderr %q\nwant 2, %q", code, stderr.String(), want)
			}
		})
	}
}

func runTap(spec cli.TapSpec, args []string, stderr *bytes.Buffer) int {
	var out bytes.Buffer
	return cli.RunTap(context.Background(), spec, args, strings.NewReader(""), &out, stderr)
}

func runTarget(spec cli.TargetSpec, args []string, stderr *bytes.Buffer) int {
	var out bytes.Buffer
	return cli.RunTarget(context.Background(), spec, args, strings.NewReader(""), &out, stderr)
}

// TestConfigPolicyWarnsOnce: a key that means nothing here costs one
// WARNING line per run, and the run goes on.
func TestConfigPolicyWarnsOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(`{"destination_path":"`+dir+`/out","do_timestamp_file":true,"custom_name":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := runTarget(jsonl.Spec(), []string{"--config", path}, &stderr)
	want := "WARNING config key \"custom_name\" (Meltano) is accepted but ignored: each stream appends to <destination_path>/<stream>.jsonl\n" +
		"WARNING config key \"do_timestamp_file\" (Meltano) is accepted but ignored: each stream appends to <destination_path>/<stream>.jsonl\n"
	if code != 0 || stderr.String() != want {
		t.Errorf("exit %d, stderr %q\nwant 0, %q", code, stderr.String(), want)
	}
}

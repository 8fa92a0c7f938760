package bigquery

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
	"google.golang.org/api/googleapi"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestFoldName(t *testing.T) {
	long := strings.Repeat("x", 310)
	tests := []struct{ name, in, want string }{
		{"plain", "users", "users"},
		{"case kept", "camelCase", "camelCase"},
		{"spaces", "Name With Spaces", "Name_With_Spaces"},
		{"quote", `a"b`, "a_b"},
		{"non-ascii", "ümlaut", "_mlaut"},
		{"digit first", "1st", "_1st"},
		{"empty", "", "_"},
		{"reserved prefix", "_TABLE_SUFFIX", "__TABLE_SUFFIX"},
		{"reserved prefix lower case", "_partitiontime", "__partitiontime"},
		{"sql injection", "Weird Stream; DROP TABLE x", "Weird_Stream__DROP_TABLE_x"},
		{"long", long, strings.Repeat("x", 291) + "_" + sqltarget.TruncateWithHash(long, 300)[292:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FoldName(tt.in)
			if got != tt.want {
				t.Errorf("FoldName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(got) > maxIdentifier {
				t.Errorf("%d bytes", len(got))
			}
		})
	}
}

// TestTypeTable is the datatype table: property schema -> column type.
func TestTypeTable(t *testing.T) {
	tests := []struct {
		name string
		lt   sqltarget.LogicalType
		want string
	}{
		{"string", sqltarget.LogicalType{Kind: sqltarget.KindString}, "STRING"},
		{"integer", sqltarget.LogicalType{Kind: sqltarget.KindInteger}, "INT64"},
		{"number", sqltarget.LogicalType{Kind: sqltarget.KindNumber}, "BIGNUMERIC"},
		{"decimal fits NUMERIC", sqltarget.LogicalType{Kind: sqltarget.KindDecimal, Precision: 38, Scale: 9}, "NUMERIC(38, 9)"},
		{"decimal small", sqltarget.LogicalType{Kind: sqltarget.KindDecimal, Precision: 10, Scale: 2}, "NUMERIC(10, 2)"},
		{"decimal scale over 9", sqltarget.LogicalType{Kind: sqltarget.KindDecimal, Precision: 20, Scale: 12}, "BIGNUMERIC(20, 12)"},
		{"decimal 30 integer digits", sqltarget.LogicalType{Kind: sqltarget.KindDecimal, Precision: 30, Scale: 0}, "BIGNUMERIC(30, 0)"},
		{"decimal wider than BIGNUMERIC", sqltarget.LogicalType{Kind: sqltarget.KindDecimal, Precision: 100, Scale: 10}, "STRING"},
		{"boolean", sqltarget.LogicalType{Kind: sqltarget.KindBoolean}, "BOOL"},
		{"date-time", sqltarget.LogicalType{Kind: sqltarget.KindTimestamp}, "TIMESTAMP"},
		{"date", sqltarget.LogicalType{Kind: sqltarget.KindDate}, "DATE"},
		{"time", sqltarget.LogicalType{Kind: sqltarget.KindTime}, "TIME"},
		{"object/array", sqltarget.LogicalType{Kind: sqltarget.KindJSON}, "JSON"},
		{"x-sql-datatype", sqltarget.LogicalType{Kind: sqltarget.KindNumber, SQLType: "float64"}, "FLOAT64"},
		{"x-sql-datatype unknown", sqltarget.LogicalType{Kind: sqltarget.KindNumber, SQLType: "money"}, "BIGNUMERIC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := typeName(fieldFor("c", tt.lt)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestEvolution(t *testing.T) {
	f := func(typ bigquery.FieldType) *bigquery.FieldSchema { return &bigquery.FieldSchema{Name: "c", Type: typ} }
	tests := []struct {
		name string
		have *bigquery.FieldSchema
		want sqltarget.Kind
		to   string // "" keeps the column
	}{
		{"int stays int", f(bigquery.IntegerFieldType), sqltarget.KindInteger, ""},
		{"int to number", f(bigquery.IntegerFieldType), sqltarget.KindNumber, "BIGNUMERIC"},
		{"numeric to number", f(bigquery.NumericFieldType), sqltarget.KindNumber, "BIGNUMERIC"},
		{"bignumeric takes int", f(bigquery.BigNumericFieldType), sqltarget.KindInteger, ""},
		{"numeric takes int", f(bigquery.NumericFieldType), sqltarget.KindInteger, ""},
		{"float takes number", f(bigquery.FloatFieldType), sqltarget.KindNumber, ""},
		{"int to string", f(bigquery.IntegerFieldType), sqltarget.KindString, "STRING"},
		{"string takes anything", f(bigquery.StringFieldType), sqltarget.KindInteger, ""},
		{"json takes anything", f(bigquery.JSONFieldType), sqltarget.KindString, ""},
		{"bool to json", f(bigquery.BooleanFieldType), sqltarget.KindJSON, "JSON"},
		{"date to timestamp", f(bigquery.DateFieldType), sqltarget.KindTimestamp, "TIMESTAMP"},
		{"timestamp takes date", f(bigquery.TimestampFieldType), sqltarget.KindDate, ""},
		{"timestamp to bool", f(bigquery.TimestampFieldType), sqltarget.KindBoolean, "STRING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if nf := evolution(tt.have, sqltarget.LogicalType{Kind: tt.want}); nf != nil {
				got = typeName(nf)
			}
			if got != tt.to {
				t.Errorf("got %q, want %q", got, tt.to)
			}
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got:\n%s\nwant:\n%s", p, got, want)
	}
}

// TestMergeSQL pins the MERGE text. The emulator runs it too (conformance
// suite), but the golden file shows reviewers the exact statement.
func TestMergeSQL(t *testing.T) {
	tbl, stage := tablePath("p", "d", "users"), tablePath("p", "d", "_sk_stage_users_1")
	cols := []string{"id", "tenant", "name", "_sdc_deleted_at"}
	got := "-- upsert\n" + mergeSQL(tbl, stage, cols, []string{"id", "tenant"}, "") + ";\n\n" +
		"-- upsert with hard_delete\n" + mergeSQL(tbl, stage, cols, []string{"id", "tenant"}, "_sdc_deleted_at") + ";\n\n" +
		"-- keys only\n" + mergeSQL(tbl, stage, []string{"id"}, []string{"id"}, "") + ";\n\n" +
		"-- ACTIVATE_VERSION, soft and hard\n" + activateSQL(tbl, "_sdc_table_version", "_sdc_deleted_at", 42, false) + ";\n" +
		activateSQL(tbl, "_sdc_table_version", "_sdc_deleted_at", 42, true) + ";\n\n" +
		"-- overwrite: the run's replacement swapped in\n" + replaceSQL(tbl, tablePath("p", "d", "_sk_overwrite_users"), cols) + ";\n"
	golden(t, "merge.sql", got)
}

// TestEvolutionSQL pins the schema-change SQL. The emulator cannot run
// ALTER COLUMN SET DATA TYPE or CREATE OR REPLACE TABLE ... AS SELECT from
// the same table, so this golden file is the check of that path.
func TestEvolutionSQL(t *testing.T) {
	tbl := tablePath("p", "d", "m")
	existing := bigquery.Schema{
		{Name: "id", Type: bigquery.IntegerFieldType},
		{Name: "v", Type: bigquery.IntegerFieldType},
		{Name: "w", Type: bigquery.IntegerFieldType},
		{Name: "ts", Type: bigquery.TimestampFieldType},
		{Name: "j", Type: bigquery.BooleanFieldType},
		{Name: "o", Type: bigquery.JSONFieldType},
	}
	v := evolution(existing[1], sqltarget.LogicalType{Kind: sqltarget.KindNumber})
	changes := map[string]*bigquery.FieldSchema{
		"w":  evolution(existing[2], sqltarget.LogicalType{Kind: sqltarget.KindString}),
		"ts": evolution(existing[3], sqltarget.LogicalType{Kind: sqltarget.KindBoolean}),
		"j":  evolution(existing[4], sqltarget.LogicalType{Kind: sqltarget.KindJSON}),
	}
	got := "-- a new property\n" + addColumnSQL(tbl, fieldFor("email", sqltarget.LogicalType{Kind: sqltarget.KindString})) + ";\n\n" +
		"-- a REQUIRED column relaxed\n" + dropNotNullSQL(tbl, "name") + ";\n\n" +
		"-- integer -> number: in place\n" + widenSQL(tbl, "v", v) + ";\n\n" +
		"-- other changes: the table rewritten, old values cast\n" + rewriteSQL(tbl, existing, changes) + ";\n"
	golden(t, "evolution.sql", got)
}

func TestEncode(t *testing.T) {
	num := func(s string) singer.Value {
		return singer.Value{Kind: singer.Number, IsInt: !strings.ContainsAny(s, ".eE"), Bytes: []byte(s)}
	}
	str := func(s string) singer.Value { return singer.Value{Kind: singer.String, Bytes: []byte(s)} }
	tests := []struct {
		name    string
		field   bigquery.FieldSchema
		val     singer.Value
		want    string
		wantErr string
	}{
		{"int", bigquery.FieldSchema{Type: bigquery.IntegerFieldType}, singer.Value{Kind: singer.Number, IsInt: true, IntOK: true, Int: 9223372036854775807}, `9223372036854775807`, ""},
		{"int from 1e2", bigquery.FieldSchema{Type: bigquery.IntegerFieldType}, num("1e2"), `100`, ""},
		{"int not int", bigquery.FieldSchema{Type: bigquery.IntegerFieldType}, num("1.5"), "", `column "c": 1.5 is not an integer in INT64's range`},
		{"bignumeric exact", bigquery.FieldSchema{Type: bigquery.BigNumericFieldType}, num("12345678901234567890.123456789"), `"12345678901234567890.123456789"`, ""},
		{"bignumeric exponent", bigquery.FieldSchema{Type: bigquery.BigNumericFieldType}, num("-1.25E-3"), `"-0.00125"`, ""},
		{"bignumeric trailing zeros", bigquery.FieldSchema{Type: bigquery.BigNumericFieldType}, num("001.500"), `"1.5"`, ""},
		{"numeric too many fraction digits", bigquery.FieldSchema{Type: bigquery.NumericFieldType}, num("0.1234567891"), "", `column "c": 0.1234567891 does not fit NUMERIC (29 digits before the point, 9 after) without rounding`},
		{"numeric(5,2)", bigquery.FieldSchema{Type: bigquery.NumericFieldType, Precision: 5, Scale: 2}, num("1234.5"), "", `column "c": 1234.5 does not fit NUMERIC (3 digits before the point, 2 after) without rounding`},
		{"decimal string", bigquery.FieldSchema{Type: bigquery.NumericFieldType}, str("42.10"), `"42.1"`, ""},
		{"string", bigquery.FieldSchema{Type: bigquery.StringFieldType}, str("a\"b\tc\x01d"), `"a\"b\tc\u0001d"`, ""},
		{"string from number", bigquery.FieldSchema{Type: bigquery.StringFieldType}, num("7"), `"7"`, ""},
		{"json object", bigquery.FieldSchema{Type: bigquery.JSONFieldType}, singer.Value{Kind: singer.Object, Bytes: []byte(`{"a":[1,"x"]}`)}, `"{\"a\":[1,\"x\"]}"`, ""},
		{"json string", bigquery.FieldSchema{Type: bigquery.JSONFieldType}, str("hi"), `"\"hi\""`, ""},
		{"bool", bigquery.FieldSchema{Type: bigquery.BooleanFieldType}, singer.Value{Kind: singer.Bool, Bool: true}, `true`, ""},
		{"bool wrong", bigquery.FieldSchema{Type: bigquery.BooleanFieldType}, str("yes"), "", `column "c": "yes" is not a boolean`},
		{"timestamp offset", bigquery.FieldSchema{Type: bigquery.TimestampFieldType}, str("2024-01-02T03:04:05.1234567+01:00"), `"2024-01-02T02:04:05.123457Z"`, ""},
		{"timestamp parsed", bigquery.FieldSchema{Type: bigquery.TimestampFieldType}, singer.Value{Kind: singer.String, HasTime: true, Time: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)}, `"1970-01-01T00:00:00.000000Z"`, ""},
		{"timestamp bad", bigquery.FieldSchema{Type: bigquery.TimestampFieldType}, str("yesterday"), "", `column "c": "yesterday" is not an RFC 3339 date-time`},
		{"date", bigquery.FieldSchema{Type: bigquery.DateFieldType}, str("2024-02-29"), `"2024-02-29"`, ""},
		{"time", bigquery.FieldSchema{Type: bigquery.TimeFieldType}, str("12:34:56.5"), `"12:34:56.500000"`, ""},
		{"time, zeros beyond microseconds", bigquery.FieldSchema{Type: bigquery.TimeFieldType}, str("12:34:56.123456000"), `"12:34:56.123456"`, ""},
		{"time finer than microseconds", bigquery.FieldSchema{Type: bigquery.TimeFieldType}, str("12:34:56.1234567"), "", `column "c": "12:34:56.1234567" has more than 6 fraction digits (the column keeps microseconds; no silent rounding)`},
		{"time end of day", bigquery.FieldSchema{Type: bigquery.TimeFieldType}, str("24:00:00"), "", `column "c": "24:00:00" (the end of the day) is outside BigQuery's TIME range, 00:00:00 to 23:59:59.999999 (load the property as STRING with x-sql-datatype to keep it)`},
		{"float", bigquery.FieldSchema{Type: bigquery.FloatFieldType}, num("1.5e300"), `1.5e300`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.field.Name = "c"
			fe := newFieldEnc(&tt.field)
			got, err := appendValue(nil, &fe, &tt.val)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestBatchDedupe: an upsert sends one row per key, the last; an append
// sends every row.
func TestBatchDedupe(t *testing.T) {
	tbl := &sqltarget.Table{Columns: []*sqltarget.Column{{Name: "id", Key: true}, {Name: "name"}}}
	fields := []fieldEnc{
		newFieldEnc(&bigquery.FieldSchema{Name: "id", Type: bigquery.IntegerFieldType}),
		newFieldEnc(&bigquery.FieldSchema{Name: "name", Type: bigquery.StringFieldType}),
	}
	b := newBatch(tbl, fields, &loadPlan{})
	for _, r := range [][2]any{{1, "first"}, {2, "two"}, {1, "second"}, {1, "third"}} {
		vals := []singer.Value{
			{Kind: singer.Number, IsInt: true, IntOK: true, Int: int64(r[0].(int))},
			{Kind: singer.String, Bytes: []byte(r[1].(string))},
		}
		if err := b.Append(vals); err != nil {
			t.Fatal(err)
		}
	}
	data, n := b.data(true)
	if want := "{\"id\":2,\"name\":\"two\"}\n{\"id\":1,\"name\":\"third\"}\n"; string(data) != want || n != 2 {
		t.Errorf("upsert data %d rows:\n%s\nwant:\n%s", n, data, want)
	}
	if _, n := b.data(false); n != 4 {
		t.Errorf("append rows %d, want 4", n)
	}
	b.Reset()
	if b.Rows() != 0 || b.Bytes() != 0 || b.dups {
		t.Errorf("reset left %d rows", b.Rows())
	}
}

func TestRetry(t *testing.T) {
	rate := &googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "rateLimitExceeded"}}, Message: "slow down"}
	denied := &googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "accessDenied"}}, Message: "Access Denied: Dataset p:d"}
	quota := &googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "quotaExceeded"}}, Message: "Quota exceeded"}
	tests := []struct {
		name     string
		errs     []error
		calls    int
		wantErr  string
		wantWait []time.Duration
	}{
		{"success", []error{nil}, 1, "", nil},
		{"rate limit then success", []error{rate, &googleapi.Error{Code: 503}, nil}, 3, "", []time.Duration{time.Second, 2 * time.Second}},
		{"backend error in a job", []error{&bigquery.Error{Reason: "backendError"}, nil}, 2, "", []time.Duration{time.Second}},
		{"bounded", []error{rate, rate, rate, rate, rate, rate}, 5, "giving up after 5 attempts: googleapi: Error 403: slow down", []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}},
		{"permission", []error{denied}, 1, "permission denied (the credentials need the BigQuery Data Editor and Job User roles on the project and dataset): Access Denied: Dataset p:d", nil},
		{"quota", []error{quota}, 1, "BigQuery quota exceeded (wait, raise the quota, or send larger batches: batch_size_rows): Quota exceeded", nil},
		{"other", []error{errors.New("boom")}, 1, "boom", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			var waits []time.Duration
			err := withRetry(context.Background(), func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }, func() error {
				e := tt.errs[calls]
				calls++
				return e
			})
			if calls != tt.calls {
				t.Errorf("calls %d, want %d", calls, tt.calls)
			}
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
			if len(waits) != len(tt.wantWait) {
				t.Errorf("waits %v, want %v", waits, tt.wantWait)
			}
			for i := range waits {
				if i < len(tt.wantWait) && waits[i] != tt.wantWait[i] {
					t.Errorf("waits %v, want %v", waits, tt.wantWait)
				}
			}
		})
	}
}

func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"ok", Config{Project: "p", Dataset: "d", Config: sqltarget.Config{DefaultTargetSchema: "d"}}, ""},
		{"missing", Config{}, "project is required; dataset is required"},
		{"bad dataset", Config{Project: "p", Config: sqltarget.Config{DefaultTargetSchema: "my-data"}}, `dataset "my-data" is not a valid BigQuery dataset name (letters, digits and underscores, at most 1024)`},
		{"storage_write", Config{Project: "p", Method: "storage_write", Config: sqltarget.Config{DefaultTargetSchema: "d"}}, ""},
		{"storage_write on an emulator", Config{Project: "p", Method: "storage_write", APIEndpoint: "http://127.0.0.1:9050", Emulator: true, Config: sqltarget.Config{DefaultTargetSchema: "d"}}, "method storage_write with an api_endpoint needs storage_api_endpoint too (the Storage Write API's gRPC host:port), or use method batch_job"},
		{"an emulator, explicitly", Config{Project: "p", APIEndpoint: "http://127.0.0.1:9050", StorageAPIEndpoint: "127.0.0.1:9060", Emulator: true, Config: sqltarget.Config{DefaultTargetSchema: "d"}}, ""},
		{"a plain HTTP endpoint without emulator", Config{Project: "p", APIEndpoint: "http://127.0.0.1:9050", Config: sqltarget.Config{DefaultTargetSchema: "d"}}, "api_endpoint http://127.0.0.1:9050 is plain HTTP: credentials would travel in clear; use an https endpoint, or set emulator: true for a local emulator (no credentials)"},
		{"a plain HTTP storage endpoint without emulator", Config{Project: "p", StorageAPIEndpoint: "http://127.0.0.1:9060", Config: sqltarget.Config{DefaultTargetSchema: "d"}}, "storage_api_endpoint http://127.0.0.1:9060 is plain HTTP: the Storage Write API is reached over TLS with credentials; give host:port, or set emulator: true for a local emulator (no credentials)"},
		{"a private endpoint: credentials over TLS", Config{Project: "p", APIEndpoint: "https://bq.example.internal", StorageAPIEndpoint: "bqs.example.internal:443", Config: sqltarget.Config{DefaultTargetSchema: "d"}}, ""},
		{"emulator without an endpoint", Config{Project: "p", Emulator: true, Config: sqltarget.Config{DefaultTargetSchema: "d"}}, "emulator: true needs api_endpoint (the emulator's REST address, such as http://127.0.0.1:9050)"},
		{"emulator with credentials", Config{Project: "p", APIEndpoint: "http://127.0.0.1:9050", Emulator: true, CredentialsPath: "/k.json", Config: sqltarget.Config{DefaultTargetSchema: "d"}}, "emulator: true sends no credentials and uses plaintext gRPC: remove credentials_path, or remove emulator to connect with credentials over TLS"},
		{"unknown method", Config{Project: "p", Method: "insert_all", Config: sqltarget.Config{DefaultTargetSchema: "d"}}, `method must be storage_write or batch_job, not "insert_all"`},
		{"credentials", Config{Project: "p", CredentialsPath: "/nonexistent/key.json", Config: sqltarget.Config{DefaultTargetSchema: "d"}}, "credentials_path /nonexistent/key.json cannot be read: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(tt.cfg.check(), "; "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWiden: a value beyond the column the target made for it (INT64 for
// integers, BIGNUMERIC for numbers) asks the engine to widen the column
// (sqltarget.WidenError) to BIGNUMERIC or STRING, by the evolution rules;
// a column whose precision the schema declared refuses it; so does a
// nested field.
func TestWiden(t *testing.T) {
	num := func(s string) singer.Value {
		return singer.Value{Kind: singer.Number, IsInt: !strings.ContainsAny(s, ".eE"), Bytes: []byte(s)}
	}
	tests := []struct {
		name  string
		field bigquery.FieldSchema
		val   singer.Value
		want  sqltarget.Kind
		to    bigquery.FieldType // the column after evolution
	}{
		{"int64 beyond", bigquery.FieldSchema{Type: bigquery.IntegerFieldType}, num("18446744073709551615"), sqltarget.KindNumber, bigquery.BigNumericFieldType},
		{"int64 beyond as exponent", bigquery.FieldSchema{Type: bigquery.IntegerFieldType}, num("1e30"), sqltarget.KindNumber, bigquery.BigNumericFieldType},
		{"int64 beyond bignumeric", bigquery.FieldSchema{Type: bigquery.IntegerFieldType}, num(strings.Repeat("9", 39)), sqltarget.KindString, bigquery.StringFieldType},
		{"bignumeric beyond", bigquery.FieldSchema{Type: bigquery.BigNumericFieldType}, num("1e300"), sqltarget.KindString, bigquery.StringFieldType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.field.Name = "c"
			fe := newFieldEnc(&tt.field)
			_, err := appendValue(nil, &fe, &tt.val)
			we, ok := err.(*sqltarget.WidenError)
			if !ok {
				t.Fatalf("error %v, want a WidenError", err)
			}
			if we.Want.Kind != tt.want {
				t.Errorf("want %s, got %s", tt.want, we.Want.Kind)
			}
			if nf := evolution(&tt.field, we.Want); nf == nil || nf.Type != tt.to || nf.Precision != 0 {
				t.Errorf("evolution to %v, want %s", nf, tt.to)
			}
		})
	}
	declared := bigquery.FieldSchema{Name: "c", Type: bigquery.BigNumericFieldType, Precision: 40, Scale: 2}
	fe := newFieldEnc(&declared)
	v := num("1e300")
	if _, err := appendValue(nil, &fe, &v); err == nil || err.Error() != `column "c": 1e300 does not fit BIGNUMERIC (38 digits before the point, 2 after) without rounding` {
		t.Errorf("declared precision: %v", err)
	}
}

// TestForeignColumn: a column of a type target-bigquery does not create
// (BYTES, FLOAT64, DATETIME) is never rewritten to take other values: one
// line naming table, column, type and what to do; a declared
// x-sql-datatype keeps it as it is; its own columns evolve.
func TestForeignColumn(t *testing.T) {
	bytesCol := &bigquery.FieldSchema{Name: "payload", Type: bigquery.BytesFieldType}
	nf := evolution(bytesCol, sqltarget.LogicalType{Kind: sqltarget.KindString})
	if nf == nil || nf.Type != bigquery.StringFieldType {
		t.Fatalf("evolution %v", nf)
	}
	_, err := guardForeign("`p.d.files`", bytesCol, nf, sqltarget.LogicalType{Kind: sqltarget.KindString})
	want := "table `p.d.files`, column `payload`: its type BYTES was not made by target-bigquery, and taking string values would change it to STRING, altering the values it holds; change the column yourself, declare its type with x-sql-datatype, or load the stream into another table"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	float := &bigquery.FieldSchema{Name: "f", Type: bigquery.FloatFieldType}
	if keep, err := guardForeign("t", float, &bigquery.FieldSchema{Name: "f", Type: bigquery.StringFieldType}, sqltarget.LogicalType{Kind: sqltarget.KindString, SQLType: "FLOAT64"}); !keep || err != nil {
		t.Errorf("declared FLOAT64: keep %v err %v", keep, err)
	}
	own := &bigquery.FieldSchema{Name: "d", Type: bigquery.DateFieldType}
	if keep, err := guardForeign("t", own, &bigquery.FieldSchema{Name: "d", Type: bigquery.StringFieldType}, sqltarget.LogicalType{Kind: sqltarget.KindString}); keep || err != nil {
		t.Errorf("own DATE: keep %v err %v", keep, err)
	}
}

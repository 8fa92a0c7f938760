package emulatortest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestBadInput: target-bigquery's own bad input, each one clear line with
// its exit code, and no state on stdout (nothing was committed).
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	ds := dataset(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notJSON := write("key.json", "-----BEGIN PRIVATE KEY----- s3cr3t")
	noType := write("notype.json", `{"client_email":"a@b","private_key":"s3cr3t"}`)
	missing := filepath.Join(dir, "missing.json")

	// A dataset in location EU, and tables of incompatible schemas.
	euDS := ds + "_eu"
	if err := client.Dataset(euDS).Create(ctx, &bigquery.DatasetMetadata{Location: "EU"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Dataset(euDS).DeleteWithContents(context.Background()) })
	if err := client.Dataset(ds).Create(ctx, &bigquery.DatasetMetadata{}); err != nil {
		t.Fatal(err)
	}
	recordTable := bigquery.Schema{
		{Name: "id", Type: bigquery.IntegerFieldType},
		{Name: "doc", Type: bigquery.RecordFieldType, Schema: bigquery.Schema{{Name: "a", Type: bigquery.IntegerFieldType}}},
	}
	if err := client.Dataset(ds).Table("has_record").Create(ctx, &bigquery.TableMetadata{Schema: recordTable}); err != nil {
		t.Fatal(err)
	}
	repeatedTable := bigquery.Schema{
		{Name: "id", Type: bigquery.IntegerFieldType},
		{Name: "doc", Type: bigquery.StringFieldType, Repeated: true},
	}
	if err := client.Dataset(ds).Table("has_repeated").Create(ctx, &bigquery.TableMetadata{Schema: repeatedTable}); err != nil {
		t.Fatal(err)
	}

	stream := func(name, doc string) string {
		return input(`{"type":"SCHEMA","stream":"`+name+`","schema":{"type":"object","properties":{"id":{"type":"integer"},"doc":`+doc+`}},"key_properties":["id"]}`,
			`{"type":"RECORD","stream":"`+name+`","record":{"id":1,"doc":null}}`,
			`{"type":"STATE","value":{"bookmark":1}}`)
	}
	tests := []struct {
		name string
		cfg  map[string]any
		in   string
		code int
		want string
	}{
		{"credentials file missing", baseConfig(ds, "credentials_path", missing, "emulator", nil, "api_endpoint", nil), stream("s", `{"type":"string"}`), 2,
			"target-bigquery: error: invalid config: credentials_path " + missing + " cannot be read: no such file or directory"},
		{"credentials not JSON", baseConfig(ds, "credentials_path", notJSON, "emulator", nil, "api_endpoint", nil), stream("s", `{"type":"string"}`), 2,
			"target-bigquery: error: invalid config: credentials_path " + notJSON + " is not a JSON key file (it does not parse as a JSON object): download a service-account key (IAM > Service accounts > Keys > JSON) or leave credentials_path out to use application default credentials"},
		{"credentials without type", baseConfig(ds, "credentials_path", noType, "emulator", nil, "api_endpoint", nil), stream("s", `{"type":"string"}`), 2,
			"target-bigquery: error: invalid config: credentials_path " + noType + ` has no "type" field: it is not a Google credentials file (expected a service-account JSON key)`},
		{"a plain HTTP endpoint without emulator: true", baseConfig(ds, "emulator", nil), stream("s", `{"type":"string"}`), 2,
			"target-bigquery: error: invalid config: api_endpoint " + endpoint + " is plain HTTP: credentials would travel in clear; use an https endpoint, or set emulator: true for a local emulator (no credentials)"},
		{"dataset in another location", baseConfig(euDS, "location", "US"), stream("s", `{"type":"string"}`), 2,
			`target-bigquery: error: preparing table for stream "s": invalid config: dataset ` + euDS + ` is in location EU, not US (the location in the config): set location to EU or use another dataset`},
		{"RECORD column, scalar property", baseConfig(ds), stream("has_record", `{"type":"integer"}`), 1,
			"target-bigquery: error: preparing table for stream \"has_record\": table `test." + ds + ".has_record` has column `doc` of type RECORD, but the stream's property \"doc\" is now integer (INT64); BigQuery cannot change a nested column in place: drop or rename the column (or send the stream to another dataset)"},
		{"REPEATED column, object property", baseConfig(ds, "object_columns", "record"), stream("has_repeated", `{"type":["null","object"],"properties":{"a":{"type":"string"}}}`), 1,
			"target-bigquery: error: preparing table for stream \"has_repeated\": table `test." + ds + ".has_repeated` has column `doc` of type REPEATED STRING, but the stream's property \"doc\" is now RECORD; BigQuery cannot change a nested column in place: drop or rename the column (or send the stream to another dataset)"},
		{"RECORD sub-field changed type", baseConfig(ds, "object_columns", "record"), stream("has_record", `{"type":["null","object"],"properties":{"a":{"type":"boolean"}}}`), 1,
			"target-bigquery: error: preparing table for stream \"has_record\": table `test." + ds + ".has_record`, column `doc`: sub-field doc.a is INT64, the stream now declares BOOL; BigQuery cannot change a nested field's type in place: drop or rename the column, or use object_columns json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sqltargettest.Run(t, harness{}, tt.cfg, tt.in)
			if r.Code != tt.code {
				t.Errorf("exit %d, want %d", r.Code, tt.code)
			}
			if r.Stdout != "" {
				t.Errorf("stdout %q, want no state", r.Stdout)
			}
			errs := errorLines(r.Stderr)
			if len(errs) != 1 || errs[0] != tt.want {
				t.Errorf("stderr:\n%s\nwant the line:\n%s", r.Stderr, tt.want)
			}
			if strings.Contains(r.Stderr, "s3cr3t") {
				t.Errorf("a secret leaked to stderr")
			}
		})
	}
	// Nothing was written to the incompatible tables.
	for _, table := range []string{"has_record", "has_repeated"} {
		if rows := (harness{}).Rows(t, ds, table, []string{"COUNT(*)"}, ""); len(rows) != 1 || rows[0] != "0" {
			t.Errorf("%s: %v rows", table, rows)
		}
	}
}

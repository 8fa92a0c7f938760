package bigquery

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	"cloud.google.com/go/bigquery"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

func layoutTable(t *testing.T) *sqltarget.Table {
	return &sqltarget.Table{Stream: "orders", Columns: []*sqltarget.Column{
		columnOf(t, "id", `{"type":"integer"}`),
		columnOf(t, "Updated At", `{"type":"string","format":"date-time"}`),
		columnOf(t, "day", `{"type":["null","string"],"format":"date"}`),
		columnOf(t, "name", `{"type":"string"}`),
		columnOf(t, "doc", `{"type":"object","properties":{"a":{"type":"string"}}}`),
		columnOf(t, "ratio", `{"type":"number","x-sql-datatype":"FLOAT64"}`),
		columnOf(t, "tags", `{"type":"array","items":{"type":"string"}}`),
		{Name: "_sdc_received_at", Property: "_sdc_received_at", Type: sqltarget.LogicalType{Kind: sqltarget.KindTimestamp}, Meta: sqltarget.MetaReceivedAt},
	}}
}

// TestLayout: the partitioning and clustering metadata of a new table, and
// the one line a bad streams config gets.
func TestLayout(t *testing.T) {
	tests := []struct {
		name    string
		sc      StreamConfig
		record  bool
		want    string
		wantErr string
	}{
		{"day of a date-time, clustered", StreamConfig{PartitionBy: &PartitionBy{Field: "Updated At", Type: "DAY"}, ClusterBy: []string{"name", "id"}}, false,
			"partitioned by DAY of Updated_At, clustered by name, id", ""},
		{"folded name works too", StreamConfig{PartitionBy: &PartitionBy{Field: "Updated_At", Type: "hour"}}, false, "partitioned by HOUR of Updated_At, not clustered", ""},
		{"month of a date", StreamConfig{PartitionBy: &PartitionBy{Field: "day", Type: "MONTH"}}, false, "partitioned by MONTH of day, not clustered", ""},
		{"type defaults to DAY", StreamConfig{PartitionBy: &PartitionBy{Field: "day"}}, false, "partitioned by DAY of day, not clustered", ""},
		{"ingestion time", StreamConfig{PartitionBy: &PartitionBy{Type: "YEAR"}, ClusterBy: []string{"day"}}, false, "partitioned by YEAR of ingestion time, clustered by day", ""},
		{"metadata column", StreamConfig{PartitionBy: &PartitionBy{Field: "_sdc_received_at", Type: "DAY"}}, false, "partitioned by DAY of _sdc_received_at, not clustered", ""},
		{"integer range", StreamConfig{PartitionBy: &PartitionBy{Field: "id", Range: &PartitionRange{Start: 0, End: 1000, Interval: 10}}}, false, "partitioned by ranges of id [0, 1000) step 10, not clustered", ""},
		{"cluster only", StreamConfig{ClusterBy: []string{"Updated At"}}, false, "not partitioned, clustered by Updated_At", ""},
		{"partition by a string", StreamConfig{PartitionBy: &PartitionBy{Field: "name", Type: "DAY"}}, false, "",
			`invalid config: streams.orders.partition_by.field: "name" is a STRING column; time partitioning needs a TIMESTAMP or DATE column (a string property with format date-time or date)`},
		{"hour of a date", StreamConfig{PartitionBy: &PartitionBy{Field: "day", Type: "HOUR"}}, false, "",
			`invalid config: streams.orders.partition_by.type: HOUR needs a TIMESTAMP column; "day" is a DATE column (use DAY, MONTH or YEAR)`},
		{"partition by a missing property", StreamConfig{PartitionBy: &PartitionBy{Field: "updated", Type: "DAY"}}, false, "",
			`invalid config: streams.orders.partition_by.field: "updated" is not a property of the stream's schema (nor a metadata column)`},
		{"range of a date-time", StreamConfig{PartitionBy: &PartitionBy{Field: "Updated At", Range: &PartitionRange{End: 10, Interval: 1}}}, false, "",
			`invalid config: streams.orders.partition_by.field: "Updated At" is a TIMESTAMP column; range partitioning needs an INT64 column (an integer property)`},
		{"cluster by JSON", StreamConfig{ClusterBy: []string{"id", "doc"}}, false, "",
			`invalid config: streams.orders.cluster_by: "doc" is a JSON column, which BigQuery cannot cluster by (it clusters by STRING, INT64, NUMERIC, BIGNUMERIC, BOOL, TIMESTAMP, DATE, DATETIME and GEOGRAPHY columns)`},
		{"cluster by RECORD", StreamConfig{ClusterBy: []string{"doc"}}, true, "",
			`invalid config: streams.orders.cluster_by: "doc" is a RECORD column, which BigQuery cannot cluster by (it clusters by STRING, INT64, NUMERIC, BIGNUMERIC, BOOL, TIMESTAMP, DATE, DATETIME and GEOGRAPHY columns)`},
		{"cluster by REPEATED", StreamConfig{ClusterBy: []string{"tags"}}, true, "",
			`invalid config: streams.orders.cluster_by: "tags" is a REPEATED STRING column, which BigQuery cannot cluster by (it clusters by STRING, INT64, NUMERIC, BIGNUMERIC, BOOL, TIMESTAMP, DATE, DATETIME and GEOGRAPHY columns)`},
		{"cluster by FLOAT64", StreamConfig{ClusterBy: []string{"ratio"}}, false, "",
			`invalid config: streams.orders.cluster_by: "ratio" is a FLOAT64 column, which BigQuery cannot cluster by (it clusters by STRING, INT64, NUMERIC, BIGNUMERIC, BOOL, TIMESTAMP, DATE, DATETIME and GEOGRAPHY columns)`},
		{"cluster by a missing property", StreamConfig{ClusterBy: []string{"nope"}}, false, "",
			`invalid config: streams.orders.cluster_by: "nope" is not a property of the stream's schema (nor a metadata column)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tableOptions{record: tt.record, streams: map[string]StreamConfig{"orders": tt.sc, "other": {ClusterBy: []string{"x"}}}}
			l, err := o.layoutFor(layoutTable(t))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v\nwant %s", err, tt.wantErr)
				}
				if cli.ExitCode(err) != 2 {
					t.Errorf("exit code %d, want 2", cli.ExitCode(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			md := &bigquery.TableMetadata{}
			l.apply(md)
			p, c := describeLayout(md.TimePartitioning, md.RangePartitioning, md.Clustering)
			if got := p + ", " + c; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	// A stream without a layout gets none.
	o := tableOptions{streams: map[string]StreamConfig{"other": {ClusterBy: []string{"x"}}}}
	if l, err := o.layoutFor(layoutTable(t)); l != nil || err != nil {
		t.Errorf("got %v, %v for a stream without config", l, err)
	}
}

func TestLayoutDiffers(t *testing.T) {
	o := tableOptions{streams: map[string]StreamConfig{"orders": {PartitionBy: &PartitionBy{Field: "day", Type: "DAY"}, ClusterBy: []string{"name"}}}}
	l, err := o.layoutFor(layoutTable(t))
	if err != nil {
		t.Fatal(err)
	}
	same := &bigquery.TableMetadata{}
	l.apply(same)
	if w := layoutDiffers("`p.d.orders`", "orders", l, same); len(w) != 0 {
		t.Errorf("same layout warns: %v", w)
	}
	plain := &bigquery.TableMetadata{}
	got := strings.Join(layoutDiffers("`p.d.orders`", "orders", l, plain), "\n")
	want := "table `p.d.orders` exists and is not partitioned, not partitioned by DAY of day as streams.orders.partition_by asks; BigQuery cannot change a table's partitioning, so it is loaded as it is (to change it, recreate the table: create the new one with CREATE TABLE ... PARTITION BY ... AS SELECT, then swap)\n" +
		"table `p.d.orders` exists and is not clustered, not clustered by name as streams.orders.cluster_by asks; it is loaded as it is (change it with bq update --clustering_fields, or recreate the table)"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestCheckStreams(t *testing.T) {
	got := strings.Join(checkStreams(map[string]StreamConfig{
		"b": {PartitionBy: &PartitionBy{Field: "id", Type: "DAY", Range: &PartitionRange{End: 1, Interval: 1}}},
		"a": {PartitionBy: &PartitionBy{}},
		"c": {PartitionBy: &PartitionBy{Field: "id", Range: &PartitionRange{Start: 5, End: 5, Interval: 1}}, ClusterBy: []string{"1", "2", "3", "4", "5"}},
		"d": {PartitionBy: &PartitionBy{Range: &PartitionRange{End: 5, Interval: 1}}},
		"e": {PartitionBy: &PartitionBy{Type: "DAY"}, ClusterBy: []string{"x"}},
	}), "\n")
	want := "streams.a.partition_by: give field (a date-time or date property) and type, or type alone for ingestion-time partitioning\n" +
		"streams.b.partition_by: give either type (time partitioning) or range (integer ranges), not both\n" +
		"streams.c.partition_by.range: needs start < end and interval > 0\n" +
		"streams.c.cluster_by: BigQuery clusters by at most 4 columns, not 5\n" +
		"streams.d.partition_by: range needs field (an integer property)"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestCheckCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.json", "private_key = -----BEGIN PRIVATE KEY----- s3cr3t")
	noType := write("notype.json", `{"private_key":"s3cr3t"}`)
	odd := write("odd.json", `{"type":"api_key"}`)
	ok := write("ok.json", `{"type":"service_account","project_id":"p","private_key":"s3cr3t"}`)
	tests := []struct{ path, want string }{
		{filepath.Join(dir, "missing.json"), "credentials_path " + dir + "/missing.json cannot be read: no such file or directory"},
		{dir, "credentials_path " + dir + " cannot be read: is a directory"},
		{bad, "credentials_path " + bad + " is not a JSON key file (it does not parse as a JSON object): download a service-account key (IAM > Service accounts > Keys > JSON) or leave credentials_path out to use application default credentials"},
		{noType, "credentials_path " + noType + ` has no "type" field: it is not a Google credentials file (expected a service-account JSON key)`},
		{odd, "credentials_path " + odd + ` has type "api_key", not a credentials type target-bigquery can use (service_account, authorized_user, external_account, impersonated_service_account)`},
		{ok, ""},
	}
	for _, tt := range tests {
		_, got := checkCredentials(tt.path)
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.path, got, tt.want)
		}
		if strings.Contains(got, "s3cr3t") {
			t.Errorf("the key's content leaked: %s", got)
		}
	}
}

// TestConfigLayoutProblems: object_columns and streams problems come with
// the config's other problems (exit 2 before any connection).
func TestConfigLayoutProblems(t *testing.T) {
	cfg := Config{Project: "p", ObjectColumns: "struct", Streams: map[string]StreamConfig{"s": {PartitionBy: &PartitionBy{}}}, Config: sqltarget.Config{DefaultTargetSchema: "d"}}
	got := strings.Join(cfg.check(), "; ")
	want := `object_columns must be json or record, not "struct"; streams.s.partition_by: give field (a date-time or date property) and type, or type alone for ingestion-time partitioning`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestUnusedStreams(t *testing.T) {
	cfg := Config{Streams: map[string]StreamConfig{"b": {ClusterBy: []string{"x"}}, "orders": {ClusterBy: []string{"name"}}, "a": {}}}
	o := cfg.tableOptions()
	if _, err := o.layoutFor(layoutTable(t)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.unusedStreams(), ","); got != "a,b" {
		t.Errorf("unused %q, want a,b", got)
	}
}

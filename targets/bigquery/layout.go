package bigquery

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/singerkit/singerkit/internal/config"

	"cloud.google.com/go/bigquery"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// This file is the per-stream table layout: partitioning and clustering
// of the tables target-bigquery creates (config key "streams").

// StreamConfig is the config of one stream, by stream name.
type StreamConfig struct {
	PartitionBy *PartitionBy `json:"partition_by"`
	ClusterBy   []string     `json:"cluster_by"`
}

// PartitionBy is a table's partitioning: by a TIMESTAMP or DATE column
// (field with type DAY, HOUR, MONTH or YEAR), by ingestion time (type and
// no field), or by integer ranges of an INT64 column (field with range).
type PartitionBy struct {
	Field string          `json:"field"`
	Type  string          `json:"type"`
	Range *PartitionRange `json:"range"`
}

// PartitionRange is integer-range partitioning: [start, end) in steps of
// interval.
type PartitionRange struct {
	Start    int64 `json:"start"`
	End      int64 `json:"end"`
	Interval int64 `json:"interval"`
}

// tableOptions is what the dialect needs of the config to build tables.
type tableOptions struct {
	record  bool
	streams map[string]StreamConfig
	seen    *sync.Map // stream names prepared in this run
}

// unusedStreams returns the stream names of the streams key that no
// stream of the run had (a typo, or a stream the tap did not send),
// sorted.
func (o *tableOptions) unusedStreams() []string {
	var out []string
	for n := range o.streams {
		if o.seen == nil {
			out = append(out, n)
			continue
		}
		if _, ok := o.seen.Load(n); !ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// layout is a table's partitioning and clustering as BigQuery metadata.
type layout struct {
	time       *bigquery.TimePartitioning
	rng        *bigquery.RangePartitioning
	clustering *bigquery.Clustering
}

func (l *layout) apply(md *bigquery.TableMetadata) {
	if l == nil {
		return
	}
	md.TimePartitioning, md.RangePartitioning, md.Clustering = l.time, l.rng, l.clustering
}

// checkStreams returns the problems of the streams key that do not need
// the stream's schema.
func checkStreams(streams map[string]StreamConfig) []string {
	var problems []string
	names := make([]string, 0, len(streams))
	for n := range streams {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		sc := streams[n]
		if p := sc.PartitionBy; p != nil {
			switch {
			case p.Range != nil && p.Type != "":
				problems = append(problems, fmt.Sprintf("streams.%s.partition_by: give either type (time partitioning) or range (integer ranges), not both", n))
			case p.Range != nil && p.Field == "":
				problems = append(problems, fmt.Sprintf("streams.%s.partition_by: range needs field (an integer property)", n))
			case p.Range != nil && (p.Range.Interval <= 0 || p.Range.End <= p.Range.Start):
				problems = append(problems, fmt.Sprintf("streams.%s.partition_by.range: needs start < end and interval > 0", n))
			case p.Range == nil && p.Field == "" && p.Type == "":
				problems = append(problems, fmt.Sprintf("streams.%s.partition_by: give field (a date-time or date property) and type, or type alone for ingestion-time partitioning", n))
			}
		}
		if len(sc.ClusterBy) > 4 {
			problems = append(problems, fmt.Sprintf("streams.%s.cluster_by: BigQuery clusters by at most 4 columns, not %d", n, len(sc.ClusterBy)))
		}
	}
	return problems
}

// clusterable are the column types BigQuery clusters by.
var clusterable = map[bigquery.FieldType]bool{
	bigquery.StringFieldType: true, bigquery.IntegerFieldType: true, bigquery.NumericFieldType: true,
	bigquery.BigNumericFieldType: true, bigquery.BooleanFieldType: true, bigquery.TimestampFieldType: true,
	bigquery.DateFieldType: true, bigquery.DateTimeFieldType: true, bigquery.GeographyFieldType: true,
}

// layoutFor builds the layout of a stream's table from its config,
// checked against the columns of the table as target-bigquery creates
// them. A problem is a *config.Error (exit 2).
func (o *tableOptions) layoutFor(t *sqltarget.Table) (*layout, error) {
	if o.seen != nil {
		o.seen.Store(t.Stream, true)
	}
	sc, ok := o.streams[t.Stream]
	if !ok || sc.PartitionBy == nil && len(sc.ClusterBy) == 0 {
		return nil, nil
	}
	bad := func(format string, args ...any) error {
		return &config.Error{Problems: []string{fmt.Sprintf("streams.%s.", t.Stream) + fmt.Sprintf(format, args...)}}
	}
	column := func(key, name string) (*bigquery.FieldSchema, error) {
		for _, c := range t.Columns {
			if c.Property == name || c.Name == name {
				return columnField(c, o.record), nil
			}
		}
		return nil, bad("%s: %q is not a property of the stream's schema (nor a metadata column)", key, name)
	}
	l := &layout{}
	if p := sc.PartitionBy; p != nil {
		var f *bigquery.FieldSchema
		if p.Field != "" {
			var err error
			if f, err = column("partition_by.field", p.Field); err != nil {
				return nil, err
			}
		}
		switch {
		case p.Range != nil:
			if f.Type != bigquery.IntegerFieldType || f.Repeated {
				return nil, bad("partition_by.field: %q is a %s column; range partitioning needs an INT64 column (an integer property)", p.Field, fieldTypeText(f))
			}
			l.rng = &bigquery.RangePartitioning{Field: f.Name, Range: &bigquery.RangePartitioningRange{Start: p.Range.Start, End: p.Range.End, Interval: p.Range.Interval}}
		default:
			typ := bigquery.TimePartitioningType(strings.ToUpper(p.Type))
			if typ == "" {
				typ = bigquery.DayPartitioningType
			}
			l.time = &bigquery.TimePartitioning{Type: typ}
			if f == nil {
				break // ingestion time
			}
			switch {
			case f.Repeated || f.Type != bigquery.TimestampFieldType && f.Type != bigquery.DateFieldType:
				return nil, bad("partition_by.field: %q is a %s column; time partitioning needs a TIMESTAMP or DATE column (a string property with format date-time or date)", p.Field, fieldTypeText(f))
			case f.Type == bigquery.DateFieldType && typ == bigquery.HourPartitioningType:
				return nil, bad("partition_by.type: HOUR needs a TIMESTAMP column; %q is a DATE column (use DAY, MONTH or YEAR)", p.Field)
			}
			l.time.Field = f.Name
		}
	}
	if len(sc.ClusterBy) > 0 {
		l.clustering = &bigquery.Clustering{}
		for _, name := range sc.ClusterBy {
			f, err := column("cluster_by", name)
			if err != nil {
				return nil, err
			}
			if f.Repeated || !clusterable[f.Type] {
				return nil, bad("cluster_by: %q is a %s column, which BigQuery cannot cluster by (it clusters by STRING, INT64, NUMERIC, BIGNUMERIC, BOOL, TIMESTAMP, DATE, DATETIME and GEOGRAPHY columns)", name, fieldTypeText(f))
			}
			l.clustering.Fields = append(l.clustering.Fields, f.Name)
		}
	}
	return l, nil
}

// describe writes a layout as the config would: "partitioned by DAY of
// updated_at, clustered by a, b".
func describeLayout(tp *bigquery.TimePartitioning, rp *bigquery.RangePartitioning, cl *bigquery.Clustering) (partition, cluster string) {
	partition = "not partitioned"
	switch {
	case tp != nil && tp.Field != "":
		partition = fmt.Sprintf("partitioned by %s of %s", tp.Type, tp.Field)
	case tp != nil:
		partition = fmt.Sprintf("partitioned by %s of ingestion time", tp.Type)
	case rp != nil && rp.Range != nil:
		partition = fmt.Sprintf("partitioned by ranges of %s [%d, %d) step %d", rp.Field, rp.Range.Start, rp.Range.End, rp.Range.Interval)
	}
	cluster = "not clustered"
	if cl != nil && len(cl.Fields) > 0 {
		cluster = "clustered by " + strings.Join(cl.Fields, ", ")
	}
	return partition, cluster
}

// layoutDiffers returns warnings when an existing table's partitioning or
// clustering is not what the config asks. BigQuery cannot change a table's
// partitioning in place, and target-bigquery never recreates a table that
// holds data, so the table is loaded as it is.
func layoutDiffers(path, stream string, l *layout, md *bigquery.TableMetadata) []string {
	if l == nil {
		return nil
	}
	var out []string
	haveP, haveC := describeLayout(md.TimePartitioning, md.RangePartitioning, md.Clustering)
	wantP, wantC := describeLayout(l.time, l.rng, l.clustering)
	if (l.time != nil || l.rng != nil) && !strings.EqualFold(haveP, wantP) {
		out = append(out, fmt.Sprintf("table %s exists and is %s, not %s as streams.%s.partition_by asks; BigQuery cannot change a table's partitioning, so it is loaded as it is (to change it, recreate the table: create the new one with CREATE TABLE ... PARTITION BY ... AS SELECT, then swap)", path, haveP, wantP, stream))
	}
	if l.clustering != nil && !strings.EqualFold(haveC, wantC) {
		out = append(out, fmt.Sprintf("table %s exists and is %s, not %s as streams.%s.cluster_by asks; it is loaded as it is (change it with bq update --clustering_fields, or recreate the table)", path, haveC, wantC, stream))
	}
	return out
}

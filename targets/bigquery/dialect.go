package bigquery

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/bigquery/storage/managedwriter"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// maxIdentifier is BigQuery's limit on column names (table names may be
// longer; one limit for both keeps the rule simple).
const maxIdentifier = 300

// Dialect is target-bigquery's dialect of the SQL target engine. All
// sessions share one client (it is safe for concurrent use).
type Dialect struct {
	client   *bigquery.Client
	writer   *managedwriter.Client // method storage_write, else nil
	method   string
	project  string
	location string
	log      *singer.Log
	runID    string       // names this run's jobs (see jobBase)
	opts     tableOptions // object_columns and streams (layout.go)
	// datasetMu: one session at a time reads and creates a missing
	// dataset (the engine prepares several streams' tables at once, and
	// two creations of one dataset race).
	datasetMu sync.Mutex
}

// NewDialect connects a client for a config.
func NewDialect(ctx context.Context, cfg *Config, log *singer.Log) (*Dialect, error) {
	c, err := cfg.NewClient(ctx)
	if err != nil {
		return nil, err
	}
	d := &Dialect{client: c, method: cfg.method(), project: cfg.Project, location: cfg.Location, log: log, runID: newRunID(), opts: cfg.tableOptions()}
	if d.method == MethodStorageWrite {
		opts, err := cfg.storageOptions()
		if err == nil {
			// The client keeps its context for the streams it opens: a
			// signal stops the reading, not the commit of what was read.
			d.writer, err = managedwriter.NewClient(context.WithoutCancel(ctx), cfg.Project, opts...)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("creating the BigQuery Storage Write client: %w", err)
		}
	}
	return d, nil
}

// Close closes the clients and logs what was sent. Streams of the streams
// key that no stream of the run had get a warning (most often a misspelt
// stream name).
func (d *Dialect) Close() error {
	if n := sentRows.Load(); n > 0 {
		d.log.Infof("sent %d rows in %d bytes (%.1f bytes a row) by method %s", n, sentBytes.Load(), float64(sentBytes.Load())/float64(n), d.method)
	}
	for _, n := range d.opts.unusedStreams() {
		d.log.Warnf("streams.%s in the config matched no stream of this run (keys are stream names as the tap writes them, e.g. public-orders)", n)
	}
	if d.writer != nil {
		d.writer.Close()
	}
	return d.client.Close()
}

// FoldIdentifier maps a name to BigQuery's rules (see FoldName).
func (d *Dialect) FoldIdentifier(name string) string { return FoldName(name) }

// IdentifierKey: column names are case-insensitive in BigQuery; table
// names compare case-insensitively too here, so that no two streams ever
// land in tables whose names differ only in case.
func (d *Dialect) IdentifierKey(name string) string { return strings.ToLower(name) }

// MaxIdentifier is 300 bytes.
func (d *Dialect) MaxIdentifier() int { return maxIdentifier }

// Open returns a session on the shared client.
func (d *Dialect) Open(ctx context.Context) (sqltarget.Session[batch], error) {
	return &session{d: d, datasets: map[string]bool{}}, nil
}

// reservedPrefixes are column name prefixes BigQuery refuses (compared
// case-insensitively).
var reservedPrefixes = []string{"_table_", "_file_", "_partition", "_row_timestamp", "__root__", "_colidentifier"}

// FoldName is the documented, stable naming rule of target-bigquery:
//   - every character other than an ASCII letter, digit or underscore
//     becomes an underscore ("Name With Spaces" -> "Name_With_Spaces",
//     "ümlaut" -> "_mlaut"); case is kept;
//   - a name that starts with a digit, or with a prefix BigQuery reserves
//     (_TABLE_, _FILE_, _PARTITION, _ROW_TIMESTAMP, __ROOT__,
//     _COLIDENTIFIER), gets a leading underscore; an empty name is "_";
//   - a name over 300 bytes is cut and ends in "_" + 8 hex digits of the
//     SHA-1 of the whole name.
//
// Two names that fold to the same name, ignoring case, are kept apart by
// the engine: the later one gets the hash suffix of its original name.
func FoldName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" {
		return "_"
	}
	if s[0] >= '0' && s[0] <= '9' {
		s = "_" + s
	} else {
		l := strings.ToLower(s)
		for _, p := range reservedPrefixes {
			if strings.HasPrefix(l, p) {
				s = "_" + s
				break
			}
		}
	}
	return sqltarget.TruncateWithHash(s, maxIdentifier)
}

// columnTypes is the type table: logical kind -> BigQuery column type.
// Numbers are never FLOAT64: BIGNUMERIC keeps 38 digits on each side of the
// point exactly.
var columnTypes = map[sqltarget.Kind]bigquery.FieldType{
	sqltarget.KindString:    bigquery.StringFieldType,
	sqltarget.KindInteger:   bigquery.IntegerFieldType,
	sqltarget.KindNumber:    bigquery.BigNumericFieldType,
	sqltarget.KindBoolean:   bigquery.BooleanFieldType,
	sqltarget.KindTimestamp: bigquery.TimestampFieldType,
	sqltarget.KindDate:      bigquery.DateFieldType,
	sqltarget.KindTime:      bigquery.TimeFieldType,
	sqltarget.KindJSON:      bigquery.JSONFieldType,
}

// sqlTypeOverride matches the x-sql-datatype values target-bigquery
// honours.
var sqlTypeOverride = regexp.MustCompile(`^(INT64|INTEGER|NUMERIC|BIGNUMERIC|FLOAT64|STRING|BOOL|BOOLEAN|TIMESTAMP|DATE|TIME|JSON)$`)

var overrideTypes = map[string]bigquery.FieldType{
	"INT64": bigquery.IntegerFieldType, "INTEGER": bigquery.IntegerFieldType,
	"NUMERIC": bigquery.NumericFieldType, "BIGNUMERIC": bigquery.BigNumericFieldType,
	"FLOAT64": bigquery.FloatFieldType, "STRING": bigquery.StringFieldType,
	"BOOL": bigquery.BooleanFieldType, "BOOLEAN": bigquery.BooleanFieldType,
	"TIMESTAMP": bigquery.TimestampFieldType, "DATE": bigquery.DateFieldType,
	"TIME": bigquery.TimeFieldType, "JSON": bigquery.JSONFieldType,
}

// fieldFor returns the column definition of a logical type:
// decimal(p,s) is NUMERIC(p,s) when BigQuery's NUMERIC can hold it
// (s <= 9, p-s <= 29), else BIGNUMERIC(p,s) (s <= 38, p-s <= 38), else
// STRING holding the exact text (wider than any BigQuery number).
func fieldFor(name string, t sqltarget.LogicalType) *bigquery.FieldSchema {
	f := &bigquery.FieldSchema{Name: name}
	if s := strings.ToUpper(strings.TrimSpace(t.SQLType)); s != "" && sqlTypeOverride.MatchString(s) {
		f.Type = overrideTypes[s]
		return f
	}
	if t.Kind == sqltarget.KindDecimal {
		switch {
		case t.Scale <= 9 && t.Precision-t.Scale <= 29:
			f.Type, f.Precision, f.Scale = bigquery.NumericFieldType, int64(t.Precision), int64(t.Scale)
		case t.Scale <= 38 && t.Precision-t.Scale <= 38:
			f.Type, f.Precision, f.Scale = bigquery.BigNumericFieldType, int64(t.Precision), int64(t.Scale)
		default:
			f.Type = bigquery.StringFieldType
		}
		return f
	}
	f.Type = columnTypes[t.Kind]
	return f
}

// typeName is a field's type as DDL.
func typeName(f *bigquery.FieldSchema) string {
	n := string(f.Type)
	switch f.Type {
	case bigquery.IntegerFieldType:
		n = "INT64"
	case bigquery.FloatFieldType:
		n = "FLOAT64"
	case bigquery.BooleanFieldType:
		n = "BOOL"
	}
	if (f.Type == bigquery.NumericFieldType || f.Type == bigquery.BigNumericFieldType) && f.Precision > 0 {
		n += fmt.Sprintf("(%d, %d)", f.Precision, f.Scale)
	}
	return n
}

// evolution is the rule for an existing column of type have that must now
// take values of the logical type want. It returns the new column type,
// or nil when the column takes the values as it is. Every rule keeps every
// old value:
//   - STRING and JSON columns take any value (as text, as JSON);
//   - BIGNUMERIC and FLOAT64 take integers and numbers; NUMERIC takes
//     integers and decimals that fit it;
//   - TIMESTAMP takes dates (midnight UTC);
//   - INT64 and NUMERIC widen to BIGNUMERIC for numbers (ALTER COLUMN SET
//     DATA TYPE, in place);
//   - any other change makes the column JSON when the new values are
//     objects or arrays, else STRING (the table is rewritten with the old
//     values cast: CAST(c AS STRING), TO_JSON(c)); a DATE becomes TIMESTAMP
//     for date-times.
func evolution(have *bigquery.FieldSchema, want sqltarget.LogicalType) *bigquery.FieldSchema {
	wf := fieldFor(have.Name, want)
	switch have.Type {
	case bigquery.StringFieldType, bigquery.JSONFieldType:
		return nil
	}
	if wf.Type == have.Type && (wf.Precision == have.Precision && wf.Scale == have.Scale || have.Precision == 0) {
		return nil
	}
	isNum := func(t bigquery.FieldType) bool {
		return t == bigquery.IntegerFieldType || t == bigquery.NumericFieldType || t == bigquery.BigNumericFieldType
	}
	switch {
	case isNum(wf.Type) && (have.Type == bigquery.BigNumericFieldType && have.Precision == 0 || have.Type == bigquery.FloatFieldType):
		return nil
	case wf.Type == bigquery.IntegerFieldType && have.Type == bigquery.NumericFieldType && (have.Precision == 0 || have.Precision-have.Scale >= 19):
		return nil
	case wf.Type == bigquery.NumericFieldType && have.Type == bigquery.NumericFieldType && have.Precision == 0:
		return nil
	case isNum(wf.Type) && isNum(have.Type):
		return &bigquery.FieldSchema{Name: have.Name, Type: bigquery.BigNumericFieldType}
	case wf.Type == bigquery.DateFieldType && have.Type == bigquery.TimestampFieldType:
		return nil
	case wf.Type == bigquery.TimestampFieldType && have.Type == bigquery.DateFieldType:
		return &bigquery.FieldSchema{Name: have.Name, Type: bigquery.TimestampFieldType}
	case wf.Type == bigquery.JSONFieldType:
		return &bigquery.FieldSchema{Name: have.Name, Type: bigquery.JSONFieldType}
	}
	return &bigquery.FieldSchema{Name: have.Name, Type: bigquery.StringFieldType}
}

// ownField reports whether target-bigquery creates columns of this type
// (the type table). A column of any other type (BYTES, FLOAT64, DATETIME,
// GEOGRAPHY, INTERVAL, ...) was made by someone else, or by x-sql-datatype:
// its values are the user's, and no evolution rewrites them.
func ownField(f *bigquery.FieldSchema) bool {
	switch f.Type {
	case bigquery.StringFieldType, bigquery.IntegerFieldType, bigquery.NumericFieldType, bigquery.BigNumericFieldType,
		bigquery.BooleanFieldType, bigquery.TimestampFieldType, bigquery.DateFieldType, bigquery.TimeFieldType,
		bigquery.JSONFieldType, bigquery.RecordFieldType:
		return true
	}
	return false
}

// guardForeign applies the rule for columns target-bigquery did not create
// to an evolution of f to nf: a column whose type the schema declares
// (x-sql-datatype) is kept as it is; any other change is an error (every
// change of such a column, to STRING or JSON, would alter its values).
func guardForeign(table string, f, nf *bigquery.FieldSchema, want sqltarget.LogicalType) (keep bool, err error) {
	if ownField(f) {
		return false, nil
	}
	if s := strings.ToUpper(strings.TrimSpace(want.SQLType)); s != "" && sqlTypeOverride.MatchString(s) {
		return true, nil
	}
	return false, fmt.Errorf("table %s, column %s: its type %s was not made by target-bigquery, and taking %s values would change it to %s, altering the values it holds; change the column yourself, declare its type with x-sql-datatype, or load the stream into another table",
		table, quote(f.Name), typeName(f), want, typeName(nf))
}

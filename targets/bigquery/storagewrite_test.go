package bigquery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

func TestConfigMethod(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"default", Config{}, MethodStorageWrite},
		{"emulator without a Storage API endpoint", Config{APIEndpoint: "http://127.0.0.1:9050"}, MethodBatchJob},
		{"emulator with one", Config{APIEndpoint: "http://127.0.0.1:9050", StorageAPIEndpoint: "127.0.0.1:9060"}, MethodStorageWrite},
		{"chosen", Config{Method: MethodBatchJob}, MethodBatchJob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.method(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// testSchema has a column of every type the Storage Write path writes.
var testSchema = bigquery.Schema{
	{Name: "id", Type: bigquery.IntegerFieldType},
	{Name: "name", Type: bigquery.StringFieldType},
	{Name: "amount", Type: bigquery.BigNumericFieldType},
	{Name: "price", Type: bigquery.NumericFieldType, Precision: 10, Scale: 2},
	{Name: "ratio", Type: bigquery.FloatFieldType},
	{Name: "active", Type: bigquery.BooleanFieldType},
	{Name: "ts", Type: bigquery.TimestampFieldType},
	{Name: "day", Type: bigquery.DateFieldType},
	{Name: "at", Type: bigquery.TimeFieldType},
	{Name: "doc", Type: bigquery.JSONFieldType},
}

func num(s string) singer.Value {
	v := singer.Value{Kind: singer.Number, IsInt: !strings.ContainsAny(s, ".eE"), Bytes: []byte(s)}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		v.Int, v.IntOK = n, true
	}
	return v
}
func str(s string) singer.Value { return singer.Value{Kind: singer.String, Bytes: []byte(s)} }

// TestProtoRow encodes rows with the hand-written wire encoder and decodes
// them with the protobuf library through the descriptor sent to BigQuery.
func TestProtoRow(t *testing.T) {
	dp, fields, err := protoDescriptor(testSchema)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{Name: proto.String("row.proto"), MessageType: []*descriptorpb.DescriptorProto{dp}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	md := fd.Messages().Get(0)
	plan := &loadPlan{proto: fields, schema: testSchema}
	tbl := &sqltarget.Table{}
	for i := range testSchema {
		tbl.Columns = append(tbl.Columns, &sqltarget.Column{Key: i == 0})
	}
	b := newProtoBatch(tbl, plan)
	rows := [][]singer.Value{
		{num("-9223372036854775808"), str("alice"), num("12345678901234567890.12345678901234567890123456789012345678"), num("1.5e1"), num("0.1"),
			{Kind: singer.Bool, Bool: true}, str("2024-01-02T03:04:05.1234565+01:00"), str("1969-12-31"), str("23:59:59.999999"), {Kind: singer.Object, Bytes: []byte(`{"a":[1,"x"]}`)}},
		{num("7"), {}, {}, {}, {}, {Kind: singer.Bool}, str("0001-01-01T00:00:00Z"), str("9999-12-31"), str("00:00:00"), str("text")},
	}
	for _, r := range rows {
		if err := b.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		`active:true amount:"12345678901234567890.12345678901234567890123456789012345678" at:"23:59:59.999999" day:-1 doc:"{\"a\":[1,\"x\"]}" id:-9223372036854775808 name:"alice" price:"15" ratio:0.1 ts:1704161045123457`,
		`active:false at:"00:00:00.000000" day:2932896 doc:"\"text\"" id:7 ts:-62135596800000000`,
	}
	for i, raw := range b.rows(false) {
		m := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(raw, m); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		var parts []string
		m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch f.Kind() {
			case protoreflect.StringKind:
				parts = append(parts, fmt.Sprintf("%s:%q", f.Name(), v.String()))
			default:
				parts = append(parts, fmt.Sprintf("%s:%v", f.Name(), v.Interface()))
			}
			return true
		})
		sortStrings(parts)
		if got := strings.Join(parts, " "); got != want[i] {
			t.Errorf("row %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
	// The same key again: an upsert sends the latest row only.
	if err := b.Append(rows[0]); err != nil {
		t.Fatal(err)
	}
	if n := len(b.rows(true)); n != 2 {
		t.Errorf("deduplicated rows: %d, want 2", n)
	}
	if n := len(b.rows(false)); n != 3 {
		t.Errorf("rows: %d, want 3", n)
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestProtoValueErrors(t *testing.T) {
	_, fields, err := protoDescriptor(testSchema)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		col  int
		v    singer.Value
		want string
	}{
		{0, num("9223372036854775808"), `9223372036854775808 is beyond INT64`}, // a WidenError: see TestWiden
		{0, num("1.5"), `column "id": 1.5 is not an integer in INT64's range`},
		{3, num("1.005"), `column "price": 1.005 does not fit NUMERIC (8 digits before the point, 2 after) without rounding`},
		{5, str("yes"), `column "active": "yes" is not a boolean`},
		{6, str("10000-01-01T00:00:00Z"), `column "ts": "10000-01-01T00:00:00Z" is not an RFC 3339 date-time`},
	}
	for _, tt := range tests {
		_, err := appendProtoValue(nil, &fields[tt.col], &tt.v)
		if err == nil || err.Error() != tt.want {
			t.Errorf("got %v, want %s", err, tt.want)
		}
	}
	// A field number beyond one byte of tag is still one varint.
	big := make(bigquery.Schema, 20)
	for i := range big {
		big[i] = &bigquery.FieldSchema{Name: fmt.Sprintf("c%d", i), Type: bigquery.IntegerFieldType}
	}
	_, bf, _ := protoDescriptor(big)
	if n, typ, l := protowire.ConsumeTag(bf[19].tag); n != 20 || typ != protowire.VarintType || l != 2 {
		t.Errorf("tag of field 20: %d %d %d", n, typ, l)
	}
}

// fakeJob is a job of the fake service in TestRunJobIdempotent.
type fakeJob struct{ err error }

func (j *fakeJob) Wait(context.Context) (*bigquery.JobStatus, error) {
	return &bigquery.JobStatus{State: bigquery.Done}, j.err
}

// TestRunJobIdempotent: a submission whose answer is lost is resubmitted
// under the same job ID; the service says it exists, and the target waits
// for it: the load runs once. A job that ran and failed runs again under a
// new ID.
func TestRunJobIdempotent(t *testing.T) {
	noSleep := func(ctx context.Context, op func() error) error {
		return withRetry(ctx, func(context.Context, time.Duration) error { return nil }, op)
	}
	jobs := map[string]*fakeJob{}
	var submitted, looked []string
	loseAnswer := true
	failFirstRun := false
	submit := func(ctx context.Context, id string) (job, error) {
		submitted = append(submitted, id)
		if jobs[id] != nil {
			return nil, &googleapi.Error{Code: http.StatusConflict, Message: "Already Exists: Job " + id}
		}
		j := &fakeJob{}
		if failFirstRun {
			failFirstRun = false
			j.err = &bigquery.Error{Reason: "backendError", Message: "the job failed"}
		}
		jobs[id] = j
		if loseAnswer {
			loseAnswer = false
			return nil, &googleapi.Error{Code: http.StatusServiceUnavailable, Message: "connection reset"}
		}
		return j, nil
	}
	lookup := func(ctx context.Context, id string) (job, error) {
		looked = append(looked, id)
		return jobs[id], nil
	}
	if _, err := runJob(context.Background(), noSleep, "sk_run_t_1_load", submit, lookup); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(submitted, " "); got != "sk_run_t_1_load_a0 sk_run_t_1_load_a0" {
		t.Errorf("submitted %s", got)
	}
	if got := strings.Join(looked, " "); got != "sk_run_t_1_load_a0" {
		t.Errorf("looked up %s", got)
	}
	if len(jobs) != 1 {
		t.Errorf("%d jobs ran, want 1", len(jobs))
	}

	submitted, looked, failFirstRun = nil, nil, true
	if _, err := runJob(context.Background(), noSleep, "sk_run_t_2_load", submit, lookup); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(submitted, " "); got != "sk_run_t_2_load_a0 sk_run_t_2_load_a1" {
		t.Errorf("submitted %s", got)
	}

	// A job that fails for good: the error, no retry.
	submitted = nil
	_, err := runJob(context.Background(), noSleep, "sk_run_t_3_load", func(ctx context.Context, id string) (job, error) {
		submitted = append(submitted, id)
		return &fakeJob{err: &bigquery.Error{Reason: "invalid", Message: "bad row"}}, nil
	}, lookup)
	var be *bigquery.Error
	if !errors.As(err, &be) || be.Message != "bad row" || len(submitted) != 1 {
		t.Errorf("err %v after %v", err, submitted)
	}
}

func TestJobBase(t *testing.T) {
	d := &Dialect{runID: "abc"}
	jobSeq.Store(0)
	if got := d.jobBase("my table-1", "load"); got != "sk_abc_mytable-1_1_load" {
		t.Errorf("got %s", got)
	}
	if got := d.jobBase("", "query"); got != "sk_abc_2_query" {
		t.Errorf("got %s", got)
	}
}

// benchRow is a record of `singer gen --shape flat` as the plan hands it
// to the batch (the date-time already parsed, as the plan does).
func benchRow(i int) []singer.Value {
	id := strconv.Itoa(i)
	return []singer.Value{
		num(id), str("José Lamport"), str("jlamport91@ex.com"), str("Kraków"), num("10"),
		{Kind: singer.Bool, Bool: true}, num("37.3"), str("LM-165491"), num("2306.6649"),
		{Kind: singer.String, Bytes: []byte("2024-01-01T00:00:03Z"), HasTime: true, Time: time.Date(2024, 1, 1, 0, 0, 3, 0, time.UTC)},
	}
}

var benchSchema = bigquery.Schema{
	{Name: "id", Type: bigquery.IntegerFieldType}, {Name: "customer", Type: bigquery.StringFieldType},
	{Name: "email", Type: bigquery.StringFieldType}, {Name: "city", Type: bigquery.StringFieldType},
	{Name: "quantity", Type: bigquery.IntegerFieldType}, {Name: "paid", Type: bigquery.BooleanFieldType},
	{Name: "score", Type: bigquery.BigNumericFieldType}, {Name: "sku", Type: bigquery.StringFieldType},
	{Name: "amount", Type: bigquery.BigNumericFieldType}, {Name: "updated_at", Type: bigquery.TimestampFieldType},
}

func benchTable() *sqltarget.Table {
	t := &sqltarget.Table{}
	for i := range benchSchema {
		t.Columns = append(t.Columns, &sqltarget.Column{Key: i == 0})
	}
	return t
}

// BenchmarkEncodeProto is the client-side cost of storage_write: a flat
// record encoded as a protobuf row (with the key bookkeeping of upsert).
func BenchmarkEncodeProto(b *testing.B) {
	_, fields, _ := protoDescriptor(benchSchema)
	batch := newProtoBatch(benchTable(), &loadPlan{proto: fields, schema: benchSchema})
	rows := make([][]singer.Value, 1024)
	for i := range rows {
		rows[i] = benchRow(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%100000 == 0 {
			batch.Reset()
		}
		if err := batch.Append(rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(batch.Bytes())/float64(batch.Rows()), "bytes/record")
}

// BenchmarkEncodeNDJSON is the same for batch_job's NDJSON lines.
func BenchmarkEncodeNDJSON(b *testing.B) {
	fields := make([]fieldEnc, len(benchSchema))
	for i, f := range benchSchema {
		fields[i] = newFieldEnc(f)
	}
	batch := newBatch(benchTable(), fields, &loadPlan{})
	rows := make([][]singer.Value, 1024)
	for i := range rows {
		rows[i] = benchRow(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%100000 == 0 {
			batch.Reset()
		}
		if err := batch.Append(rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(batch.Bytes())/float64(batch.Rows()), "bytes/record")
}

// BenchmarkEncodeDynamicpb is the alternative not taken: the same row
// built as a dynamicpb message and marshalled by the protobuf library
// (values converted the same way as the hand-written encoder).
func BenchmarkEncodeDynamicpb(b *testing.B) {
	dp, _, _ := protoDescriptor(benchSchema)
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{Name: proto.String("row.proto"), MessageType: []*descriptorpb.DescriptorProto{dp}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	md := fd.Messages().Get(0)
	fs := md.Fields()
	rows := make([][]singer.Value, 1024)
	for i := range rows {
		rows[i] = benchRow(i)
	}
	var buf []byte
	var total int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := rows[i%len(rows)]
		m := dynamicpb.NewMessage(md)
		m.Set(fs.Get(0), protoreflect.ValueOfInt64(r[0].Int))
		for _, c := range []int{1, 2, 3, 7} {
			m.Set(fs.Get(c), protoreflect.ValueOfString(string(r[c].Bytes)))
		}
		m.Set(fs.Get(4), protoreflect.ValueOfInt64(r[4].Int))
		m.Set(fs.Get(5), protoreflect.ValueOfBool(r[5].Bool))
		for _, c := range []int{6, 8} {
			plain, _, _, _ := plainDecimal(r[c].Bytes)
			m.Set(fs.Get(c), protoreflect.ValueOfString(string(plain)))
		}
		m.Set(fs.Get(9), protoreflect.ValueOfInt64(r[9].Time.UnixMicro()))
		buf, err = proto.MarshalOptions{}.MarshalAppend(buf[:0], m)
		if err != nil {
			b.Fatal(err)
		}
		total += len(buf)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(total)/float64(b.N), "bytes/record")
}

func TestExplainStorage(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{status.Error(codes.PermissionDenied, "no bigquery.tables.updateData"), "permission denied (the credentials need the BigQuery Data Editor role on the dataset to use the Storage Write API): no bigquery.tables.updateData"},
		{status.Error(codes.Unauthenticated, "bad token"), "authentication failed (check credentials_path or the application default credentials): bad token"},
		{status.Error(codes.ResourceExhausted, "too many streams"), "BigQuery Storage Write API quota exceeded (wait, raise the quota, or use method batch_job): too many streams"},
	}
	for _, tt := range tests {
		if got := explainStorage(tt.err).Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	if !retryable(status.Error(codes.Unavailable, "x")) || retryable(status.Error(codes.InvalidArgument, "x")) {
		t.Error("Unavailable must be retried, InvalidArgument not")
	}
	for in, want := range map[string]string{"127.0.0.1:9060": "127.0.0.1:9060", "http://127.0.0.1:9060/": "127.0.0.1:9060", "bigquerystorage.googleapis.com:443": "bigquerystorage.googleapis.com:443"} {
		if got := storageEndpoint(in); got != want {
			t.Errorf("storageEndpoint(%q) = %q", in, got)
		}
	}
}

package bigquery

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"cloud.google.com/go/bigquery/storage/managedwriter"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// This file is method storage_write: rows go to BigQuery through the
// Storage Write API as protocol buffer messages.
//
// The message type is built from the table's columns (field i+1 is column
// i, every field optional, NULL an absent field) and each row is written
// straight in the protobuf wire format from the schema plan's values, with
// no intermediate message objects. Value encodings, as the Storage Write
// API documents them:
//
//	STRING, JSON             string (JSON columns: the JSON text)
//	INT64                    int64
//	NUMERIC, BIGNUMERIC      string: the exact decimal text (never a float)
//	FLOAT64                  double
//	BOOL                     bool
//	TIMESTAMP                int64 microseconds since the Unix epoch, UTC
//	DATE                     int32 days since 1970-01-01
//	TIME                     string HH:MM:SS.ffffff
//
// Every batch is written to a PENDING stream: its rows are invisible until
// the stream is finalized and committed (BatchCommitWriteStreams), so a
// batch is all or nothing and nothing is visible before the engine echoes
// the STATE that follows it. Appends carry explicit offsets, so a retried
// append is deduplicated by the service (ALREADY_EXISTS); a batch whose
// stream fails before the commit leaves nothing behind and is written again
// on a new stream; a lost commit answer is retried on the same stream
// (already committed counts as done). A committed stream with offsets
// would make rows visible append by append: a batch could be half visible
// when the run fails, which the engine's STATE contract forbids.

// maxAppendBytes bounds the rows of one AppendRows request: the API
// allows 10 MB, but gRPC servers and proxies refuse messages over 4 MiB by
// default (the emulator does), and 3 MiB requests already carry tens of
// thousands of rows each.
const maxAppendBytes = 3 << 20

// Wire types of the protobuf encoding.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
)

// protoField is how one column's values are written as a message field.
type protoField struct {
	enc fieldEnc // the column (type, NUMERIC digits) and its NDJSON form for keys
	tag []byte   // the field's key: number << 3 | wire type, as a varint
}

// protoDescriptor is the message type of a table's rows.
func protoDescriptor(schema bigquery.Schema) (*descriptorpb.DescriptorProto, []protoField, error) {
	dp := &descriptorpb.DescriptorProto{Name: proto.String("singerkit_row")}
	fields := make([]protoField, len(schema))
	for i, f := range schema {
		var typ descriptorpb.FieldDescriptorProto_Type
		wire := wireBytes
		switch f.Type {
		case bigquery.StringFieldType, bigquery.JSONFieldType, bigquery.NumericFieldType, bigquery.BigNumericFieldType, bigquery.TimeFieldType:
			typ = descriptorpb.FieldDescriptorProto_TYPE_STRING
		case bigquery.IntegerFieldType, bigquery.TimestampFieldType:
			typ, wire = descriptorpb.FieldDescriptorProto_TYPE_INT64, wireVarint
		case bigquery.DateFieldType:
			typ, wire = descriptorpb.FieldDescriptorProto_TYPE_INT32, wireVarint
		case bigquery.FloatFieldType:
			typ, wire = descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, wireFixed64
		case bigquery.BooleanFieldType:
			typ, wire = descriptorpb.FieldDescriptorProto_TYPE_BOOL, wireVarint
		default:
			return nil, nil, fmt.Errorf("column %s has type %s, which the Storage Write path cannot write", quote(f.Name), f.Type)
		}
		num := int32(i + 1)
		dp.Field = append(dp.Field, &descriptorpb.FieldDescriptorProto{
			Name:   proto.String(f.Name),
			Number: proto.Int32(num),
			Label:  descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			Type:   typ.Enum(),
		})
		fields[i] = protoField{enc: newFieldEnc(f), tag: binary.AppendUvarint(nil, uint64(num)<<3|uint64(wire))}
	}
	return dp, fields, nil
}

// hasNested reports RECORD or REPEATED columns, which this version loads
// by load jobs under either method.
func hasNested(schema bigquery.Schema) bool {
	for _, f := range schema {
		if f.Repeated || f.Type == bigquery.RecordFieldType {
			return true
		}
	}
	return false
}

// protoBatch is a batch of rows as serialized messages in one buffer.
type protoBatch struct {
	rowIndex
	table  *sqltarget.Table
	fields []protoField
	plan   *loadPlan
}

func newProtoBatch(t *sqltarget.Table, plan *loadPlan) *protoBatch {
	return &protoBatch{rowIndex: newRowIndex(t), table: t, fields: plan.proto, plan: plan}
}

func (b *protoBatch) Table() *sqltarget.Table { return b.table }
func (b *protoBatch) Fresh() batch            { return newProtoBatch(b.table, b.plan) }

// Append encodes one record as one message.
func (b *protoBatch) Append(vals []singer.Value) error {
	start := len(b.buf)
	buf := b.buf
	var err error
	for i := range b.fields {
		v := &vals[i]
		if v.Kind <= singer.Null {
			continue
		}
		if buf, err = appendProtoValue(buf, &b.fields[i], v); err != nil {
			b.buf = buf[:start]
			return columnErr(err, i)
		}
	}
	return b.add(buf, start, vals, func(c int) *fieldEnc { return &b.fields[c].enc })
}

// rows returns the serialized rows to send: every row, or with dedupe
// only the latest row of each key. They point into the batch's buffer.
func (b *protoBatch) rows(dedupe bool) [][]byte {
	out := make([][]byte, 0, len(b.starts))
	b.each(dedupe, func(row []byte) { out = append(out, row) })
	return out
}

func appendTagString(buf []byte, f *protoField, s []byte) []byte {
	buf = append(buf, f.tag...)
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// appendProtoValue writes one non-null value as its field.
func appendProtoValue(buf []byte, pf *protoField, v *singer.Value) ([]byte, error) {
	f := &pf.enc
	switch f.typ {
	case bigquery.StringFieldType:
		var s []byte
		switch v.Kind {
		case singer.String, singer.Number, singer.Object, singer.Array:
			s = v.Bytes
		case singer.Bool:
			s = strconv.AppendBool(nil, v.Bool)
		}
		// (The engine has removed NUL characters: sqltarget's NUL rule.)
		return appendTagString(buf, pf, s), nil
	case bigquery.JSONFieldType:
		var j []byte
		switch v.Kind {
		case singer.String:
			j = singer.AppendJSONBytes(nil, v.Bytes)
		case singer.Bool:
			j = strconv.AppendBool(nil, v.Bool)
		default:
			j = v.Bytes
		}
		return appendTagString(buf, pf, j), nil
	case bigquery.IntegerFieldType:
		n, ok := sqltarget.IntValue(v)
		if !ok {
			return buf, intErr(f, v)
		}
		buf = append(buf, pf.tag...)
		return binary.AppendUvarint(buf, uint64(n)), nil
	case bigquery.NumericFieldType, bigquery.BigNumericFieldType:
		plain, err := decimalText(f, v)
		if err != nil {
			return buf, err
		}
		return appendTagString(buf, pf, plain), nil
	case bigquery.FloatFieldType:
		text, ok := sqltarget.NumericText(v)
		if !ok {
			return buf, valueErr(f, "%s is not a number", sqltarget.Shown(v))
		}
		x, err := strconv.ParseFloat(string(text), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return buf, valueErr(f, "%s is not a number", sqltarget.Shown(v))
		}
		buf = append(buf, pf.tag...)
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(x)), nil
	case bigquery.BooleanFieldType:
		if v.Kind != singer.Bool {
			return buf, valueErr(f, "%s is not a boolean", sqltarget.Shown(v))
		}
		buf = append(buf, pf.tag...)
		if v.Bool {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case bigquery.TimestampFieldType:
		t, err := timestampOf(v)
		if err != nil {
			return buf, valueErr(f, "%v", err)
		}
		buf = append(buf, pf.tag...)
		return binary.AppendUvarint(buf, uint64(t.UnixMicro())), nil
	case bigquery.DateFieldType:
		t, err := dateOf(v)
		if err != nil {
			return buf, valueErr(f, "%v", err)
		}
		days := int32(civilDays(t))
		buf = append(buf, pf.tag...)
		return binary.AppendUvarint(buf, uint64(int64(days))), nil
	case bigquery.TimeFieldType:
		var tb [16]byte
		t, err := timeOfDay(tb[:0], v)
		if err != nil {
			return buf, valueErr(f, "%v", err)
		}
		return appendTagString(buf, pf, t), nil
	}
	return buf, valueErr(f, "column type %s is not supported by target-bigquery", f.typ)
}

// civilDays is the count of days from 1970-01-01 to t's date.
func civilDays(t time.Time) int64 {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return int64(math.Floor(float64(d.Unix()) / 86400))
}

// sentRows and sentBytes count what was sent, for the closing log line:
// the rows in AppendRows requests (with their framing in ProtoRows, not
// gRPC's), or the NDJSON of load jobs.
var sentRows, sentBytes atomic.Int64

// writePending writes rows to a table through a new PENDING stream,
// finalizes and commits it, and returns the row count the stream reports.
func (s *session) writePending(ctx context.Context, dataset, table string, desc *descriptorpb.DescriptorProto, rows [][]byte) (int64, error) {
	parent := managedwriter.TableParentFromParts(s.d.project, dataset, table)
	mw := s.d.writer
	var ws *storagepb.WriteStream
	err := s.retry(ctx, func() (err error) {
		ws, err = mw.CreateWriteStream(ctx, &storagepb.CreateWriteStreamRequest{
			Parent:      parent,
			WriteStream: &storagepb.WriteStream{Type: storagepb.WriteStream_PENDING},
		})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("creating a write stream on %s: %w", table, explainStorage(err))
	}
	ms, err := mw.NewManagedStream(ctx,
		managedwriter.WithStreamName(ws.GetName()),
		managedwriter.WithType(managedwriter.PendingStream),
		managedwriter.WithSchemaDescriptor(desc),
		managedwriter.EnableWriteRetries(true))
	if err != nil {
		return 0, fmt.Errorf("opening write stream %s: %w", ws.GetName(), err)
	}
	defer ms.Close()
	var results []*managedwriter.AppendResult
	var offset int64
	for start := 0; start < len(rows); {
		// Each row costs its bytes plus its key and length in ProtoRows.
		end, size := start, 0
		for end < len(rows) {
			n := len(rows[end]) + 1 + protowire.SizeVarint(uint64(len(rows[end])))
			if end > start && size+n > maxAppendBytes {
				break
			}
			size += n
			end++
		}
		res, err := ms.AppendRows(ctx, rows[start:end], managedwriter.WithOffset(offset))
		if err != nil {
			return 0, fmt.Errorf("appending rows to %s: %w", table, err)
		}
		results = append(results, res)
		sentBytes.Add(int64(size))
		offset += int64(end - start)
		start = end
	}
	sentRows.Add(int64(len(rows)))
	for _, res := range results {
		if _, err := res.GetResult(ctx); err != nil && status.Code(err) != codes.AlreadyExists {
			return 0, fmt.Errorf("appending rows to %s: %w", table, explainStorage(err))
		}
	}
	var n int64
	err = s.retry(ctx, func() (err error) { n, err = ms.Finalize(ctx); return err })
	if err != nil {
		return 0, fmt.Errorf("finalizing write stream on %s: %w", table, explainStorage(err))
	}
	if n != offset {
		return n, fmt.Errorf("the write stream on %s holds %d rows, the batch sent %d: nothing committed", table, n, offset)
	}
	err = s.retry(ctx, func() error {
		resp, err := mw.BatchCommitWriteStreams(ctx, &storagepb.BatchCommitWriteStreamsRequest{Parent: parent, WriteStreams: []string{ws.GetName()}})
		if err != nil {
			return err
		}
		for _, se := range resp.GetStreamErrors() {
			if se.GetCode() == storagepb.StorageError_STREAM_ALREADY_COMMITTED {
				continue // an earlier attempt's answer was lost
			}
			return fmt.Errorf("%s: %s", se.GetCode(), se.GetErrorMessage())
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("committing write stream on %s: %w", table, explainStorage(err))
	}
	return n, nil
}

// loadStorage loads one batch by the Storage Write API. Append: one
// pending stream into the table. Upsert: a pending stream into a new
// staging table, the count checked, then the same MERGE as method
// batch_job.
func (s *session) loadStorage(ctx context.Context, b *protoBatch, mode sqltarget.LoadMode) error {
	p := b.plan
	upsert := mode.Upsert && len(p.keys) > 0
	rows := b.rows(upsert)
	if !upsert {
		if _, err := s.writePending(ctx, p.dataset, p.table, p.desc, rows); err != nil {
			return err
		}
		return nil
	}
	stage, stagePath, drop, err := s.createStage(ctx, p)
	if err != nil {
		return err
	}
	defer drop()
	n, err := s.writePending(ctx, p.dataset, stage, p.desc, rows)
	if err != nil {
		return err
	}
	if n != int64(len(rows)) {
		return fmt.Errorf("staged %d rows, the batch has %d", n, len(rows))
	}
	deletedAt := ""
	if mode.HardDelete {
		deletedAt = p.deletedAt
	}
	if err := s.exec(ctx, mergeSQL(p.path, stagePath, p.cols, p.keys, deletedAt)); err != nil {
		return fmt.Errorf("merging by key: %w", err)
	}
	return nil
}

// explainStorage makes the Storage Write API's permission errors one
// clear sentence, as explain does for the REST API.
func explainStorage(err error) error {
	switch status.Code(err) {
	case codes.PermissionDenied:
		return fmt.Errorf("permission denied (the credentials need the BigQuery Data Editor role on the dataset to use the Storage Write API): %s", status.Convert(err).Message())
	case codes.Unauthenticated:
		return fmt.Errorf("authentication failed (check credentials_path or the application default credentials): %s", status.Convert(err).Message())
	case codes.ResourceExhausted:
		if strings.Contains(err.Error(), "larger than max") {
			return err
		}
		return fmt.Errorf("BigQuery Storage Write API quota exceeded (wait, raise the quota, or use method batch_job): %s", status.Convert(err).Message())
	}
	return err
}

// storageEndpoint is a gRPC target (host:port) from storage_api_endpoint,
// which may be written as a URL.
func storageEndpoint(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "http://"), "https://")
	return strings.TrimRight(s, "/")
}

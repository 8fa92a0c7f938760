package kafkalog

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/singer"
)

// WriterOptions are the log settings of target-kafka.
type WriterOptions struct {
	CreateIfMissing bool
	Replicas        int
	MaxAge          time.Duration // 0: no limit
	MaxBytes        int64         // 0: no limit
	MaxInFlight     int
	// RetryFor bounds how long a record may take to be acknowledged,
	// retries included, before the run fails.
	RetryFor time.Duration
	// Compression is the codec of the record batches (one of
	// Compressions; "" is the client's default, Snappy).
	Compression string
}

// The compression codecs of record batches, as the compression setting
// names them.
const (
	CompressionSnappy = "snappy"
	CompressionLZ4    = "lz4"
	CompressionZstd   = "zstd"
	CompressionGzip   = "gzip"
	CompressionNone   = "none"
)

// Compressions are the values of the compression setting.
var Compressions = []string{CompressionSnappy, CompressionLZ4, CompressionZstd, CompressionGzip, CompressionNone}

// codec is the client's codec of a compression setting.
func codec(compression string) kgo.CompressionCodec {
	switch compression {
	case CompressionLZ4:
		return kgo.Lz4Compression()
	case CompressionZstd:
		return kgo.ZstdCompression()
	case CompressionGzip:
		return kgo.GzipCompression()
	case CompressionNone:
		return kgo.NoCompression()
	}
	return kgo.SnappyCompression()
}

// Writer produces to a topic; it implements singerlog.Writer.
type Writer struct {
	conn *Conn
	cl   *kgo.Client
	adm  *kadm.Client
	log  *singer.Log
}

// NewWriter connects, and creates the topic and its schema topic when
// missing and allowed.
func NewWriter(ctx context.Context, c *Conn, producer string, opts WriterOptions, log *singer.Log) (*Writer, error) {
	kopts, err := c.options(producer)
	if err != nil {
		return nil, err
	}
	kopts = append(kopts,
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()), // what idempotence needs
		kgo.MaxBufferedRecords(opts.MaxInFlight),
		kgo.RecordDeliveryTimeout(opts.RetryFor),
		kgo.ProducerBatchMaxBytes(16<<20),
		kgo.ProducerBatchCompression(codec(opts.Compression)),
	)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, &config.Error{Problems: []string{err.Error()}}
	}
	w := &Writer{conn: c, cl: cl, adm: kadm.NewClient(cl), log: log}
	if err := w.ensure(ctx, opts); err != nil {
		cl.Close()
		return nil, err
	}
	return w, nil
}

func (w *Writer) ensure(ctx context.Context, opts WriterOptions) error {
	for _, t := range []struct {
		name    string
		configs map[string]*string
	}{
		{w.conn.Topic, map[string]*string{
			"retention.ms":    kadm.StringPtr(strconv.FormatInt(retentionMs(opts.MaxAge), 10)),
			"retention.bytes": kadm.StringPtr(strconv.FormatInt(retentionBytes(opts.MaxBytes), 10)),
		}},
		{w.conn.SchemaTopic(), map[string]*string{
			"cleanup.policy": kadm.StringPtr("compact"),
		}},
	} {
		exists, err := checkTopic(ctx, w.adm, t.name, w.conn.Brokers)
		if err != nil {
			return err
		}
		if exists {
			continue
		}
		if !opts.CreateIfMissing {
			return &missingTopicError{t.name}
		}
		if _, err := w.adm.CreateTopic(ctx, 1, int16(opts.Replicas), t.configs, t.name); err != nil {
			return fmt.Errorf("creating topic %q: %w", t.name, err)
		}
		w.log.Infof("created topic %q (1 partition, %d replica(s))", t.name, opts.Replicas)
	}
	return nil
}

func retentionMs(d time.Duration) int64 {
	if d <= 0 {
		return -1
	}
	return d.Milliseconds()
}

func retentionBytes(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// Close closes the client.
func (w *Writer) Close() error {
	w.cl.Close()
	return nil
}

type ack struct {
	done chan struct{}
	pos  uint64
	err  error
}

// Publish implements singerlog.Writer. The idempotent producer keeps the
// order of the records and stores a retried one once.
func (w *Writer) Publish(ctx context.Context, m *singerlog.Message) (singerlog.Ack, error) {
	rec := record(w.conn.Topic, m)
	a := &ack{done: make(chan struct{})}
	w.cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
		a.pos, a.err = uint64(r.Offset)+1, err
		close(a.done)
	})
	return a, nil
}

// Wait implements singerlog.Ack.
func (a *ack) Wait(ctx context.Context) (uint64, error) {
	select {
	case <-a.done:
		return a.pos, a.err
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
}

// schemaEntry is a record value of the schema topic.
type schemaEntry struct {
	Position uint64          `json:"position"`
	Schema   json.RawMessage `json:"schema"`
}

// KeepSchema implements singerlog.Writer.
func (w *Writer) KeepSchema(ctx context.Context, stream string, pos uint64, line []byte) error {
	v, err := json.Marshal(schemaEntry{Position: pos, Schema: line})
	if err != nil {
		return err
	}
	rec := &kgo.Record{Topic: w.conn.SchemaTopic(), Partition: 0, Key: []byte(stream), Value: v}
	return w.cl.ProduceSync(ctx, rec).FirstErr()
}

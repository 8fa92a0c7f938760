package kfaketest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	kafkatap "github.com/singerkit/singerkit/taps/kafka"
	kafkatarget "github.com/singerkit/singerkit/targets/kafka"
)

func cluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func writeConfig(t *testing.T, cfg map[string]any) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	out, err string
	code     int
}

func runTarget(t *testing.T, cfg map[string]any, input string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.RunTarget(context.Background(), kafkatarget.Spec(), []string{"--config", writeConfig(t, cfg)}, strings.NewReader(input), &out, &errb)
	return result{out.String(), errb.String(), code}
}

func runTap(t *testing.T, cfg map[string]any, state string) result {
	t.Helper()
	args := []string{"--config", writeConfig(t, cfg)}
	if state != "" {
		p := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(p, []byte(state), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--state", p)
	}
	var out, errb bytes.Buffer
	code := cli.RunTap(context.Background(), kafkatap.Spec(), args, nil, &out, &errb)
	return result{out.String(), errb.String(), code}
}

func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func tapState(topic string, next int, upstream string) string {
	if upstream == "" {
		return fmt.Sprintf(`{"type":"STATE","value":{"log":{"topic":%q,"next":%d}}}`, topic, next)
	}
	return fmt.Sprintf(`{"type":"STATE","value":{"log":{"topic":%q,"next":%d},"upstream":%s}}`, topic, next, upstream)
}

const (
	schemaUsers  = `{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":["string","null"]}}},"key_properties":["id"]}`
	schemaUsers2 = `{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":["string","null"]},"score":{"type":["number","null"]}}},"key_properties":["id"]}`
	schemaOrders = `{"type":"SCHEMA","stream":"orders","schema":{"type":"object","properties":{"id":{"type":"integer"},"amount":{"type":"number"}}},"key_properties":["id"]}`
)

var upstreamLines = []string{
	schemaUsers,
	`{"type":"RECORD","stream":"users","record":{"id":1,"name":"Zoë \"q\" 🚀"},"time_extracted":"2026-12-01T00:00:00Z"}`,
	schemaOrders,
	`{"type": "RECORD", "stream": "orders", "record": {"id": 10, "amount": 12.50}}`,
	`{"type":"STATE","value":{"bookmarks":{"users":{"id":1}}}}`,
	`{"type":"ACTIVATE_VERSION","stream":"users","version":1700000000000}`,
	`{"type":"RECORD","stream":"users","record":{"id":2,"name":null},"version":1700000000000}`,
	schemaUsers2,
	`{"type":"RECORD","stream":"users","record":{"id":3,"name":"x","score":1e400}}`,
	`{"type":"RECORD","stream":"orders","record":{"id":11,"amount":-0.000000000000000000001}}`,
	`{"type":"STATE","value":{"bookmarks":{"users":{"id":3},"orders":{"id":11}}}}`,
}

// TestRoundTrip: target-kafka produces every message byte for byte with its
// envelope and echoes each state; tap-kafka reads them back exactly, from
// the beginning and from a state in the middle (schemas from the schema
// topic, the one in force there).
func TestRoundTrip(t *testing.T) {
	c := cluster(t)
	topic := "shop"
	cfg := map[string]any{"brokers": c.ListenAddrs(), "topic": topic}
	wcfg := map[string]any{"brokers": c.ListenAddrs(), "topic": topic, "producer": "test-producer", "replicas": 3}
	r := runTarget(t, wcfg, lines(upstreamLines...))
	if r.code != 0 {
		t.Fatalf("target-kafka exit %d: %s", r.code, r.err)
	}
	if want := lines(`{"bookmarks":{"users":{"id":1}}}`, `{"bookmarks":{"users":{"id":3},"orders":{"id":11}}}`); r.out != want {
		t.Errorf("target-kafka stdout:\n%s\nwant:\n%s", r.out, want)
	}

	// The records and their envelope.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for len(recs) < len(upstreamLines) {
		fs := cl.PollFetches(context.Background())
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, fs.Records()...)
	}
	wantType := []string{"SCHEMA", "RECORD", "SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION", "RECORD", "SCHEMA", "RECORD", "RECORD", "STATE"}
	for i, rec := range recs {
		h := map[string]string{}
		for _, x := range rec.Headers {
			h[x.Key] = string(x.Value)
		}
		if string(rec.Value) != upstreamLines[i] || rec.Offset != int64(i) || h["Singer-Type"] != wantType[i] || h["Singer-Producer"] != "test-producer" || h["Singer-Id"] == "" {
			t.Errorf("record %d: offset %d, value %s, headers %v", i, rec.Offset, rec.Value, h)
		}
		if _, err := time.Parse(time.RFC3339Nano, h["Singer-Written-At"]); err != nil {
			t.Errorf("record %d: Singer-Written-At %q", i, h["Singer-Written-At"])
		}
	}

	r = runTap(t, cfg, "")
	want := lines(upstreamLines[0], upstreamLines[1], upstreamLines[2], upstreamLines[3],
		tapState(topic, 6, `{"bookmarks":{"users":{"id":1}}}`),
		upstreamLines[5], upstreamLines[6], upstreamLines[7], upstreamLines[8], upstreamLines[9],
		tapState(topic, 12, `{"bookmarks":{"users":{"id":3},"orders":{"id":11}}}`))
	if r.code != 0 || r.out != want {
		t.Errorf("tap-kafka exit %d, stdout:\n%s\nwant:\n%s\n%s", r.code, r.out, want, r.err)
	}
	r = runTap(t, cfg, `{"log":{"topic":"shop","next":6},"upstream":{"bookmarks":{"users":{"id":1}}}}`)
	want = lines(schemaUsers, upstreamLines[5], upstreamLines[6], schemaUsers2, upstreamLines[8],
		schemaOrders, upstreamLines[9], tapState(topic, 12, `{"bookmarks":{"users":{"id":3},"orders":{"id":11}}}`))
	if r.code != 0 || r.out != want {
		t.Errorf("tap-kafka from state: exit %d, stdout:\n%s\nwant:\n%s\n%s", r.code, r.out, want, r.err)
	}
	r = runTap(t, map[string]any{"brokers": c.ListenAddrs(), "topic": topic, "start_from": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, "")
	if want := lines(tapState(topic, 12, "")); r.code != 0 || r.out != want {
		t.Errorf("tap-kafka from a later time: exit %d, stdout:\n%s\nwant:\n%s\n%s", r.code, r.out, want, r.err)
	}
}

// TestRetriedProduceStoredOnce: a produce the broker applied but answered
// with a timeout is retried by the idempotent producer and stored once.
func TestRetriedProduceStoredOnce(t *testing.T) {
	c := cluster(t)
	topic := "retry"
	cfg := map[string]any{"brokers": c.ListenAddrs(), "topic": topic}
	// Created first, so that the fault hits a produce.
	if r := runTarget(t, cfg, ""); r.code != 0 {
		t.Fatalf("target-kafka exit %d: %s", r.code, r.err)
	}
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Err: kerr.RequestTimedOut, Count: 1})
	var produces atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		produces.Add(1)
		return nil, nil, false
	})
	r := runTarget(t, cfg, lines(upstreamLines...))
	if r.code != 0 {
		t.Fatalf("target-kafka exit %d: %s", r.code, r.err)
	}
	if n := produces.Load(); n < 2 {
		t.Errorf("%d produce requests: the faulted one was not retried", n)
	}
	got := runTap(t, cfg, "")
	if n := strings.Count(got.out, "\n"); got.code != 0 || n != 11 {
		t.Errorf("tap-kafka exit %d, %d lines (want 11: each message once):\n%s", got.code, n, got.out)
	}
}

// TestRetention: a position retention deleted stops the reader with one
// line and exit 1.
func TestRetention(t *testing.T) {
	c := cluster(t)
	topic := "ret"
	cfg := map[string]any{"brokers": c.ListenAddrs(), "topic": topic}
	if r := runTarget(t, cfg, lines(upstreamLines...)); r.code != 0 {
		t.Fatalf("target-kafka exit %d: %s", r.code, r.err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: topic, Partition: 0, At: 3})
	if _, err := kadm.NewClient(cl).DeleteRecords(context.Background(), offs); err != nil {
		t.Fatal(err)
	}
	r := runTap(t, cfg, `{"log":{"topic":"ret","next":2}}`)
	want := `tap-kafka: error: topic "ret": the state's position 2 is no longer in the log (its retention deleted messages 2 to 3; the oldest kept is 4): nothing was skipped; reload from the source, or remove "log" from the state to start over from start_from` + "\n"
	if r.code != 1 || r.out != "" || r.err != want {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s", r.code, r.out, r.err, want)
	}
	r = runTap(t, cfg, "")
	want = lines(schemaOrders, upstreamLines[3], tapState(topic, 6, `{"bookmarks":{"users":{"id":1}}}`),
		schemaUsers, upstreamLines[5], upstreamLines[6], schemaUsers2, upstreamLines[8], upstreamLines[9],
		tapState(topic, 12, `{"bookmarks":{"users":{"id":3},"orders":{"id":11}}}`))
	if r.code != 0 || r.out != want {
		t.Errorf("from the beginning: exit %d, stdout:\n%s\nwant:\n%s\n%s", r.code, r.out, want, r.err)
	}
}

// TestMultiplePartitionsRefused: order lives in one partition.
func TestMultiplePartitionsRefused(t *testing.T) {
	c := cluster(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 3, 1, nil, "wide"); err != nil {
		t.Fatal(err)
	}
	r := runTarget(t, map[string]any{"brokers": c.ListenAddrs(), "topic": "wide"}, "")
	want := `target-kafka: error: topic "wide" has 3 partitions: a Singer log needs exactly 1 (the order of its messages is the order of one partition); use a topic per source` + "\n"
	if r.code != 2 || r.err != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", r.code, r.err, want)
	}
}

// TestCompression: each compression setting produces record batches of
// that codec (the batch's attributes, as the broker received them), and
// tap-kafka reads every one back as the tap wrote it. The default is
// Snappy.
func TestCompression(t *testing.T) {
	codecs := map[int16]string{0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
	var recs []string
	for i := range 300 {
		recs = append(recs, fmt.Sprintf(`{"type":"RECORD","stream":"users","record":{"id":%d,"name":"user %d"}}`, i, i))
	}
	input := append(append([]string{schemaUsers}, recs...), `{"type":"STATE","value":{"n":300}}`)
	for _, compression := range []string{"", "lz4", "zstd", "gzip", "none"} {
		c := cluster(t)
		topic := "comp"
		var mu sync.Mutex
		seen := map[string]bool{}
		c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			for _, tp := range req.(*kmsg.ProduceRequest).Topics {
				for _, p := range tp.Partitions {
					// Every batch of the target (the topic's and the schema
					// topic's; newer requests name a topic by id).
					var b kmsg.RecordBatch
					err := b.ReadFrom(p.Records)
					mu.Lock()
					if err != nil {
						seen[err.Error()] = true
					} else {
						seen[codecs[b.Attributes&7]] = true
					}
					mu.Unlock()
				}
			}
			return nil, nil, false
		})
		cfg := map[string]any{"brokers": c.ListenAddrs(), "topic": topic}
		wcfg := map[string]any{"brokers": c.ListenAddrs(), "topic": topic}
		want := compression
		if compression == "" {
			want = "snappy"
		} else {
			wcfg["compression"] = compression
		}
		if r := runTarget(t, wcfg, lines(input...)); r.code != 0 || r.out != lines(`{"n":300}`) {
			t.Fatalf("%s: target-kafka exit %d, stdout %q: %s", want, r.code, r.out, r.err)
		}
		mu.Lock()
		if got := fmt.Sprint(seen); got != fmt.Sprint(map[string]bool{want: true}) {
			t.Errorf("%s: the record batches' codecs: %s", want, got)
		}
		mu.Unlock()
		r := runTap(t, cfg, "")
		if wantOut := lines(append(append([]string{}, input[:301]...), tapState(topic, 4, `{"n":300}`))...); r.code != 0 || r.out != wantOut {
			t.Errorf("%s: tap-kafka exit %d, %d bytes of stdout, want %d: %s", want, r.code, len(r.out), len(wantOut), r.err)
		}
	}
}

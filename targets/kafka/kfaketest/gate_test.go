package kfaketest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/singerkit/singerkit/internal/gate"
)

const gateToken = "kafka-gate-test-token"

// kafkaGate is a singer gate writing to the kfake cluster.
type kafkaGate struct {
	url  string
	stop func()
}

func startKafkaGate(t *testing.T, c *kfake.Cluster, topic string) *kafkaGate {
	return startKafkaGateWith(t, c, topic, nil)
}

// startKafkaGateWith starts a gate with extra config keys.
func startKafkaGateWith(t *testing.T, c *kfake.Cluster, topic string, extra map[string]any) *kafkaGate {
	t.Helper()
	m := map[string]any{
		"listen": "127.0.0.1:0", "brokers": c.ListenAddrs(), "import_topic": topic, "publish_timeout_seconds": 2,
		"tables": []map[string]any{{"name": "users", "topic": topic, "key_names": []string{"id"},
			"schema": map[string]any{"properties": map[string]any{"id": map[string]any{"type": "integer"}, "email": map[string]any{"type": []string{"string", "null"}}}}}},
	}
	for k, v := range extra {
		m[k] = v
	}
	cfg, err := gate.LoadConfig([]string{writeConfig(t, m)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- gate.Run(ctx, cfg, gate.RunOptions{
			Lookup: func(k string) (string, bool) {
				if k == gate.EnvToken {
					return gateToken, true
				}
				return "", false
			},
			Stdout: io.Discard, Stderr: io.Discard,
			Ready: func(addr string) { ready <- addr },
		})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("gate: %v", err)
	}
	g := &kafkaGate{url: "http://" + addr}
	g.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gate: %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			g.stop()
		}
	})
	return g
}

func (g *kafkaGate) post(t *testing.T, path, body string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", g.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+gateToken)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// records returns the RECORD lines tap-kafka reads from topic.
func records(t *testing.T, c *kfake.Cluster, topic string) []string {
	t.Helper()
	r := runTap(t, map[string]any{"brokers": c.ListenAddrs(), "topic": topic}, "")
	if r.code != 0 {
		t.Fatalf("tap-kafka %s: exit %d: %s", topic, r.code, r.err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(r.out), "\n") {
		if strings.HasPrefix(l, `{"type":"RECORD"`) {
			out = append(out, l)
		}
	}
	return out
}

func batch(table string, first, n int) string {
	var ms []string
	for i := first; i < first+n; i++ {
		ms = append(ms, fmt.Sprintf(`{"action":"upsert","sequence":%d,"data":{"id":%d,"v":"r%d"}}`, i, i, i))
	}
	return fmt.Sprintf(`{"table_name":%q,"key_names":["id"],"schema":{"properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"messages":[%s]}`, table, strings.Join(ms, ","))
}

func wantRecords(table string, first, n int) []string {
	var out []string
	for i := first; i < first+n; i++ {
		out = append(out, fmt.Sprintf(`{"type":"RECORD","stream":%q,"record":{"id":%d,"v":"r%d"}}`, table, i, i))
	}
	return out
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestGateKafka: every endpoint accepts into Kafka, and tap-kafka reads
// the records back.
func TestGateKafka(t *testing.T) {
	c := cluster(t)
	g := startKafkaGate(t, c, "gate-import")

	if code, body := g.post(t, "/v2/import/batch", batch("orders", 1, 3)); code != 202 {
		t.Fatalf("batch: %d %s", code, body)
	}
	if code, body := g.post(t, "/v2/import/push", `[{"table_name":"users","sequence":1,"action":"upsert","key_names":["id"],"data":{"id":1,"email":"a@x"}}]`); code != 201 {
		t.Fatalf("push: %d %s", code, body)
	}
	if code, body := g.post(t, "/v2/import/validate", batch("orders", 4, 1)); code != 200 {
		t.Fatalf("validate: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", g.url+"/v2/import/status", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status: %d", resp.StatusCode)
	}
	singer := lines(
		`{"type":"SCHEMA","stream":"s","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}`,
		`{"type":"RECORD","stream":"s","record":{"id":1}}`,
		`{"type":"RECORD","stream":"s","record":{"id":2}}`,
		`{"type":"STATE","value":{"n":2}}`)
	if code, body := g.post(t, "/v1/topics/gate-singer", singer); code != 202 {
		t.Fatalf("topics: %d %s", code, body)
	}

	got := records(t, c, "gate-import")
	var recs []string
	for _, l := range got {
		// The Import API's records carry the gate's time_extracted.
		if i := strings.Index(l, `,"time_extracted"`); i >= 0 {
			l = l[:i] + "}"
		}
		recs = append(recs, l)
	}
	equal(t, "gate-import", recs, append(wantRecords("orders", 1, 3), `{"type":"RECORD","stream":"users","record":{"id":1,"email":"a@x"}}`))
	equal(t, "gate-singer", records(t, c, "gate-singer"), []string{
		`{"type":"RECORD","stream":"s","record":{"id":1}}`,
		`{"type":"RECORD","stream":"s","record":{"id":2}}`,
	})
}

// TestGateKafkaRetryStoredOnce: a request sent again with its
// Idempotency-Key, to the same gate and to a gate started afterwards, is
// stored once.
func TestGateKafkaRetryStoredOnce(t *testing.T) {
	c := cluster(t)
	g := startKafkaGate(t, c, "gate-retry")
	body := batch("orders", 1, 5)
	for i := 0; i < 2; i++ {
		if code, b := g.post(t, "/v2/import/batch", body, "Idempotency-Key", "k1"); code != 202 {
			t.Fatalf("batch %d: %d %s", i, code, b)
		}
	}
	g.stop()
	g2 := startKafkaGate(t, c, "gate-retry")
	if code, b := g2.post(t, "/v2/import/batch", body, "Idempotency-Key", "k1"); code != 202 {
		t.Fatalf("batch after restart: %d %s", code, b)
	}
	if code, b := g2.post(t, "/v2/import/batch", batch("orders", 6, 1), "Idempotency-Key", "k1"); code != 409 {
		t.Errorf("another body with the same key: %d %s", code, b)
	}
	if n := len(records(t, c, "gate-retry")); n != 5 {
		t.Errorf("%d records in the topic, want 5 (each once)", n)
	}
}

// TestGateKafkaDown: while the brokers refuse every produce the gate
// answers 503 and nothing of the request is stored; the retry, once
// Kafka is back, is stored once.
func TestGateKafkaDown(t *testing.T) {
	c := cluster(t)
	g := startKafkaGate(t, c, "gate-down")
	if code, b := g.post(t, "/v2/import/batch", batch("orders", 1, 1)); code != 202 {
		t.Fatalf("batch: %d %s", code, b)
	}
	f := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicas, Count: -1})
	body := batch("orders", 2, 3)
	code, b := g.post(t, "/v2/import/batch", body, "Idempotency-Key", "down")
	if code != 503 {
		t.Errorf("batch while down: %d %s", code, b)
	}
	f.Remove()
	equal(t, "after the 503", records(t, c, "gate-down"), wantRecords("orders", 1, 1))
	if code, b := g.post(t, "/v2/import/batch", body, "Idempotency-Key", "down"); code != 202 {
		t.Fatalf("retry: %d %s", code, b)
	}
	if n := len(records(t, c, "gate-down")); n != 4 {
		t.Errorf("%d records, want 4", n)
	}
}

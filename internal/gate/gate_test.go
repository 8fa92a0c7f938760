package gate

import (
	"fmt"
	"strings"
	"testing"
)

const ordersSchema = `{"type":"object","properties":{"id":{"type":"integer"},"total":{"type":"number"},"note":{"type":["null","string"]}}}`

func batchBody(table string, records ...string) string {
	return fmt.Sprintf(`{"table_name":%q,"schema":%s,"key_names":["id"],"messages":[%s]}`, table, ordersSchema, strings.Join(records, ","))
}

func upsert(seq int, data string) string {
	return fmt.Sprintf(`{"action":"upsert","sequence":%d,"data":%s}`, seq, data)
}

const ordersSchemaLine = `{"type":"SCHEMA","stream":"orders","schema":` + ordersSchema + `,"key_properties":["id"]}`

func TestBatch(t *testing.T) {
	g := startGate(t, nil)
	// Out of sequence order, and pretty-printed data: stored by sequence,
	// one line each.
	r := g.post(t, "/v2/import/batch", tokFull, batchBody("orders",
		upsert(3, `{"id": 1,
		  "total": 30.5}`),
		upsert(1, `{"id":1,"total":10}`),
		upsert(2, `{"id":2,"total":2.25,"note":"gift"}`)))
	if r.code != 202 || r.body != `{"status":"OK","message":"Batch accepted"}` {
		t.Fatalf("got %d %s", r.code, r.body)
	}
	equalLines(t, "log", logOf(t, g.nats, g.topic), []string{
		"SCHEMA orders: " + ordersSchemaLine +
			"\n" + `{"type":"RECORD","stream":"orders","record":{"id":1,"total":10}}` +
			"\n" + `{"type":"RECORD","stream":"orders","record":{"id":2,"total":2.25,"note":"gift"}}` +
			"\n" + `{"type":"RECORD","stream":"orders","record":{"id":1,"total":30.5}}`,
		`STATE : {"type":"STATE","value":{"bookmarks":{"orders":{"sequence":3}}}}`,
	})
}

func TestRetryIsStoredOnce(t *testing.T) {
	g := startGate(t, nil)
	body := batchBody("orders", upsert(1, `{"id":1,"total":1}`))
	for i := 0; i < 3; i++ {
		if r := g.post(t, "/v2/import/batch", tokFull, body); r.code != 202 {
			t.Fatalf("attempt %d: %d %s", i, r.code, r.body)
		}
	}
	want := []string{
		"SCHEMA orders: " + ordersSchemaLine + "\n" + `{"type":"RECORD","stream":"orders","record":{"id":1,"total":1}}`,
		`STATE : {"type":"STATE","value":{"bookmarks":{"orders":{"sequence":1}}}}`,
	}
	equalLines(t, "log after three identical requests", logOf(t, g.nats, g.topic), want)

	// With an Idempotency-Key the key decides: the same key and body is
	// stored once; the same key with another body is refused, not dropped.
	body2 := batchBody("orders", upsert(2, `{"id":2,"total":2}`))
	for i := 0; i < 2; i++ {
		if r := g.post(t, "/v2/import/batch", tokFull, body2, "Idempotency-Key", "req-2"); r.code != 202 {
			t.Fatalf("attempt %d: %d %s", i, r.code, r.body)
		}
	}
	r := g.post(t, "/v2/import/batch", tokFull, batchBody("orders", upsert(3, `{"id":3,"total":3}`)), "Idempotency-Key", "req-2")
	if r.code != 409 || !strings.Contains(r.body, `"message":"the Idempotency-Key was already used for a different request body`) {
		t.Fatalf("reused key: got %d %s", r.code, r.body)
	}
	want = append(want,
		"SCHEMA orders: "+ordersSchemaLine+"\n"+`{"type":"RECORD","stream":"orders","record":{"id":2,"total":2}}`,
		`STATE : {"type":"STATE","value":{"bookmarks":{"orders":{"sequence":2}}}}`)
	equalLines(t, "log", logOf(t, g.nats, g.topic), want)
}

func TestPush(t *testing.T) {
	g := startGate(t, nil)
	body := `[
	  {"client_id": 7, "table_name": "users", "sequence": 5, "action": "upsert", "key_names": ["id"], "data": {"id": 1, "email": "a@x"}},
	  {"client_id": 7, "table_name": "events", "sequence": 6, "action": "upsert", "key_names": ["k"], "data": {"k": "e1", "n": 1}},
	  {"client_id": 7, "table_name": "users", "sequence": 4, "action": "upsert", "key_names": ["id"], "data": {"id": 1, "email": null}}
	]`
	r := g.post(t, "/v2/import/push", tokFull, body)
	if r.code != 201 || r.body != `{"status":"OK","message":"Batch accepted"}` {
		t.Fatalf("got %d %s", r.code, r.body)
	}
	equalLines(t, "log", logOf(t, g.nats, g.topic), []string{
		`SCHEMA users: {"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"email":{"type":["null","string"]}}},"key_properties":["id"]}` +
			"\n" + `{"type":"RECORD","stream":"users","record":{"id":1,"email":null}}` +
			"\n" + `{"type":"RECORD","stream":"users","record":{"id":1,"email":"a@x"}}`,
		`SCHEMA events: {"type":"SCHEMA","stream":"events","schema":{"type":"object","properties":{"k":{"type":"string"},"n":{"type":"integer"}}},"key_properties":["k"]}` +
			"\n" + `{"type":"RECORD","stream":"events","record":{"k":"e1","n":1}}`,
		`STATE : {"type":"STATE","value":{"bookmarks":{"events":{"sequence":6},"users":{"sequence":5}}}}`,
	})
}

func TestValidateStoresNothing(t *testing.T) {
	g := startGate(t, nil)
	for _, body := range []string{
		batchBody("orders", upsert(1, `{"id":1}`)),
		`[{"table_name":"users","sequence":1,"action":"upsert","key_names":["id"],"data":{"id":1}}]`,
	} {
		if r := g.post(t, "/v2/import/validate", tokFull, body); r.code != 200 || r.body != `{"status":"OK","message":"Batch is valid"}` {
			t.Fatalf("got %d %s", r.code, r.body)
		}
	}
	r := g.post(t, "/v2/import/validate", tokFull, batchBody("orders", upsert(1, `{"id":"one"}`)))
	if r.code != 400 || !strings.Contains(r.body, `"record":0`) {
		t.Fatalf("got %d %s", r.code, r.body)
	}
	if l := logOf(t, g.nats, g.topic); l != nil {
		t.Fatalf("validate stored: %v", l)
	}
}

func TestStatusAndMetrics(t *testing.T) {
	g := startGate(t, nil)
	r := g.get(t, "/v2/import/status")
	if r.code != 200 || !strings.Contains(r.body, `"status":"OK"`) || !strings.Contains(r.body, `"name":"singer-gate"`) {
		t.Fatalf("status: %d %s", r.code, r.body)
	}
	g.post(t, "/v2/import/batch", tokFull, batchBody("orders", upsert(1, `{"id":1}`), upsert(2, `{"id":2}`)))
	g.post(t, "/v2/import/batch", "wrong", batchBody("orders", upsert(1, `{"id":1}`)))
	m := g.get(t, "/metrics").body + "\n"
	for _, want := range []string{
		`singer_gate_requests_total{code="202",endpoint="batch"} 1`,
		`singer_gate_requests_total{code="401",endpoint="batch"} 1`,
		`singer_gate_records_total{endpoint="batch"} 2`,
		`singer_gate_rejections_total{reason="bad_token"} 1`,
		`singer_gate_request_duration_seconds_count{endpoint="batch"} 2`,
		`singer_gate_log_publish_duration_seconds_count 1`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
}

func TestTopicsSingerMessages(t *testing.T) {
	g := startGate(t, nil)
	body := strings.Join([]string{
		`{"type":"SCHEMA","stream":"orders","schema":` + ordersSchema + `,"key_properties":["id"]}`,
		`{"type":"RECORD","stream":"orders","record":{"id":1,"total":1}}`,
		`{"type":"RECORD","stream":"orders","record":{"id":2,"total":2}}`,
		`{"type":"STATE","value":{"bookmarks":{"orders":{"id":2}}}}`,
		`{"type":"RECORD","stream":"orders","record":{"id":3,"total":3}}`,
		``,
	}, "\n")
	r := g.post(t, "/v1/topics/"+g.topic, tokFull, body, "Content-Type", "application/x-ndjson")
	if r.code != 202 || r.body != `{"status":"OK","message":"3 message(s) stored"}` {
		t.Fatalf("got %d %s", r.code, r.body)
	}
	equalLines(t, "log", logOf(t, g.nats, g.topic), []string{
		"SCHEMA orders: " + ordersSchemaLine +
			"\n" + `{"type":"RECORD","stream":"orders","record":{"id":1,"total":1}}` +
			"\n" + `{"type":"RECORD","stream":"orders","record":{"id":2,"total":2}}`,
		`STATE : {"type":"STATE","value":{"bookmarks":{"orders":{"id":2}}}}`,
		`RECORD orders: {"type":"RECORD","stream":"orders","record":{"id":3,"total":3}}`,
	})
}

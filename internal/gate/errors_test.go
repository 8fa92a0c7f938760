package gate

import (
	"strings"
	"testing"
)

func TestRefusals(t *testing.T) {
	g := startGate(t, nil)
	good := batchBody("orders", upsert(1, `{"id":1}`))
	cases := []struct {
		name, path, token, body string
		headers                 []string
		code                    int
		want                    string
	}{
		{"no token", "/v2/import/batch", "", good, nil, 401,
			`{"status":"ERROR","message":"no access token: send Authorization: Bearer \u003ctoken\u003e"}`},
		{"wrong token", "/v2/import/batch", "not-a-token", good, nil, 401,
			`{"status":"ERROR","message":"the access token is not valid"}`},
		{"table outside the grant", "/v2/import/batch", tokOrders, strings.Replace(good, `"orders"`, `"users"`, 1), nil, 403,
			`{"status":"ERROR","message":"token \"orders-only\" may not write table \"users\""}`},
		{"push table outside the grant", "/v2/import/push", tokOrders, `[{"table_name":"users","sequence":1,"action":"upsert","key_names":["id"],"data":{"id":1}}]`, nil, 403,
			`{"status":"ERROR","message":"token \"orders-only\" may not write table \"users\""}`},
		{"topic outside the grant", "/v1/topics/elsewhere", tokFull, `{"type":"STATE","value":{}}`, nil, 403,
			`{"status":"ERROR","message":"token \"full\" may not write topic \"elsewhere\""}`},
		{"oversize", "/v2/import/batch", tokSmall, batchBody("orders", upsert(1, `{"id":1,"note":"`+strings.Repeat("x", 300)+`"}`)), nil, 413,
			`{"status":"ERROR","message":"the request body (540 bytes) is over the limit of 300 bytes"}`},
		{"not JSON", "/v2/import/batch", tokFull, `{"table_name":`, nil, 400,
			`{"status":"ERROR","message":"the request body is not valid JSON: unexpected end of JSON input (at byte 14)"}`},
		{"wrong content type", "/v2/import/batch", tokFull, good, []string{"Content-Type", "application/transit+json"}, 415,
			`{"status":"ERROR","message":"content type \"application/transit+json\" is not supported: send application/json (Transit is not supported)"}`},
		{"not JSON inside", "/v2/import/push", tokFull, `[{"table_name":"users",}]`, nil, 400,
			`{"status":"ERROR","message":"the request body is not valid JSON: invalid character '}' looking for beginning of object key string (at byte 24)"}`},
		{"push: not an array", "/v2/import/push", tokFull, `{"table_name":"users"}`, nil, 400,
			`{"status":"ERROR","message":"the request must be a JSON array of records"}`},
		{"push: bad shapes", "/v2/import/push", tokFull, `[1,{"table_name":5},{"table_name":"users","key_names":"id","sequence":1,"action":"upsert","data":{"id":1}},{"table_name":"users","key_names":["id"],"sequence":"1","action":"upsert","data":{"id":1}}]`, nil, 400,
			`{"status":"ERROR","message":"4 problem(s) in the request; nothing was stored","errors":[` +
				`{"record":0,"error":"a record must be a JSON object"},` +
				`{"record":1,"error":"table_name must be a string"},` +
				`{"record":2,"table_name":"users","error":"key_names must be an array of strings"},` +
				`{"record":3,"table_name":"users","error":"sequence must be an integer, not \"1\""}],"errors_total":4}`},
		{"missing table_name", "/v2/import/batch", tokFull, `{"messages":[]}`, nil, 400,
			`{"status":"ERROR","message":"the batch is invalid","errors":[{"error":"table_name is required (a string)"}],"errors_total":1}`},
		{"every record problem listed", "/v2/import/batch", tokFull, batchBody("orders",
			upsert(1, `{"id":"one"}`),
			upsert(2, `{"id":2}`),
			`{"action":"delete","sequence":3,"data":{"id":3}}`,
			`{"action":"upsert","data":{"id":4}}`,
			upsert(5, `{"total":5}`),
			upsert(6, `[1]`)), nil, 400,
			`{"status":"ERROR","message":"5 problem(s) in the batch; nothing was stored","errors":[` +
				`{"record":0,"table_name":"orders","error":"data does not match the schema of table \"orders\": /id: expected integer, but got string"},` +
				`{"record":2,"table_name":"orders","error":"action \"delete\" is not supported: only \"upsert\""},` +
				`{"record":3,"table_name":"orders","error":"sequence is required (an integer)"},` +
				`{"record":4,"table_name":"orders","error":"key property \"id\" is missing or null"},` +
				`{"record":5,"table_name":"orders","error":"data must be a JSON object"}],"errors_total":5}`},
		{"key not in schema", "/v2/import/batch", tokFull, strings.Replace(good, `"key_names":["id"]`, `"key_names":["sku"]`, 1), nil, 400,
			`{"status":"ERROR","message":"the batch is invalid","errors":[{"table_name":"orders","error":"schema of table \"orders\": key_names names \"sku\", which is not a property of the schema"}],"errors_total":1}`},
		{"unknown table", "/v2/import/push", tokFull, `[{"table_name":"nope","sequence":1,"action":"upsert","key_names":["id"],"data":{"id":1}}]`, nil, 400,
			`{"status":"ERROR","message":"1 problem(s) in the request; nothing was stored","errors":[{"table_name":"nope","error":"unknown table \"nope\": send its schema, or declare it in the gate's config (tables)"}],"errors_total":1}`},
		{"batch without schema of an undeclared table", "/v2/import/batch", tokFull, `{"table_name":"nope","key_names":["id"],"messages":[{"action":"upsert","sequence":1,"data":{"id":1}}]}`, nil, 400,
			`{"status":"ERROR","message":"the batch is invalid","errors":[{"table_name":"nope","error":"unknown table \"nope\": send its schema, or declare it in the gate's config (tables)"}],"errors_total":1}`},
		{"singer: RECORD before SCHEMA", "/v1/topics/TOPIC", tokFull, `{"type":"RECORD","stream":"orders","record":{"id":1}}` + "\n", nil, 400,
			`{"status":"ERROR","message":"1 problem(s) in the Singer messages; nothing was stored","errors":[{"line":1,"table_name":"orders","error":"RECORD before any SCHEMA of the stream"}],"errors_total":1}`},
		{"singer: malformed line and schema violation", "/v1/topics/TOPIC", tokFull,
			`{"type":"SCHEMA","stream":"orders","schema":` + ordersSchema + `,"key_properties":["id"]}` + "\n" +
				`{"type":"RECORD","stream":"orders","record":{"id":"x"}}` + "\n" + `{"type":"RECORD",` + "\n", nil, 400,
			`{"status":"ERROR","message":"2 problem(s) in the Singer messages; nothing was stored","errors":[` +
				`{"line":2,"table_name":"orders","error":"/id: expected integer, but got string"},` +
				`{"line":3,"error":"invalid JSON: unexpected end of input in an object (truncated line?) at byte 18 (line starts \"{\\\"type\\\":\\\"RECORD\\\",\")"}],"errors_total":2}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := strings.Replace(c.path, "TOPIC", g.topic, 1)
			r := g.post(t, path, c.token, c.body, c.headers...)
			if r.code != c.code || r.body != c.want {
				t.Errorf("got  %d %s\nwant %d %s", r.code, r.body, c.code, c.want)
			}
		})
	}
	if l := logOf(t, g.nats, g.topic); l != nil {
		t.Errorf("refused requests stored: %v", l)
	}
	for _, tok := range []string{tokFull, tokOrders, tokSmall, "not-a-token"} {
		if strings.Contains(g.access.String(), tok) {
			t.Errorf("the access log shows the token %q", tok)
		}
	}
	if !strings.Contains(g.access.String(), `"status":401`) || !strings.Contains(g.access.String(), `"refused":"bad_token"`) {
		t.Errorf("the access log lacks the refusal:\n%s", g.access)
	}
}

func TestRateLimit(t *testing.T) {
	g := startGate(t, nil)
	body := batchBody("orders", upsert(1, `{"id":1}`))
	if r := g.post(t, "/v2/import/batch", tokSlow, body); r.code != 202 {
		t.Fatalf("first: %d %s", r.code, r.body)
	}
	r := g.post(t, "/v2/import/batch", tokSlow, body)
	if r.code != 429 || r.body != `{"status":"ERROR","message":"token \"slow\" is over its rate of 0.001 requests a second: retry later"}` {
		t.Fatalf("second: %d %s", r.code, r.body)
	}
}

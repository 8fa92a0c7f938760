package natslog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	schemaUsers  = `{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":["string","null"]}}},"key_properties":["id"]}`
	schemaUsers2 = `{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":["string","null"]},"score":{"type":["number","null"]}}},"key_properties":["id"]}`
	schemaOrders = `{"type":"SCHEMA","stream":"orders","schema":{"type":"object","properties":{"id":{"type":"integer"},"amount":{"type":"number"}}},"key_properties":["id"]}`
)

// The tap's lines, as a tap writes them (odd spacing and exact numbers
// included: the log keeps the bytes).
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

// TestRoundTrip: target-nats publishes every message byte for byte with
// its envelope and echoes each state; tap-nats reads them back exactly,
// with its own states around the upstream's.
func TestRoundTrip(t *testing.T) {
	needNATS(t)
	topic := newTopic(t)
	cfg := baseConfig(topic)
	r := runTarget(t, baseConfig(topic, "producer", "test-producer"), lines(upstreamLines...))
	if r.code != 0 {
		t.Fatalf("target-nats exit %d: %s", r.code, r.err)
	}
	if want := lines(`{"bookmarks":{"users":{"id":1}}}`, `{"bookmarks":{"users":{"id":3},"orders":{"id":11}}}`); r.out != want {
		t.Errorf("target-nats stdout:\n%s\nwant:\n%s", r.out, want)
	}
	if got, want := withoutMetrics(r.err), ""; got != want {
		t.Errorf("target-nats stderr: %q", got)
	}

	// The envelope of every message.
	js := jetStream(t)
	ctx := context.Background()
	s, err := js.Stream(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	wantStream := []string{"users", "users", "orders", "orders", "", "users", "users", "users", "users", "orders", ""}
	wantType := []string{"SCHEMA", "RECORD", "SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION", "RECORD", "SCHEMA", "RECORD", "RECORD", "STATE"}
	for i, line := range upstreamLines {
		m, err := s.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data) != line {
			t.Errorf("message %d body %s, want %s", i+1, m.Data, line)
		}
		h := m.Header
		if got := h.Get("Singer-Type"); got != wantType[i] {
			t.Errorf("message %d Singer-Type %q, want %q", i+1, got, wantType[i])
		}
		if got := h.Get("Singer-Stream"); got != wantStream[i] {
			t.Errorf("message %d Singer-Stream %q, want %q", i+1, got, wantStream[i])
		}
		if got := h.Get("Singer-Producer"); got != "test-producer" {
			t.Errorf("message %d Singer-Producer %q", i+1, got)
		}
		at, err := time.Parse(time.RFC3339Nano, h.Get("Singer-Written-At"))
		if err != nil || time.Since(at) > time.Hour || time.Since(at) < 0 {
			t.Errorf("message %d Singer-Written-At %q: %v", i+1, h.Get("Singer-Written-At"), err)
		}
		id := h.Get("Nats-Msg-Id")
		if id == "" || ids[id] {
			t.Errorf("message %d Nats-Msg-Id %q empty or repeated", i+1, id)
		}
		ids[id] = true
	}

	// Read back from the beginning.
	r = runTap(t, ctx, cfg, "")
	if r.code != 0 {
		t.Fatalf("tap-nats exit %d: %s", r.code, r.err)
	}
	want := lines(append(append(append([]string{}, upstreamLines[:5]...),
		tapState(topic, 6, `{"bookmarks":{"users":{"id":1}}}`)),
		append(append([]string{}, upstreamLines[5:10]...),
			tapState(topic, 12, `{"bookmarks":{"users":{"id":3},"orders":{"id":11}}}`))...)...)
	want = strings.Replace(want, upstreamLines[4]+"\n", "", 1)
	if r.out != want {
		t.Errorf("tap-nats stdout:\n%s\nwant:\n%s", r.out, want)
	}
	if got := withoutMetrics(r.err); got != "" {
		t.Errorf("tap-nats stderr: %q", got)
	}

	// From the first state: orders and users continue; users' SCHEMA
	// comes from the schema bucket (the one in force there, not the
	// later one), orders' too, each before its first message.
	r = runTap(t, ctx, cfg, `{"log":{"topic":"`+topic+`","next":6},"upstream":{"bookmarks":{"users":{"id":1}}}}`)
	if r.code != 0 {
		t.Fatalf("tap-nats exit %d: %s", r.code, r.err)
	}
	want = lines(schemaUsers, upstreamLines[5], upstreamLines[6], schemaUsers2, upstreamLines[8],
		schemaOrders, upstreamLines[9], tapState(topic, 12, `{"bookmarks":{"users":{"id":3},"orders":{"id":11}}}`))
	if r.out != want {
		t.Errorf("tap-nats from state stdout:\n%s\nwant:\n%s", r.out, want)
	}

	// At the end: nothing to read, the state again.
	r = runTap(t, ctx, cfg, `{"log":{"topic":"`+topic+`","next":12},"upstream":{"a":1}}`)
	if want := lines(tapState(topic, 12, `{"a":1}`)); r.code != 0 || r.out != want {
		t.Errorf("tap-nats at the end: exit %d, stdout:\n%s\nwant:\n%s\n%s", r.code, r.out, want, r.err)
	}

	// From a time after everything: nothing; from a time before: all.
	r = runTap(t, ctx, baseConfig(topic, "start_from", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), "")
	if want := lines(tapState(topic, 12, "")); r.code != 0 || r.out != want {
		t.Errorf("tap-nats from a later time: exit %d, stdout:\n%s\nwant:\n%s\n%s", r.code, r.out, want, r.err)
	}
	r = runTap(t, ctx, baseConfig(topic, "start_from", "2000-01-01T00:00:00Z"), "")
	if r.code != 0 || !strings.HasPrefix(r.out, schemaUsers+"\n") || strings.Count(r.out, "\n") != 11 {
		t.Errorf("tap-nats from an earlier time: exit %d, stdout:\n%s", r.code, r.out)
	}
}

// TestFanOut: two readers of one topic keep their own positions.
func TestFanOut(t *testing.T) {
	needNATS(t)
	topic := newTopic(t)
	cfg := baseConfig(topic)
	if r := runTarget(t, cfg, lines(upstreamLines[:5]...)); r.code != 0 {
		t.Fatalf("target-nats: %d %s", r.code, r.err)
	}
	a := runTap(t, context.Background(), cfg, "")
	// A tap run starts with its SCHEMAs.
	if r := runTarget(t, cfg, lines(append([]string{schemaUsers, schemaOrders}, upstreamLines[5:]...)...)); r.code != 0 {
		t.Fatalf("target-nats: %d %s", r.code, r.err)
	}
	b := runTap(t, context.Background(), cfg, "")
	lastA := strings.TrimSuffix(a.out[strings.LastIndex(strings.TrimSuffix(a.out, "\n"), "\n")+1:], "\n")
	a2 := runTap(t, context.Background(), cfg, lastA)
	if a.code != 0 || b.code != 0 || a2.code != 0 {
		t.Fatalf("exit codes %d %d %d: %s %s %s", a.code, b.code, a2.code, a.err, b.err, a2.err)
	}
	// Reader a's second run starts where its first ended.
	want := lines(schemaUsers, schemaOrders, upstreamLines[5], upstreamLines[6], schemaUsers2, upstreamLines[8],
		upstreamLines[9], tapState(topic, 14, `{"bookmarks":{"users":{"id":3},"orders":{"id":11}}}`))
	if a2.out != want {
		t.Errorf("second run of reader a:\n%s\nwant:\n%s", a2.out, want)
	}
	if !strings.HasSuffix(b.out, upstreamLines[9]+"\n"+tapState(topic, 14, `{"bookmarks":{"users":{"id":3},"orders":{"id":11}}}`)+"\n") || strings.Count(b.out, "\n") != 13 {
		t.Errorf("reader b:\n%s", b.out)
	}
}

// TestRetention: a position the topic's retention deleted stops the reader
// with one line and exit 1; so do messages deleted ahead of it.
func TestRetention(t *testing.T) {
	needNATS(t)
	topic := newTopic(t)
	js := jetStream(t)
	ctx := context.Background()
	// A topic made by hand that keeps 8 messages: target-nats uses it as
	// it is.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: topic, Subjects: []string{topic}, MaxMsgs: 8}); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(topic)
	if r := runTarget(t, cfg, lines(upstreamLines...)); r.code != 0 {
		t.Fatalf("target-nats: %d %s", r.code, r.err)
	}
	r := runTap(t, ctx, cfg, `{"log":{"topic":"`+topic+`","next":2}}`)
	want := `tap-nats: error: topic "` + topic + `": the state's position 2 is no longer in the log (its retention deleted messages 2 to 3; the oldest kept is 4): nothing was skipped; reload from the source, or remove "log" from the state to start over from start_from` + "\n"
	if r.code != 1 || r.out != "" || r.err != want {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s", r.code, r.out, r.err, want)
	}
	// From the beginning: the oldest kept, with the schemas from the
	// bucket.
	r = runTap(t, ctx, cfg, "")
	want = lines(schemaOrders, upstreamLines[3], tapState(topic, 6, `{"bookmarks":{"users":{"id":1}}}`),
		schemaUsers, upstreamLines[5], upstreamLines[6], schemaUsers2, upstreamLines[8], upstreamLines[9],
		tapState(topic, 12, `{"bookmarks":{"users":{"id":3},"orders":{"id":11}}}`))
	if r.code != 0 || r.out != want {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\n%s", r.code, r.out, want, r.err)
	}
	// A message deleted ahead of the reader.
	s, _ := js.Stream(ctx, topic)
	if err := s.DeleteMsg(ctx, 7); err != nil {
		t.Fatal(err)
	}
	r = runTap(t, ctx, cfg, `{"log":{"topic":"`+topic+`","next":5}}`)
	want = `tap-nats: error: topic "` + topic + `": messages 7 to 7 were deleted from the log (retention) before this reader got to them: nothing was skipped; the last state emitted covers everything before 7` + "\n"
	if r.code != 1 || r.err != want || !strings.HasSuffix(r.out, tapState(topic, 7, `{"bookmarks":{"users":{"id":1}}}`)+"\n") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant:\n%s", r.code, r.out, r.err, want)
	}
}

// TestErrors: one line each, the right exit code.
func TestErrors(t *testing.T) {
	needNATS(t)
	topic := newTopic(t)
	ctx := context.Background()
	cases := []struct {
		name string
		run  func() result
		code int
		err  string
	}{
		{"record before schema", func() result {
			return runTarget(t, baseConfig(topic), lines(`{"type":"RECORD","stream":"s","record":{"id":1}}`))
		}, 1, "target-nats: error: line 1: RECORD for stream \"s\" comes before any SCHEMA for that stream"},
		{"missing topic", func() result {
			return runTap(t, ctx, baseConfig("NO_SUCH_TOPIC_x9"), "")
		}, 2, `tap-nats: error: topic "NO_SUCH_TOPIC_x9" does not exist on the NATS server (no JetStream stream of that name): check topic, or let target-nats create it (create_if_missing)`},
		{"missing topic, no create", func() result {
			return runTarget(t, baseConfig("NO_SUCH_TOPIC_x9", "create_if_missing", false), "")
		}, 2, `target-nats: error: topic "NO_SUCH_TOPIC_x9" does not exist on the NATS server (no JetStream stream of that name): check topic, or let target-nats create it (create_if_missing)`},
		{"bad topic name", func() result {
			return runTap(t, ctx, baseConfig("a.b"), "")
		}, 2, `tap-nats: error: invalid config: topic: does not match pattern '^[A-Za-z0-9_-]{1,200}$'`},
		{"state of another topic", func() result {
			runTarget(t, baseConfig(topic), lines(upstreamLines[:2]...))
			return runTap(t, ctx, baseConfig(topic), `{"log":{"topic":"other","next":3}}`)
		}, 2, `tap-nats: error: the state is a position in topic "other", the config reads topic "` + topic + `": use a state of this topic, or none`},
		{"bad start_from", func() result {
			return runTap(t, ctx, baseConfig(topic, "start_from", "yesterday"), "")
		}, 2, `tap-nats: error: invalid config: start_from: "yesterday" is neither "beginning" nor an RFC 3339 time (e.g. 2026-12-01T00:00:00Z)`},
		{"unreachable, password not shown", func() result {
			return runTarget(t, map[string]any{"servers": []string{"nats://u:hunter22@127.0.0.1:1"}, "topic": topic, "connect_timeout_seconds": 1}, "")
		}, 1, `target-nats: error: cannot connect to NATS at nats://***@127.0.0.1:1: nats: no servers available for connection`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.run()
			got := strings.TrimSpace(withoutMetrics(r.err))
			if r.code != c.code || !strings.HasPrefix(got, c.err) || strings.Contains(got, "hunter22") {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and:\n%s", r.code, got, c.code, c.err)
			}
		})
	}
}

// TestMessageSizeLimit: batches stay under the server's max_payload
// whatever batch_bytes says, and a line longer than a message may be
// stops the run naming its line, with the state before it echoed.
func TestMessageSizeLimit(t *testing.T) {
	needNATS(t)
	nc, err := natsConnect([]string{natsURL()})
	if err != nil {
		t.Fatal(err)
	}
	maxMsg := int(nc.MaxPayload())
	nc.Close()
	maxBody := maxMsg - 8192
	rec := func(i, n int) string {
		head := fmt.Sprintf(`{"type":"RECORD","stream":"users","record":{"id":%d,"name":"`, i)
		return head + strings.Repeat("x", n-len(head)-3) + `"}}`
	}
	topic := newTopic(t)
	in := []string{schemaUsers}
	for i := range 25 {
		in = append(in, rec(i, 100_000))
	}
	in = append(in, `{"type":"STATE","value":{"n":1}}`)
	// Uncompressed, to count the lines of each message: a compressed
	// batch is sent only when smaller than the batch of lines.
	r := runTarget(t, baseConfig(topic, "batch_bytes", 4<<20, "compression", "none"), lines(in...))
	if r.code != 0 || r.out != lines(`{"n":1}`) {
		t.Fatalf("target-nats exit %d, stdout %q: %s", r.code, r.out, r.err)
	}
	if want := fmt.Sprintf("INFO batch_bytes lowered from 4194304 to %d: the log takes messages up to %d bytes with their headers\n", maxBody, maxMsg); withoutMetrics(r.err) != want {
		t.Errorf("stderr %q, want %q", withoutMetrics(r.err), want)
	}
	s, err := jetStream(t).Stream(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var counts []int
	for seq := uint64(2); seq <= 4; seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, strings.Count(string(m.Data), "\n")+1)
	}
	// 10 lines of 100,000 bytes and their newlines fit in maxBody.
	if fmt.Sprint(counts) != "[10 10 5]" {
		t.Errorf("records per message %v, want [10 10 5]", counts)
	}
	got := runTap(t, context.Background(), baseConfig(topic), "")
	if want := lines(append(in[:26:26], tapState(topic, 6, `{"n":1}`))...); got.code != 0 || got.out != want {
		t.Errorf("tap-nats exit %d (%s), read back %d bytes, want %d", got.code, got.err, len(got.out), len(want))
	}

	topic = newTopic(t)
	r = runTarget(t, baseConfig(topic), lines(schemaUsers, rec(1, 100), `{"type":"STATE","value":{"n":1}}`, rec(2, maxBody+1), rec(3, 100)))
	if r.code != 1 || r.out != lines(`{"n":1}`) {
		t.Errorf("target-nats exit %d, stdout %q", r.code, r.out)
	}
	if want := fmt.Sprintf("target-nats: error: line 4: the RECORD line is %d bytes, more than the log takes in one message (%d bytes with its headers): raise the server's limit (NATS max_payload)\n", maxBody+1, maxMsg); withoutMetrics(r.err) != want {
		t.Errorf("stderr %q, want %q", withoutMetrics(r.err), want)
	}
}

// TestCompressedTopic: by default a batch of records is one message whose
// body is S2-compressed, with a Singer-Encoding header; "zstd" gives a
// Zstandard frame and "none" the lines as they are. tap-nats reads each
// back as the tap wrote it.
func TestCompressedTopic(t *testing.T) {
	needNATS(t)
	var recs []string
	for i := range 200 {
		recs = append(recs, fmt.Sprintf(`{"type":"RECORD","stream":"users","record":{"id":%d,"name":"user %d","score":%d.25}}`, i, i, i*7))
	}
	input := append(append([]string{schemaUsers}, recs...), `{"type":"STATE","value":{"n":200}}`)
	batch := strings.Join(recs, "\n")
	for _, c := range []struct{ compression, encoding string }{{"", "s2"}, {"zstd", "zstd"}, {"none", ""}} {
		topic := newTopic(t)
		cfg := baseConfig(topic)
		if c.compression != "" {
			cfg["compression"] = c.compression
		}
		if r := runTarget(t, cfg, lines(input...)); r.code != 0 || r.out != lines(`{"n":200}`) {
			t.Fatalf("%s: target-nats exit %d, stdout %q: %s", c.encoding, r.code, r.out, r.err)
		}
		ctx := context.Background()
		s, err := jetStream(t).Stream(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.GetMsg(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Header.Get("Singer-Encoding"); got != c.encoding {
			t.Errorf("%s: the batch's Singer-Encoding is %q", c.encoding, got)
		}
		if c.encoding == "" && string(m.Data) != batch || c.encoding != "" && len(m.Data) > len(batch)/3 {
			t.Errorf("%s: the batch's body is %d bytes, the lines %d", c.encoding, len(m.Data), len(batch))
		}
		r := runTap(t, ctx, baseConfig(topic), "")
		want := lines(append(append([]string{}, input[:201]...), tapState(topic, 4, `{"n":200}`))...)
		if r.code != 0 || r.out != want {
			t.Errorf("%s: tap-nats exit %d, %d bytes of stdout, want %d: %s", c.encoding, r.code, len(r.out), len(want), r.err)
		}
	}
}

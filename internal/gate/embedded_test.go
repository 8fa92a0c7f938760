package gate

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond until it holds or a minute passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLogDown: with the log gone a request is answered 503 and nothing of
// it is stored, not even later when the log is back; its retry stores it.
func TestLogDown(t *testing.T) {
	dir := t.TempDir()
	e, err := StartEmbedded(dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(e.URL())
	g := startGateOn(t, e.URL(), func(c *Config) { c.PublishTimeoutSeconds = 1 })
	a := batchBody("orders", upsert(1, `{"id":1}`))
	if r := g.post(t, "/v2/import/batch", tokFull, a); r.code != 202 {
		t.Fatalf("before: %d %s", r.code, r.body)
	}
	e.Shutdown()
	b := batchBody("orders", upsert(2, `{"id":2}`), upsert(3, `{"id":3}`))
	r := g.post(t, "/v2/import/batch", tokFull, b)
	if r.code != 503 || !strings.HasPrefix(r.body, `{"status":"ERROR","message":"the log did not acknowledge the request; nothing of it is to be relied on: retry it`) {
		t.Fatalf("log down: %d %s", r.code, r.body)
	}
	if s := g.get(t, "/v2/import/status"); s.code != 503 {
		t.Errorf("status with the log down: %d %s", s.code, s.body)
	}
	e, err = StartEmbedded(dir, u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	waitFor(t, "the gate to reconnect", func() bool { return g.get(t, "/v2/import/status").code == 200 })
	wantA := []string{
		"SCHEMA orders: " + ordersSchemaLine + "\n" + `{"type":"RECORD","stream":"orders","record":{"id":1}}`,
		`STATE : {"type":"STATE","value":{"bookmarks":{"orders":{"sequence":1}}}}`,
	}
	equalLines(t, "log after the 503", logOf(t, e.URL(), g.topic), wantA)
	if r := g.post(t, "/v2/import/batch", tokFull, b); r.code != 202 {
		t.Fatalf("retry: %d %s", r.code, r.body)
	}
	equalLines(t, "log after the retry", logOf(t, e.URL(), g.topic), append(wantA,
		"SCHEMA orders: "+ordersSchemaLine+"\n"+`{"type":"RECORD","stream":"orders","record":{"id":2}}`+"\n"+`{"type":"RECORD","stream":"orders","record":{"id":3}}`,
		`STATE : {"type":"STATE","value":{"bookmarks":{"orders":{"sequence":3}}}}`))
}

// TestShutdown: Run with the embedded server; on cancellation (SIGTERM)
// the request in flight is finished and answered, then Run returns nil.
func TestShutdown(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.EmbeddedListen = "127.0.0.1:0"
	cfg.Listen = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, &cfg, RunOptions{
			Lookup: func(k string) (string, bool) {
				if k == EnvToken {
					return tokFull, true
				}
				return "", false
			},
			Stdout: &stdout, Stderr: &stderr,
			Ready: func(addr string) { ready <- addr },
		})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("Run: %v\n%s", err, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "singer gate: embedded NATS JetStream at nats://127.0.0.1:") {
		t.Errorf("stdout: %s", stdout.String())
	}
	// A request whose body is still arriving when the signal comes.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v2/import/batch", pr)
	req.Header.Set("Authorization", "Bearer "+tokFull)
	answered := make(chan *http.Response, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(answered)
			return
		}
		answered <- res
	}()
	body := batchBody("orders", upsert(1, `{"id":1}`))
	if _, err := pw.Write([]byte(body[:20])); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the request to be in flight", func() bool {
		res, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return strings.Contains(string(b), "\nsinger_gate_requests_in_flight 1\n")
	})
	cancel()
	// New connections are refused once the listener is closed.
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if _, err := pw.Write([]byte(body[20:])); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	res := <-answered
	if res == nil || res.StatusCode != 202 {
		t.Fatalf("the request in flight: %v", res)
	}
	res.Body.Close()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.Contains(stderr.String(), "INFO singer gate: stopped\n") {
		t.Errorf("stderr: %s", stderr.String())
	}
}

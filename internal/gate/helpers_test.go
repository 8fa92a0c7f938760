package gate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/singerkit/singerkit/internal/natslog"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
)

// natsURL is the NATS server of the tests (JetStream on).
func natsURL() string {
	if u := os.Getenv("TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

func needNATS(t testing.TB) {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(natsURL(), "nats://"), 3*time.Second)
	if err != nil {
		testenv.Missing(t, "NATS unreachable at %s, set TEST_NATS_URL: %v", natsURL(), err)
	}
	c.Close()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9]+`)

// newTopic returns a topic name of the test's own, deleted (with its
// schema bucket) when the test ends.
func newTopic(t testing.TB, url string) string {
	t.Helper()
	name := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(name) > 60 {
		name = name[:60]
	}
	topic := fmt.Sprintf("G_%s_%d", name, time.Now().UnixNano()%1_000_000_000)
	t.Cleanup(func() {
		nc, err := nats.Connect(url)
		if err != nil {
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, topic)
		_ = js.DeleteKeyValue(ctx, topic+"_schemas")
	})
	return topic
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// The tokens of the tests.
const (
	tokFull   = "full-token-8c1f"
	tokOrders = "orders-token-22ab"
	tokSmall  = "small-token-9d0e"
	tokSlow   = "slow-token-51aa"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gateT is a gate served over loopback for a test.
type gateT struct {
	url    string // HTTP
	nats   string
	topic  string // the Import API topic
	access *syncBuffer
	srv    *Server
}

// testConfig is the tests' config: four tokens and two declared tables.
func testConfig(topic string) *Config {
	c := DefaultConfig()
	c.ImportTopic = topic
	c.PublishTimeoutSeconds = 2
	zero := 0.0
	slow := 0.001
	c.Tokens = []TokenConfig{
		{Name: "full", TokenSHA256: sha(tokFull), Topics: []string{topic}, RequestsPerSecond: &zero},
		{Name: "orders-only", TokenSHA256: sha(tokOrders), Tables: []string{"orders"}},
		{Name: "small", TokenEnv: "GATE_TEST_SMALL", MaxRequestBytes: 300},
		{Name: "slow", TokenSHA256: sha(tokSlow), RequestsPerSecond: &slow, Burst: 1},
	}
	c.Tables = []TableConfig{
		{Name: "users", Schema: []byte(`{"type":"object","properties":{"id":{"type":"integer"},"email":{"type":["null","string"]}}}`), KeyNames: []string{"id"}},
		{Name: "events", Schema: []byte(`{"type":"object","properties":{"k":{"type":"string"},"n":{"type":"integer"}}}`), KeyNames: []string{"k"}},
	}
	return &c
}

func testLookup(name string) (string, bool) {
	if name == "GATE_TEST_SMALL" {
		return tokSmall, true
	}
	return "", false
}

// startGate serves a gate on the test's NATS (or url) for a topic of its own.
func startGate(t *testing.T, mutate func(*Config)) *gateT {
	t.Helper()
	needNATS(t)
	return startGateOn(t, natsURL(), mutate)
}

func startGateOn(t *testing.T, url string, mutate func(*Config)) *gateT {
	t.Helper()
	topic := newTopic(t, url)
	cfg := testConfig(topic)
	cfg.Servers = []string{url}
	if mutate != nil {
		mutate(cfg)
	}
	conn := cfg.Conn()
	log := singer.NewLog(io.Discard)
	pub, err := natslog.NewPublisher(context.Background(), &conn, "singer-gate-test", natslog.WriterOptions{
		CreateIfMissing: true, Replicas: 1, DuplicateWindow: time.Minute,
		RetryFor: time.Duration(cfg.PublishTimeoutSeconds) * time.Second,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	access := &syncBuffer{}
	srv, err := NewServer(cfg, Options{Log: pub, Producer: "singer-gate-test", Lookup: testLookup, AccessLog: access})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &gateT{url: hs.URL, nats: url, topic: topic, access: access, srv: srv}
}

type response struct {
	code int
	body string
}

// post sends a request and returns its status and body.
func (g *gateT) post(t *testing.T, path, token, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, strings.TrimSpace(string(b))}
}

func (g *gateT) get(t *testing.T, path string) response {
	t.Helper()
	res, err := http.Get(g.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, strings.TrimSpace(string(b))}
}

// logOf returns the messages of a topic as "TYPE stream: body" (nil when
// the topic does not exist).
func logOf(t *testing.T, url, topic string) []string {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, topic)
	if err == jetstream.ErrStreamNotFound {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s: %s", m.Header.Get("Singer-Type"), m.Header.Get("Singer-Stream"), m.Data))
	}
	return out
}

func equalLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got: %s\nwant: %s", what, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

package gate

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChunks: records over max_message_bytes split into messages that
// each begin with the table's SCHEMA; a retry stores none of them twice.
func TestChunks(t *testing.T) {
	g := startGate(t, func(c *Config) { c.MaxMessageBytes = 1024 })
	var recs []string
	for i := 1; i <= 30; i++ {
		recs = append(recs, upsert(i, fmt.Sprintf(`{"id":%d,"note":"%s"}`, i, strings.Repeat("x", 40))))
	}
	body := batchBody("orders", recs...)
	for i := 0; i < 2; i++ {
		if r := g.post(t, "/v2/import/batch", tokFull, body); r.code != 202 {
			t.Fatalf("%d %s", r.code, r.body)
		}
	}
	msgs := logOf(t, g.nats, g.topic)
	ids := 0
	for i, m := range msgs[:len(msgs)-1] {
		if !strings.HasPrefix(m, "SCHEMA orders: "+ordersSchemaLine+"\n") {
			t.Fatalf("message %d does not begin with the SCHEMA: %.200s", i, m)
		}
		if len(m)-len("SCHEMA orders: ") > 1024 {
			t.Errorf("message %d is %d bytes", i, len(m))
		}
		for _, l := range strings.Split(m, "\n")[1:] {
			ids++
			if want := fmt.Sprintf(`{"type":"RECORD","stream":"orders","record":{"id":%d,`, ids); !strings.HasPrefix(l, want) {
				t.Fatalf("record %d: %s", ids, l)
			}
		}
	}
	if ids != 30 || len(msgs) < 4 || msgs[len(msgs)-1] != `STATE : {"type":"STATE","value":{"bookmarks":{"orders":{"sequence":30}}}}` {
		t.Errorf("%d records in %d messages, last %q", ids, len(msgs), msgs[len(msgs)-1])
	}
}

// TestTopicsRetry: a Singer body sent twice is stored once.
func TestTopicsRetry(t *testing.T) {
	g := startGate(t, nil)
	body := `{"type":"SCHEMA","stream":"orders","schema":` + ordersSchema + `,"key_properties":["id"]}` + "\n" +
		`{"type":"RECORD","stream":"orders","record":{"id":1}}` + "\n"
	for i := 0; i < 2; i++ {
		if r := g.post(t, "/v1/topics/"+g.topic, tokFull, body); r.code != 202 {
			t.Fatalf("%d %s", r.code, r.body)
		}
	}
	equalLines(t, "log", logOf(t, g.nats, g.topic), []string{
		"SCHEMA orders: " + ordersSchemaLine + "\n" + `{"type":"RECORD","stream":"orders","record":{"id":1}}`,
	})
	// A stream outside the grant of a token that may write the topic.
	g2 := startGate(t, func(c *Config) { c.Tokens[1].Topics = []string{"*"} })
	r := g2.post(t, "/v1/topics/"+g2.topic, tokOrders, strings.ReplaceAll(body, `"orders"`, `"users"`))
	if r.code != 403 || r.body != `{"status":"ERROR","message":"token \"orders-only\" may not write stream \"users\""}` {
		t.Fatalf("%d %s", r.code, r.body)
	}
}

// TestOversizeStreamed: a body without Content-Length is cut at the limit.
func TestOversizeStreamed(t *testing.T) {
	g := startGate(t, nil)
	req, _ := http.NewRequest(http.MethodPost, g.url+"/v2/import/batch", io.MultiReader(strings.NewReader(strings.Repeat(" ", 400))))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+tokSmall)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 413 || strings.TrimSpace(string(b)) != `{"status":"ERROR","message":"the request body is over the limit of 300 bytes"}` {
		t.Fatalf("%d %s", res.StatusCode, b)
	}
}

// selfSigned writes a certificate and key for 127.0.0.1.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gate-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLS: with a certificate the gate serves HTTPS only.
func TestTLS(t *testing.T) {
	needNATS(t)
	certFile, keyFile, pool := selfSigned(t)
	topic := newTopic(t, natsURL())
	cfg := testConfig(topic)
	cfg.Servers = []string{natsURL()}
	cfg.Listen = "127.0.0.1:0"
	cfg.TLSCertFile, cfg.TLSKeyFile = certFile, keyFile
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var stdout, stderr syncBuffer
	go func() {
		done <- Run(ctx, cfg, RunOptions{Lookup: testLookup, Stdout: &stdout, Stderr: &stderr, Ready: func(a string) { ready <- a }})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("Run: %v\n%s", err, stderr.String())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest(http.MethodPost, "https://"+addr+"/v2/import/batch", strings.NewReader(batchBody("orders", upsert(1, `{"id":1}`))))
	req.Header.Set("Authorization", "Bearer "+tokFull)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 202 {
		t.Errorf("HTTPS: %d", res.StatusCode)
	}
	// Plain HTTP gets the TLS layer's 400, never an answer of the gate.
	if res, err := http.Get("http://" + addr + "/v2/import/status"); err == nil {
		res.Body.Close()
		if res.StatusCode != 400 {
			t.Errorf("plain HTTP: %d", res.StatusCode)
		}
	}
	if !strings.Contains(stdout.String(), "singer gate: listening on https://127.0.0.1:") {
		t.Errorf("stdout: %s", stdout.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestCommandLine: usage and config mistakes exit 2 with one line.
func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"tokens":[{"name":"a"}],"listne":"x"}`), 0o600)
	badTable := filepath.Join(dir, "table.json")
	os.WriteFile(badTable, []byte(`{"servers":["nats://127.0.0.1:1"],"tables":[{"name":"t","schema":{"type":"object","properties":{"a":{"type":"integer"}}},"key_names":["b"]},{"name":"u","schema":{"type":"nonsense"}}]}`), 0o600)
	noTok := filepath.Join(dir, "notok.json")
	os.WriteFile(noTok, []byte(`{"servers":["nats://127.0.0.1:1"]}`), 0o600)
	t.Setenv(EnvToken, "")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"gate", "extra"}, "singer gate: error: singer gate takes no arguments (got \"extra\")\nRun 'singer gate --help' for usage.\n"},
		{[]string{"gate", "--config", bad}, "singer gate: error: invalid config: unknown config key \"listne\": did you mean \"listen\"?\nRun 'singer gate --help' for usage.\n"},
		{[]string{"gate", "--config", badTable}, "singer gate: error: invalid config (2 problems): tables[0] (t): key_names names \"b\", which is not a property of the schema; tables[1] (u): invalid schema: /type: value must be one of \"array\", \"boolean\", \"integer\", \"null\", \"number\", \"object\", \"string\"; /type: expected array, but got string\nRun 'singer gate --help' for usage.\n"},
		{[]string{"gate", "--config", noTok}, "singer gate: error: invalid config: no token may write: set SINGER_GATE_TOKEN or list tokens in the config (token_sha256 or token_env)\nRun 'singer gate --help' for usage.\n"},
		{[]string{"gate"}, "singer gate: error: no log: give servers in the config, or --data-dir DIR for an embedded NATS JetStream server\nRun 'singer gate --help' for usage.\n"},
	} {
		var out, errb bytes.Buffer
		code := Main(context.Background(), c.args, nil, &out, &errb)
		if code != 2 || errb.String() != c.want {
			t.Errorf("singer %v: exit %d\n%s\nwant 2\n%s", c.args, code, errb.String(), c.want)
		}
	}
}

// TestConcurrentRequests: requests racing into one topic are each stored
// whole, none lost or doubled.
func TestConcurrentRequests(t *testing.T) {
	g := startGate(t, nil)
	const workers, each = 8, 10
	errs := make(chan string, workers*each)
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func(w int) {
			defer func() { done <- struct{}{} }()
			for i := 0; i < each; i++ {
				id := w*1000 + i
				body := batchBody("orders", upsert(id, fmt.Sprintf(`{"id":%d}`, id)), upsert(id, fmt.Sprintf(`{"id":%d,"note":"b"}`, id+500)))
				req, _ := http.NewRequest(http.MethodPost, g.url+"/v2/import/batch", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tokFull)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err.Error()
					continue
				}
				res.Body.Close()
				if res.StatusCode != 202 {
					errs <- fmt.Sprint(res.StatusCode)
				}
			}
		}(w)
	}
	for w := 0; w < workers; w++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	records, states := 0, 0
	for _, m := range logOf(t, g.nats, g.topic) {
		switch {
		case strings.HasPrefix(m, "SCHEMA orders: "+ordersSchemaLine+"\n"):
			records += strings.Count(m, "\n")
		case strings.HasPrefix(m, "STATE : "):
			states++
		default:
			t.Errorf("unexpected message %.200s", m)
		}
	}
	if records != 2*workers*each || states != workers*each {
		t.Errorf("%d records and %d states in the log, want %d and %d", records, states, 2*workers*each, workers*each)
	}
}

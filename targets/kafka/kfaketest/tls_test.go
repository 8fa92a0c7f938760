package kfaketest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// pki is a private CA with a server certificate for 127.0.0.1 and a
// client certificate, as PEM files.
type pki struct {
	caFile, clientCert, clientKey string
	server                        tls.Certificate
	pool                          *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := key()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kfaketest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	p := &pki{caFile: write("ca.pem", "CERTIFICATE", caDER), pool: x509.NewCertPool()}
	p.pool.AddCert(caCert)
	leaf := func(serial int64, usage x509.ExtKeyUsage, ip net.IP) ([]byte, *ecdsa.PrivateKey) {
		k := key()
		c := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "kfaketest"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		if ip != nil {
			c.IPAddresses = []net.IP{ip}
		}
		der, err := x509.CreateCertificate(rand.Reader, c, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	sDER, sKey := leaf(2, x509.ExtKeyUsageServerAuth, net.IPv4(127, 0, 0, 1))
	p.server = tls.Certificate{Certificate: [][]byte{sDER}, PrivateKey: sKey}
	cDER, cKey := leaf(3, x509.ExtKeyUsageClientAuth, nil)
	kDER, err := x509.MarshalECPrivateKey(cKey)
	if err != nil {
		t.Fatal(err)
	}
	p.clientCert = write("client.pem", "CERTIFICATE", cDER)
	p.clientKey = write("client-key.pem", "EC PRIVATE KEY", kDER)
	return p
}

// tlsCluster is a kfake cluster that speaks only TLS and refuses clients
// without a certificate of the CA.
func tlsCluster(t *testing.T, p *pki) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{p.server}, ClientCAs: p.pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestMutualTLS: target-kafka, tap-kafka and singer gate reach brokers
// that require a client certificate, with the certificate; without it
// they stop with the TLS failure, not a hang or plaintext.
func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	c := tlsCluster(t, p)
	topic := "secure"
	conn := map[string]any{"brokers": c.ListenAddrs(), "topic": topic, "tls": true, "tls_ca_file": p.caFile,
		"tls_cert_file": p.clientCert, "tls_key_file": p.clientKey, "connect_timeout_seconds": 2}
	wcfg := map[string]any{"producer": "tls-test", "replicas": 1}
	for k, v := range conn {
		wcfg[k] = v
	}
	r := runTarget(t, wcfg, lines(upstreamLines...))
	if r.code != 0 {
		t.Fatalf("target-kafka over mutual TLS: exit %d: %s", r.code, r.err)
	}
	r = runTap(t, conn, "")
	if r.code != 0 || strings.Count(r.out, `{"type":"RECORD"`) != strings.Count(strings.Join(upstreamLines, "\n"), `{"type":"RECORD"`) {
		t.Fatalf("tap-kafka over mutual TLS: exit %d, stdout:\n%s\n%s", r.code, r.out, r.err)
	}

	// Without the client certificate the broker refuses the handshake.
	noCert := map[string]any{"brokers": c.ListenAddrs(), "topic": topic, "tls": true, "tls_ca_file": p.caFile, "connect_timeout_seconds": 2}
	r = runTap(t, noCert, "")
	if want := "tap-kafka: error: cannot reach Kafka at " + c.ListenAddrs()[0] + ": remote error: tls: certificate required\n"; r.code != 1 || r.err != want || r.out != "" {
		t.Errorf("tap-kafka without a client certificate: exit %d, stderr %q, stdout %q; want exit 1, stderr %q", r.code, r.err, r.out, want)
	}

	// singer gate with kafka_tls_cert_file: a batch lands in the topic.
	gtopic := "gate-secure"
	g := startKafkaGateWith(t, c, gtopic, map[string]any{"kafka_tls": true, "tls_ca_file": p.caFile,
		"kafka_tls_cert_file": p.clientCert, "kafka_tls_key_file": p.clientKey})
	if code, body := g.post(t, "/v2/import/batch", batch("orders", 1, 3)); code != 202 {
		t.Fatalf("gate batch over mutual TLS: %d %s", code, body)
	}
	g.stop()
	got := runTap(t, map[string]any{"brokers": c.ListenAddrs(), "topic": gtopic, "tls": true, "tls_ca_file": p.caFile,
		"tls_cert_file": p.clientCert, "tls_key_file": p.clientKey}, "")
	var recs []string
	for _, l := range strings.Split(strings.TrimSpace(got.out), "\n") {
		if strings.HasPrefix(l, `{"type":"RECORD"`) {
			recs = append(recs, l)
		}
	}
	equal(t, "records the gate wrote over mutual TLS", recs, wantRecords("orders", 1, 3))
}

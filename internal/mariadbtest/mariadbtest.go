// Package mariadbtest starts throwaway MariaDB servers for tests (its own
// data directory and loopback port, stopped and removed at cleanup), for
// settings the shared server must not have: no binlog, STATEMENT format,
// TLS from a test CA. Both tap-mysql's and target-mysql's tests use it.
//
//	ca, cert, key, _, _, _ := mariadbtest.TestCerts(t, t.TempDir())
//	s := mariadbtest.Start(t, "--ssl-ca="+ca, "--ssl-cert="+cert, "--ssl-key="+key)
//	s.Exec(t, "SET GLOBAL require_secure_transport = ON")
package mariadbtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/singerkit/singerkit/internal/testenv"
)

func skip(t *testing.T, why string) {
	t.Helper()
	testenv.Missing(t, "%s", why)
}

// Server is a throwaway MariaDB server a test starts in a temporary
// directory (mariadb-install-db + mariadbd --no-defaults), for settings
// the shared server must not have: no binlog, STATEMENT format, TLS.
type Server struct {
	Dir  string  // its data, socket and error.log
	Port int     // on 127.0.0.1
	DB   *sql.DB // root, no TLS

	t      *testing.T
	server string
	args   []string
	proc   *exec.Cmd
	exited chan struct{}
}

// mariadbd finds the server binaries, or skips the test (fails it under
// CI=true).
func mariadbd(t *testing.T) (server, install string) {
	t.Helper()
	server, err := exec.LookPath("mariadbd")
	if err != nil {
		server = "/usr/sbin/mariadbd"
		if _, err := os.Stat(server); err != nil {
			skip(t, "mariadbd is not installed (apt-get install mariadb-server): this test starts its own server")
		}
	}
	install, err = exec.LookPath("mariadb-install-db")
	if err != nil {
		skip(t, "mariadb-install-db is not installed (apt-get install mariadb-server): this test starts its own server")
	}
	return server, install
}

// FreePort returns a loopback port nobody listens on now.
func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts a MariaDB server with args added to a minimal
// command line; it is stopped and its directory removed at cleanup.
func Start(t *testing.T, args ...string) *Server {
	t.Helper()
	server, install := mariadbd(t)
	// A short path: the socket's must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "my5_")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	data := filepath.Join(dir, "data")
	var user []string
	if os.Geteuid() == 0 {
		user = []string{"--user=root"}
	}
	// Once seen here: a bootstrap that failed on its own temporary
	// tables while other servers were busy; a second try went through.
	for try := 1; ; try++ {
		cmd := exec.Command(install, append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db"}, user...)...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			break
		}
		if try == 2 {
			t.Fatalf("mariadb-install-db: %v\n%s", err, out)
		}
		os.RemoveAll(data)
	}
	s := &Server{Dir: dir, Port: FreePort(t), t: t, server: server}
	s.args = append([]string{
		"--no-defaults", "--datadir=" + data, "--socket=" + filepath.Join(dir, "s.sock"),
		"--port=" + fmt.Sprint(s.Port), "--bind-address=127.0.0.1", "--pid-file=" + filepath.Join(dir, "pid"),
		"--log-error=" + filepath.Join(dir, "error.log"), "--innodb-buffer-pool-size=8M", "--skip-name-resolve",
	}, user...)
	s.args = append(s.args, args...)
	s.DB, err = sql.Open("mysql", s.DSN("root", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.DB.Close() })
	s.start()
	t.Cleanup(s.stop)
	return s
}

// start starts mariadbd and waits until it answers.
func (s *Server) start() {
	t := s.t
	t.Helper()
	logFile := filepath.Join(s.Dir, "error.log")
	proc := exec.Command(s.server, s.args...)
	if err := proc.Start(); err != nil {
		t.Fatalf("starting mariadbd: %v", err)
	}
	exited := make(chan struct{})
	go func() { proc.Wait(); close(exited) }()
	s.proc, s.exited = proc, exited
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.DB.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logFile)
			t.Fatalf("mariadbd %s exited: %s", strings.Join(s.args, " "), log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile)
			t.Fatalf("mariadbd did not answer within 30s: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts mariadbd down and waits for it.
func (s *Server) stop() {
	if s.proc == nil {
		return
	}
	s.proc.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.proc.Process.Kill()
		<-s.exited
	}
	s.proc = nil
}

// Restart stops the server and starts it again on the same data and
// port (for tests of a source that restarts under a client).
func (s *Server) Restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

// DSN is a go-sql-driver DSN of the server (TCP, no TLS).
func (s *Server) DSN(user, password, db string) string {
	mc := mysqldrv.NewConfig()
	mc.User, mc.Passwd, mc.Net, mc.Addr, mc.DBName = user, password, "tcp", fmt.Sprintf("127.0.0.1:%d", s.Port), db
	return mc.FormatDSN()
}

// Exec runs statements as root; a failure fails the test.
func (s *Server) Exec(t *testing.T, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := s.DB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestCerts writes, into dir, a CA, a server certificate for 127.0.0.1
// and a client certificate (CN my5_client) signed by it, and another CA
// that signed nothing.
func TestCerts(t *testing.T, dir string) (ca, cert, key, otherCA, clientCert, clientKey string) {
	t.Helper()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	makeCA := func(cn string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		k := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, k, der
	}
	caCert, caKey, caDER := makeCA("my5 test CA")
	_, _, otherDER := makeCA("my5 other CA")
	sk := newKey()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano() + 1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &sk.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	ck := newKey()
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano() + 2), Subject: pkix.Name{CommonName: "my5_client"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, caCert, &ck.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	clientKeyDER, err := x509.MarshalPKCS8PrivateKey(ck)
	if err != nil {
		t.Fatal(err)
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", der),
		write("server-key.pem", "PRIVATE KEY", keyDER), write("other-ca.pem", "CERTIFICATE", otherDER),
		write("client.pem", "CERTIFICATE", clientDER), write("client-key.pem", "PRIVATE KEY", clientKeyDER)
}

package postgres

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
)

// pgServer is a throwaway PostgreSQL cluster a test starts in a temporary
// directory (initdb + postgres, wal_level=logical), for the faults the
// shared server must not suffer: restarts, small timeouts.
type pgServer struct {
	t      *testing.T
	dir    string
	port   int
	args   []string
	proc   *exec.Cmd
	exited chan struct{}
	cred   *syscall.Credential
}

const pgBin = "/usr/lib/postgresql/15/bin"

// startPG initialises and starts a cluster with the settings (name=value)
// added to its command line; it is stopped and removed at cleanup.
func startPG(t *testing.T, settings ...string) *pgServer {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		testenv.Missing(t, "%s/initdb is not installed (apt-get install postgresql-15): this test starts its own server", pgBin)
	}
	dir, err := os.MkdirTemp("", "pgsrv_")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &pgServer{t: t, dir: dir}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Missing(t, "running as root and there is no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	initdb := exec.Command(filepath.Join(pgBin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	s.args = []string{"-D", filepath.Join(dir, "data"), "-p", strconv.Itoa(s.port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "wal_level=logical", "-c", "max_wal_senders=10",
		"-c", "max_replication_slots=10", "-c", "fsync=off", "-c", "shared_buffers=16MB", "-c", "logging_collector=off"}
	for _, kv := range settings {
		s.args = append(s.args, "-c", kv)
	}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// url is the server's postgres database as the postgres superuser.
func (s *pgServer) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// start starts the server and waits until it accepts connections.
func (s *pgServer) start() {
	t := s.t
	t.Helper()
	s.proc = exec.Command(filepath.Join(pgBin, "postgres"), s.args...)
	s.proc.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	logf, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	s.proc.Stdout, s.proc.Stderr = logf, logf
	if err := s.proc.Start(); err != nil {
		t.Fatalf("starting postgres: %v", err)
	}
	exited := make(chan struct{})
	s.exited = exited
	proc := s.proc
	go func() { proc.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.url())
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
			t.Fatalf("postgres exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
			t.Fatalf("postgres did not answer within 60s: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the server down (fast: sessions are ended) and waits for it.
func (s *pgServer) stop() {
	if s.proc == nil {
		return
	}
	// Fast shutdown; then immediate (the postmaster still ends its
	// children, so the data directory can start again).
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGKILL} {
		s.proc.Process.Signal(sig)
		select {
		case <-s.exited:
			s.proc = nil
			return
		case <-time.After(20 * time.Second):
		}
	}
	<-s.exited
	s.proc = nil
}

// restart stops and starts the server on the same port and data.
func (s *pgServer) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

// connect returns a connection to the server, closed at cleanup.
func (s *pgServer) connect() *pgx.Conn {
	t := s.t
	t.Helper()
	conn, err := pgx.Connect(context.Background(), s.url())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// log is the server's log so far.
func (s *pgServer) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return string(b)
}

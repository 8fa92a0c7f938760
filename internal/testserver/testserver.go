// Package testserver starts throwaway database servers for tests that
// must break them (stop, restart, crash): a PostgreSQL cluster (initdb +
// postgres) or a MariaDB server (mariadb-install-db + mariadbd) in a
// temporary directory, on a free loopback port, owned by the test.
//
//	srv := testserver.StartPostgres(t)
//	... load through srv.Addr() ...
//	srv.Restart(t)
package testserver

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/testenv"
)

// Server is a database server process the test owns.
type Server struct {
	Port int
	dir  string
	argv []string
	cred *syscall.Credential // run as this user (PostgreSQL refuses root)
	log  string
	proc *exec.Cmd
	done chan struct{}
	up   func(ctx context.Context) error // one readiness probe
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// missing skips the test when a server binary is not installed (a failure
// under CI=true).
func missing(t testing.TB, what string) {
	t.Helper()
	testenv.Missing(t, "%s is not installed: this test starts its own server", what)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tempDir is a short directory (socket paths must fit in 108 bytes),
// owned by cred's user, removed at cleanup.
func tempDir(t testing.TB, prefix string, cred *syscall.Credential) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// run runs a setup command, a second time after cleanup() if the first
// failed (MariaDB's bootstrap was seen failing once on a busy machine and
// going through on a second try).
func run(t testing.TB, cred *syscall.Credential, cleanup func(), name string, args ...string) {
	t.Helper()
	for try := 1; ; try++ {
		cmd := exec.Command(name, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		if err == nil {
			return
		}
		if try == 2 || cleanup == nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
		cleanup()
	}
}

// Start starts the server (again) and waits until it answers.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	s.proc = exec.Command(s.argv[0], s.argv[1:]...)
	s.proc.Stdout, s.proc.Stderr = logf, logf
	s.proc.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if err := s.proc.Start(); err != nil {
		t.Fatalf("starting %s: %v", filepath.Base(s.argv[0]), err)
	}
	done := make(chan struct{})
	s.done = done
	go func(p *exec.Cmd) { p.Wait(); close(done) }(s.proc)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := s.up(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			log, _ := os.ReadFile(s.log)
			t.Fatalf("%s exited: %s", filepath.Base(s.argv[0]), log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(s.log)
			t.Fatalf("%s did not answer within 60s: %v\n%s", filepath.Base(s.argv[0]), err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server with sig and waits for it to exit: SIGINT is
// PostgreSQL's fast shutdown (sessions end with SQLSTATE 57P01),
// SIGTERM MariaDB's normal one, SIGKILL a crash.
func (s *Server) Stop(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if s.proc == nil {
		return
	}
	s.proc.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.proc.Process.Kill()
		<-s.done
	}
	s.proc = nil
}

// StartPostgres initializes and starts a PostgreSQL cluster with a
// superuser root (trust authentication) and the database postgres.
func StartPostgres(t testing.TB) *Server {
	t.Helper()
	bin := os.Getenv("PG_BIN")
	if bin == "" {
		bin = "/usr/lib/postgresql/15/bin"
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		missing(t, "PostgreSQL's initdb (set PG_BIN)")
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs a user postgres to run as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir := tempDir(t, "pg_", cred)
	data := filepath.Join(dir, "data")
	run(t, cred, nil, filepath.Join(bin, "initdb"), "-D", data, "-U", "root", "-A", "trust", "-E", "UTF8", "--no-sync")
	s := &Server{Port: freePort(t), dir: dir, cred: cred, log: filepath.Join(dir, "server.log")}
	s.argv = []string{filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(s.Port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "shared_buffers=16MB",
		"-c", "max_connections=30", "-c", "logging_collector=off"}
	s.up = func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, s.PostgresURL())
		if err != nil {
			return err
		}
		return c.Close(ctx)
	}
	logf, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	logf.Close()
	if cred != nil {
		os.Chown(s.log, int(cred.Uid), int(cred.Gid))
	}
	s.Start(t)
	t.Cleanup(func() { s.Stop(t, syscall.SIGQUIT) })
	return s
}

// PostgresURL is the URL of the cluster's database postgres as root.
func (s *Server) PostgresURL() string {
	return fmt.Sprintf("postgres://root@%s/postgres?sslmode=disable", s.Addr())
}

// StartMariaDB initializes and starts a MariaDB server (root without a
// password, the database test) with args added to its command line.
func StartMariaDB(t testing.TB, args ...string) *Server {
	t.Helper()
	server, err := exec.LookPath("mariadbd")
	if err != nil {
		server = "/usr/sbin/mariadbd"
		if _, err := os.Stat(server); err != nil {
			missing(t, "mariadbd")
		}
	}
	install, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		missing(t, "mariadb-install-db")
	}
	dir := tempDir(t, "my_", nil)
	data := filepath.Join(dir, "data")
	var asRoot []string
	if os.Geteuid() == 0 {
		asRoot = []string{"--user=root"}
	}
	run(t, nil, func() { os.RemoveAll(data) }, install, append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db"}, asRoot...)...)
	s := &Server{Port: freePort(t), dir: dir, log: filepath.Join(dir, "server.log")}
	s.argv = append(append([]string{server, "--no-defaults", "--datadir=" + data, "--socket=" + filepath.Join(dir, "s.sock"),
		"--port=" + strconv.Itoa(s.Port), "--bind-address=127.0.0.1", "--pid-file=" + filepath.Join(dir, "pid"),
		"--log-error=" + s.log, "--innodb-buffer-pool-size=8M", "--skip-name-resolve", "--local-infile=1"}, asRoot...), args...)
	s.up = func(ctx context.Context) error {
		db, err := sql.Open("mysql", s.MariaDBDSN(""))
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS test")
		return err
	}
	s.Start(t)
	t.Cleanup(func() { s.Stop(t, syscall.SIGKILL) })
	return s
}

// MariaDBDSN is a go-sql-driver/mysql DSN for root on database db.
func (s *Server) MariaDBDSN(db string) string {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.DBName = "root", "tcp", s.Addr(), db
	return c.FormatDSN()
}

package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/mariadbtest"
)

// testServer is a throwaway MariaDB server (internal/mariadbtest) with
// the names this package's tests use.
type testServer struct {
	*mariadbtest.Server
	dir  string
	port int
	db   *sql.DB // root, no TLS
}

func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	s := mariadbtest.Start(t, args...)
	return &testServer{Server: s, dir: s.Dir, port: s.Port, db: s.DB}
}

func (s *testServer) dsn(user, password, db string) string { return s.DSN(user, password, db) }

func (s *testServer) exec(t *testing.T, stmts ...string) {
	t.Helper()
	s.Exec(t, stmts...)
}

func testCerts(t *testing.T, dir string) (ca, cert, key, otherCA, clientCert, clientKey string) {
	return mariadbtest.TestCerts(t, dir)
}

// runTap runs tap-mysql's command line; it returns the exit code, stdout
// and stderr.
func runTap(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, stderr bytes.Buffer
	code := cli.RunTap(context.Background(), Spec(), args, nil, &out, &stderr)
	return code, out.String(), stderr.String()
}

package pgdsn

import (
	"errors"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/singerkit/singerkit/internal/config"
)

// ConnectError explains a failed connection in one line, the same way in
// tap-postgres and target-postgres: a database that does not exist is the
// config's fault (a *config.Error, exit 2); a login refused, a host that
// does not resolve or a port that refuses are runtime failures (exit 1)
// that a retry may get past. The password is redacted from any text the
// server or the network sent. The cause stays wrapped, so a caller can
// still tell a network error from a server's.
func ConnectError(err error, password string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		msg := config.Redact(pgErr.Message, password)
		switch pgErr.Code {
		case "28P01", "28000":
			return &connectError{fmt.Sprintf("connecting to PostgreSQL: %s (SQLSTATE %s): check user and password in the config", msg, pgErr.Code), err}
		case "3D000":
			return &config.Error{Problems: []string{fmt.Sprintf("connecting to PostgreSQL: %s (SQLSTATE %s): check dbname in the config", msg, pgErr.Code)}}
		}
	}
	// The network's own words, once (pgx lists every address it tried).
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &connectError{fmt.Sprintf("connecting to PostgreSQL: host %q: %s: check host in the config", dnsErr.Name, dnsErr.Err), err}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return &connectError{fmt.Sprintf("connecting to PostgreSQL at %s: %v: check host and port in the config, and that the server is running and accepts TCP connections", opErr.Addr, opErr.Err), err}
	}
	return &connectError{"connecting to PostgreSQL: " + config.Redact(err.Error(), password), err}
}

// connectError is a connection failure's one line, with its cause.
type connectError struct {
	msg string
	err error
}

func (e *connectError) Error() string { return e.msg }

func (e *connectError) Unwrap() error { return e.err }

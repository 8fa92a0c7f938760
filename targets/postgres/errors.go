package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// transientCodes are the SQLSTATEs after which the same transaction may
// succeed when run again: the server rolled it back (deadlock,
// serialization failure) or is going away or coming back (restart).
var transientCodes = map[string]bool{
	"40001": true, // serialization_failure
	"40P01": true, // deadlock_detected
	"55P03": true, // lock_not_available (lock_timeout)
	"57P01": true, // admin_shutdown: the server is stopping or restarting
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now: the server is starting
	"53300": true, // too_many_connections
}

// classify wraps err in a *sqltarget.TransientError when running the work
// again may succeed: a server error with a transient SQLSTATE (class 08,
// connection exceptions, included), or a lost connection (lost says that
// the session's connection is gone, whatever the error).
func classify(err error, lost bool) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if transientCodes[pe.Code] || strings.HasPrefix(pe.Code, "08") {
			return &sqltarget.TransientError{Err: err}
		}
		return err
	}
	if lost || networkError(err) {
		return &sqltarget.TransientError{Err: err}
	}
	return err
}

func networkError(err error) bool {
	var ne net.Error
	var ce *pgconn.ConnectError
	return errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// commitError is a COMMIT that got no reply: the transaction txid may
// have committed.
type commitError struct {
	err  error
	txid int64 // 0: not known
}

func (e *commitError) Error() string { return "COMMIT failed: " + e.err.Error() }

func (e *commitError) Unwrap() error { return e.err }

// inDoubt turns a COMMIT without a reply into a TransientError that can
// ask a new connection whether the transaction committed.
func (d *Dialect) inDoubt(ce *commitError) error {
	te := &sqltarget.TransientError{Err: ce, InDoubt: true}
	if ce.txid != 0 {
		te.Committed = func(ctx context.Context) (bool, error) { return d.committed(ctx, ce.txid) }
	}
	return te
}

// committed asks the server, on a connection of its own, whether a
// transaction committed (txid_status).
func (d *Dialect) committed(ctx context.Context, txid int64) (bool, error) {
	conn, err := pgx.ConnectConfig(ctx, d.connConfig)
	if err != nil {
		return false, classify(fmt.Errorf("connecting to PostgreSQL to learn whether transaction %d committed: %w", txid, err), true)
	}
	defer closeConn(conn)
	var status *string
	if err := conn.QueryRow(ctx, "SELECT txid_status($1)", txid).Scan(&status); err != nil {
		return false, classify(fmt.Errorf("asking whether transaction %d committed: %w", txid, err), conn.IsClosed())
	}
	switch {
	case status == nil:
		return false, fmt.Errorf("cannot tell whether transaction %d committed (txid_status has forgotten it)", txid)
	case *status == "committed":
		return true, nil
	case *status == "aborted":
		return false, nil
	}
	// "in progress": the server has not yet noticed that the connection
	// is gone; ask again after the next wait.
	return false, &sqltarget.TransientError{Err: fmt.Errorf("transaction %d is still in progress on the server", txid)}
}

// pgError is a server error reported with its SQLSTATE, the column and
// the place PostgreSQL names; the *pgconn.PgError stays reachable with
// errors.As.
type pgError struct {
	prefix string
	pe     *pgconn.PgError
}

func (e *pgError) Error() string {
	msg := e.pe.Message
	if e.pe.ColumnName != "" {
		msg = "column " + e.pe.ColumnName + ": " + msg
	}
	if e.pe.Where != "" {
		msg += " (" + e.pe.Where + ")"
	}
	return e.prefix + msg + " (SQLSTATE " + e.pe.Code + ")"
}

func (e *pgError) Unwrap() error { return e.pe }

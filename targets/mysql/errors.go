package mysql

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/singerkit/singerkit/internal/liveconn"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// transientErrors are the server errors after which the same transaction
// may succeed when run again.
var transientErrors = map[uint16]bool{
	1205: true, // ER_LOCK_WAIT_TIMEOUT (the transaction is rolled back by the engine)
	1213: true, // ER_LOCK_DEADLOCK
	1040: true, // ER_CON_COUNT_ERROR: too many connections
	1053: true, // ER_SERVER_SHUTDOWN
	1927: true, // ER_CONNECTION_KILLED (MariaDB)
	4031: true, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
	1158: true, // ER_NET_READ_ERROR
	1159: true, // ER_NET_READ_INTERRUPTED
	1160: true, // ER_NET_ERROR_ON_WRITE
	1161: true, // ER_NET_WRITE_INTERRUPTED
}

func (s *session) setNetConn(c *liveconn.Conn) {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	s.netConn = c
}

// lost reports the errors of a connection that is gone (the driver's,
// database/sql's and the network's).
func lost(err error) bool {
	var ne net.Error
	return errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// explain adds the cause to a lost connection's error: the network
// connection's own error (a reset, an EOF, a stall), else the line the
// driver logged.
func (s *session) explain(err error) error {
	if err == nil || !lost(err) {
		return err
	}
	cause := ""
	s.netMu.Lock()
	if s.netConn != nil {
		if ne := s.netConn.Err(); ne != nil {
			cause = ne.Error()
		}
	}
	s.netMu.Unlock()
	logged := s.driverLog.Take()
	if cause == "" {
		cause = logged
	}
	if cause == "" || strings.Contains(err.Error(), cause) {
		return err
	}
	return &lostError{cause: cause, err: err}
}

// lostError is a lost connection with its cause.
type lostError struct {
	cause string
	err   error
}

func (e *lostError) Error() string {
	return "the connection to the server was lost: " + e.cause + " (" + e.err.Error() + ")"
}

func (e *lostError) Unwrap() error { return e.err }

// commitError is a COMMIT that got no reply: the transaction may have
// committed.
type commitError struct{ err error }

func (e *commitError) Error() string { return "COMMIT failed: " + e.err.Error() }

func (e *commitError) Unwrap() error { return e.err }

// commit commits tx; a COMMIT whose connection was lost is a *commitError.
func commit(tx *sql.Tx) error {
	err := tx.Commit()
	var me *mysql.MySQLError
	if err == nil || errors.As(err, &me) || errors.Is(err, driver.ErrBadConn) || !lost(err) {
		return err
	}
	return &commitError{err: err}
}

// classify returns shown (the error as reported) wrapped in a
// *sqltarget.TransientError when err (the error as the driver returned
// it) is one that another attempt may not meet; inDoubt marks a COMMIT
// without its reply (no way to ask MySQL afterwards: only work that is
// harmless to redo is redone).
func (s *session) classify(shown, err error, inDoubt bool) error {
	if err == nil {
		return nil
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		if transientErrors[me.Number] {
			return &sqltarget.TransientError{Err: shown}
		}
		return shown
	}
	if lost(err) {
		return &sqltarget.TransientError{Err: shown, InDoubt: inDoubt}
	}
	return shown
}

// finish gives the cause and the class of a session's error.
func (s *session) finish(err error) error {
	if err == nil {
		return nil
	}
	var ce *commitError
	inDoubt := errors.As(err, &ce)
	shown := s.explain(err)
	return s.classify(shown, err, inDoubt)
}

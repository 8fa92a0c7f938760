package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/singerkit/singerkit/internal/config"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/singerkit/singerkit/internal/liveconn"
	"github.com/singerkit/singerkit/internal/mysqlconn"
	"github.com/singerkit/singerkit/singer"
)

// Config is tap-mysql's config (schemas/tap-mysql.config.json).
type Config struct {
	// DSN is a go-sql-driver DSN (user:pass@tcp(host:port)/db); it replaces
	// host, port, user, password and database. Tests use it.
	DSN       string   `json:"dsn"`
	Host      string   `json:"host"`
	Port      int      `json:"port"`
	User      string   `json:"user"`
	Password  string   `json:"password"`
	Database  string   `json:"database"`
	FilterDBs []string `json:"filter_dbs"`

	SSL           *bool  `json:"ssl"` // nil: unset (TLS if another ssl key is given)
	SSLCA         string `json:"ssl_ca"`
	SSLCert       string `json:"ssl_cert"`
	SSLKey        string `json:"ssl_key"`
	SSLSkipVerify bool   `json:"ssl_skip_verify"`

	SessionSQLs []string `json:"session_sqls"`
	ServerID    uint32   `json:"server_id"`

	DefaultReplicationMethod string   `json:"default_replication_method"`
	ChunkSize                int      `json:"chunk_size"`
	StateEveryRows           int      `json:"state_every_rows"`
	MaxRunSeconds            float64  `json:"max_run_seconds"`
	BinlogIdleSeconds        float64  `json:"binlog_idle_seconds"`
	StateEverySeconds        float64  `json:"state_every_seconds"`
	ReadTimeoutSeconds       *float64 `json:"read_timeout_seconds"`
	UseGTID                  *bool    `json:"use_gtid"`

	log *singer.Log

	logOnce sync.Once
	lastLog *mysqlconn.DriverLog
}

// useGTID says whether LOG_BASED bookmarks keep GTID sets (use_gtid,
// default true).
func (c *Config) useGTID() bool { return c.UseGTID == nil || *c.UseGTID }

// DefaultSessionSQLs run on the tap's connection unless session_sqls is
// set: UTC for TIMESTAMP values (the encoders write them with a Z), a
// sql_mode without ANSI_QUOTES or NO_BACKSLASH_ESCAPES surprises, and long
// network timeouts so a slow target downstream does not abort a scan.
var DefaultSessionSQLs = []string{
	"SET @@session.time_zone = '+00:00'",
	"SET @@session.sql_mode = 'NO_ENGINE_SUBSTITUTION'",
	"SET @@session.net_write_timeout = 3600",
	"SET @@session.net_read_timeout = 3600",
	"SET @@session.wait_timeout = 28800",
}

func (c *Config) logf(format string, args ...any) {
	if c.log != nil {
		c.log.Infof(format, args...)
	}
}

// driverConfig builds the go-sql-driver config; errors never show the
// password. interpolateParams sends every query but a table scan's (a
// prepared statement, see queryRows) as one text command.
func (c *Config) driverConfig() (*mysqldrv.Config, error) {
	var mc *mysqldrv.Config
	if c.DSN != "" {
		var err error
		mc, err = mysqldrv.ParseDSN(c.DSN)
		if err != nil {
			return nil, &config.Error{Problems: []string{"invalid dsn: " + config.Redact(err.Error(), c.Password)}}
		}
	} else {
		mc = mysqldrv.NewConfig()
		host := c.Host
		if host == "" {
			host = "localhost"
		}
		port := c.Port
		if port == 0 {
			port = 3306
		}
		mc.Net = "tcp"
		mc.Addr = net.JoinHostPort(host, strconv.Itoa(port))
		mc.User = c.User
		mc.Passwd = c.Password
		mc.DBName = c.Database
	}
	if mc.ReadTimeout == 0 {
		// A stalled connection, proxy or server: a read that gets no
		// byte for this long fails instead of waiting forever.
		mc.ReadTimeout = c.readTimeout()
	}
	// The driver's own log lines (e.g. "[mysql] packets.go: read tcp
	// ...: i/o timeout") are kept for the error, never printed.
	mc.Logger = c.driverLog()
	mc.InterpolateParams = true
	mc.ParseTime = false
	mc.Loc = time.UTC
	mc.Collation = "utf8mb4_general_ci"
	if problems := c.tls().Apply(mc, c.DSN != ""); len(problems) > 0 {
		return nil, &config.Error{Problems: problems}
	}
	return mc, nil
}

// tls maps the ssl keys onto the policy tap-mysql shares with target-mysql.
func (c *Config) tls() mysqlconn.TLS {
	k := mysqlconn.TLS{SkipVerify: c.SSLSkipVerify, Files: mysqlconn.TLSFiles{CA: c.SSLCA, Cert: c.SSLCert, Key: c.SSLKey}}
	if c.SSL != nil {
		k.SSL = strconv.FormatBool(*c.SSL)
	}
	return k
}

// databases is the list of databases discovery reads (empty: all but the
// system ones).
func (c *Config) databases() []string {
	if len(c.FilterDBs) > 0 {
		return c.FilterDBs
	}
	if c.Database != "" {
		return []string{c.Database}
	}
	if c.DSN != "" {
		if mc, err := mysqldrv.ParseDSN(c.DSN); err == nil && mc.DBName != "" {
			return []string{mc.DBName}
		}
	}
	return nil
}

// serverID is the replication client id: the configured one, or a random
// id in a range servers rarely use.
func (c *Config) serverID() uint32 {
	if c.ServerID != 0 {
		return c.ServerID
	}
	return 0x40000000 + rand.Uint32N(0x3fffffff)
}

// Connect opens a pool of at most one connection and runs the session
// statements on it: the tap reads serially, so one session carries every
// setting.
func (c *Config) Connect(ctx context.Context) (*sql.DB, *sql.Conn, error) {
	mc, err := c.driverConfig()
	if err != nil {
		return nil, nil, err
	}
	connector, err := mysqldrv.NewConnector(mc)
	if err != nil {
		return nil, nil, &config.Error{Problems: []string{"invalid connection settings: " + config.Redact(err.Error(), c.Password)}}
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		msg := config.Redact(err.Error(), c.Password)
		var me *mysqldrv.MySQLError
		if errors.As(err, &me) && me.Number == 1049 {
			// A database that does not exist: the config is at fault (2).
			return nil, nil, &config.Error{Problems: []string{"connecting to MySQL: " + msg}}
		}
		if errors.As(err, &me) && (me.Number == 1045 || me.Number == 1044 || me.Number == 1698) {
			// Cannot authenticate (or no access yet): a runtime failure
			// (exit 1) that a retry may get past (a password being
			// rotated, a grant being made).
			if me.Number == 1045 && mc.TLS == nil {
				// MariaDB refuses a plain connection when it requires TLS
				// (require_secure_transport, REQUIRE SSL) with this error.
				msg += " (a server that requires TLS refuses a plain connection so too: if it does, set ssl to true and ssl_ca to the CA of its certificate)"
			}
			return nil, nil, errors.New("connecting to MySQL: " + msg)
		}
		if problem := tlsProblem(err, mc, c); problem != "" {
			return nil, nil, &config.Error{Problems: []string{fmt.Sprintf("connecting to MySQL at %s: %s", mc.Addr, problem)}}
		}
		return nil, nil, fmt.Errorf("connecting to MySQL at %s: %s", mc.Addr, msg)
	}
	stmts := c.SessionSQLs
	if stmts == nil {
		stmts = DefaultSessionSQLs
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			conn.Close()
			db.Close()
			return nil, nil, &config.Error{Problems: []string{fmt.Sprintf("session_sqls: %q: %s", s, config.Redact(err.Error(), c.Password))}}
		}
	}
	return db, conn, nil
}

// tlsProblem explains a connection refused for TLS reasons the config
// can fix ("" for any other error).
func tlsProblem(err error, mc *mysqldrv.Config, c *Config) string {
	return c.tls().Problem(err, mc)
}

// DefaultReadTimeout is read_timeout_seconds' default.
const DefaultReadTimeout = 300 * time.Second

// readTimeout is how long a read may wait for a byte (0: forever).
func (c *Config) readTimeout() time.Duration {
	if c.ReadTimeoutSeconds == nil {
		return DefaultReadTimeout
	}
	return time.Duration(*c.ReadTimeoutSeconds * float64(time.Second))
}

func (c *Config) driverLog() *mysqlconn.DriverLog {
	c.logOnce.Do(func() { c.lastLog = &mysqlconn.DriverLog{} })
	return c.lastLog
}

// connErr says why a connection broke: a read that timed out is a stall
// (read_timeout_seconds); the driver's bare "invalid connection" gets the
// cause it logged.
func (c *Config) connErr(err error) error {
	if err == nil {
		return nil
	}
	cause := err.Error()
	if errors.Is(err, mysqldrv.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) {
		if l := c.driverLog().Last(); l != "" {
			cause = l
		}
	}
	if strings.Contains(cause, "i/o timeout") {
		return &liveconn.StallError{Op: "read", Limit: c.readTimeout(), Err: err}
	}
	if cause != err.Error() {
		return fmt.Errorf("%w (%s)", err, config.Redact(cause, c.Password))
	}
	return err
}

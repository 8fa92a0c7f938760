package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/singerkit/singerkit/internal/pgdsn"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/liveconn"
	"github.com/singerkit/singerkit/singer"
)

// Config is tap-postgres' config (schemas/tap-postgres.config.json).
type Config struct {
	URL         string `json:"url"`
	Host        string `json:"host"`
	Port        int    `json:"port"`
	User        string `json:"user"`
	Password    string `json:"password"`
	DBName      string `json:"dbname"`
	SSLMode     string `json:"sslmode"`
	SSLRootCert string `json:"sslrootcert"`
	SSLCert     string `json:"sslcert"`
	SSLKey      string `json:"sslkey"`

	FilterSchemas            []string `json:"filter_schemas"`
	DefaultReplicationMethod string   `json:"default_replication_method"`
	Itersize                 int      `json:"itersize"`
	StateEveryRows           int      `json:"state_every_rows"`

	SlotName           string   `json:"slot_name"`
	PublicationName    string   `json:"publication_name"`
	TapID              string   `json:"tap_id"`
	MaxRunSeconds      float64  `json:"max_run_seconds"`
	LogicalPollSeconds float64  `json:"logical_poll_seconds"`
	StateEverySeconds  float64  `json:"state_every_seconds"`
	ReadTimeoutSeconds *float64 `json:"read_timeout_seconds"`

	log *singer.Log
}

func (c *Config) logf(format string, args ...any) {
	if c.log != nil {
		c.log.Infof(format, args...)
	}
}

func (c *Config) warnf(format string, args ...any) {
	if c.log != nil {
		c.log.Warnf(format, args...)
	}
}

// connConfig builds the pgx config; errors never show the password. The
// session settings fix the text forms the encoders read: ISO dates, UTC
// timestamps, hex bytea, shortest exact floats.
func (c *Config) connConfig() (*pgx.ConnConfig, error) {
	// One TLS policy with tap-postgres/target-postgres (pgdsn.SSL):
	// a certificate file given means TLS, verified.
	keys := pgdsn.SSL{Mode: c.SSLMode, RootCert: c.SSLRootCert, Cert: c.SSLCert, Key: c.SSLKey}
	dsn, problems := c.URL, []string(nil)
	if dsn != "" {
		dsn, problems = pgdsn.ResolveURL(dsn, keys)
	} else {
		keys, problems = keys.Resolve()
		port := ""
		if c.Port != 0 {
			port = strconv.Itoa(c.Port)
		}
		dsn = pgdsn.Keywords("host", c.Host, "port", port, "user", c.User, "password", c.Password, "dbname", c.DBName,
			"sslmode", keys.Mode, "sslrootcert", keys.RootCert, "sslcert", keys.Cert, "sslkey", keys.Key)
	}
	if len(problems) > 0 {
		return nil, &config.Error{Problems: problems}
	}
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, &config.Error{Problems: []string{"invalid connection settings: " + config.Redact(err.Error(), c.Password)}}
	}
	// Dead peers: keepalives, and a read that waits longer than the read
	// timeout fails.
	d := &liveconn.Dialer{Timeout: c.readTimeout(), ReplyTimeout: c.readTimeout()}
	cc.DialFunc = d.DialContext
	for k, v := range map[string]string{
		"TimeZone":           "UTC",
		"DateStyle":          "ISO, YMD",
		"IntervalStyle":      "postgres",
		"bytea_output":       "hex",
		"extra_float_digits": "3",
		"application_name":   "tap-postgres",
	} {
		cc.RuntimeParams[k] = v
	}
	return cc, nil
}

// Connect opens a connection with the tap's session settings.
func (c *Config) Connect(ctx context.Context) (*pgx.Conn, error) {
	cc, err := c.connConfig()
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, pgdsn.ConnectError(err, c.Password)
	}
	// JIT compilation (PostgreSQL 11 and later, on by default from 12)
	// compiles the expressions of a query the planner costs high: the
	// discovery query (its per-table statistics subquery inflates the
	// estimate) spent 0.52 s compiling for 7 ms of execution, in every
	// run, and an INCREMENTAL scan of a large table would pay it too. The
	// tap's queries are plain scans: its sessions run without JIT.
	if serverMajor(conn.PgConn().ParameterStatus("server_version")) >= 11 {
		if _, err := conn.PgConn().Exec(ctx, "SET jit = off").ReadAll(); err != nil {
			conn.Close(ctx)
			return nil, pgdsn.ConnectError(err, c.Password)
		}
	}
	return conn, nil
}

// serverMajor is the major version in a server_version such as
// "15.4 (Debian 15.4-1)" or "9.6.24" (0 when there is none).
func serverMajor(v string) int {
	n := 0
	for _, r := range v {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
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

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
	return conn, nil
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

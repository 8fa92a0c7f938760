package postgres

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/internal/pgdsn"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/internal/liveconn"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// DefaultSchema is where tables go when default_target_schema is unset.
const DefaultSchema = "public"

// Config is target-postgres' config: the connection and the engine's keys.
type Config struct {
	sqltarget.Config
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
}

// ConnConfig builds the pgx config target-postgres connects with (its
// session settings and timeouts). Errors never show the password.
func (c *Config) ConnConfig() (*pgx.ConnConfig, error) {
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
		return nil, errors.New(strings.Join(problems, "; "))
	}
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("invalid connection settings: %s", config.Redact(err.Error(), c.Password))
	}
	cc.RuntimeParams["TimeZone"] = "UTC"
	if cc.RuntimeParams["application_name"] == "" {
		// Unless the url or PGAPPNAME names it (make bench tells its runs
		// apart by it).
		cc.RuntimeParams["application_name"] = "target-postgres"
	}
	// Dead peers: keepalives, and deadlines on every read and write (a
	// reply may take the statement timeout plus the network timeout).
	t := c.Timeouts()
	d := &liveconn.Dialer{Timeout: t.Network, ReplyTimeout: t.Reply}
	cc.DialFunc = d.DialContext
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = t.Network
	}
	if t.Statement > 0 {
		cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(t.Statement.Milliseconds(), 10)
	}
	return cc, nil
}

package postgres

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

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

// dsnValue quotes a keyword/value connection string value.
func dsnValue(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `\'`) + "'"
}

// connConfig builds the pgx config. Errors never show the password.
func (c *Config) connConfig() (*pgx.ConnConfig, error) {
	dsn := c.URL
	if dsn == "" {
		var parts []string
		add := func(k, v string) {
			if v != "" {
				parts = append(parts, k+"="+dsnValue(v))
			}
		}
		add("host", c.Host)
		if c.Port != 0 {
			add("port", strconv.Itoa(c.Port))
		}
		add("user", c.User)
		add("password", c.Password)
		add("dbname", c.DBName)
		add("sslmode", c.SSLMode)
		add("sslrootcert", c.SSLRootCert)
		add("sslcert", c.SSLCert)
		add("sslkey", c.SSLKey)
		dsn = strings.Join(parts, " ")
	}
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("invalid connection settings: %s", redact(err.Error(), c.Password))
	}
	cc.RuntimeParams["TimeZone"] = "UTC"
	cc.RuntimeParams["application_name"] = "target-postgres"
	return cc, nil
}

func redact(msg, secret string) string {
	if len(secret) >= 3 {
		msg = strings.ReplaceAll(msg, secret, "***")
	}
	return msg
}

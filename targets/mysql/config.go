package mysql

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/go-sql-driver/mysql"
	"github.com/singerkit/singerkit/internal/mysqlconn"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// Config is target-mysql's config: the connection and the engine's keys.
type Config struct {
	sqltarget.Config
	DSN         string     `json:"dsn"`
	Host        string     `json:"host"`
	Port        int        `json:"port"`
	User        string     `json:"user"`
	Password    string     `json:"password"`
	Database    string     `json:"database"`
	SSL         sslSetting `json:"ssl"`
	SSLCA       string     `json:"ssl_ca"`
	SSLCert     string     `json:"ssl_cert"`
	SSLKey      string     `json:"ssl_key"`
	SessionSQLs []string   `json:"session_sqls"`
	LocalInfile *bool      `json:"local_infile"`
}

// sslSetting is the ssl key: false, true, "skip-verify" or "preferred",
// the first two as booleans (as tap-mysql takes them) or as words.
type sslSetting string

func (s *sslSetting) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true", "false":
		*s = sslSetting(b)
		return nil
	case "null":
		*s = ""
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return errSSLSetting
	}
	switch v {
	case "true", "false", "skip-verify", "preferred":
	default:
		return errSSLSetting
	}
	*s = sslSetting(v)
	return nil
}

var errSSLSetting = errors.New(`ssl must be true, false, "skip-verify" or "preferred"`)

// tls maps the ssl keys onto the policy target-mysql shares with tap-mysql.
func (c *Config) tls() mysqlconn.TLS {
	k := mysqlconn.TLS{SSL: string(c.SSL), Files: mysqlconn.TLSFiles{CA: c.SSLCA, Cert: c.SSLCert, Key: c.SSLKey}}
	if c.SSL == "skip-verify" {
		k.SSL, k.SkipVerify = "true", true
	}
	return k
}

func (c *Config) localInfile() bool { return c.LocalInfile == nil || *c.LocalInfile }

// DriverConfig builds the driver's config target-mysql connects with, and
// sets default_target_schema to the connection's database when unset.
// Errors never show the password.
func (c *Config) DriverConfig() (*mysql.Config, error) {
	var dc *mysql.Config
	if c.DSN != "" {
		var err error
		dc, err = mysql.ParseDSN(c.DSN)
		if err != nil {
			return nil, fmt.Errorf("invalid dsn: %s", config.Redact(err.Error(), c.DSN, c.Password))
		}
	} else {
		dc = mysql.NewConfig()
		host := c.Host
		if host == "" {
			host = "localhost"
		}
		port := c.Port
		if port == 0 {
			port = 3306
		}
		dc.Net = "tcp"
		dc.Addr = net.JoinHostPort(host, strconv.Itoa(port))
		dc.User = c.User
		dc.Passwd = c.Password
		dc.DBName = c.Database
	}
	if problems := c.tls().Apply(dc, c.DSN != ""); len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if dc.Timeout == 0 {
		dc.Timeout = 30 * time.Second
	}
	dc.ParseTime = false
	dc.InterpolateParams = false
	dc.MultiStatements = false
	dc.Loc = time.UTC
	if err := dc.Apply(mysql.Charset("utf8mb4", "")); err != nil {
		return nil, err
	}
	if c.DefaultTargetSchema == "" {
		c.DefaultTargetSchema = dc.DBName
	}
	if c.DefaultTargetSchema == "" {
		return nil, errors.New("set database (or default_target_schema): the database the tables go to")
	}
	return dc, nil
}

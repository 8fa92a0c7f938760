package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/go-sql-driver/mysql"
	"github.com/singerkit/singerkit/internal/chunkbuf"
	"github.com/singerkit/singerkit/internal/liveconn"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// maxIdentifier is MySQL's limit on database, table and column names: 64
// characters (not bytes).
const maxIdentifier = 64

// Dialect is target-mysql's dialect of the SQL target engine.
type Dialect struct {
	dc          *mysql.Config // the driver's config; each session dials with a copy
	cfg         *Config
	log         *singer.Log
	fallbackMsg sync.Once
	// warnedNoUnique: tables (by identifier) already warned about having
	// no unique index on their keys.
	warnedNoUnique sync.Map
	// warnedSkips: streams already warned of records that append skipped.
	warnedSkips sync.Map
	// chunks holds the bytes of every batch of the run, whatever the
	// stream or session: chunks go back to it when a batch is loaded.
	chunks *chunkbuf.Pool
}

// NewDialect returns the dialect for a config.
func NewDialect(cfg *Config, log *singer.Log) (*Dialect, error) {
	dc, err := cfg.DriverConfig()
	if err != nil {
		return nil, err
	}
	if _, err := mysql.NewConnector(dc); err != nil {
		return nil, fmt.Errorf("invalid connection settings: %s", config.Redact(err.Error(), cfg.Password))
	}
	return &Dialect{dc: dc, cfg: cfg, log: log, chunks: chunkbuf.NewPool(0)}, nil
}

// RampBatches: a LOAD DATA costs little to start, so each stream's batches
// ramp up to the batch limits, and go to the stream's session when it is
// idle (sqltarget.Ramping).
func (d *Dialect) RampBatches() (ramp, idle bool) { return true, true }

// FoldIdentifier makes a name a valid MySQL identifier. Every identifier is
// quoted with backticks, so case, spaces, quotes and reserved words are fine.
// What MySQL refuses is changed: NUL is dropped, characters outside the Basic
// Multilingual Plane become "_", trailing spaces become "_", and names over
// 64 characters are cut to 55 characters plus "_" and 8 hex digits of the
// SHA-1 of the whole name (the sqltarget.TruncateWithHash rule, counted in
// characters).
func (d *Dialect) FoldIdentifier(name string) string { return foldIdentifier(name) }

func foldIdentifier(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == 0:
		case r > 0xFFFF || r == utf8.RuneError:
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	if t := strings.TrimRight(s, " "); len(t) < len(s) {
		s = t + strings.Repeat("_", len(s)-len(t))
	}
	if s == "" {
		s = "_"
	}
	if utf8.RuneCountInString(s) <= maxIdentifier {
		return s
	}
	// TruncateWithHash counts bytes; give it the byte length of the first
	// 55 characters so the result is 64 characters.
	cut := 0
	for i := 0; i < maxIdentifier-9; i++ {
		_, n := utf8.DecodeRuneInString(s[cut:])
		cut += n
	}
	// The hash is of the cleaned name; names that clean to the same text
	// are told apart by the engine's collision rule (a hash of the
	// original). A space just before the cut stays inside the name, which
	// MySQL allows.
	return sqltarget.TruncateWithHash(s, cut+9)
}

// IdentifierKey: MySQL column names are case-insensitive (and table names
// are on case-insensitive file systems or with lower_case_table_names).
func (d *Dialect) IdentifierKey(name string) string { return strings.ToLower(name) }

// MaxIdentifier is 64 (characters; every folded name of 64 bytes or less is
// also 64 characters or less).
func (d *Dialect) MaxIdentifier() int { return maxIdentifier }

// Open connects a session: one pinned connection with the session
// settings. Each session has a connector of its own, so that it knows its
// network connection (the cause behind the driver's "invalid connection")
// and keeps the driver's log lines to itself.
func (d *Dialect) Open(ctx context.Context) (sqltarget.Session[*textBatch], error) {
	s := &session{d: d, log: d.log, dbs: map[string]bool{}, noLocal: !d.cfg.localInfile()}
	dc := d.dc.Clone()
	t := d.cfg.Timeouts()
	if dc.DialFunc == nil {
		dialer := &liveconn.Dialer{Timeout: t.Network, ReplyTimeout: t.Reply, Conns: s.setNetConn}
		dc.DialFunc = dialer.DialContext
	}
	dc.Logger = &s.driverLog
	connector, err := mysql.NewConnector(dc)
	if err != nil {
		return nil, fmt.Errorf("invalid connection settings: %s", config.Redact(err.Error(), d.cfg.Password))
	}
	s.db = sql.OpenDB(connector)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		s.db.Close()
		// A database that does not exist is the config's fault (exit 2, no
		// retry), as in tap-mysql.
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 1049 {
			return nil, &config.Error{Problems: []string{fmt.Sprintf("connecting to MySQL: %s: check database in the config", config.Redact(me.Error(), d.cfg.Password))}}
		}
		if problem := d.cfg.tls().Problem(err, d.dc); problem != "" {
			return nil, &config.Error{Problems: []string{fmt.Sprintf("connecting to MySQL at %s: %s", d.dc.Addr, problem)}}
		}
		return nil, s.classify(fmt.Errorf("connecting to MySQL: %s", config.Redact(s.explain(err).Error(), d.cfg.Password)), err, false)
	}
	s.conn = conn
	if err := s.init(ctx); err != nil {
		s.Close()
		return nil, s.classify(err, err, false)
	}
	return s, nil
}

// quote quotes an identifier with backticks (a backtick in the name is
// doubled), so no name can end the identifier early.
func quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

// Limits of the type table.
const (
	// maxVarchar is the longest maxLength kept as VARCHAR(n); longer or
	// unbounded strings are LONGTEXT. 255 characters of utf8mb4 keep a
	// row of many such columns under InnoDB's 65,535-byte row limit.
	maxVarchar = 255
	// keyVarchar is the VARCHAR length of string key columns without a
	// smaller maxLength: indexable within InnoDB's 3,072-byte key limit
	// for up to three string key columns.
	keyVarchar = 255
	// maxKeyVarchar is the longest VARCHAR a key column widens to (3,072
	// bytes / 4 bytes a character).
	maxKeyVarchar = 768
	// numberPrecision and numberScale are the DECIMAL of "number"
	// columns: 35 digits before the point and 30 after.
	numberPrecision = 65
	numberScale     = 30
)

// decimalRule: MySQL's and MariaDB's DECIMAL holds 65 digits, 30 of them
// after the point.
var decimalRule = sqltarget.DecimalRule{MaxPrecision: 65, MaxScale: 30, NumberPrecision: numberPrecision, NumberScale: numberScale}

// columnTypes is the type table: logical kind -> column type.
var columnTypes = map[sqltarget.Kind]string{
	sqltarget.KindString:    "LONGTEXT",
	sqltarget.KindInteger:   "BIGINT",
	sqltarget.KindNumber:    fmt.Sprintf("DECIMAL(%d,%d)", numberPrecision, numberScale),
	sqltarget.KindBoolean:   "BOOLEAN",
	sqltarget.KindTimestamp: "DATETIME(6)",
	sqltarget.KindDate:      "DATE",
	sqltarget.KindTime:      "TIME(6)",
	sqltarget.KindJSON:      "JSON",
}

// columnType returns the DDL type of a column.
func columnType(c *sqltarget.Column) string {
	t := c.Type
	if t.SQLType != "" {
		if s := strings.ToUpper(strings.TrimSpace(t.SQLType)); sqlTypeOverride(s) {
			return s
		}
	}
	switch t.Kind {
	case sqltarget.KindString:
		if c.Key {
			if t.MaxLength > 0 && t.MaxLength <= maxKeyVarchar {
				return fmt.Sprintf("VARCHAR(%d)", t.MaxLength)
			}
			return fmt.Sprintf("VARCHAR(%d)", keyVarchar)
		}
		if t.MaxLength > 0 && t.MaxLength <= maxVarchar {
			return fmt.Sprintf("VARCHAR(%d)", t.MaxLength)
		}
	case sqltarget.KindDecimal:
		if t.Precision <= 65 && t.Scale <= 30 {
			return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
		}
		if c.Key {
			return fmt.Sprintf("VARCHAR(%d)", keyVarchar)
		}
		return "LONGTEXT"
	case sqltarget.KindJSON:
		if c.Key {
			return fmt.Sprintf("VARCHAR(%d)", keyVarchar)
		}
	}
	return columnTypes[t.Kind]
}

// sqlTypeOverride reports whether an x-sql-datatype is one target-mysql
// can load: a known type name with an optional (n) or (p,s).
func sqlTypeOverride(s string) bool {
	name, mod, _ := strings.Cut(s, "(")
	switch strings.TrimSpace(name) {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT", "DECIMAL", "NUMERIC", "DOUBLE", "FLOAT",
		"VARCHAR", "CHAR", "TEXT", "MEDIUMTEXT", "LONGTEXT", "JSON", "BOOLEAN", "BOOL", "DATE", "DATETIME", "TIMESTAMP", "TIME":
	default:
		return false
	}
	if mod == "" {
		return !strings.Contains(s, ")")
	}
	mod, ok := strings.CutSuffix(mod, ")")
	if !ok {
		return false
	}
	for _, p := range strings.Split(mod, ",") {
		p = strings.TrimSpace(p)
		if p == "" || len(p) > 5 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

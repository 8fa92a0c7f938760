package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/singerkit/singerkit/internal/chunkbuf"
	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/internal/pgdsn"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

// maxIdentifier is PostgreSQL's NAMEDATALEN-1.
const maxIdentifier = 63

// Dialect is target-postgres' dialect of the SQL target engine.
type Dialect struct {
	connConfig *pgx.ConnConfig
	log        *singer.Log
	warned     sync.Map // streams warned of records skipped by append
	// chunks holds the bytes of every batch of the run, whatever the
	// stream or session: chunks go back to it when a batch is loaded.
	chunks *chunkbuf.Pool
}

// NewDialect returns the dialect for a config.
func NewDialect(cfg *Config, log *singer.Log) (*Dialect, error) {
	cc, err := cfg.ConnConfig()
	if err != nil {
		return nil, err
	}
	return &Dialect{connConfig: cc, log: log, chunks: chunkbuf.NewPool(0)}, nil
}

// RampBatches: a COPY costs little to start, so each stream's batches
// ramp up to the batch limits, and go to the stream's session when it is
// idle (sqltarget.Ramping).
func (d *Dialect) RampBatches() (ramp, idle bool) { return true, true }

// FoldIdentifier keeps names as they are (every identifier is quoted, so
// case, spaces, quotes and reserved words are fine), drops NUL characters
// and shortens names over 63 bytes with a hash suffix.
func (d *Dialect) FoldIdentifier(name string) string {
	name = strings.ReplaceAll(name, "\x00", "")
	if name == "" {
		name = "_"
	}
	return sqltarget.TruncateWithHash(name, maxIdentifier)
}

// IdentifierKey: quoted identifiers are case-sensitive in PostgreSQL.
func (d *Dialect) IdentifierKey(name string) string { return name }

// MaxIdentifier is 63 bytes.
func (d *Dialect) MaxIdentifier() int { return maxIdentifier }

// Open connects a session.
func (d *Dialect) Open(ctx context.Context) (sqltarget.Session[*copyBatch], error) {
	conn, err := pgx.ConnectConfig(ctx, d.connConfig)
	if err != nil {
		// One explanation for tap and target (pgdsn.ConnectError): a
		// database that does not exist is the config's fault (exit 2, no
		// retry); a server that cannot be reached or refuses the login may
		// answer on a retry (exit 1).
		err = pgdsn.ConnectError(err, d.connConfig.Password)
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, classify(err, true)
	}
	return &session{d: d, conn: conn, log: d.log, stages: map[string]string{}, schemas: map[string]bool{}, conflicts: map[string]bool{}}, nil
}

// columnTypes is the type table: logical kind -> PostgreSQL column type.
var columnTypes = map[sqltarget.Kind]string{
	sqltarget.KindString:    "text",
	sqltarget.KindInteger:   "bigint",
	sqltarget.KindNumber:    "numeric",
	sqltarget.KindBoolean:   "boolean",
	sqltarget.KindTimestamp: "timestamp with time zone",
	sqltarget.KindDate:      "date",
	sqltarget.KindTime:      "time without time zone",
	sqltarget.KindJSON:      "jsonb",
}

// sqlTypeOverride matches the x-sql-datatype values target-postgres honours:
// types it can load, with an optional (p) or (p,s) modifier.
var sqlTypeOverride = regexp.MustCompile(`^(smallint|integer|int|int2|int4|int8|bigint|real|double precision|float8|float4|numeric|decimal|text|varchar|character varying|uuid|json|jsonb|boolean|bool|date|timestamp|timestamptz|timestamp with time zone|timestamp without time zone|time|time without time zone)(\(\d{1,4}(,\s*\d{1,4})?\))?$`)

// columnType returns the DDL type of a column.
func columnType(t sqltarget.LogicalType) string {
	if t.SQLType != "" {
		if s := strings.ToLower(strings.TrimSpace(t.SQLType)); sqlTypeOverride.MatchString(s) {
			return s
		}
	}
	if t.Kind == sqltarget.KindDecimal {
		return fmt.Sprintf("numeric(%d,%d)", t.Precision, t.Scale)
	}
	return columnTypes[t.Kind]
}

var numericMod = regexp.MustCompile(`^numeric\((\d+),(\d+)\)$`)

// physicalKind maps an actual column type (format_type output) to its
// binary encoder. ok is false for types target-postgres cannot load.
func physicalKind(name, typ string) (encoder, bool) {
	e := encoder{name: name, scale: -1}
	switch {
	case typ == "bigint":
		e.kind = physInt8
	case typ == "integer":
		e.kind = physInt4
	case typ == "smallint":
		e.kind = physInt2
	case typ == "numeric":
		e.kind = physNumeric
	case numericMod.MatchString(typ):
		m := numericMod.FindStringSubmatch(typ)
		p, _ := strconv.Atoi(m[1])
		s, _ := strconv.Atoi(m[2])
		e.kind, e.scale, e.intMax = physNumeric, s, p-s
	case typ == "text" || strings.HasPrefix(typ, "character varying") || strings.HasPrefix(typ, "character("):
		e.kind = physText
	case typ == "jsonb":
		e.kind = physJSONB
	case typ == "json":
		e.kind = physJSON
	case typ == "boolean":
		e.kind = physBool
	case typ == "timestamp with time zone":
		e.kind = physTimestamptz
	case typ == "timestamp without time zone":
		e.kind = physTimestamp
	case typ == "date":
		e.kind = physDate
	case typ == "time without time zone":
		e.kind = physTime
	case typ == "double precision":
		e.kind = physFloat8
	case typ == "real":
		e.kind = physFloat4
	case typ == "uuid":
		e.kind = physUUID
	default:
		return e, false
	}
	return e, true
}

// evolution says how an existing column of type typ takes values of the
// logical type want: "" keeps the column; otherwise the new type and the
// USING expression (with %s for the column). Every rule keeps every old
// value: widen within numbers, to timestamps from dates, and otherwise to
// text (or jsonb when the new values are JSON).
func evolution(typ string, want sqltarget.LogicalType) (newType, using string) {
	phys, known := physicalKind("", typ)
	toText := func() (string, string) {
		if want.Kind == sqltarget.KindJSON {
			return "jsonb", "to_jsonb(%s)"
		}
		return "text", "%s::text"
	}
	if !known {
		return toText()
	}
	switch phys.kind {
	case physText:
		if typ == "text" {
			return "", ""
		}
		return "text", "%s::text" // varchar(n), char(n): widen to text
	case physJSONB, physJSON:
		return "", ""
	}
	switch want.Kind {
	case sqltarget.KindString:
		return "text", "%s::text"
	case sqltarget.KindJSON:
		return "jsonb", "to_jsonb(%s)"
	case sqltarget.KindInteger:
		switch phys.kind {
		case physInt8, physFloat8, physFloat4:
			return "", ""
		case physInt4, physInt2:
			return "bigint", "%s::bigint"
		case physNumeric:
			if phys.scale < 0 || phys.intMax >= 19 {
				return "", ""
			}
			return fmt.Sprintf("numeric(%d,%d)", 19+phys.scale, phys.scale), "%s::numeric"
		}
	case sqltarget.KindNumber:
		switch phys.kind {
		case physFloat8, physFloat4:
			return "", ""
		case physNumeric:
			if phys.scale < 0 {
				return "", ""
			}
			return "numeric", "%s::numeric"
		case physInt8, physInt4, physInt2:
			return "numeric", "%s::numeric"
		}
	case sqltarget.KindDecimal:
		switch phys.kind {
		case physFloat8, physFloat4:
			return "", ""
		case physNumeric:
			if phys.scale < 0 || (phys.scale >= want.Scale && phys.intMax >= want.Precision-want.Scale) {
				return "", ""
			}
			s := max(phys.scale, want.Scale)
			i := max(phys.intMax, want.Precision-want.Scale)
			return fmt.Sprintf("numeric(%d,%d)", i+s, s), "%s::numeric"
		case physInt8, physInt4, physInt2:
			i := max(19, want.Precision-want.Scale)
			return fmt.Sprintf("numeric(%d,%d)", i+want.Scale, want.Scale), "%s::numeric"
		}
	case sqltarget.KindBoolean:
		if phys.kind == physBool {
			return "", ""
		}
	case sqltarget.KindTimestamp:
		switch phys.kind {
		case physTimestamptz, physTimestamp:
			return "", ""
		case physDate:
			return "timestamp with time zone", "%s::timestamp with time zone"
		}
	case sqltarget.KindDate:
		switch phys.kind {
		case physDate, physTimestamptz, physTimestamp:
			return "", ""
		}
	case sqltarget.KindTime:
		if phys.kind == physTime {
			return "", ""
		}
	}
	return toText()
}

// ownType reports whether target-postgres creates columns of this type
// (the type table). A column of any other type was made by someone else,
// or by x-sql-datatype: its values are the user's.
func ownType(typ string) bool {
	switch typ {
	case "text", "bigint", "numeric", "boolean", "timestamp with time zone", "date", "time without time zone", "jsonb":
		return true
	}
	return numericMod.MatchString(typ)
}

// keepsValues reports whether changing a column from typ to newType leaves
// every value as it was: integers widened, varchar unbounded.
func keepsValues(typ, newType string) bool {
	switch {
	case typ == "smallint" || typ == "integer":
		return newType == "bigint" || newType == "numeric" || numericMod.MatchString(newType)
	case strings.HasPrefix(typ, "character varying"):
		return newType == "text"
	}
	return false
}

// ForeignColumnError is a column target-postgres did not create that a
// stream's values would need changed in a way that alters its existing
// values: the run stops instead.
type ForeignColumnError struct {
	Table, Column, Type, NewType string
	Want                         sqltarget.LogicalType
}

func (e *ForeignColumnError) Error() string {
	return fmt.Sprintf("table %s, column %s: its type %s was not made by target-postgres, and taking %s values would change it to %s, altering the values it holds; change the column yourself (ALTER TABLE ... ALTER COLUMN ... TYPE ... USING ...), declare its type with x-sql-datatype, or load the stream into another table",
		e.Table, e.Column, e.Type, e.Want, e.NewType)
}

// guardForeign applies the rule for columns target-postgres did not create
// to an evolution from typ to newType: changes that keep every value go
// ahead; a column whose type the schema declares (x-sql-datatype) is kept
// as it is; anything else is a *ForeignColumnError.
func guardForeign(table, column, typ, newType string, want sqltarget.LogicalType) (keep bool, err error) {
	if ownType(typ) || keepsValues(typ, newType) {
		return false, nil
	}
	if want.SQLType != "" && sqlTypeOverride.MatchString(strings.ToLower(strings.TrimSpace(want.SQLType))) {
		return true, nil
	}
	if strings.HasPrefix(typ, "character(") && newType == "text" {
		// char(n) as text would lose its padding: it stays, and strings
		// load into it (one too long is an error naming the column).
		return true, nil
	}
	return false, &ForeignColumnError{Table: table, Column: column, Type: typ, NewType: newType, Want: want}
}

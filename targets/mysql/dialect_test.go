package mysql

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"github.com/singerkit/singerkit/internal/chunkbuf"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
)

func TestFoldIdentifier(t *testing.T) {
	long := strings.Repeat("é", 70)
	cases := []struct{ name, in, want string }{
		{"plain", "users", "users"},
		{"case kept", "camelCase", "camelCase"},
		{"spaces and quotes", "Name With `Tick`", "Name With `Tick`"},
		{"nul dropped", "a\x00b", "ab"},
		{"empty", "", "_"},
		{"only nul", "\x00", "_"},
		{"trailing spaces", "name  ", "name__"},
		{"outside the BMP", "smile😀", "smile_"},
		{"64 characters kept", strings.Repeat("x", 64), strings.Repeat("x", 64)},
		{"65 characters cut", strings.Repeat("x", 65), strings.Repeat("x", 55) + "_" + sqltarget.TruncateWithHash(strings.Repeat("x", 65), 64)[56:]},
		{"characters, not bytes", long, strings.Repeat("é", 55) + "_" + sqltarget.TruncateWithHash(long, 110+9)[111:]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := foldIdentifier(c.in)
			if got != c.want {
				t.Errorf("foldIdentifier(%q) = %q, want %q", c.in, got, c.want)
			}
			if n := utf8.RuneCountInString(got); n > maxIdentifier {
				t.Errorf("%d characters", n)
			}
		})
	}
	if foldIdentifier(strings.Repeat("x", 200)) == foldIdentifier(strings.Repeat("x", 200)+"y") {
		t.Error("two long names sharing a prefix fold alike")
	}
}

func TestQuote(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "a", "`a`"},
		{"backtick doubled", "a`b", "`a``b`"},
		{"injection stays inside", "x`; DROP TABLE t; --", "`x``; DROP TABLE t; --`"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := quote(c.in); got != c.want {
				t.Errorf("quote(%q) = %s, want %s", c.in, got, c.want)
			}
		})
	}
}

func TestColumnType(t *testing.T) {
	lt := func(k sqltarget.Kind) sqltarget.LogicalType { return sqltarget.LogicalType{Kind: k} }
	cases := []struct {
		name string
		col  sqltarget.Column
		want string
	}{
		{"integer", sqltarget.Column{Type: lt(sqltarget.KindInteger)}, "BIGINT"},
		{"number", sqltarget.Column{Type: lt(sqltarget.KindNumber)}, "DECIMAL(65,30)"},
		{"decimal", sqltarget.Column{Type: sqltarget.LogicalType{Kind: sqltarget.KindDecimal, Precision: 10, Scale: 2}}, "DECIMAL(10,2)"},
		{"decimal wider than MySQL's", sqltarget.Column{Type: sqltarget.LogicalType{Kind: sqltarget.KindDecimal, Precision: 80, Scale: 60}}, "LONGTEXT"},
		{"decimal key wider than MySQL's", sqltarget.Column{Key: true, Type: sqltarget.LogicalType{Kind: sqltarget.KindDecimal, Precision: 70, Scale: 0}}, "VARCHAR(255)"},
		{"string", sqltarget.Column{Type: lt(sqltarget.KindString)}, "LONGTEXT"},
		{"string maxLength", sqltarget.Column{Type: sqltarget.LogicalType{Kind: sqltarget.KindString, MaxLength: 40}}, "VARCHAR(40)"},
		{"string long maxLength", sqltarget.Column{Type: sqltarget.LogicalType{Kind: sqltarget.KindString, MaxLength: 5000}}, "LONGTEXT"},
		{"string key", sqltarget.Column{Key: true, Type: lt(sqltarget.KindString)}, "VARCHAR(255)"},
		{"string key maxLength", sqltarget.Column{Key: true, Type: sqltarget.LogicalType{Kind: sqltarget.KindString, MaxLength: 500}}, "VARCHAR(500)"},
		{"boolean", sqltarget.Column{Type: lt(sqltarget.KindBoolean)}, "BOOLEAN"},
		{"date-time", sqltarget.Column{Type: lt(sqltarget.KindTimestamp)}, "DATETIME(6)"},
		{"date", sqltarget.Column{Type: lt(sqltarget.KindDate)}, "DATE"},
		{"time", sqltarget.Column{Type: lt(sqltarget.KindTime)}, "TIME(6)"},
		{"json", sqltarget.Column{Type: lt(sqltarget.KindJSON)}, "JSON"},
		{"x-sql-datatype", sqltarget.Column{Type: sqltarget.LogicalType{Kind: sqltarget.KindString, SQLType: "varchar(12)"}}, "VARCHAR(12)"},
		{"x-sql-datatype refused", sqltarget.Column{Type: sqltarget.LogicalType{Kind: sqltarget.KindString, SQLType: "int; drop table x"}}, "LONGTEXT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := columnType(&c.col); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestEvolution(t *testing.T) {
	col := func(dt, ct string) existingColumn {
		e := existingColumn{name: "c", dataType: dt, columnType: ct, nullable: true}
		if dt == "varchar" {
			var n int64
			for _, r := range strings.TrimSuffix(strings.TrimPrefix(ct, "varchar("), ")") {
				n = n*10 + int64(r-'0')
			}
			e.charLen = n
		}
		if dt == "decimal" {
			var p, s int
			parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(ct, "decimal("), ")"), ",")
			for _, r := range parts[0] {
				p = p*10 + int(r-'0')
			}
			for _, r := range parts[1] {
				s = s*10 + int(r-'0')
			}
			e.precision, e.scale = p, s
		}
		return e
	}
	want := func(k sqltarget.Kind) *sqltarget.Column {
		return &sqltarget.Column{Type: sqltarget.LogicalType{Kind: k}}
	}
	cases := []struct {
		name string
		ex   existingColumn
		col  *sqltarget.Column
		want string
	}{
		{"bigint keeps integers", col("bigint", "bigint(20)"), want(sqltarget.KindInteger), ""},
		{"int widens to bigint", col("int", "int(11)"), want(sqltarget.KindInteger), "BIGINT"},
		{"bigint widens to number", col("bigint", "bigint(20)"), want(sqltarget.KindNumber), "DECIMAL(65,30)"},
		{"decimal keeps number", col("decimal", "decimal(65,30)"), want(sqltarget.KindNumber), ""},
		{"decimal(10,2) widens for number", col("decimal", "decimal(10,2)"), want(sqltarget.KindNumber), "DECIMAL(65,30)"},
		{"decimal(10,2) widens for decimal(12,4)", col("decimal", "decimal(10,2)"), &sqltarget.Column{Type: sqltarget.LogicalType{Kind: sqltarget.KindDecimal, Precision: 12, Scale: 4}}, "DECIMAL(12,4)"},
		{"decimal(65,0) to number needs text", col("decimal", "decimal(65,0)"), want(sqltarget.KindNumber), "LONGTEXT"},
		{"bigint to string", col("bigint", "bigint(20)"), want(sqltarget.KindString), "LONGTEXT"},
		{"bigint key to string stays indexable", col("bigint", "bigint(20)"), &sqltarget.Column{Key: true, Type: sqltarget.LogicalType{Kind: sqltarget.KindString}}, "VARCHAR(255)"},
		{"varchar lengthens", col("varchar", "varchar(20)"), &sqltarget.Column{Type: sqltarget.LogicalType{Kind: sqltarget.KindString, MaxLength: 40}}, "VARCHAR(40)"},
		{"varchar keeps shorter", col("varchar", "varchar(20)"), &sqltarget.Column{Type: sqltarget.LogicalType{Kind: sqltarget.KindString, MaxLength: 10}}, ""},
		{"varchar to unbounded", col("varchar", "varchar(20)"), want(sqltarget.KindString), "LONGTEXT"},
		{"varchar key kept", col("varchar", "varchar(255)"), &sqltarget.Column{Key: true, Type: sqltarget.LogicalType{Kind: sqltarget.KindString}}, ""},
		{"longtext keeps anything", col("longtext", "longtext"), want(sqltarget.KindInteger), ""},
		{"json keeps anything", existingColumn{name: "c", dataType: "longtext", columnType: "longtext", json: true}, want(sqltarget.KindString), ""},
		{"date widens to datetime", col("date", "date"), want(sqltarget.KindTimestamp), "DATETIME(6)"},
		{"datetime keeps dates", col("datetime", "datetime(6)"), want(sqltarget.KindDate), ""},
		{"boolean to integer", col("tinyint", "tinyint(1)"), want(sqltarget.KindInteger), "BIGINT"},
		{"datetime to boolean becomes text", col("datetime", "datetime(6)"), want(sqltarget.KindBoolean), "LONGTEXT"},
		{"integer to json becomes text", col("bigint", "bigint(20)"), want(sqltarget.KindJSON), "LONGTEXT"},
		{"unknown type becomes text", col("geometry", "geometry"), want(sqltarget.KindString), "LONGTEXT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := evolution(c.ex, c.col); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestEncodeFields(t *testing.T) {
	str := func(s string) singer.Value { return singer.Value{Kind: singer.String, Bytes: []byte(s)} }
	num := func(s string) singer.Value { return singer.Value{Kind: singer.Number, Bytes: []byte(s)} }
	dec := encoder{kind: physDecimal, name: "d", prec: 65, scale: 30}
	cases := []struct {
		name    string
		enc     encoder
		val     singer.Value
		want    string
		wantErr string
	}{
		{"null", encoder{kind: physText}, singer.Value{Kind: singer.Null}, `\N`, ""},
		{"text escapes", encoder{kind: physText}, str("a\tb\nc\\d\re"), `a\tb\nc\\d\re`, ""},
		{"text literal backslash N", encoder{kind: physText}, str(`\N`), `\\N`, ""},
		{"varchar too long", encoder{kind: physText, name: "v", maxChars: 3}, str("abcd"), "", `column "v": "abcd" is 4 characters, longer than the column's 3 (no silent truncation; widen the column or set maxLength)`},
		{"varchar counts characters", encoder{kind: physText, maxChars: 3}, str("äöü"), "äöü", ""},
		{"json string", encoder{kind: physJSON}, str("a\"b"), `"a\\"b"`, ""},
		{"json object with newline escape", encoder{kind: physJSON}, singer.Value{Kind: singer.Object, Bytes: []byte("{\"a\":\"x\\ny\"}")}, `{"a":"x\\ny"}`, ""},
		{"bool", encoder{kind: physBool}, singer.Value{Kind: singer.Bool, Bool: true}, "1", ""},
		{"int", encoder{kind: physInt, intMin: -128, intMax: 127}, singer.Value{Kind: singer.Number, IsInt: true, IntOK: true, Int: 12, Bytes: []byte("12")}, "12", ""},
		{"int out of range", encoder{kind: physInt, name: "i", intMin: -128, intMax: 127}, singer.Value{Kind: singer.Number, IsInt: true, IntOK: true, Int: 300, Bytes: []byte("300")}, "", `column "i": 300 is out of range for the column (-128 to 127)`},
		{"decimal exact", dec, num("12345678901234567890.123456789"), "12345678901234567890.123456789", ""},
		{"decimal exponent", dec, num("1.5E-3"), "0.0015", ""},
		{"decimal exponent up", dec, num("1e3"), "1000", ""},
		{"decimal negative zero", dec, num("-0.0"), "0", ""},
		{"decimal trailing zeros", dec, num("1.10"), "1.1", ""},
		{"decimal scale refused", encoder{kind: physDecimal, name: "p", prec: 5, scale: 2}, num("1.005"), "", `column "p": 1.005 has more than 2 decimal places (the column is DECIMAL(5,2); no silent rounding)`},
		{"decimal integer digits refused", encoder{kind: physDecimal, name: "p", prec: 5, scale: 2}, num("1000"), "", `column "p": 1000 does not fit the column (DECIMAL(5,2): at most 3 digits before the decimal point)`},
		{"datetime UTC", encoder{kind: physDatetime}, str("2024-01-02T03:04:05.123456+01:00"), "2024-01-02 02:04:05.123456", ""},
		{"datetime rounds nanoseconds", encoder{kind: physDatetime}, str("2024-01-02T03:04:05.1234567Z"), "2024-01-02 03:04:05.123457", ""},
		{"datetime out of range", encoder{kind: physDatetime, name: "ts"}, str("0001-01-01T00:00:00Z"), "", `column "ts": "0001-01-01T00:00:00Z" is out of range for DATETIME (years 1000 to 9999)`},
		{"date", encoder{kind: physDate}, str("2024-02-29"), "2024-02-29", ""},
		{"time", encoder{kind: physTime}, str("12:34:56.5+02:00"), "12:34:56.500000", ""},
		{"time bad", encoder{kind: physTime, name: "t"}, str("noon"), "", `column "t": "noon" is not a time of day (hh:mm:ss)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newTextBatch(nil, []encoder{c.enc}, nil, chunkbuf.NewPool(0))
			err := b.Append([]singer.Value{c.val})
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("error %v, want %s", err, c.wantErr)
				}
				if b.Bytes() != 0 || b.Rows() != 0 {
					t.Error("a failed row stayed in the batch")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := b.data()
			text, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got := string(text); got != c.want+"\n" {
				t.Errorf("got %q, want %q", got, c.want+"\n")
			}
			// The INSERT fallback reads the same text back.
			if c.enc.kind == physText && c.val.Kind == singer.String {
				back := unescapeField(text[:len(text)-1])
				if back != string(c.val.Bytes) {
					t.Errorf("read back %q", back)
				}
			}
		})
	}
}

func TestLocalRefused(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"MariaDB before 10.5, local_infile off", &mysql.MySQLError{Number: 1148, Message: "The used command is not allowed with this MariaDB version"}, true},
		{"MariaDB 10.5+, local_infile off", &mysql.MySQLError{Number: 4166, Message: "The used command is not allowed because the MariaDB server or client has disabled the local infile capability"}, true},
		{"MySQL 8, local_infile off", fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: 3948, Message: "Loading local data is disabled; this must be enabled on both the client and server sides"}), true},
		{"a data error", &mysql.MySQLError{Number: 1265, Message: "Data truncated"}, false},
		{"not a server error", errors.New("connection reset"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := localRefused(c.err); got != c.want {
				t.Errorf("localRefused = %v, want %v", got, c.want)
			}
		})
	}
}

// TestSSLSetting: ssl takes booleans, as tap-mysql does, or the words.
func TestSSLSetting(t *testing.T) {
	for in, want := range map[string]string{`true`: "true", `false`: "false", `"true"`: "true", `"skip-verify"`: "skip-verify", `"preferred"`: "preferred"} {
		var c Config
		if err := json.Unmarshal([]byte(`{"host":"db.example","database":"d","ssl":`+in+`}`), &c); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if string(c.SSL) != want {
			t.Errorf("%s: got %q", in, c.SSL)
		}
		dc, err := c.DriverConfig()
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if tls := dc.TLS != nil; tls != (want != "false") {
			t.Errorf("%s: TLS set %v", in, tls)
		}
		if want != "false" && (dc.TLS.ServerName != "db.example" || dc.TLS.InsecureSkipVerify != (want == "skip-verify")) {
			t.Errorf("%s: TLS %+v", in, dc.TLS)
		}
	}
	var c Config
	if err := json.Unmarshal([]byte(`{"ssl":3}`), &c); err == nil || !strings.Contains(err.Error(), `ssl must be true, false, "skip-verify" or "preferred"`) {
		t.Errorf("ssl 3: %v", err)
	}
}

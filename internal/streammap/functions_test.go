package streammap

import (
	"strings"
	"testing"
)

// eval maps one record through "v": expr and returns the SCHEMA of v and
// its value as written.
func eval(t *testing.T, expression, record string) (schema, value string, err error) {
	t.Helper()
	cfg := `{"stream_maps":{"s":{"v":` + quote(expression) + `,"__else__":null,"__key_properties__":[]}},"stream_map_config":{"key":"k3y","n":3}}`
	lines, err := mapLines(t, cfg,
		`{"type":"SCHEMA","stream":"s","schema":{"properties":{"email":{"type":["string","null"]},"phone":{"type":"string"},"n":{"type":"integer"},"amount":{"type":"number"},"ts":{"type":"string","format":"date-time"},"d":{"type":"string","format":"date"},"obj":{"type":"object"},"missing":{"type":"string"}}},"key_properties":[]}`,
		`{"type":"RECORD","stream":"s","record":`+record+`}`)
	if err != nil {
		return "", "", err
	}
	schema = lines[0][strings.Index(lines[0], `"v":`)+4 : strings.Index(lines[0], `}},"key_properties"`)]
	value = strings.TrimSuffix(strings.TrimPrefix(lines[1], `{"type":"RECORD","stream":"s","record":{"v":`), `}}`)
	return schema, value, nil
}

func quote(s string) string {
	b, _ := appendValue(nil, s)
	return string(b)
}

const rec = `{"email":"Ada.L@Example.com ","phone":"+44 20 7946 0958","n":42,"amount":12345678901234567890.123456789,"ts":"2026-12-03T06:38:59.123456+01:00","d":"2026-12-03","obj":{"b":[1,2.5],"a":"x"},"missing":null}`

func TestFunctions(t *testing.T) {
	cases := []struct{ expr, schema, value string }{
		{`md5(email)`, `{"type":["string","null"]}`, `"` + md5Hex("Ada.L@Example.com ") + `"`},
		{`sha256(lower(trim(email)))`, `{"type":["string","null"]}`, `"` + sha256Hex("ada.l@example.com") + `"`},
		{`sha256(n)`, `{"type":["string","null"]}`, `"` + sha256Hex("42") + `"`},
		{`hmac_sha256(email, config.key)`, `{"type":["string","null"]}`, `"a2e9f7da900f107736a0e98a68c4165c458932ee0c5de11982fa111c05e3dfe8"`},
		{`mask(phone, 4)`, `{"type":["string","null"]}`, `"************0958"`},
		{`mask(phone)`, `{"type":["string","null"]}`, `"****************"`},
		{`redact(phone)`, `{"type":["string","null"]}`, `"REDACTED"`},
		{`redact(missing)`, `{"type":["string","null"]}`, `null`},
		{`upper(email)`, `{"type":["string","null"]}`, `"ADA.L@EXAMPLE.COM "`},
		{`email.strip().lower()`, `{"type":["string","null"]}`, `"ada.l@example.com"`},
		{`date_trunc("month", ts)`, `{"type":["string","null"]}`, `"2026-12-01T00:00:00+01:00"`},
		{`date_trunc("week", d)`, `{"type":["string","null"]}`, `"2026-11-30"`},
		{`date_trunc("quarter", d)`, `{"type":["string","null"]}`, `"2026-10-01"`},
		{`date_trunc("hour", ts)`, `{"type":["string","null"]}`, `"2026-12-03T06:00:00+01:00"`},
		{`coalesce(missing, email)`, `{"type":["string","null"]}`, `"Ada.L@Example.com "`},
		{`json(obj)`, `{"type":["string","null"]}`, `"{\"a\":\"x\",\"b\":[1,2.5]}"`},
		{`int("17")`, `{"type":["integer","null"]}`, `17`},
		{`float(n) / 8`, `{"type":["number","null"]}`, `5.25`},
		{`str(n)`, `{"type":["string","null"]}`, `"42"`},
		{`decimal(amount)`, `{"type":["number","null"]}`, `12345678901234567890.123456789`},
		{`decimal("0.10")`, `{"type":["number","null"]}`, `0.10`},
		{`int(n * 2 + config.n)`, `{"type":["integer","null"]}`, `87`},
		{`n * 2`, `{"type":["integer","null"]}`, `84`},
		{`amount * 2`, `{"type":["number","null"]}`, `24691357802469134000`},
		{`config.n * 2`, `{"type":["string","null"]}`, `6`}, // unknown type: Meltano's rule (a string) unless declared
		{`n > 40`, `{"type":["boolean","null"]}`, `true`},
		{`self`, `{"type":["string","null"]}`, `null`},
		{`{"expression": "n", "schema": {"type": "string"}}`, ``, ``},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			if strings.HasPrefix(c.expr, "{") {
				return // the object form is tested in TestDeclaredSchema
			}
			schema, value, err := eval(t, c.expr, rec)
			if err != nil {
				t.Fatal(err)
			}
			if schema != c.schema || value != c.value {
				t.Errorf("schema %s value %s, want %s %s", schema, value, c.schema, c.value)
			}
		})
	}
}

// Every function but coalesce gives null for null, so a map over an
// optional property does not fail on the records without it.
func TestFunctionsPassNull(t *testing.T) {
	for _, e := range []string{"md5(missing)", "sha256(missing)", "hmac_sha256(missing, 'k')", "mask(missing, 2)", "lower(missing)", "upper(missing)", "trim(missing)", "date_trunc('day', missing)", "int(missing)", "float(missing)", "str(missing)", "decimal(missing)"} {
		_, value, err := eval(t, e, rec)
		if err != nil || value != "null" {
			t.Errorf("%s: %s %v", e, value, err)
		}
	}
}

// A runtime failure names the line, stream, map property and expression,
// and describes the value without showing it: the values maps work on are
// the personal data they exist to keep out of logs.
func TestRuntimeErrorNamesTheRecord(t *testing.T) {
	_, _, err := eval(t, `int(email)`, rec)
	want := `line 2: RECORD for stream "s": stream_maps.s.v "int(email)": int: a string of 18 characters is not a whole number`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
}

func TestRuntimeErrorsHideTheValue(t *testing.T) {
	for expression, want := range map[string]string{
		`float(phone)`:             `float: a string of 16 characters is not a number`,
		`decimal(phone)`:           `decimal: a string of 16 characters is not a decimal number`,
		`date_trunc('day', phone)`: `date_trunc: a string of 16 characters is not a date or an RFC 3339 timestamp`,
		`int(float(n) / 5)`:        `int: a number with a fraction is not a whole number in the 64-bit range`,
		`email + 1`:                `invalid operation: string + int`,
	} {
		_, _, err := eval(t, expression, rec)
		if err == nil {
			t.Errorf("%s: no error", expression)
			continue
		}
		if !strings.HasSuffix(err.Error(), ": "+want) {
			t.Errorf("%s: error %v\nwant it to end with %s", expression, err, want)
		}
		for _, secret := range []string{"Ada", "7946", "8.4"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error shows the value (%q): %v", expression, secret, err)
			}
		}
	}
}

func TestDeclaredSchema(t *testing.T) {
	lines, err := mapLines(t, `{"stream_maps":{"s":{"v":{"expression":"str(n)","schema":{"type":"string","maxLength":4}},"__else__":null}}}`,
		`{"type":"SCHEMA","stream":"s","schema":{"properties":{"n":{"type":"integer"}}},"key_properties":[]}`,
		`{"type":"RECORD","stream":"s","record":{"n":7}}`)
	want := []string{
		`{"type":"SCHEMA","stream":"s","schema":{"properties":{"v":{"maxLength":4,"type":"string"}}},"key_properties":[]}`,
		`{"type":"RECORD","stream":"s","record":{"v":"7"}}`,
	}
	if err != nil || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("%v\n%s", err, strings.Join(lines, "\n"))
	}
}

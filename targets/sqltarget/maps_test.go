package sqltarget_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/streammap"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/targets/sqltarget"
	"github.com/singerkit/singerkit/targets/sqltarget/memdialect"
)

// The engine applies stream maps to the messages it decodes itself
// (Engine.Maps): the tables, the states and the log are what the same
// maps give when the input is mapped first and read again (a
// streammap.Reader, as for targets that do not map inside).

const mapsInput = `{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"email":{"type":["string","null"]},"phone":{"type":["string","null"]},"name":{"type":["string","null"]},"n":{"type":["integer","null"]},"addr":{"type":["object","null"],"properties":{"city":{"type":"string"}}}}},"key_properties":["id"],"bookmark_properties":["n"]}
{"type":"SCHEMA","stream":"audit","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}
{"type":"SCHEMA","stream":"plain","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":["id"]}
{"type":"ACTIVATE_VERSION","stream":"users","version":7}
{"type":"RECORD","stream":"users","record":{"id":1,"email":"Ada@Example.com","phone":"+44 20 7946 0958","name":"Ada","n":3,"addr":{"city":"Oslo"}},"version":7}
{"type":"RECORD","stream":"audit","record":{"id":1}}
{"type":"RECORD","stream":"plain","record":{"id":1,"v":"a"}}
{"type":"RECORD","stream":"users","record":{"id":2,"email":null,"name":"Bob","n":-1},"version":7}
{"type":"RECORD","stream":"users","record":{"name":"Cy","id":3,"n":5,"email":"cy@example.com","extra":"kept"},"version":7}
{"type":"STATE","value":{"pos":1}}
{"type":"RECORD","stream":"users","record":{"id":3,"email":"cy2@example.com","name":"Cy2","n":6},"version":7}
{"type":"RECORD","stream":"plain","record":{"id":2,"v":"b"}}
{"type":"ACTIVATE_VERSION","stream":"users","version":7}
{"type":"STATE","value":{"pos":2}}
`

// mapsInput2 checks validation: code is at most 3 characters (the second
// record's is longer), the third record lacks code and amount.
const mapsInput2 = `{"type":"SCHEMA","stream":"orders","schema":{"type":"object","properties":{"id":{"type":"integer"},"amount":{"type":["number","null"]},"code":{"type":"string","maxLength":3},"meta":{"type":["object","null"],"properties":{"a":{"type":"integer"}}}}},"key_properties":["id"]}
{"type":"RECORD","stream":"orders","record":{"id":1,"amount":12345678901234567890.123456789,"code":"abc","meta":{"a":1},"note":"x"}}
{"type":"RECORD","stream":"orders","record":{"id":2,"amount":1.5,"code":"toolong","meta":{"a":2}}}
{"type":"RECORD","stream":"orders","record":{"id":3,"meta":null}}
{"type":"STATE","value":{"pos":3}}
`

func TestEngineMapsInside(t *testing.T) {
	for _, c := range []struct {
		name, config, want string
		input              string
	}{{
		name:   "filter before validation, exact decimals, computed object flattened",
		input:  mapsInput2,
		config: `{"flattening_max_level":1,"stream_maps":{"orders":{"__filter__":"id != 2","total":"decimal(amount)","amt":"amount","amount":null,"meta":"self","h":"sha256(code)"}}}`,
		want: `error: <nil>
last state: {"pos":3}
WARNING stream "orders": line 2: properties its SCHEMA does not declare ("note") are kept as JSON in column _sdc_extra
table orders: id,code,meta__a,amt,h,total,_sdc_extra
1|abc|1|12345678901234567890.123456789|ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad|12345678901234567890.123456789|{"note":"x"}
3|NULL|NULL|NULL|NULL|NULL|NULL
`,
	}, {
		name:   "a copy of an absent property its schema refuses",
		input:  mapsInput2,
		config: `{"stream_maps":{"orders":{"code2":"code","__filter__":"id == 3"}}}`,
		want: `error: line 4: stream "orders": record does not match its schema: /code2: expected string, but got null
last state: 
table orders: id,amount,code,meta,code2

`,
	}, {
		name:   "a property passed that its schema refuses",
		input:  mapsInput2,
		config: `{"stream_maps":{"orders":{"total":"decimal(amount)"}}}`,
		want: `error: line 3: stream "orders": record does not match its schema: /code: length must be <= 3, but got 7
last state: 
WARNING stream "orders": line 2: properties its SCHEMA does not declare ("note") are kept as JSON in column _sdc_extra
table orders: id,amount,code,meta,total,_sdc_extra
1|12345678901234567890.123456789|abc|{"a":1}|12345678901234567890.123456789|{"note":"x"}
`,
	}, {
		name:   "a glob map reads an undeclared property",
		input:  mapsInput2,
		config: `{"validate_records":false,"stream_maps":{"*":{"n2":"upper(note)","note":null}}}`,
		want: `error: <nil>
last state: {"pos":3}
table orders: id,amount,code,meta,n2
1|12345678901234567890.123456789|abc|{"a":1}|X
2|1.5|toolong|{"a":2}|NULL
3|NULL|NULL|NULL|NULL
`,
	}, {
		name:   "hash drop rename filter",
		config: `{"stream_maps":{"users":{"email":"sha256(lower(email))","phone":null,"phone_h":"md5(phone)","who":"name","name":null,"__filter__":"n > 0"},"audit":null}}`,
		want: `error: <nil>
last state: {"pos":2}
WARNING stream "users": line 9: properties its SCHEMA does not declare ("extra") are kept as JSON in column _sdc_extra
table users: id,email,n,addr,phone_h,who,_sdc_deleted_at,_sdc_table_version,_sdc_extra
1|b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72|3|{"city":"Oslo"}|ade4e211b99a3080dbe29cefc0dcbb6a|Ada|NULL|7|NULL
3|3995d2d5e8233858719112172577fcd4ae1861f3bcc512b9134252a50dfb91dc|6|NULL|NULL|Cy2|NULL|7|NULL
table plain: id,v
1|a
2|b
`,
	}, {
		name: "alias source keys else",
		config: `{"stream_maps":{"users":{"__alias__":"people","id":"hmac_sha256(id, config.k)","__else__":null,"n":"n * 2"},
			"users_copy":{"__source__":"users","__key_properties__":["email"],"email":"coalesce(email, 'none')","addr":null},
			"plain":{"__filter__":"v != 'a'"}},"stream_map_config":{"k":"secret"}}`,
		want: `error: <nil>
last state: {"pos":2}
WARNING stream "users_copy": line 9: properties its SCHEMA does not declare ("extra") are kept as JSON in column _sdc_extra
table audit: id
1
table plain: id,v
2|b
table users_copy: id,email,phone,name,n,_sdc_deleted_at,_sdc_table_version,_sdc_extra
1|Ada@Example.com|+44 20 7946 0958|Ada|3|NULL|7|NULL
2|none|NULL|Bob|-1|NULL|7|NULL
3|cy@example.com|NULL|Cy|5|NULL|7|{"extra":"kept"}
3|cy2@example.com|NULL|Cy2|6|NULL|7|NULL
table people: id,n,_sdc_deleted_at,_sdc_table_version
1b46c1a27eed72fecf2e76f229f9ffd47d327e3ef9a13ad30f46bd247e07fbee|-2|NULL|7
88a43b1b8ef6d2e900797363da21fd2bb29351d3022389feb31fb1340a94dae2|12|NULL|7
bd28ee142ca5b46259f6e27fc3a4216f447bd5843c406e63219cff30e73b135b|6|NULL|7
`,
	}, {
		name:   "a hashed key still merges",
		config: `{"stream_maps":{"users":{"__alias__":"people","id":"hmac_sha256(id, config.k)","__else__":null,"n":"n * 2"}},"stream_map_config":{"k":"secret"}}`,
		want: `error: <nil>
last state: {"pos":2}
table audit: id
1
table plain: id,v
1|a
2|b
table people: id,n,_sdc_deleted_at,_sdc_table_version
1b46c1a27eed72fecf2e76f229f9ffd47d327e3ef9a13ad30f46bd247e07fbee|-2|NULL|7
88a43b1b8ef6d2e900797363da21fd2bb29351d3022389feb31fb1340a94dae2|12|NULL|7
bd28ee142ca5b46259f6e27fc3a4216f447bd5843c406e63219cff30e73b135b|6|NULL|7
`,
	}, {
		name:   "flattening",
		config: `{"flattening_enabled":true,"flattening_max_depth":1,"stream_maps":{"audit":{"__alias__":"audit_v2"}}}`,
		want: `error: <nil>
last state: {"pos":2}
WARNING stream "users": line 9: properties its SCHEMA does not declare ("extra") are kept as JSON in column _sdc_extra
table users: id,email,phone,name,n,addr__city,_sdc_deleted_at,_sdc_table_version,_sdc_extra
1|Ada@Example.com|+44 20 7946 0958|Ada|3|Oslo|NULL|7|NULL
2|NULL|NULL|Bob|-1|NULL|NULL|7|NULL
3|cy2@example.com|NULL|Cy2|6|NULL|NULL|7|NULL
table plain: id,v
1|a
2|b
table audit_v2: id
1
`,
	}, {
		name:   "a key removed",
		config: `{"stream_maps":{"plain":{"id":null}}}`,
		want: `error: stream_maps.plain: the map removes key property "id" of stream "plain": keep it, rename it with a copy ("new_name": "id"), or set __key_properties__ (a list, or [] for none)
last state: 
table users: id,email,phone,name,n,addr

table audit: id

`,
	}, {
		name:   "an expression fails",
		config: `{"stream_maps":{"users":{"x":"int(name)"}}}`,
		want: `error: line 5: RECORD for stream "users": stream_maps.users.x "int(name)": int: a string of 3 characters is not a whole number
last state: 
WARNING stream "users": ACTIVATE_VERSION 7 was followed by no record, STATE or end of the version before the input ended: nothing deleted
table users: id,email,phone,name,n,addr,x,_sdc_deleted_at,_sdc_table_version

table audit: id

table plain: id,v

`,
	}} {
		t.Run(c.name, func(t *testing.T) {
			if c.input == "" {
				c.input = mapsInput
			}
			inside := runMapped(t, c.input, c.config, true)
			piped := runMapped(t, c.input, c.config, false)
			if inside != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", inside, c.want)
			}
			// Through a Reader, the target's line numbers are those of the
			// mapped stream, and its read error wraps the mapping's.
			if normal(inside) != normal(piped) {
				t.Errorf("inside the engine:\n%s\nthrough a Reader:\n%s", inside, piped)
			}
		})
	}
}

var lineNumber = regexp.MustCompile(`reading input after line \d+: |line \d+`)

func normal(s string) string {
	return lineNumber.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "reading") {
			return ""
		}
		return "line N"
	})
}

// runMapped loads mapsInput with the maps of config, applied by the
// engine (inside) or by a Reader before it, and returns the tables (of
// mapsTables), the states and the log.
func runMapped(t *testing.T, input, config string, inside bool) string {
	t.Helper()
	var values map[string]any
	if err := json.Unmarshal([]byte(config), &values); err != nil {
		t.Fatal(err)
	}
	s, err := streammap.SettingsFrom(values)
	if err != nil {
		t.Fatal(err)
	}
	m, err := streammap.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	db := memdialect.NewDB()
	var dlog, log, out bytes.Buffer
	d := memdialect.New(db, singer.NewLog(&dlog))
	cfg := sqltarget.Config{DefaultTargetSchema: "t"}
	if err := json.Unmarshal([]byte(config), &cfg); err != nil {
		t.Fatal(err)
	}
	e := sqltarget.New(d, cfg, singer.NewLog(&log))
	var in io.Reader = strings.NewReader(input)
	if inside {
		e.Maps = m
	} else {
		in = m.NewReader(in, nil)
	}
	enc := singer.NewEncoder(&out)
	err = e.Run(context.Background(), in, enc)
	_ = enc.Flush()
	var b strings.Builder
	// Which states come out depends on when the loads end; the last one
	// does not.
	states := strings.Split(strings.TrimSpace(out.String()), "\n")
	fmt.Fprintf(&b, "error: %v\nlast state: %s\n", err, states[len(states)-1])
	for _, l := range strings.SplitAfter(log.String(), "\n") {
		if !strings.Contains(l, "METRIC") {
			b.WriteString(l)
		}
	}
	for _, table := range []string{"users", "audit", "plain", "users_copy", "people", "audit_v2", "orders"} {
		cols, err := db.Columns("t", table)
		if err != nil {
			t.Fatal(err)
		}
		if cols == nil {
			continue
		}
		rows, err := db.Rows("t", table, cols, cols[0])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "table %s: %s\n%s\n", table, strings.Join(cols, ","), strings.Join(rows, "\n"))
	}
	return b.String()
}

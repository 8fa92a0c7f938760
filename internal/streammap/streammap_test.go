package streammap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/config"
)

// settings decodes a config text as config.Load leaves it (numbers as
// json.Number).
func settings(t *testing.T, text string) Settings {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("config %s: %v", text, err)
	}
	s, err := SettingsFrom(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mapLines runs a config over input lines and returns the output lines.
func mapLines(t *testing.T, cfg string, in ...string) ([]string, error) {
	t.Helper()
	m, err := Compile(settings(t, cfg))
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	var out bytes.Buffer
	var warnings []string
	m.Warn = func(s string) { warnings = append(warnings, s) }
	err = m.Run(context.Background(), strings.NewReader(strings.Join(in, "\n")+"\n"), &out, nil)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if out.Len() == 0 {
		lines = nil
	}
	return append(lines, warnings...), err
}

func expectLines(t *testing.T, cfg string, in []string, want []string) {
	t.Helper()
	got, err := mapLines(t, cfg, in...)
	if err != nil {
		t.Fatalf("map: %v", err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

const customersSchema = `{"type":"SCHEMA","stream":"customers","schema":{"type":"object","properties":{"customer_id":{"type":"integer"},"email":{"type":["string","null"]},"owner_email":{"type":["string","null"]},"full_name":{"type":["string","null"]}}},"key_properties":["customer_id"]}`

var customersRecords = []string{
	`{"type":"RECORD","stream":"customers","record":{"customer_id":1,"email":"ada@example.com","owner_email":"ops@shop.io","full_name":"Ada Lovelace"}}`,
	`{"type":"RECORD","stream":"customers","record":{"customer_id":2,"email":"grace@navy.mil","owner_email":"hq@navy.mil","full_name":"Grace Hopper"}}`,
}

func customers(extra ...string) []string {
	return append(append([]string{customersSchema}, customersRecords...), extra...)
}

// The examples of Meltano's stream maps documentation, inputs written
// from their documented behaviour, outputs exact.
func TestMeltanoDocumentationExamples(t *testing.T) {
	t.Run("drop a property, add computed ones (email_domain, email_hash)", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"customers":{"email":null,"email_domain":"owner_email.split('@')[-1]","email_hash":"md5(config['hash_seed'] + owner_email)"}},"stream_map_config":{"hash_seed":"01AWZh7A6DzGm6iJZZ2T"}}`,
			customers(), []string{
				`{"type":"SCHEMA","stream":"customers","schema":{"type":"object","properties":{"customer_id":{"type":"integer"},"owner_email":{"type":["string","null"]},"full_name":{"type":["string","null"]},"email_domain":{"type":["string","null"]},"email_hash":{"type":["string","null"]}}},"key_properties":["customer_id"]}`,
				`{"type":"RECORD","stream":"customers","record":{"customer_id":1,"owner_email":"ops@shop.io","full_name":"Ada Lovelace","email_domain":"shop.io","email_hash":"` + md5Hex("01AWZh7A6DzGm6iJZZ2Tops@shop.io") + `"}}`,
				`{"type":"RECORD","stream":"customers","record":{"customer_id":2,"owner_email":"hq@navy.mil","full_name":"Grace Hopper","email_domain":"navy.mil","email_hash":"` + md5Hex("01AWZh7A6DzGm6iJZZ2Thq@navy.mil") + `"}}`,
			})
	})
	t.Run("remove a stream", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"addresses":null}}`,
			[]string{
				`{"type":"SCHEMA","stream":"addresses","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":["id"]}`,
				`{"type":"RECORD","stream":"addresses","record":{"id":1}}`,
				`{"type":"ACTIVATE_VERSION","stream":"addresses","version":3}`,
				`{"type":"SCHEMA","stream":"users","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":["id"]}`,
				`{"type":"RECORD","stream":"users","record":{"id":7}}`,
				`{"type":"STATE","value":{"bookmarks":{"addresses":{"id":1},"users":{"id":7}}}}`,
			}, []string{
				`{"type":"SCHEMA","stream":"users","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":["id"]}`,
				`{"type":"RECORD","stream":"users","record":{"id":7}}`,
				`{"type":"STATE","value":{"bookmarks":{"addresses":{"id":1},"users":{"id":7}}}}`,
			})
	})
	t.Run("remove a property", func(t *testing.T) {
		got, err := mapLines(t, `{"stream_maps":{"customers":{"email":"__NULL__"}}}`, customers()...)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range got {
			if strings.Contains(l, `"email"`) || strings.Contains(l, "ada@example.com") {
				t.Errorf("email left in %s", l)
			}
		}
		if len(got) != 3 {
			t.Errorf("%d lines", len(got))
		}
	})
	t.Run("__else__ null at the top keeps only the named streams", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"customers":{},"__else__":null}}`,
			append(customers()[:2],
				`{"type":"SCHEMA","stream":"orders","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":["id"]}`,
				`{"type":"RECORD","stream":"orders","record":{"id":1}}`),
			[]string{customersSchema, customersRecords[0]})
	})
	t.Run("__else__ null in a stream keeps the named properties and the key", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"customers":{"full_name":"full_name","__else__":null}}}`, customers(), []string{
			`{"type":"SCHEMA","stream":"customers","schema":{"type":"object","properties":{"customer_id":{"type":"integer"},"full_name":{"type":["string","null"]}}},"key_properties":["customer_id"]}`,
			`{"type":"RECORD","stream":"customers","record":{"customer_id":1,"full_name":"Ada Lovelace"}}`,
			`{"type":"RECORD","stream":"customers","record":{"customer_id":2,"full_name":"Grace Hopper"}}`,
		})
	})
	t.Run("__key_properties__ after hashing the key", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"customers":{"customer_id":null,"customer_id_hashed":"md5(customer_id)","__key_properties__":["customer_id_hashed"],"__else__":null}}}`, customers(), []string{
			`{"type":"SCHEMA","stream":"customers","schema":{"type":"object","properties":{"customer_id_hashed":{"type":["string","null"]}}},"key_properties":["customer_id_hashed"]}`,
			`{"type":"RECORD","stream":"customers","record":{"customer_id_hashed":"` + md5Hex("1") + `"}}`,
			`{"type":"RECORD","stream":"customers","record":{"customer_id_hashed":"` + md5Hex("2") + `"}}`,
		})
	})
	t.Run("__key_properties__ null: no key", func(t *testing.T) {
		got, err := mapLines(t, `{"stream_maps":{"customers":{"__key_properties__":null}}}`, customers()...)
		if err != nil || !strings.HasSuffix(got[0], `"key_properties":[]}`) {
			t.Errorf("%v %q", err, got)
		}
	})
	t.Run("a string literal", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"customers":{"a_new_field":"\"client-123\"","__else__":null}}}`, customers(), []string{
			`{"type":"SCHEMA","stream":"customers","schema":{"type":"object","properties":{"customer_id":{"type":"integer"},"a_new_field":{"type":["string","null"]}}},"key_properties":["customer_id"]}`,
			`{"type":"RECORD","stream":"customers","record":{"customer_id":1,"a_new_field":"client-123"}}`,
			`{"type":"RECORD","stream":"customers","record":{"customer_id":2,"a_new_field":"client-123"}}`,
		})
	})
	t.Run("__alias__", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"customers":{"__alias__":"customers_v2"}}}`, customers(`{"type":"ACTIVATE_VERSION","stream":"customers","version":5}`), []string{
			strings.Replace(customersSchema, `"stream":"customers"`, `"stream":"customers_v2"`, 1),
			strings.Replace(customersRecords[0], `"stream":"customers"`, `"stream":"customers_v2"`, 1),
			strings.Replace(customersRecords[1], `"stream":"customers"`, `"stream":"customers_v2"`, 1),
			`{"type":"ACTIVATE_VERSION","stream":"customers_v2","version":5}`,
		})
	})
	t.Run("__source__ splits a stream", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"customers":{"email":null,"full_name":null},"customers_pii":{"__source__":"customers","customer_id":"customer_id","email":"email","full_name":"full_name","__else__":null}}}`, customers()[:2], []string{
			`{"type":"SCHEMA","stream":"customers","schema":{"type":"object","properties":{"customer_id":{"type":"integer"},"owner_email":{"type":["string","null"]}}},"key_properties":["customer_id"]}`,
			`{"type":"SCHEMA","stream":"customers_pii","schema":{"type":"object","properties":{"customer_id":{"type":"integer"},"email":{"type":["string","null"]},"full_name":{"type":["string","null"]}}},"key_properties":["customer_id"]}`,
			`{"type":"RECORD","stream":"customers","record":{"customer_id":1,"owner_email":"ops@shop.io"}}`,
			`{"type":"RECORD","stream":"customers_pii","record":{"customer_id":1,"email":"ada@example.com","full_name":"Ada Lovelace"}}`,
		})
	})
	t.Run("__filter__ (Python's endswith, rewritten)", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"customers":{"__filter__":"email.endswith('@example.com')"}}}`, customers(), []string{
			customersSchema, customersRecords[0],
		})
	})
	t.Run("aliasing a property: copy and delete", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"customers":{"name":"full_name","full_name":"__NULL__","email":null,"owner_email":null}}}`, customers(), []string{
			`{"type":"SCHEMA","stream":"customers","schema":{"type":"object","properties":{"customer_id":{"type":"integer"},"name":{"type":["string","null"]}}},"key_properties":["customer_id"]}`,
			`{"type":"RECORD","stream":"customers","record":{"customer_id":1,"name":"Ada Lovelace"}}`,
			`{"type":"RECORD","stream":"customers","record":{"customer_id":2,"name":"Grace Hopper"}}`,
		})
	})
	t.Run("a glob applies to every stream", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"*":{"name":"first_name","first_name":"__NULL__"}}}`, []string{
			`{"type":"SCHEMA","stream":"a","schema":{"properties":{"id":{"type":"integer"},"first_name":{"type":"string"}}},"key_properties":["id"]}`,
			`{"type":"SCHEMA","stream":"b","schema":{"properties":{"first_name":{"type":"string"}}},"key_properties":[]}`,
			`{"type":"RECORD","stream":"a","record":{"id":1,"first_name":"Ada"}}`,
			`{"type":"RECORD","stream":"b","record":{"first_name":"Grace"}}`,
		}, []string{
			`{"type":"SCHEMA","stream":"a","schema":{"properties":{"id":{"type":"integer"},"name":{"type":"string"}}},"key_properties":["id"]}`,
			`{"type":"SCHEMA","stream":"b","schema":{"properties":{"name":{"type":"string"}}},"key_properties":[]}`,
			`{"type":"RECORD","stream":"a","record":{"id":1,"name":"Ada"}}`,
			`{"type":"RECORD","stream":"b","record":{"name":"Grace"}}`,
		})
	})
	t.Run("aliasing streams with __stream_name__", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"*":{"__alias__":"__stream_name__ + '_v2'"}}}`, customers()[:2], []string{
			strings.Replace(customersSchema, `"stream":"customers"`, `"stream":"customers_v2"`, 1),
			strings.Replace(customersRecords[0], `"stream":"customers"`, `"stream":"customers_v2"`, 1),
		})
	})
	t.Run("compound expression (a comprehension, written with expr's filter)", func(t *testing.T) {
		expectLines(t, `{"stream_maps":{"users":{"id":"id","fields":"filter(fields, {.key != 'age'})"}}}`, []string{
			`{"type":"SCHEMA","stream":"users","schema":{"properties":{"id":{"type":"integer"},"fields":{"type":"array","items":{"type":"object"}}}},"key_properties":["id"]}`,
			`{"type":"RECORD","stream":"users","record":{"id":1,"fields":[{"key":"name","value":"Ada"},{"key":"age","value":36}]}}`,
		}, []string{
			`{"type":"SCHEMA","stream":"users","schema":{"properties":{"id":{"type":"integer"},"fields":{"type":"array","items":{"type":"object"}}}},"key_properties":["id"]}`,
			`{"type":"RECORD","stream":"users","record":{"id":1,"fields":[{"key":"name","value":"Ada"}]}}`,
		})
	})
	t.Run("flattening", func(t *testing.T) {
		expectLines(t, `{"flattening_enabled":true,"flattening_max_depth":1}`, []string{
			`{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"user":{"type":"object","properties":{"first_name":{"type":"string"},"last_name":{"type":"string"},"id":{"type":"string"},"address":{"type":["object","null"],"properties":{"city":{"type":"string"}}}}}}},"key_properties":["id"]}`,
			`{"type":"RECORD","stream":"users","record":{"id":1,"user":{"first_name":"Jane","last_name":"Carter","id":"jcarter","address":{"city":"Oslo"}}}}`,
			`{"type":"RECORD","stream":"users","record":{"id":2,"user":null}}`,
		}, []string{
			`{"type":"SCHEMA","stream":"users","schema":{"type":"object","properties":{"id":{"type":"integer"},"user__first_name":{"type":["string","null"]},"user__last_name":{"type":["string","null"]},"user__id":{"type":["string","null"]},"user__address":{"type":["object","null"],"properties":{"city":{"type":"string"}}}}},"key_properties":["id"]}`,
			`{"type":"RECORD","stream":"users","record":{"id":1,"user__first_name":"Jane","user__last_name":"Carter","user__id":"jcarter","user__address":{"city":"Oslo"}}}`,
			`{"type":"RECORD","stream":"users","record":{"id":2}}`,
		})
	})
}

// STATE and ACTIVATE_VERSION pass in their place among the records,
// including around records a filter drops.
func TestStatePassesInOrder(t *testing.T) {
	expectLines(t, `{"stream_maps":{"customers":{"__filter__":"customer_id == 2","email":null,"owner_email":null,"full_name":null}}}`, []string{
		`{"type":"STATE","value":{"n":0}}`,
		customersSchema,
		`{"type":"ACTIVATE_VERSION","stream":"customers","version":1}`,
		customersRecords[0],
		`{"type":"STATE","value":{"n":1}}`,
		customersRecords[1],
		`{"type":"STATE","value":{"n":2}}`,
		`{"type":"ACTIVATE_VERSION","stream":"customers","version":1}`,
		`{"type":"STATE","value":{"n":3}}`,
	}, []string{
		`{"type":"STATE","value":{"n":0}}`,
		`{"type":"SCHEMA","stream":"customers","schema":{"type":"object","properties":{"customer_id":{"type":"integer"}}},"key_properties":["customer_id"]}`,
		`{"type":"ACTIVATE_VERSION","stream":"customers","version":1}`,
		`{"type":"STATE","value":{"n":1}}`,
		`{"type":"RECORD","stream":"customers","record":{"customer_id":2}}`,
		`{"type":"STATE","value":{"n":2}}`,
		`{"type":"ACTIVATE_VERSION","stream":"customers","version":1}`,
		`{"type":"STATE","value":{"n":3}}`,
	})
}

// Expression mistakes are config errors, all at once, each naming the
// stream, the property and the column.
func TestExpressionErrorsAtConfigTime(t *testing.T) {
	s := settings(t, `{"stream_maps":{"customers":{"h":"md55(email)","x":"lower(email) +* 2","__filter__":"id >"},"orders":{"__else__":"keep","__bogus__":1,"y":5}}}`)
	_, err := Compile(s)
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%v, want a config error", err)
	}
	want := `invalid config (6 problems): ` +
		`stream_maps.customers.__filter__: "id >": column 4: unexpected token EOF; ` +
		`stream_maps.customers.h: "md55(email)": column 1: unknown function md55 (see docs/stream-maps.md for the functions); ` +
		`stream_maps.customers.x: "lower(email) +* 2": column 15: unexpected token Operator("*"); ` +
		`stream_maps.orders.__bogus__: unknown operation (a stream's map may hold __alias__, __filter__, __source__, __key_properties__ and __else__); ` +
		`stream_maps.orders.__else__: only null (or "__NULL__") is supported: it drops the properties the map does not name; ` +
		`stream_maps.orders.y: must be an expression (a string), null, or {"expression": "...", "schema": {...}}`
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
}

// A map that does not fit the stream's SCHEMA is found when the SCHEMA
// arrives: a property it lacks, a key removed without an override.
func TestSchemaMismatch(t *testing.T) {
	cases := []struct{ name, cfg, want string }{
		{"unknown property", `{"stream_maps":{"customers":{"h":"sha256(emial)"}}}`,
			`stream_maps.customers: stream "customers" has no property "emial" (its SCHEMA has customer_id, email, owner_email, full_name)`},
		{"key removed", `{"stream_maps":{"customers":{"customer_id":null}}}`,
			`stream_maps.customers: the map removes key property "customer_id" of stream "customers": keep it, rename it with a copy ("new_name": "customer_id"), or set __key_properties__ (a list, or [] for none)`},
		{"override names a missing property", `{"stream_maps":{"customers":{"__key_properties__":["nope"]}}}`,
			`stream_maps.customers.__key_properties__: "nope" is not a property of the mapped stream "customers"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := mapLines(t, c.cfg, customers()...)
			var se *SchemaError
			if !errors.As(err, &se) || err.Error() != c.want {
				t.Errorf("error %v\nwant %s", err, c.want)
			}
		})
	}
}

// A renamed key is followed: key_properties name the copy.
func TestRenamedKeyIsFollowed(t *testing.T) {
	got, err := mapLines(t, `{"stream_maps":{"customers":{"id":"customer_id","customer_id":null,"email":null,"owner_email":null,"full_name":null}}}`, customers()[:2]...)
	want := []string{
		`{"type":"SCHEMA","stream":"customers","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}`,
		`{"type":"RECORD","stream":"customers","record":{"id":1}}`,
	}
	if err != nil || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%v\n%s", err, strings.Join(got, "\n"))
	}
}

// The Reader (a target's input) reads each record once: the envelope
// after the record (version, time_extracted) survives, and a malformed
// record is an error, never a panic nor a silent pass.
func TestReaderRecords(t *testing.T) {
	m, err := Compile(settings(t, `{"stream_maps":{"s":{"e":"sha256(email)","email":null}}}`))
	if err != nil {
		t.Fatal(err)
	}
	schema := `{"type":"SCHEMA","stream":"s","schema":{"properties":{"id":{"type":"integer"},"email":{"type":"string"}}},"key_properties":["id"]}`
	in := schema + "\n" + `{"type":"RECORD","stream":"s","record":{"id":1,"email":"a@b.c"},"version":3,"time_extracted":"2026-12-03T07:00:00Z"}` + "\n"
	b, err := io.ReadAll(m.NewReader(strings.NewReader(in), nil))
	want := `{"type":"SCHEMA","stream":"s","schema":{"properties":{"id":{"type":"integer"},"e":{"type":["string","null"]}}},"key_properties":["id"]}` + "\n" +
		`{"type":"RECORD","stream":"s","record":{"id":1,"e":"` + sha256Hex("a@b.c") + `"},"version":3,"time_extracted":"2026-12-03T07:00:00Z"}` + "\n"
	if err != nil || string(b) != want {
		t.Errorf("%v\n%s", err, b)
	}
	for _, bad := range []string{
		`{"type":"RECORD","stream":"s","record":{"id":1,"email":}}`,
		`{"type":"RECORD","stream":"s","record":{"id":1,"email":"a@b.c"`,
		`{"type":"RECORD","stream":"s","record":{"id" 1}}`,
		`{"type":"RECORD","stream":"s","record":{"id":1,}}`,
		`{"type":"RECORD","stream":"s","record":{"id":1}x}`,
		`{"type":"RECORD","stream":"s","record":{"id":"\`,
		`{"type":"RECORD","stream":"s","record":{,}}`,
	} {
		m.streams = map[string]*inputStream{}
		out, err := io.ReadAll(m.NewReader(strings.NewReader(schema+"\n"+bad+"\n"), nil))
		if err == nil && strings.Contains(string(out), `"RECORD"`) {
			// passed on: the target's decoder must then refuse it
			var v any
			last := strings.Split(strings.TrimSpace(string(out)), "\n")
			if json.Unmarshal([]byte(last[len(last)-1]), &v) == nil {
				t.Errorf("%s was mapped into valid JSON: %s", bad, out)
			}
		}
	}
}

// Globs: a pattern maps (or drops) every stream it matches, a stream named
// exactly takes its own map instead, "__NULL__" drops like null; a
// property whose name is not an identifier is read through record or _.
func TestGlobsAndWholeRecord(t *testing.T) {
	schema := func(stream string) string {
		return `{"type":"SCHEMA","stream":"` + stream + `","schema":{"properties":{"id":{"type":"integer"},"first name":{"type":"string"},"last name":{"type":"string"}}},"key_properties":["id"]}`
	}
	record := func(stream string) string {
		return `{"type":"RECORD","stream":"` + stream + `","record":{"id":1,"first name":"Ada","last name":"Lovelace"}}`
	}
	var in []string
	for _, s := range []string{"shop-us", "shop-eu", "log-1", "audit", "people"} {
		in = append(in, schema(s), record(s))
	}
	expectLines(t, `{"stream_maps":{
		"shop-*":{"source":"__stream_name__"},
		"shop-eu":{"region":"'eu'"},
		"log-*":null,
		"audit":"__NULL__",
		"people":{"full":"record['first name'] + ' ' + _['last name']","__else__":"__NULL__"}}}`, in, []string{
		`{"type":"SCHEMA","stream":"shop-us","schema":{"properties":{"id":{"type":"integer"},"first name":{"type":"string"},"last name":{"type":"string"},"source":{"type":["string","null"]}}},"key_properties":["id"]}`,
		`{"type":"RECORD","stream":"shop-us","record":{"id":1,"first name":"Ada","last name":"Lovelace","source":"shop-us"}}`,
		`{"type":"SCHEMA","stream":"shop-eu","schema":{"properties":{"id":{"type":"integer"},"first name":{"type":"string"},"last name":{"type":"string"},"region":{"type":["string","null"]}}},"key_properties":["id"]}`,
		`{"type":"RECORD","stream":"shop-eu","record":{"id":1,"first name":"Ada","last name":"Lovelace","region":"eu"}}`,
		`{"type":"SCHEMA","stream":"people","schema":{"properties":{"id":{"type":"integer"},"full":{"type":["string","null"]}}},"key_properties":["id"]}`,
		`{"type":"RECORD","stream":"people","record":{"id":1,"full":"Ada Lovelace"}}`,
	})
	// Two globs that match one stream, and no exact name: which map
	// applies is for the user to say.
	_, err := mapLines(t, `{"stream_maps":{"x-*":{},"x-?":null}}`, schema("x-1"), record("x-1"))
	var se *SchemaError
	if want := `stream_maps: stream "x-1" matches "x-*" and "x-?": add a map for it by its exact name`; !errors.As(err, &se) || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

package singerlog_test

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/schemas"
	kafkatap "github.com/singerkit/singerkit/taps/kafka"
	natstap "github.com/singerkit/singerkit/taps/nats"
	kafkatarget "github.com/singerkit/singerkit/targets/kafka"
	natstarget "github.com/singerkit/singerkit/targets/nats"
)

// TestDocsSettings: each binary's Go config struct decodes exactly its
// config schema's keys. (Its page's settings table is generated from the
// same schema and checked by go test ./docs/; make docs rewrites it.)
func TestDocsSettings(t *testing.T) {
	for _, b := range []struct {
		name   string
		config any
	}{
		{"target-nats", natstarget.Config{}},
		{"tap-nats", natstap.Config{}},
		{"target-kafka", kafkatarget.Config{}},
		{"tap-kafka", kafkatap.Config{}},
	} {
		t.Run(b.name, func(t *testing.T) {
			raw := schemas.Get(b.name + ".config.json")
			var s struct {
				Required   []string                   `json:"required"`
				Properties map[string]json.RawMessage `json:"properties"`
			}
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range s.Properties {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if got := structKeys(reflect.TypeOf(b.config)); !reflect.DeepEqual(got, keys) {
				t.Errorf("struct keys %v, schema keys %v", got, keys)
			}
		})
	}
}

// structKeys lists the json names of a struct's fields, embedded structs
// flattened.
func structKeys(typ reflect.Type) []string {
	var keys []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Anonymous {
			keys = append(keys, structKeys(f.Type)...)
			continue
		}
		if tag := strings.Split(f.Tag.Get("json"), ",")[0]; tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	sort.Strings(keys)
	return keys
}

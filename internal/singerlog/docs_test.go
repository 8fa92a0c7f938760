package singerlog_test

import (
	"encoding/json"
	"os"
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

// TestDocsSettings: each binary's page holds, between <!-- settings -->
// and <!-- /settings -->, the table its config schema gives, and its Go
// config struct decodes exactly the schema's keys.
// SINGERKIT_UPDATE_DOCS=1 rewrites the tables.
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
			// The table keeps the schema's order of the keys.
			order := append([]string(nil), keys...)
			sort.Slice(order, func(i, j int) bool {
				return strings.Index(string(raw), `"`+order[i]+`": {`) < strings.Index(string(raw), `"`+order[j]+`": {`)
			})
			if got := structKeys(reflect.TypeOf(b.config)); !reflect.DeepEqual(got, keys) {
				t.Errorf("struct keys %v, schema keys %v", got, keys)
			}
			rows := []string{"| key | type | default | description |", "|---|---|---|---|"}
			for _, k := range order {
				var p struct {
					Type        string          `json:"type"`
					Default     json.RawMessage `json:"default"`
					Description string          `json:"description"`
				}
				if err := json.Unmarshal(s.Properties[k], &p); err != nil {
					t.Fatal(err)
				}
				def := ""
				if len(p.Default) > 0 {
					def = "`" + string(p.Default) + "`"
				}
				for _, r := range s.Required {
					if r == k {
						def = "required"
					}
				}
				if p.Type == "array" {
					p.Type = "list of strings"
				}
				rows = append(rows, "| `"+k+"` | "+p.Type+" | "+def+" | "+strings.ReplaceAll(p.Description, "|", `\|`)+" |")
			}
			want := strings.Join(rows, "\n") + "\n"
			path := "../../docs/" + b.name + ".md"
			doc, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			begin, end := "<!-- settings -->\n", "<!-- /settings -->"
			i := strings.Index(string(doc), begin)
			j := strings.Index(string(doc), end)
			if i < 0 || j < i {
				t.Fatalf("%s: no %q ... %q markers", path, strings.TrimSpace(begin), end)
			}
			got := string(doc[i+len(begin) : j])
			if got != want {
				if os.Getenv("SINGERKIT_UPDATE_DOCS") == "1" {
					out := string(doc[:i+len(begin)]) + want + string(doc[j:])
					if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				t.Errorf("%s: the settings table is not the one the schema gives (SINGERKIT_UPDATE_DOCS=1 go test ./internal/singerlog/ -run Docs rewrites it):\n got %s\nwant %s", path, got, want)
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

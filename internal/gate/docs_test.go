package gate

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/configdoc"
	"github.com/singerkit/singerkit/schemas"
)

// TestDocsSettings: docs/singer-gate.md carries the settings table
// generated from schemas/singer-gate.config.json (SINGERKIT_UPDATE_DOCS=1
// rewrites it).
func TestDocsSettings(t *testing.T) {
	const page = "../../docs/singer-gate.md"
	const begin, end = "<!-- gate-settings -->\n", "<!-- /gate-settings -->"
	want, err := configdoc.Settings(schemas.Get("singer-gate.config.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q block", page, begin, end)
	}
	got := text[i+len(begin) : j]
	if got == want {
		return
	}
	if os.Getenv("SINGERKIT_UPDATE_DOCS") == "1" {
		if err := os.WriteFile(page, []byte(text[:i+len(begin)]+want+text[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the settings differ from schemas/singer-gate.config.json: run SINGERKIT_UPDATE_DOCS=1 go test ./internal/gate/ -run TestDocsSettings", page)
}

// TestSchemaDefaults: the defaults the schema documents are DefaultConfig's.
func TestSchemaDefaults(t *testing.T) {
	var doc struct {
		Properties map[string]struct {
			Default any `json:"default"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(schemas.Get("singer-gate.config.json"), &doc); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(DefaultConfig())
	var defaults map[string]any
	_ = json.Unmarshal(b, &defaults)
	for k, p := range doc.Properties {
		if p.Default == nil {
			continue
		}
		if !reflect.DeepEqual(p.Default, defaults[k]) {
			t.Errorf("%s: the schema's default is %v, DefaultConfig's %v", k, p.Default, defaults[k])
		}
	}
}

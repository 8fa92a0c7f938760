package csvtap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
)

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "p.csv", "id,name,born\n1,Ada,1815-12-10\n")
	q := writeFile(t, dir, "q.csv", "a;b\n1;x\n")
	cfg := writeConfig(t, dir, map[string]any{"files": []any{
		map[string]any{"stream": "people", "path": p, "key_properties": []string{"id"}},
		map[string]any{"stream": "pairs", "path": q, "delimiter": ";", "key_properties": []string{"a", "b"},
			"schema_overrides": map[string]any{"b": map[string]any{"type": []string{"null", "string"}, "maxLength": 10}}},
	}})
	r := run(t, context.Background(), "--config", cfg, "--discover")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := `{
  "streams": [
    {
      "tap_stream_id": "people",
      "stream": "people",
      "schema": {
        "type": "object",
        "properties": {
          "id": {
            "type": [
              "null",
              "integer"
            ]
          },
          "name": {
            "type": [
              "null",
              "string"
            ]
          },
          "born": {
            "type": [
              "null",
              "string"
            ],
            "format": "date"
          }
        }
      },
      "metadata": [
        {
          "breadcrumb": [],
          "metadata": {
            "forced-replication-method": "FULL_TABLE",
            "table-key-properties": [
              "id"
            ]
          }
        },
        {
          "breadcrumb": [
            "properties",
            "id"
          ],
          "metadata": {
            "inclusion": "automatic",
            "selected-by-default": true
          }
        },
        {
          "breadcrumb": [
            "properties",
            "name"
          ],
          "metadata": {
            "inclusion": "available",
            "selected-by-default": true
          }
        },
        {
          "breadcrumb": [
            "properties",
            "born"
          ],
          "metadata": {
            "inclusion": "available",
            "selected-by-default": true
          }
        }
      ]
    },
    {
      "tap_stream_id": "pairs",
      "stream": "pairs",
      "schema": {
        "type": "object",
        "properties": {
          "a": {
            "type": [
              "null",
              "integer"
            ]
          },
          "b": {
            "maxLength": 10,
            "type": [
              "null",
              "string"
            ]
          }
        }
      },
      "metadata": [
        {
          "breadcrumb": [],
          "metadata": {
            "forced-replication-method": "FULL_TABLE",
            "table-key-properties": [
              "a",
              "b"
            ]
          }
        },
        {
          "breadcrumb": [
            "properties",
            "a"
          ],
          "metadata": {
            "inclusion": "automatic",
            "selected-by-default": true
          }
        },
        {
          "breadcrumb": [
            "properties",
            "b"
          ],
          "metadata": {
            "inclusion": "automatic",
            "selected-by-default": true
          }
        }
      ]
    }
  ]
}
`
	if r.stdout != want {
		t.Errorf("catalog:\n%s\nwant:\n%s", r.stdout, want)
	}
	if r.stderr != "" {
		t.Errorf("stderr: %q", r.stderr)
	}
}

func TestDiscoverError(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "p.csv", "id,id\n")
	cfg := writeConfig(t, dir, map[string]any{"files": []any{map[string]any{"stream": "p", "path": p}}})
	r := run(t, context.Background(), "--config", cfg, "--discover")
	if r.code != 1 || r.stdout != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
	}
	equalLines(t, "stderr", lines(r.stderr), []string{`tap-csv: error: ` + p + `:1: duplicate column name "id" (columns 1 and 2); rename one in the file or give every name in "columns"`})
}

// selectionCatalog discovers the test files and edits the catalog as a
// user would: select "people" but not its "born" (and try to deselect its
// key), leave "pairs" unselected, add a stream the config does not have.
func selectionCatalog(t *testing.T) (cfg string, catalog []byte) {
	t.Helper()
	dir := t.TempDir()
	p := writeFile(t, dir, "p.csv", "id,name,born\n1,Ada,1815-12-10\n2,Zoë,\n")
	q := writeFile(t, dir, "q.csv", "a\n1\n")
	cfg = writeConfig(t, dir, map[string]any{"files": []any{
		map[string]any{"stream": "people", "path": p, "key_properties": []string{"id"}},
		map[string]any{"stream": "pairs", "path": q},
	}})
	r := run(t, context.Background(), "--config", cfg, "--discover")
	if r.code != 0 {
		t.Fatalf("discover: exit %d: %s", r.code, r.stderr)
	}
	var cat map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &cat); err != nil {
		t.Fatal(err)
	}
	streams := cat["streams"].([]any)
	people := streams[0].(map[string]any)
	for _, m := range people["metadata"].([]any) {
		entry := m.(map[string]any)
		crumb := entry["breadcrumb"].([]any)
		md := entry["metadata"].(map[string]any)
		switch {
		case len(crumb) == 0:
			md["selected"] = true
		case crumb[1] == "born", crumb[1] == "id":
			md["selected"] = false
		}
	}
	cat["streams"] = append(streams, map[string]any{
		"tap_stream_id": "ghost", "stream": "ghost", "schema": map[string]any{},
		"metadata": []any{map[string]any{"breadcrumb": []any{}, "metadata": map[string]any{"selected": true}}},
	})
	catalog, err := json.Marshal(cat)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, catalog
}

var selectionWant = []string{
	`{"type":"SCHEMA","stream":"people","schema":{"type":"object","properties":{"id":{"type":["null","integer"]},"name":{"type":["null","string"]}}},"key_properties":["id"]}`,
	`{"type":"RECORD","stream":"people","record":{"id":1,"name":"Ada"},"time_extracted":"*"}`,
	`{"type":"RECORD","stream":"people","record":{"id":2,"name":"Zoë"},"time_extracted":"*"}`,
}

const selectionWarning = `WARNING the catalog selects stream "ghost", which is not in the config's files; ignored`

func TestCatalogSelection(t *testing.T) {
	cfgPath, catalog := selectionCatalog(t)
	sel, err := parseSelection(catalog)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{cfgPath}, schemas.Get("tap-csv.config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Log: singer.NewLog(&errb), Config: cfg}
	enc := singer.NewEncoder(&out)
	if err := syncSelected(context.Background(), env, sel, singer.NewState(), enc); err != nil {
		t.Fatal(err)
	}
	if err := enc.Flush(); err != nil {
		t.Fatal(err)
	}
	got := lines(out.String())
	equalLines(t, "stdout", got[:len(got)-1], selectionWant)
	if !strings.HasPrefix(got[len(got)-1], `{"type":"STATE","value":{"bookmarks":{"people":{"done":true,`) {
		t.Errorf("last line %s, want the state of people", got[len(got)-1])
	}
	equalLines(t, "stderr", withoutMetrics(errb.String()), []string{selectionWarning})
	checkStream(t, out.String())
}

func TestCatalogSelectsNothing(t *testing.T) {
	sel, err := parseSelection([]byte(`{"streams":[{"tap_stream_id":"people","metadata":[{"breadcrumb":[],"metadata":{"selected":false}}]},{"tap_stream_id":"pairs","selected":false}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(sel) != 0 {
		t.Errorf("selection %v, want none", sel)
	}
	_, err = parseSelection([]byte(`{"streams":{}}`))
	var ue *cli.UsageError
	if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), "cannot use the catalog: ") {
		t.Errorf("err = %v, want a usage error about the catalog", err)
	}
}

// TestCatalogFlag runs the selection through --catalog. It needs the shared
// singer.Catalog (this branch has a stub that reads nothing).
func TestCatalogFlag(t *testing.T) {
	cfg, catalog := selectionCatalog(t)
	path := writeFile(t, t.TempDir(), "catalog.json", string(catalog))
	r := run(t, context.Background(), "--config", cfg, "--catalog", path)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := lines(r.stdout)
	equalLines(t, "stdout", got[:len(got)-1], selectionWant)
	equalLines(t, "stderr", withoutMetrics(r.stderr), []string{selectionWarning})
}

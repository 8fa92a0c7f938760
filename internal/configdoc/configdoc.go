// Package configdoc renders a binary's config JSON Schema as markdown: the
// settings table that `<binary> --about --format markdown` prints and that
// each docs/<binary>.md page carries between its settings markers (the docs
// test, go test ./docs/, fails when a page and its binary disagree; `make
// docs` rewrites the pages).
//
// The schema is the one source of a binary's keys: the same file is embedded
// for validation, decoded into the binary's Go struct and rendered here, so
// the documented keys cannot drift from the accepted ones.
package configdoc

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Settings renders the keys of a config schema as one markdown table
// (key, type, default, description), sorted by key. Keys of the objects in
// an array are listed as "parent[].child"; keys of the objects a map holds
// (additionalProperties) as "parent.*.child".
func Settings(schema []byte) (string, error) {
	var rows []row
	if err := settingsRows(schema, "", &rows); err != nil {
		return "", err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].key < rows[j].key })
	var b strings.Builder
	b.WriteString("| key | type | default | description |\n|---|---|---|---|\n")
	for _, r := range rows {
		b.WriteString(r.text + "\n")
	}
	return b.String(), nil
}

// row is one line of the settings table, sorted by its key (so that a key
// comes right before the keys inside it).
type row struct{ key, text string }

type property struct {
	Type             any               `json:"type"`
	Description      string            `json:"description"`
	Default          json.RawMessage   `json:"default"`
	Enum             []json.RawMessage `json:"enum"`
	Minimum          *json.Number      `json:"minimum"`
	Maximum          *json.Number      `json:"maximum"`
	ExclusiveMinimum *json.Number      `json:"exclusiveMinimum"`
	MinLength        *int              `json:"minLength"`
	MaxLength        *int              `json:"maxLength"`
	MinItems         *int              `json:"minItems"`
	MaxItems         *int              `json:"maxItems"`
	Items            json.RawMessage   `json:"items"`
	Properties       json.RawMessage   `json:"properties"`
	Addl             json.RawMessage   `json:"additionalProperties"`
}

type object struct {
	Properties map[string]json.RawMessage `json:"properties"`
	Required   []string                   `json:"required"`
}

func settingsRows(raw []byte, prefix string, rows *[]row) error {
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return fmt.Errorf("config schema: %w", err)
	}
	required := map[string]bool{}
	for _, r := range o.Required {
		required[r] = true
	}
	for k, v := range o.Properties {
		var p property
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("config schema, property %s%s: %w", prefix, k, err)
		}
		def := ""
		switch {
		case required[k]:
			def = "required"
		case len(p.Default) > 0 && string(p.Default) != "null":
			def = "`" + compact(p.Default) + "`"
		}
		*rows = append(*rows, row{prefix + k, fmt.Sprintf("| `%s%s` | %s | %s | %s |", prefix, k, cell(typeOf(p)), def, cell(p.Description))})
		// The keys inside: objects in an array, objects in a map, and the
		// declared keys of an object.
		if len(p.Items) > 0 && p.Items[0] == '{' && hasProperties(p.Items) {
			if err := settingsRows(p.Items, prefix+k+"[].", rows); err != nil {
				return err
			}
		}
		if len(p.Addl) > 0 && p.Addl[0] == '{' && hasProperties(p.Addl) {
			if err := settingsRows(p.Addl, prefix+k+".*.", rows); err != nil {
				return err
			}
		}
		if len(p.Properties) > 0 {
			if err := settingsRows(v, prefix+k+".", rows); err != nil {
				return err
			}
		}
	}
	return nil
}

func hasProperties(raw []byte) bool {
	var o object
	return json.Unmarshal(raw, &o) == nil && len(o.Properties) > 0
}

// typeOf says what a value must be: its JSON type(s), and the enum, bounds
// or lengths the schema puts on it.
func typeOf(p property) string {
	if len(p.Enum) > 0 {
		vals := make([]string, len(p.Enum))
		for i, e := range p.Enum {
			vals[i] = "`" + compact(e) + "`"
		}
		return "one of " + strings.Join(vals, ", ")
	}
	var types []string
	switch t := p.Type.(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, fmt.Sprint(x))
		}
	}
	s := strings.Join(types, " or ")
	if s == "array" && len(p.Items) > 0 {
		var it property
		if json.Unmarshal(p.Items, &it) == nil {
			if inner, ok := it.Type.(string); ok {
				s = "array of " + inner + "s"
			}
		}
	}
	switch {
	case p.Minimum != nil && p.Maximum != nil:
		s += " " + p.Minimum.String() + ".." + p.Maximum.String()
	case p.Minimum != nil:
		s += " >= " + p.Minimum.String()
	case p.ExclusiveMinimum != nil:
		s += " > " + p.ExclusiveMinimum.String()
	case p.Maximum != nil:
		s += " <= " + p.Maximum.String()
	}
	var sizes []string
	switch {
	case p.MinLength != nil && p.MaxLength != nil && *p.MinLength == *p.MaxLength:
		sizes = append(sizes, plural(*p.MinLength, "exactly %d character"))
	case p.MaxLength != nil:
		sizes = append(sizes, plural(*p.MaxLength, "at most %d character"))
	case p.MinLength != nil && *p.MinLength == 1:
		sizes = append(sizes, "not empty")
	case p.MinLength != nil && *p.MinLength > 1:
		sizes = append(sizes, plural(*p.MinLength, "at least %d character"))
	}
	if p.MinItems != nil && *p.MinItems > 0 {
		sizes = append(sizes, plural(*p.MinItems, "at least %d item"))
	}
	if p.MaxItems != nil {
		sizes = append(sizes, plural(*p.MaxItems, "at most %d item"))
	}
	if len(sizes) > 0 {
		s += ", " + strings.Join(sizes, ", ")
	}
	return s
}

func plural(n int, format string) string {
	s := fmt.Sprintf(format, n)
	if n != 1 {
		s += "s"
	}
	return s
}

func compact(raw json.RawMessage) string {
	var b strings.Builder
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

type compatEntry struct {
	Use    string                     `json:"use"`
	Values map[string]json.RawMessage `json:"values"`
	Ignore string                     `json:"ignore"`
	Agrees []json.RawMessage          `json:"agrees"`
	From   string                     `json:"from"`
}

// Compat renders the keys a config schema accepts from other variants of
// the same connector (its x-compat entries, and those of the objects in its
// arrays and maps) as a markdown table, or "" when it accepts none.
func Compat(schema []byte) (string, error) {
	var rows []string
	if err := compatRows(schema, "", &rows); err != nil {
		return "", err
	}
	if len(rows) == 0 {
		return "", nil
	}
	sort.Strings(rows)
	return "| key | from | effect |\n|---|---|---|\n" + strings.Join(rows, "\n") + "\n", nil
}

func compatRows(raw []byte, prefix string, rows *[]string) error {
	var d struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Compat     map[string]compatEntry     `json:"x-compat"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("config schema: %w", err)
	}
	for k, e := range d.Compat {
		effect := "read as `" + prefix + e.Use + "`"
		if e.Use == "" {
			effect = "ignored with one warning: " + e.Ignore
			if len(e.Agrees) > 0 {
				var vals []string
				for _, a := range e.Agrees {
					vals = append(vals, "`"+string(a)+"`")
				}
				effect = "ignored (silently when " + strings.Join(vals, " or ") + ", which is what happens anyway; else one warning): " + e.Ignore
			}
		} else if len(e.Values) > 0 {
			var pairs []string
			for from, to := range e.Values {
				if string(to) == "null" {
					pairs = append(pairs, "`"+from+"` -> the default")
				} else {
					pairs = append(pairs, "`"+from+"` -> `"+string(to)+"`")
				}
			}
			sort.Strings(pairs)
			effect += " (" + strings.Join(pairs, ", ") + ")"
		}
		*rows = append(*rows, "| `"+prefix+k+"` | "+e.From+" | "+cell(effect)+" |")
	}
	for k, v := range d.Properties {
		var p struct {
			Items json.RawMessage `json:"items"`
			Addl  json.RawMessage `json:"additionalProperties"`
		}
		_ = json.Unmarshal(v, &p)
		if len(p.Items) > 0 && p.Items[0] == '{' {
			if err := compatRows(p.Items, prefix+k+"[].", rows); err != nil {
				return err
			}
		}
		if len(p.Addl) > 0 && p.Addl[0] == '{' {
			if err := compatRows(p.Addl, prefix+k+".*.", rows); err != nil {
				return err
			}
		}
	}
	return nil
}

// Section renders what follows the "## Settings" heading of a binary's
// markdown about: the settings table, the binary's notes on its settings,
// and the keys it accepts from other variants. The docs pages carry exactly
// this text between their settings markers.
func Section(binary string, schema []byte, notes string) (string, error) {
	settings, err := Settings(schema)
	if err != nil {
		return "", fmt.Errorf("%s: %w", binary, err)
	}
	var b strings.Builder
	b.WriteString(settings)
	if notes != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(notes))
	}
	compat, err := Compat(schema)
	if err != nil {
		return "", fmt.Errorf("%s: %w", binary, err)
	}
	if compat != "" {
		fmt.Fprintf(&b, "\n### Keys of other variants\n\nKeys of the PipelineWise and Meltano variants of this connector that %s accepts. Any other key is refused (exit 2, naming the closest known key).\n\n%s", binary, compat)
	}
	return b.String(), nil
}

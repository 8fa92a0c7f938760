package config

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The config policy of every binary, driven by its config schema alone (so
// the schema, the Go struct and the docs pages cannot drift apart: a test
// checks them against it):
//
//   - A key the schema declares is used. A string where the schema wants a
//     boolean, an integer, a number or an array of strings is read the way
//     PipelineWise and Meltano configs write them: "true"/"false", decimal
//     text, a comma-separated list ("public, sales").
//   - A key listed in an object schema's "x-compat" is a spelling that the
//     PipelineWise or Meltano variant of the same connector documents. With
//     "use" it is honoured as that key of ours (its value translated by
//     "values" when given); with "ignore" it means nothing here and is
//     dropped with one warning that says why ("agrees" lists values that
//     already describe what the binary does: those are dropped silently).
//   - A property's "x-values" maps other variants' words for its values to
//     ours (load_method "append-only" is "append").
//   - Any other key in an object the schema closes (additionalProperties
//     false) is refused with the closest known key: a misspelt key never
//     silently falls back to its default.

// compatEntry is one x-compat entry.
type compatEntry struct {
	Use    string                     `json:"use"`
	Values map[string]json.RawMessage `json:"values"`
	Ignore string                     `json:"ignore"`
	Agrees []json.RawMessage          `json:"agrees"`
	From   string                     `json:"from"`
}

// configNormalizer applies the policy to a merged config.
type configNormalizer struct {
	problems []string
	warnings []string
}

// normalizeConfig rewrites doc in place by the policy above and returns
// the problems (exit 2) and warnings it found, each one line.
func normalizeConfig(doc map[string]any, schema []byte) (problems, warnings []string) {
	var s map[string]any
	if err := json.Unmarshal(schema, &s); err != nil {
		return []string{"config schema: " + err.Error()}, nil
	}
	n := &configNormalizer{}
	n.object(doc, s, "")
	return n.problems, n.warnings
}

func (n *configNormalizer) object(doc map[string]any, s map[string]any, path string) {
	props, _ := s["properties"].(map[string]any)
	compat := map[string]compatEntry{}
	if raw, ok := s["x-compat"]; ok {
		b, _ := json.Marshal(raw)
		_ = json.Unmarshal(b, &compat)
	}
	closed := s["additionalProperties"] == false
	addl, _ := s["additionalProperties"].(map[string]any)
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := doc[k]
		if ps, ok := props[k].(map[string]any); ok {
			doc[k] = n.value(v, ps, path+k)
			continue
		}
		if e, ok := compat[k]; ok {
			delete(doc, k)
			n.compat(doc, props, k, v, e, path)
			continue
		}
		if closed {
			delete(doc, k)
			n.problems = append(n.problems, unknownKeyProblem(path+k, k, props, compat))
			continue
		}
		if addl != nil {
			doc[k] = n.value(v, addl, path+k)
		}
	}
}

func (n *configNormalizer) compat(doc map[string]any, props map[string]any, k string, v any, e compatEntry, path string) {
	from := e.From
	if from == "" {
		from = "PipelineWise/Meltano"
	}
	text, _ := json.Marshal(v)
	if e.Use == "" {
		for _, a := range e.Agrees {
			if jsonEqual(a, text) {
				return
			}
		}
		n.warnings = append(n.warnings, fmt.Sprintf("config key %q (%s) is accepted but ignored: %s", path+k, from, e.Ignore))
		return
	}
	if _, both := doc[e.Use]; both {
		n.problems = append(n.problems, fmt.Sprintf("config keys %q and %q (%s's name for it) are both set: keep one", path+e.Use, path+k, from))
		return
	}
	if e.Values != nil {
		mapped, ok := lookupValue(e.Values, v, text)
		if !ok {
			accepted := make([]string, 0, len(e.Values))
			for w := range e.Values {
				accepted = append(accepted, w)
			}
			sort.Strings(accepted)
			n.problems = append(n.problems, fmt.Sprintf("config key %q (%s's name for %q) must be one of %s", path+k, from, path+e.Use, strings.Join(accepted, ", ")))
			return
		}
		if string(mapped) == "null" {
			return // a value that asks for our default
		}
		var nv any
		if err := decodeJSONInto(mapped, &nv); err == nil {
			v = nv
		}
	}
	ps, _ := props[e.Use].(map[string]any)
	doc[e.Use] = n.value(v, ps, path+e.Use)
}

// lookupValue finds a value in a values map keyed by JSON text; a string
// value also matches its bare text ("true" for "\"true\"").
func lookupValue(values map[string]json.RawMessage, v any, text []byte) (json.RawMessage, bool) {
	if m, ok := values[string(text)]; ok {
		return m, true
	}
	if s, ok := v.(string); ok {
		if m, ok := values[strings.ToLower(s)]; ok {
			return m, true
		}
	}
	return nil, false
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if decodeJSONInto(a, &x) != nil || decodeJSONInto(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func decodeJSONInto(b []byte, v *any) error {
	d, err := decodeJSONDoc(b)
	if err != nil {
		return err
	}
	*v = d
	return nil
}

// value coerces v to what schema s declares and walks into objects and
// arrays.
func (n *configNormalizer) value(v any, s map[string]any, path string) any {
	if s == nil {
		return v
	}
	if xv, ok := s["x-values"].(map[string]any); ok {
		if str, ok := v.(string); ok {
			if w, ok := xv[str]; ok {
				v = w
			}
		}
	}
	types := schemaTypes(s)
	if str, ok := v.(string); ok && len(types) > 0 && !types["string"] {
		v = coerceString(str, types, s)
	}
	switch x := v.(type) {
	case map[string]any:
		if types["object"] || s["properties"] != nil || s["additionalProperties"] != nil {
			n.object(x, s, path+".")
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i := range x {
				x[i] = n.value(x[i], items, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	return v
}

func schemaTypes(s map[string]any) map[string]bool {
	t := map[string]bool{}
	switch x := s["type"].(type) {
	case string:
		t[x] = true
	case []any:
		for _, e := range x {
			if str, ok := e.(string); ok {
				t[str] = true
			}
		}
	}
	return t
}

// coerceString reads the string forms other variants' configs use for
// booleans, numbers and lists. A string that is none of them stays a
// string, and the schema then says what is wrong with it.
func coerceString(s string, types map[string]bool, schema map[string]any) any {
	t := strings.TrimSpace(s)
	if types["boolean"] {
		switch strings.ToLower(t) {
		case "true":
			return true
		case "false":
			return false
		}
	}
	if types["integer"] || types["number"] {
		var num json.Number
		if err := json.Unmarshal([]byte(t), &num); err == nil && t != "" && t[0] != '"' {
			if _, err := num.Float64(); err == nil {
				return num
			}
		}
	}
	if types["array"] {
		items, _ := schema["items"].(map[string]any)
		if items == nil || schemaTypes(items)["string"] {
			out := []any{}
			for _, part := range strings.Split(s, ",") {
				if p := strings.TrimSpace(part); p != "" {
					out = append(out, p)
				}
			}
			return out
		}
	}
	return s
}

// unknownKeyProblem names an unknown key and the closest known one.
func unknownKeyProblem(path, key string, props map[string]any, compat map[string]compatEntry) string {
	best, bestD := "", 0
	for _, set := range []map[string]bool{propNames(props), compatKeys(compat)} {
		for k := range set {
			d := editDistance(strings.ToLower(key), strings.ToLower(k))
			if best == "" || d < bestD || d == bestD && k < best {
				best, bestD = k, d
			}
		}
	}
	prefix := path[:len(path)-len(key)]
	if best != "" && (bestD <= 2 || bestD*3 <= len(key) || strings.Contains(best, key) || strings.Contains(key, best)) {
		return fmt.Sprintf("unknown config key %q: did you mean %q?", path, prefix+best)
	}
	return fmt.Sprintf("unknown config key %q (see --about for the keys)", path)
}

func propNames(props map[string]any) map[string]bool {
	m := map[string]bool{}
	for k := range props {
		m[k] = true
	}
	return m
}

func compatKeys(c map[string]compatEntry) map[string]bool {
	m := map[string]bool{}
	for k := range c {
		m[k] = true
	}
	return m
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

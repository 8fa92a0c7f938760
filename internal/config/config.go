package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Error is a config that cannot be used: unreadable, not JSON, or not
// matching the binary's config schema. Problems lists every one of them.
// Binaries exit 2 on it.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid config: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid config (%d problems): %s", len(e.Problems), strings.Join(e.Problems, "; "))
}

// Config is a merged, validated config.
type Config struct {
	Values map[string]any // numbers as json.Number
	JSON   []byte         // Values encoded again
	// Warnings name the keys of other variants (PipelineWise, Meltano)
	// that were accepted but mean nothing here; the command line prints
	// each once.
	Warnings []string
}

// Load reads one or more JSON config files, merges them (a later file
// wins key by key, objects merged recursively), applies the config policy
// (configcompat.go: other variants' spellings and forms accepted, unknown
// keys refused) and validates the result against schema (a JSON Schema;
// nil skips both).
func Load(paths []string, schema []byte) (*Config, error) {
	merged := map[string]any{}
	var problems []string
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			problems = append(problems, fmt.Sprintf("cannot read %s: %v", p, WithoutPath(err)))
			continue
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		doc, err := decodeJSONDoc(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s is not valid JSON: %v", p, err))
			continue
		}
		m, ok := doc.(map[string]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s must hold a JSON object", p))
			continue
		}
		mergeInto(merged, m)
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return fromMerged(merged, schema)
}

// FromValues is Load on a config already decoded (numbers as json.Number),
// as a project file holds it: the same policy and validation. values is
// not changed.
func FromValues(values map[string]any, schema []byte) (*Config, error) {
	b, err := json.Marshal(values)
	if err != nil {
		return nil, &Error{Problems: []string{err.Error()}}
	}
	doc, err := decodeJSONDoc(b)
	if err != nil {
		return nil, &Error{Problems: []string{err.Error()}}
	}
	m, _ := doc.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return fromMerged(m, schema)
}

func fromMerged(merged map[string]any, schema []byte) (*Config, error) {
	var warnings []string
	if schema != nil {
		var problems []string
		problems, warnings = normalizeConfig(merged, schema)
		problems = append(problems, validateConfig(merged, schema)...)
		if len(problems) > 0 {
			sort.Strings(problems)
			for i := range problems {
				problems[i] = redactSecrets(problems[i], merged)
			}
			return nil, &Error{Problems: problems}
		}
	}
	b, _ := json.Marshal(merged)
	return &Config{Values: merged, JSON: b, Warnings: warnings}, nil
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// validateConfig returns every schema violation, one line each, sorted.
func validateConfig(doc map[string]any, schema []byte) []string {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7
	if err := c.AddResource("config.schema.json", bytes.NewReader(schema)); err != nil {
		return []string{"config schema: " + err.Error()}
	}
	s, err := c.Compile("config.schema.json")
	if err != nil {
		return []string{"config schema: " + err.Error()}
	}
	err = s.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []string{err.Error()}
	}
	seen := map[string]bool{}
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := strings.TrimPrefix(e.InstanceLocation, "/")
			line := e.Message
			if loc != "" {
				line = strings.ReplaceAll(loc, "/", ".") + ": " + e.Message
			}
			if !seen[line] {
				seen[line] = true
				out = append(out, line)
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(out)
	for i := range out {
		out[i] = redactSecrets(out[i], doc)
	}
	return out
}

// secretKeys name config keys whose values never appear in messages.
var secretKeys = []string{"password", "secret", "token", "private_key", "credentials", "passphrase", "api_key"}

// IsSecretKey tells whether a config key holds a secret.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, s := range secretKeys {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// redactSecrets replaces the values of secret keys found in msg.
func redactSecrets(msg string, doc map[string]any) string {
	for k, v := range doc {
		switch v := v.(type) {
		case string:
			if IsSecretKey(k) && len(v) >= 3 {
				msg = strings.ReplaceAll(msg, v, "***")
			}
		case map[string]any:
			msg = redactSecrets(msg, v)
		}
	}
	return msg
}

// Decode fills a typed config struct from the merged values (json tags).
func (c *Config) Decode(dst any) error {
	dec := json.NewDecoder(bytes.NewReader(c.JSON))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return &Error{Problems: []string{err.Error()}}
	}
	return nil
}

// String returns the value of a string key, or "".
func (c *Config) String(key string) string {
	s, _ := c.Values[key].(string)
	return s
}

func decodeJSONDoc(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the schema")
	}
	return v, nil
}

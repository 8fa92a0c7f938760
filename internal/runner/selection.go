package runner

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
)

// pattern is one `select` entry: stream.property globs, `!` excludes.
type pattern struct {
	exclude  bool
	stream   string
	property string // "" when the pattern names a whole stream
}

func parsePatterns(ss []string) []pattern {
	out := make([]pattern, 0, len(ss))
	for _, s := range ss {
		p := pattern{}
		if strings.HasPrefix(s, "!") {
			p.exclude = true
			s = s[1:]
		}
		p.stream, p.property, _ = strings.Cut(s, ".")
		out = append(out, p)
	}
	return out
}

func glob(pat, s string) bool {
	ok, err := path.Match(pat, s)
	return err == nil && ok
}

// streamSelected: an include names the stream and no exclude removes the
// whole stream (an exclude with no property, or with property `*`).
func streamSelected(ps []pattern, stream string) bool {
	in := false
	for _, p := range ps {
		if !glob(p.stream, stream) {
			continue
		}
		if p.exclude && (p.property == "" || p.property == "*") {
			return false
		}
		if !p.exclude {
			in = true
		}
	}
	return in
}

func propertySelected(ps []pattern, stream, prop string) bool {
	in := false
	for _, p := range ps {
		if !glob(p.stream, stream) {
			continue
		}
		if p.exclude {
			if p.property != "" && glob(p.property, prop) {
				return false
			}
			continue
		}
		if p.property == "" || glob(p.property, prop) {
			in = true
		}
	}
	return in
}

// catalog is the generic shape of a Singer catalog: unknown fields of each
// stream are kept as they came.
type catalog struct {
	Streams []map[string]json.RawMessage `json:"streams"`
}

type metadataEntry struct {
	Breadcrumb []string       `json:"breadcrumb"`
	Metadata   map[string]any `json:"metadata"`
}

// StreamChoice is what the selection decided for one stream.
type StreamChoice struct {
	Stream            string
	Selected          bool
	Properties        []string // selected properties, sorted
	Excluded          []string // properties left out, sorted
	ReplicationMethod string
	ReplicationKey    string
}

// applySelection marks streams and properties of a discovered catalog as
// selected (both `selected` metadata and the legacy stream-level key, for
// third-party taps), merges metadata overrides into the stream-level entry,
// and returns the new catalog with what was chosen.
func applySelection(raw []byte, selects []string, overrides map[string]map[string]any) ([]byte, []StreamChoice, error) {
	var cat catalog
	if err := json.Unmarshal(raw, &cat); err != nil {
		return nil, nil, fmt.Errorf("the catalog is not valid JSON: %w", err)
	}
	ps := parsePatterns(selects)
	var choices []StreamChoice
	for i, st := range cat.Streams {
		var id string
		if err := json.Unmarshal(st["tap_stream_id"], &id); err != nil || id == "" {
			if err := json.Unmarshal(st["stream"], &id); err != nil || id == "" {
				return nil, nil, fmt.Errorf("catalog stream %d has neither tap_stream_id nor stream", i)
			}
		}
		var md []metadataEntry
		if len(st["metadata"]) > 0 {
			if err := json.Unmarshal(st["metadata"], &md); err != nil {
				return nil, nil, fmt.Errorf("catalog stream %s: metadata: %w", id, err)
			}
		}
		var schema struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		_ = json.Unmarshal(st["schema"], &schema)
		props := make([]string, 0, len(schema.Properties))
		for p := range schema.Properties {
			props = append(props, p)
		}
		sort.Strings(props)

		ch := StreamChoice{Stream: id, Selected: streamSelected(ps, id)}
		top := -1
		byProp := map[string]int{}
		for j, e := range md {
			switch {
			case len(e.Breadcrumb) == 0:
				top = j
			case len(e.Breadcrumb) == 2 && e.Breadcrumb[0] == "properties":
				byProp[e.Breadcrumb[1]] = j
			}
		}
		if top < 0 {
			md = append(md, metadataEntry{Breadcrumb: []string{}, Metadata: map[string]any{}})
			top = len(md) - 1
		}
		if md[top].Metadata == nil {
			md[top].Metadata = map[string]any{}
		}
		for pat, kv := range overrides {
			if glob(pat, id) {
				for k, v := range kv {
					md[top].Metadata[k] = v
				}
			}
		}
		md[top].Metadata["selected"] = ch.Selected
		ch.ReplicationMethod, _ = md[top].Metadata["replication-method"].(string)
		ch.ReplicationKey, _ = md[top].Metadata["replication-key"].(string)
		keys := map[string]bool{}
		if kp, ok := md[top].Metadata["table-key-properties"].([]any); ok {
			for _, k := range kp {
				if s, ok := k.(string); ok {
					keys[s] = true
				}
			}
		}
		for _, p := range props {
			j, ok := byProp[p]
			if !ok {
				md = append(md, metadataEntry{Breadcrumb: []string{"properties", p}, Metadata: map[string]any{}})
				j = len(md) - 1
			}
			if md[j].Metadata == nil {
				md[j].Metadata = map[string]any{}
			}
			sel := ch.Selected && propertySelected(ps, id, p)
			// Keys, the replication key and automatic columns are always synced.
			if ch.Selected && (keys[p] || p == ch.ReplicationKey || md[j].Metadata["inclusion"] == "automatic") {
				sel = true
			}
			if md[j].Metadata["inclusion"] == "unsupported" {
				sel = false
			}
			md[j].Metadata["selected"] = sel
			if ch.Selected {
				if sel {
					ch.Properties = append(ch.Properties, p)
				} else {
					ch.Excluded = append(ch.Excluded, p)
				}
			}
		}
		b, err := json.Marshal(md)
		if err != nil {
			return nil, nil, err
		}
		st["metadata"] = b
		sel, _ := json.Marshal(ch.Selected)
		st["selected"] = sel // the legacy stream-level key some taps read
		choices = append(choices, ch)
	}
	out, err := json.Marshal(cat)
	return out, choices, err
}

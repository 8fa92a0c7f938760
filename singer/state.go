package singer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
)

// State is a tap's state: bookmarks keyed by tap_stream_id, the stream being
// synced, and any other keys (kept as they came, so a state written by
// another tool survives a round trip).
type State struct {
	Bookmarks        map[string]map[string]any
	CurrentlySyncing string
	Extra            map[string]json.RawMessage
}

// NewState returns an empty state.
func NewState() *State {
	return &State{Bookmarks: make(map[string]map[string]any)}
}

// ParseState reads a state. It accepts the bare value ({"bookmarks": ...})
// and, for convenience, a whole STATE message ({"type":"STATE","value":...})
// or a file of state lines, whose last line wins (what `> state.out`
// collects from a target).
func ParseState(raw []byte) (*State, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return NewState(), nil
	}
	if i := bytes.LastIndexByte(raw, '\n'); i >= 0 {
		raw = bytes.TrimSpace(raw[i+1:])
	}
	doc, err := decodeJSONDoc(raw)
	if err != nil {
		return nil, fmt.Errorf("state is not valid JSON: %v", err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("state must be a JSON object")
	}
	if t, ok := m["type"].(string); ok && parseMessageType([]byte(t)) == TypeState {
		if m, ok = m["value"].(map[string]any); !ok {
			return nil, fmt.Errorf(`STATE message has no object "value"`)
		}
	}
	s := NewState()
	for k, v := range m {
		switch k {
		case "bookmarks":
			bm, ok := v.(map[string]any)
			if !ok && v != nil {
				return nil, fmt.Errorf(`state "bookmarks" must be an object`)
			}
			for stream, b := range bm {
				entry, ok := b.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("state bookmark for stream %q must be an object", stream)
				}
				s.Bookmarks[stream] = entry
			}
		case "currently_syncing":
			if v != nil {
				cs, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf(`state "currently_syncing" must be a string or null`)
				}
				s.CurrentlySyncing = cs
			}
		default:
			if s.Extra == nil {
				s.Extra = make(map[string]json.RawMessage)
			}
			b, _ := json.Marshal(v)
			s.Extra[k] = b
		}
	}
	return s, nil
}

// LoadStateFile reads a state file.
func LoadStateFile(path string) (*State, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseState(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Bookmark returns a bookmark value of a stream.
func (s *State) Bookmark(stream, key string) (any, bool) {
	v, ok := s.Bookmarks[stream][key]
	return v, ok
}

// SetBookmark sets a bookmark value of a stream.
func (s *State) SetBookmark(stream, key string, v any) {
	b, ok := s.Bookmarks[stream]
	if !ok {
		b = make(map[string]any)
		s.Bookmarks[stream] = b
	}
	b[key] = v
}

// ClearBookmark removes one bookmark key of a stream.
func (s *State) ClearBookmark(stream, key string) {
	delete(s.Bookmarks[stream], key)
}

// ClearStream removes every bookmark of a stream.
func (s *State) ClearStream(stream string) {
	delete(s.Bookmarks, stream)
}

// MarshalJSON writes the state with sorted keys, so equal states are equal
// bytes.
func (s *State) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(s.Extra)+2)
	for k, v := range s.Extra {
		m[k] = v
	}
	bm := s.Bookmarks
	if bm == nil {
		bm = map[string]map[string]any{}
	}
	m["bookmarks"] = bm
	if s.CurrentlySyncing != "" {
		m["currently_syncing"] = s.CurrentlySyncing
	} else {
		m["currently_syncing"] = nil
	}
	return json.Marshal(m)
}

// Clone returns a deep copy.
func (s *State) Clone() *State {
	b, _ := s.MarshalJSON()
	c, _ := ParseState(b)
	return c
}

// Streams returns the bookmarked stream ids, sorted.
func (s *State) Streams() []string {
	out := make([]string, 0, len(s.Bookmarks))
	for k := range s.Bookmarks {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// BookmarkInt reads an integer bookmark (a table version, a row count, a
// file size) as ParseState or a tap left it: a json.Number, int64, int, or
// a float64 holding a whole number. A value with a fraction (1.5) or out
// of int64's range is refused (false), never truncated.
func BookmarkInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	}
	return 0, false
}

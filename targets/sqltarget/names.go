package sqltarget

import (
	"crypto/sha1"
	"encoding/hex"
	"unicode/utf8"
)

// TruncateWithHash shortens name to at most max bytes (on a rune boundary)
// and, when it had to cut, ends it with "_" and 8 hex digits of the SHA-1 of
// the whole name, so two long names sharing a prefix stay apart, and the
// same name folds the same way in every run.
func TruncateWithHash(name string, max int) string {
	if len(name) <= max {
		return name
	}
	return cutRunes(name, max-9) + "_" + hash8(name)
}

func hash8(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:4])
}

func cutRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// nameSet hands out identifiers, unique under the dialect's comparison
// (case-insensitive databases compare folded names in lower case).
type nameSet struct {
	used map[string]string // comparison key -> original the name was given to
	key  func(string) string
	max  int
}

func newNameSet(key func(string) string, max int) *nameSet {
	return &nameSet{used: make(map[string]string), key: key, max: max}
}

// claim returns folded, or, when folded is taken by another original name,
// folded with a hash of the original appended: stable for the same schema.
func (s *nameSet) claim(original, folded string) string {
	k := s.key(folded)
	if o, taken := s.used[k]; !taken || o == original {
		s.used[k] = original
		return folded
	}
	alt := cutRunes(folded, s.max-9) + "_" + hash8(original)
	s.used[s.key(alt)] = original
	return alt
}

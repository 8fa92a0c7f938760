package singer

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is the JSON tokenizer of the hot path. It works on a byte slice
// that holds one whole input line, never allocates, and checks the full JSON
// grammar (RFC 8259) plus UTF-8 validity of strings, so anything it accepts
// encoding/json accepts too. The benchmark in bench_test.go compares it with
// fastjson, goccy/go-json and encoding/json; it was chosen because it lets the
// schema plan visit each value in place without building a tree.

// maxNesting bounds recursion in skipValue, as encoding/json does.
const maxNesting = 10000

// jsonSyntaxError is a tokenizer error at a byte offset of the scanned slice.
type jsonSyntaxError struct {
	Off int
	Msg string
}

func (e *jsonSyntaxError) Error() string { return fmt.Sprintf("%s at byte %d", e.Msg, e.Off+1) }

func syntaxErr(off int, format string, args ...any) error {
	return &jsonSyntaxError{Off: off, Msg: fmt.Sprintf(format, args...)}
}

// strPlain marks bytes that may appear in a JSON string without special care:
// printable ASCII other than the quote and the backslash.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString scans the string starting at b[i] == '"'. It returns the index
// just past the closing quote and whether the string holds escapes.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	j := i + 1
	for {
		// Eight bytes at a time while none is special: a quote, a
		// backslash, a control character or a non-ASCII byte.
		for j+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[j:])
			const lo, hi = 0x0101010101010101, 0x8080808080808080
			q := x ^ (lo * '"')
			bs := x ^ (lo * '\\')
			special := ((q - lo) &^ q) | ((bs - lo) &^ bs) | (x - lo*0x20) | x
			if special&hi != 0 {
				break
			}
			j += 8
		}
		for j < len(b) && strPlain[b[j]] {
			j++
		}
		if j >= len(b) {
			return 0, false, syntaxErr(len(b), "unexpected end of input inside a string (truncated line?)")
		}
		c := b[j]
		switch {
		case c == '"':
			return j + 1, escaped, nil
		case c == '\\':
			escaped = true
			if j+1 >= len(b) {
				return 0, false, syntaxErr(len(b), "unexpected end of input inside a string (truncated line?)")
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) {
					return 0, false, syntaxErr(j, "truncated \\u escape")
				}
				for k := j + 2; k < j+6; k++ {
					if unhex(b[k]) < 0 {
						return 0, false, syntaxErr(k, "invalid character %q in \\u escape", b[k])
					}
				}
				if r := hex4(b[j+2:]); utf16.IsSurrogate(r) {
					if !surrogatePair(b, j, r) {
						return 0, false, syntaxErr(j, "lone UTF-16 surrogate %s in a string (half a character: refused, never replaced; fix the producer)", b[j:j+6])
					}
					j += 6 // the low half, checked by surrogatePair
				}
				j += 6
			default:
				return 0, false, syntaxErr(j+1, "invalid escape \\%c in string", b[j+1])
			}
		case c < 0x20:
			return 0, false, syntaxErr(j, "control character 0x%02x in string (must be escaped)", c)
		default: // c >= 0x80
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, syntaxErr(j, "invalid UTF-8 byte 0x%02x in string", c)
			}
			j += size
		}
	}
}

// surrogatePair tells whether the high surrogate r, escaped at b[j:j+6],
// is followed by the escape of a low surrogate. Strings are never allowed
// to hold half a character: encoding/json would turn it into U+FFFD, which
// silently changes the text, so the toolkit refuses it (one rule for
// singer check, target-jsonl and the SQL targets).
func surrogatePair(b []byte, j int, r rune) bool {
	if r >= 0xDC00 || j+12 > len(b) || b[j+6] != '\\' || b[j+7] != 'u' {
		return false
	}
	for k := j + 8; k < j+12; k++ {
		if unhex(b[k]) < 0 {
			return false
		}
	}
	lo := hex4(b[j+8:])
	return lo >= 0xDC00 && lo <= 0xDFFF
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// appendUnescaped appends the decoded content of a string literal body
// (between the quotes, already checked by scanString) to dst. scanString
// refuses lone surrogates; should one get here anyway it becomes U+FFFD.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		switch s[i+1] {
		case '"':
			dst = append(dst, '"')
		case '\\':
			dst = append(dst, '\\')
		case '/':
			dst = append(dst, '/')
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, hex4(s[i+2:])); r2 != utf8.RuneError {
						dst = utf8.AppendRune(dst, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) rune {
	return rune(unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3]))
}

// scanNumber scans a JSON number starting at b[i]. isInt reports that it has
// neither a fraction nor an exponent.
func scanNumber(b []byte, i int) (end int, isInt bool, err error) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	if j >= len(b) {
		return 0, false, syntaxErr(j, "unexpected end of input in a number")
	}
	switch {
	case b[j] == '0':
		j++
	case b[j] >= '1' && b[j] <= '9':
		j++
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	default:
		return 0, false, syntaxErr(j, "invalid character %q in a number", b[j])
	}
	isInt = true
	if j < len(b) && b[j] == '.' {
		isInt = false
		j++
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == k {
			return 0, false, syntaxErr(j, "a number needs digits after the decimal point")
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		isInt = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == k {
			return 0, false, syntaxErr(j, "a number needs digits in its exponent")
		}
	}
	return j, isInt, nil
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit), nil
	}
	if len(b)-i < len(lit) && string(b[i:]) == lit[:len(b)-i] {
		return 0, syntaxErr(len(b), "unexpected end of input (truncated line?)")
	}
	return 0, syntaxErr(i, "invalid literal (expected %s)", lit)
}

// skipValue checks and skips the JSON value starting at b[i] (no leading
// whitespace) and returns the index just past it.
func skipValue(b []byte, i int) (int, error) { return skipValueDepth(b, i, 0) }

func skipValueDepth(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, syntaxErr(i, "unexpected end of input (truncated line?)")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{':
		if depth >= maxNesting {
			return 0, syntaxErr(i, "nesting deeper than %d", maxNesting)
		}
		j := skipWS(b, i+1)
		if j < len(b) && b[j] == '}' {
			return j + 1, nil
		}
		var keys keySet
		for {
			if j >= len(b) {
				return 0, syntaxErr(j, "unexpected end of input in an object (truncated line?)")
			}
			if b[j] != '"' {
				return 0, syntaxErr(j, "invalid character %q where an object key was expected", b[j])
			}
			end, esc, err := scanString(b, j)
			if err != nil {
				return 0, err
			}
			// keys.add, its common case written out: this loop is the
			// decoder's hot path and add is too big to inline.
			if w, bit := keyBloom(b[j+1], b[end-2], end-j); !esc && keys.big == nil && keys.n < len(keys.offs) &&
				keys.bloom[w]&bit == 0 && uint64(j) <= math.MaxUint32 {
				keys.bloom[w] |= bit
				keys.offs[keys.n] = uint32(j)
				keys.n++
			} else if keys.addSlow(b, j, end, esc) {
				return 0, duplicateKey(b, j, end, esc)
			}
			j = skipWS(b, end)
			if j >= len(b) {
				return 0, syntaxErr(j, "unexpected end of input in an object (truncated line?)")
			}
			if b[j] != ':' {
				return 0, syntaxErr(j, "invalid character %q after an object key", b[j])
			}
			j = skipWS(b, j+1)
			if j, err = skipValueDepth(b, j, depth+1); err != nil {
				return 0, err
			}
			j = skipWS(b, j)
			if j >= len(b) {
				return 0, syntaxErr(j, "unexpected end of input in an object (truncated line?)")
			}
			switch b[j] {
			case ',':
				j = skipWS(b, j+1)
			case '}':
				return j + 1, nil
			default:
				return 0, syntaxErr(j, "invalid character %q after an object value", b[j])
			}
		}
	case c == '[':
		if depth >= maxNesting {
			return 0, syntaxErr(i, "nesting deeper than %d", maxNesting)
		}
		j := skipWS(b, i+1)
		if j < len(b) && b[j] == ']' {
			return j + 1, nil
		}
		for {
			var err error
			if j, err = skipValueDepth(b, j, depth+1); err != nil {
				return 0, err
			}
			j = skipWS(b, j)
			if j >= len(b) {
				return 0, syntaxErr(j, "unexpected end of input in an array (truncated line?)")
			}
			switch b[j] {
			case ',':
				j = skipWS(b, j+1)
			case ']':
				return j + 1, nil
			default:
				return 0, syntaxErr(j, "invalid character %q after an array element", b[j])
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		end, _, err := scanNumber(b, i)
		return end, err
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	default:
		return 0, syntaxErr(i, "invalid character %q looking for a value", c)
	}
}

// keySet finds a key written twice in one JSON object. RFC 8259 leaves
// such objects to each implementation (encoding/json keeps the last value,
// others the first); every binary rejects them instead, naming the key, so
// that a checker, a file target and a database target can never read one
// line three ways. Keys compare unescaped ("a" and "\u0061" are one key).
//
// It is on the hot path of every object the tokenizer skips, so it stores
// no key, only where each starts (in an array that lives on the caller's
// stack), and compares keys only when a 256-bit Bloom filter says one may
// repeat. An object with more keys than the array holds moves to a map.
type keySet struct {
	offs  [keySetOffsets]uint32 // offsets of the keys' opening quotes
	n     int                   // offsets held
	bloom [4]uint64
	big   map[string]struct{} // every key, once offs is full
}

// keySetOffsets is how many keys a keySet tracks without allocating.
const keySetOffsets = 32

// add records the key at b[start:end] (quotes included; esc when it holds
// escapes) and reports whether the object already had it. The common case
// (a plain key the filter has not seen) is small enough to inline.
func (s *keySet) add(b []byte, start, end int, esc bool) (dup bool) {
	if !esc && s.big == nil && s.n < len(s.offs) {
		w, bit := keyBloom(b[start+1], b[end-2], end-start)
		if s.bloom[w]&bit == 0 && uint64(start) <= math.MaxUint32 {
			s.bloom[w] |= bit
			s.offs[s.n] = uint32(start)
			s.n++
			return false
		}
	}
	return s.addSlow(b, start, end, esc)
}

func (s *keySet) addSlow(b []byte, start, end int, esc bool) (dup bool) {
	key := b[start+1 : end-1]
	if esc {
		key = appendUnescaped(nil, key)
	}
	if s.big == nil {
		first, last := byte('"'), byte('"') // what the raw bytes hold for ""
		if len(key) > 0 {
			first, last = key[0], key[len(key)-1]
		}
		w, bit := keyBloom(first, last, len(key)+2)
		if s.bloom[w]&bit != 0 {
			for _, o := range s.offs[:s.n] {
				if string(keyAt(b, int(o))) == string(key) {
					return true
				}
			}
		}
		s.bloom[w] |= bit
		if s.n < len(s.offs) && uint64(start) <= math.MaxUint32 {
			s.offs[s.n] = uint32(start)
			s.n++
			return false
		}
		s.big = make(map[string]struct{}, 2*s.n+2)
		for _, o := range s.offs[:s.n] {
			s.big[string(keyAt(b, int(o)))] = struct{}{}
		}
	}
	if _, ok := s.big[string(key)]; ok {
		return true
	}
	s.big[string(key)] = struct{}{}
	return false
}

// keyAt returns the unescaped key whose opening quote is b[off] (a key
// already scanned).
func keyAt(b []byte, off int) []byte {
	end, _ := stringEndFast(b, off+1)
	key := b[off+1 : end-1]
	for _, c := range key {
		if c == '\\' {
			return appendUnescaped(nil, key)
		}
	}
	return key
}

// keyBloom picks the filter bit of a key from its first and last bytes
// and its length with quotes (n): cheap, and different for most keys of
// one object. A key with escapes is hashed unescaped, so both spellings
// of one key pick the same bit.
func keyBloom(first, last byte, n int) (word int, bit uint64) {
	h := uint(n)*0x9E37 ^ uint(first)*0x3B ^ uint(last)*0x1F3
	return int(h>>6) & 3, 1 << (h & 63)
}

// duplicateKey is the error for the key at b[start:end] (quotes included)
// that its object already had.
func duplicateKey(b []byte, start, end int, esc bool) error {
	key := b[start+1 : end-1]
	if esc {
		key = appendUnescaped(nil, key)
	}
	return syntaxErr(start, "duplicate key %q", key)
}

// skipContainerFast finds the end of the object or array at b[i] by
// matching brackets outside strings, without checking the grammar. Callers
// use it only for values that a full parse checks afterwards (a RECORD that
// goes through its schema plan), so one pass over the bytes checks them.
func skipContainerFast(b []byte, i int) (int, error) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		case '"':
			end, ok := stringEndFast(b, j+1)
			if !ok {
				return 0, syntaxErr(len(b), "unexpected end of input inside a string (truncated line?)")
			}
			j = end - 1
		}
	}
	return 0, syntaxErr(len(b), "unexpected end of input in an object (truncated line?)")
}

// stringEndFast returns the index just past the quote closing the string
// whose content starts at b[j], honouring backslash escapes only.
func stringEndFast(b []byte, j int) (int, bool) {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for {
		for j+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[j:])
			q := x ^ (lo * '"')
			bs := x ^ (lo * '\\')
			if (((q-lo)&^q)|((bs-lo)&^bs))&hi != 0 {
				break
			}
			j += 8
		}
		if j >= len(b) {
			return 0, false
		}
		switch b[j] {
		case '"':
			return j + 1, true
		case '\\':
			j += 2
		default:
			j++
		}
	}
}

// objectIter walks the members of a JSON object in place.
type objectIter struct {
	b      []byte
	i      int
	n      int // members seen
	keyOff int // where the key next returned starts (its opening quote)
	err    error
	expect string // the key likely next (plain: see plainKey); "" for none
}

// plainKey tells whether a key can be matched on its raw bytes: it has no
// character JSON would escape.
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return k != ""
}

// start positions the iterator on the object at b[i] == '{'.
func (it *objectIter) start(b []byte, i int) {
	*it = objectIter{b: b, i: i + 1}
}

// next returns the raw key body (between the quotes), whether the key has
// escapes, and the offset of the value (whitespace skipped). The caller must
// then call skip or set it.i past the value before calling next again.
func (it *objectIter) next() (key []byte, keyEsc bool, valOff int, ok bool) {
	if it.err != nil {
		return nil, false, 0, false
	}
	b := it.b
	j := skipWS(b, it.i)
	if j >= len(b) {
		it.err = syntaxErr(j, "unexpected end of input in an object (truncated line?)")
		return nil, false, 0, false
	}
	if it.n > 0 {
		switch b[j] {
		case ',':
			j = skipWS(b, j+1)
		case '}':
			it.i = j + 1
			return nil, false, 0, false
		default:
			it.err = syntaxErr(j, "invalid character %q after an object value", b[j])
			return nil, false, 0, false
		}
	} else if b[j] == '}' {
		it.i = j + 1
		return nil, false, 0, false
	}
	if j >= len(b) || b[j] != '"' {
		if j >= len(b) {
			it.err = syntaxErr(j, "unexpected end of input in an object (truncated line?)")
		} else {
			it.err = syntaxErr(j, "invalid character %q where an object key was expected", b[j])
		}
		return nil, false, 0, false
	}
	var end int
	var esc bool
	if n := len(it.expect); n > 0 && j+n+1 < len(b) && b[j+n+1] == '"' && string(b[j+1:j+n+1]) == it.expect {
		// The expected key, written plainly: no need to scan it (expect
		// holds no quote, backslash or control character, so the match is
		// exactly the string a full scan would find).
		end = j + n + 2
	} else {
		var err error
		if end, esc, err = scanString(b, j); err != nil {
			it.err = err
			return nil, false, 0, false
		}
	}
	key = b[j+1 : end-1]
	it.keyOff = j
	j = skipWS(b, end)
	if j >= len(b) || b[j] != ':' {
		if j >= len(b) {
			it.err = syntaxErr(j, "unexpected end of input in an object (truncated line?)")
		} else {
			it.err = syntaxErr(j, "invalid character %q after an object key", b[j])
		}
		return nil, false, 0, false
	}
	j = skipWS(b, j+1)
	if j >= len(b) {
		it.err = syntaxErr(j, "unexpected end of input in an object (truncated line?)")
		return nil, false, 0, false
	}
	it.n++
	it.i = j
	return key, esc, j, true
}

// skip skips the value the iterator stands on and returns its raw bytes.
func (it *objectIter) skip() []byte {
	end, err := skipValue(it.b, it.i)
	if err != nil {
		it.err = err
		return nil
	}
	v := it.b[it.i:end]
	it.i = end
	return v
}

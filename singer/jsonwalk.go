package singer

// EachMember calls fn with each member of the JSON object raw (a record
// value of kind Object holds one): the key's decoded text and the raw
// bytes of its value. fn's key is valid only during the call. An error of
// fn stops the walk and is returned.
func EachMember(raw []byte, fn func(key, value []byte) error) error {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return syntaxErr(i, "expected an object")
	}
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return nil
	}
	var scratch []byte
	for {
		if i >= len(raw) || raw[i] != '"' {
			return syntaxErr(i, "expected a key")
		}
		end, escaped, err := scanString(raw, i)
		if err != nil {
			return err
		}
		key := raw[i+1 : end-1]
		if escaped {
			scratch = appendUnescaped(scratch[:0], key)
			key = scratch
		}
		i = skipWS(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return syntaxErr(i, "expected ':'")
		}
		i = skipWS(raw, i+1)
		vend, err := skipValue(raw, i)
		if err != nil {
			return err
		}
		if err := fn(key, raw[i:vend]); err != nil {
			return err
		}
		i = skipWS(raw, vend)
		if i < len(raw) && raw[i] == ',' {
			i = skipWS(raw, i+1)
			continue
		}
		if i < len(raw) && raw[i] == '}' {
			return nil
		}
		return syntaxErr(i, "expected ',' or '}'")
	}
}

// EachElement calls fn with the index and raw bytes of each element of
// the JSON array raw.
func EachElement(raw []byte, fn func(i int, value []byte) error) error {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return syntaxErr(i, "expected an array")
	}
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return nil
	}
	for n := 0; ; n++ {
		end, err := skipValue(raw, i)
		if err != nil {
			return err
		}
		if err := fn(n, raw[i:end]); err != nil {
			return err
		}
		i = skipWS(raw, end)
		if i < len(raw) && raw[i] == ',' {
			i = skipWS(raw, i+1)
			continue
		}
		if i < len(raw) && raw[i] == ']' {
			return nil
		}
		return syntaxErr(i, "expected ',' or ']'")
	}
}

// AppendString appends the decoded content of the JSON string literal
// raw (quotes included) to dst.
func AppendString(dst, raw []byte) ([]byte, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return dst, syntaxErr(0, "expected a string")
	}
	end, escaped, err := scanString(raw, 0)
	if err != nil {
		return dst, err
	}
	if end != len(raw) {
		return dst, syntaxErr(end, "unexpected data after the string")
	}
	if !escaped {
		return append(dst, raw[1:end-1]...), nil
	}
	return appendUnescaped(dst, raw[1:end-1]), nil
}

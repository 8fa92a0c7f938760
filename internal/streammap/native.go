package streammap

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"

	"github.com/singerkit/singerkit/singer"
)

// This file runs the most common expressions without the VM: a library
// call on properties, literals and config values (sha256(email),
// hmac_sha256(lower(email), config.key), mask(phone, 4)), and comparisons
// of a property with a literal joined by and/or/not (id > 0, country ==
// "NO"). They read the record's members directly, so a record whose map
// has only such expressions fills no environment. Anything else, and any
// value these forms do not handle (a comparison of a string with a
// number, say), falls back to the compiled program, which gives the
// result, or the error, the VM always gives.

// native is an expression compiled to Go: it returns errFallback when
// the VM must decide.
type native func(m *Mapper) (any, error)

var errFallback = errors.New("fall back to the VM")

// compileNative returns the native form of a checked expression tree, or
// nil when it has a node this file does not run.
func compileNative(node ast.Node, cfg map[string]any) native {
	switch n := node.(type) {
	case *ast.StringNode:
		v := n.Value
		return func(*Mapper) (any, error) { return v, nil }
	case *ast.IntegerNode:
		v := n.Value
		return func(*Mapper) (any, error) { return v, nil }
	case *ast.FloatNode:
		v := n.Value
		return func(*Mapper) (any, error) { return v, nil }
	case *ast.BoolNode:
		v := n.Value
		return func(*Mapper) (any, error) { return v, nil }
	case *ast.NilNode:
		return func(*Mapper) (any, error) { return nil, nil }
	case *ast.ConstantNode:
		switch n.Value.(type) {
		case string, int, float64, bool, nil:
			v := n.Value
			return func(*Mapper) (any, error) { return v, nil }
		}
		return nil
	case *ast.IdentifierNode:
		name := n.Value
		switch {
		case isSpecial(name):
			return nil
		case strings.HasPrefix(name, rawPrefix):
			prop := strings.TrimPrefix(name, rawPrefix)
			return func(m *Mapper) (any, error) { return m.rawValue(prop) }
		}
		return func(m *Mapper) (any, error) { return m.lookup(name) }
	case *ast.MemberNode:
		// config.key and config["key"]: a constant of the config.
		id, ok := n.Node.(*ast.IdentifierNode)
		key, kok := n.Property.(*ast.StringNode)
		if !ok || !kok || id.Value != varConfig || n.Optional {
			return nil
		}
		v, found := cfg[key.Value]
		if !found {
			return nil // the VM's error (or nil) for a missing key
		}
		switch v.(type) {
		case string, int, float64, bool, nil:
			return func(*Mapper) (any, error) { return v, nil }
		}
		return nil
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return nil
		}
		var fn func(args ...any) (any, error)
		var one func(any) (any, error)
		for _, f := range library {
			if f.name == id.Value {
				fn, one = f.fn, oneArg[f.name]
			}
		}
		if fn == nil {
			return nil
		}
		if h := hashOf[id.Value]; h != nil && len(n.Arguments) == 1 {
			// md5(prop), sha256(prop): a string property is hashed
			// where it lies, without boxing it.
			if arg, ok := n.Arguments[0].(*ast.IdentifierNode); ok && !isSpecial(arg.Value) && !strings.HasPrefix(arg.Value, rawPrefix) {
				name := arg.Value
				return func(m *Mapper) (any, error) {
					s, kind := m.lookupString(name)
					switch kind {
					case valueString:
						return h(s), nil
					case valueNull:
						return nil, nil
					}
					v, err := m.lookup(name)
					if err != nil {
						return nil, err
					}
					return hashWith(v, h)
				}
			}
		}
		args := make([]native, len(n.Arguments))
		for i, a := range n.Arguments {
			if args[i] = compileNative(a, cfg); args[i] == nil {
				return nil
			}
		}
		switch len(args) {
		case 1:
			a0 := args[0]
			if one != nil {
				return func(m *Mapper) (any, error) {
					v, err := a0(m)
					if err != nil {
						return nil, err
					}
					return one(v)
				}
			}
			return func(m *Mapper) (any, error) {
				v, err := a0(m)
				if err != nil {
					return nil, err
				}
				return fn(v)
			}
		case 2:
			a0, a1 := args[0], args[1]
			return func(m *Mapper) (any, error) {
				v0, err := a0(m)
				if err != nil {
					return nil, err
				}
				v1, err := a1(m)
				if err != nil {
					return nil, err
				}
				return fn(v0, v1)
			}
		}
		return nil
	case *ast.UnaryNode:
		if n.Operator != "not" && n.Operator != "!" {
			return nil
		}
		x := compileNative(n.Node, cfg)
		if x == nil {
			return nil
		}
		return func(m *Mapper) (any, error) {
			v, err := x(m)
			if err != nil {
				return nil, err
			}
			b, ok := v.(bool)
			if !ok {
				return nil, errFallback
			}
			return !b, nil
		}
	case *ast.BinaryNode:
		l, r := compileNative(n.Left, cfg), compileNative(n.Right, cfg)
		if l == nil || r == nil {
			return nil
		}
		switch n.Operator {
		case "and", "&&", "or", "||":
			and := n.Operator == "and" || n.Operator == "&&"
			return func(m *Mapper) (any, error) {
				lv, err := l(m)
				if err != nil {
					return nil, err
				}
				lb, ok := lv.(bool)
				if !ok {
					return nil, errFallback
				}
				if lb != and {
					return lb, nil // false and ..., true or ...
				}
				rv, err := r(m)
				if err != nil {
					return nil, err
				}
				if _, ok := rv.(bool); !ok {
					return nil, errFallback
				}
				return rv, nil
			}
		case "==", "!=", "<", "<=", ">", ">=":
			op := n.Operator
			// prop OP integer: an integer property compares as int64,
			// without boxing it.
			if id, ok := n.Left.(*ast.IdentifierNode); ok && !isSpecial(id.Value) && !strings.HasPrefix(id.Value, rawPrefix) {
				if lit, ok := n.Right.(*ast.IntegerNode); ok {
					name, k := id.Value, int64(lit.Value)
					return func(m *Mapper) (any, error) {
						if x, ok := m.lookupInt(name); ok {
							return compareInt(op, x, k), nil
						}
						lv, err := l(m)
						if err != nil {
							return nil, err
						}
						rv, err := r(m)
						if err != nil {
							return nil, err
						}
						return compare(op, lv, rv)
					}
				}
			}
			return func(m *Mapper) (any, error) {
				lv, err := l(m)
				if err != nil {
					return nil, err
				}
				rv, err := r(m)
				if err != nil {
					return nil, err
				}
				return compare(op, lv, rv)
			}
		}
	}
	return nil
}

func compareInt(op string, a, b int64) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	}
	return a >= b
}

// hashCall returns the property and the hash of an expression that is
// md5(prop) or sha256(prop), or "", nil.
func hashCall(node ast.Node) (string, func([]byte, string) []byte) {
	n, ok := node.(*ast.CallNode)
	if !ok || len(n.Arguments) != 1 {
		return "", nil
	}
	id, ok := n.Callee.(*ast.IdentifierNode)
	arg, aok := n.Arguments[0].(*ast.IdentifierNode)
	if !ok || !aok || isSpecial(arg.Value) || strings.HasPrefix(arg.Value, rawPrefix) {
		return "", nil
	}
	switch id.Value {
	case "md5":
		return arg.Value, md5Append
	case "sha256":
		return arg.Value, sha256Append
	}
	return "", nil
}

// hashOf are the hash functions a native call runs on a string in place.
var hashOf = map[string]func(string) string{"md5": md5Hex, "sha256": sha256Hex}

// What lookupString found.
const (
	valueString = iota // a string
	valueNull          // null, or no such property
	valueOther         // something else: ask lookup
)

// lookupString returns a property of the current record that is a
// string, without decoding anything else or boxing it.
func (m *Mapper) lookupString(key string) (string, int) {
	if m.row != nil {
		v := m.row.value(key)
		switch {
		case v == nil:
			return "", valueOther // maybe undeclared: lookup knows
		case v.Kind == singer.String:
			return unsafeString(v.Bytes), valueString
		case v.Kind <= singer.Null:
			return "", valueNull
		}
		return "", valueOther
	}
	r := m.find(key)
	switch {
	case r == nil || r[0] == 'n':
		return "", valueNull
	case r[0] == '"' && bytes.IndexByte(r, '\\') < 0:
		return unsafeString(r[1 : len(r)-1]), valueString
	}
	return "", valueOther
}

// lookupInt returns a property of the current record that is a whole
// number that fits an int; false for anything else.
func (m *Mapper) lookupInt(key string) (int64, bool) {
	if m.row != nil {
		v := m.row.value(key)
		if v != nil && v.Kind == singer.Number && v.IsInt && v.IntOK && v.Int >= math.MinInt && v.Int <= math.MaxInt {
			return v.Int, true
		}
		return 0, false
	}
	r := m.find(key)
	if r == nil || !(r[0] == '-' || r[0] >= '0' && r[0] <= '9') {
		return 0, false
	}
	x, err := strconv.ParseInt(unsafeString(r), 10, 64)
	return x, err == nil && x >= math.MinInt && x <= math.MaxInt
}

// compare does what expr does for two numbers or two strings (and ==, !=
// with null); other operands fall back to the VM.
func compare(op string, a, b any) (any, error) {
	numeric := func(v any) bool {
		switch v.(type) {
		case int, float64:
			return true
		}
		return false
	}
	_, as := a.(string)
	_, bs := b.(string)
	switch {
	case numeric(a) && numeric(b), as && bs:
	case (op == "==" || op == "!=") && (a == nil || b == nil):
		eq := a == nil && b == nil
		return eq == (op == "=="), nil
	default:
		return nil, errFallback
	}
	switch op {
	case "==":
		return runtime.Equal(a, b), nil
	case "!=":
		return !runtime.Equal(a, b), nil
	case "<":
		return runtime.Less(a, b), nil
	case "<=":
		return runtime.LessOrEqual(a, b), nil
	case ">":
		return runtime.More(a, b), nil
	}
	return runtime.MoreOrEqual(a, b), nil
}

// rawValue is what decimal(prop) reads: a number's input text, or the
// property's value.
func (m *Mapper) rawValue(prop string) (any, error) {
	if m.row != nil {
		return m.row.rawValue(prop)
	}
	r := m.find(prop)
	switch {
	case r == nil:
		return nil, nil
	case r[0] == '-' || r[0] >= '0' && r[0] <= '9':
		return rawNumber(r), nil
	}
	return decodeValue(r)
}

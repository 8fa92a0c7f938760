package streammap

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/singer"
)

// This file reads the stream map settings and compiles every expression
// once, when the config is read: a mistake is a config error (exit 2)
// naming the stream, the property and the position, not a failure at the
// millionth record.

// The config keys this package reads, in every tap and target and in
// `singer map`.
const (
	KeyStreamMaps         = "stream_maps"
	KeyStreamMapConfig    = "stream_map_config"
	KeyFlatteningEnabled  = "flattening_enabled"
	KeyFlatteningMaxDepth = "flattening_max_depth"
)

// The reserved names of a map.
const (
	opAlias         = "__alias__"
	opFilter        = "__filter__"
	opSource        = "__source__"
	opKeyProperties = "__key_properties__"
	opElse          = "__else__"
	nullString      = "__NULL__"
)

// Settings are the stream map settings of a config.
type Settings struct {
	// StreamMaps is the stream_maps object: stream name (or glob) -> map,
	// or null to drop the stream; "__else__": null drops every stream
	// that no map names.
	StreamMaps map[string]any
	// MapConfig is stream_map_config: the `config` of expressions.
	MapConfig map[string]any
	// FlattenDepth is how many levels of nested objects become
	// parent__child properties; 0 is off.
	FlattenDepth int
}

// SettingsFrom reads the stream map keys of a loaded config (numbers as
// json.Number, as config.Load leaves them). flattening_max_depth counts
// only with flattening_enabled, as in the Meltano SDK.
func SettingsFrom(values map[string]any) (Settings, error) {
	var s Settings
	var problems []string
	if v, ok := values[KeyStreamMaps]; ok && v != nil {
		m, isMap := v.(map[string]any)
		if !isMap {
			problems = append(problems, KeyStreamMaps+": must be an object (stream name -> map)")
		}
		s.StreamMaps = m
	}
	if v, ok := values[KeyStreamMapConfig]; ok && v != nil {
		m, isMap := v.(map[string]any)
		if !isMap {
			problems = append(problems, KeyStreamMapConfig+": must be an object")
		}
		s.MapConfig = m
	}
	enabled, _ := values[KeyFlatteningEnabled].(bool)
	if enabled {
		s.FlattenDepth = 1 << 20 // no limit unless one is given
		if v, ok := values[KeyFlatteningMaxDepth]; ok && v != nil {
			n, err := strconv.Atoi(fmt.Sprint(v))
			if err != nil || n < 0 {
				problems = append(problems, fmt.Sprintf("%s: must be an integer >= 0, not %v", KeyFlatteningMaxDepth, v))
			}
			s.FlattenDepth = n
		}
	}
	if len(problems) > 0 {
		return s, &config.Error{Problems: problems}
	}
	return s, nil
}

// Active tells whether the settings change anything: without maps and
// flattening a binary does not even re-read its messages.
func (s Settings) Active() bool { return len(s.StreamMaps) > 0 || s.FlattenDepth > 0 }

// program is one compiled expression.
type program struct {
	src  string
	prog *vm.Program
	// vars are the record properties it reads by name; raws those it
	// reads as exact number text (decimal(amount)).
	vars, raws []string
	// usesRecord: it reads record or _ (the whole record is decoded);
	// usesSelf: it reads self.
	usesRecord, usesSelf bool
	typ                  reflect.Type // the checker's result type; nil: unknown
	native               native       // the program without the VM (native.go), or nil
	// md5(prop) or sha256(prop): the property, and the hash writing its
	// digits (a RowMap writes them into the row without allocating).
	hashProp   string
	hashAppend func(dst []byte, s string) []byte
}

// propMap is what a map does to one property.
type propMap struct {
	index    int // in its streamMap's props
	name     string
	lit      []byte // name as a JSON string
	drop     bool
	copyFrom string   // the expression is a bare property name: copy its raw value
	prog     *program // a computed value
	declared json.RawMessage
}

// streamMap is one compiled entry of stream_maps.
type streamMap struct {
	key       string // as written: a stream name or a glob
	glob      bool
	source    string // __source__: the stream it copies ("": key)
	alias     string
	aliasProg *program // an __alias__ that reads __stream_name__
	filter    *program
	props     []*propMap // sorted by name
	byName    map[string]*propMap
	elseDrop  bool
	keyProps  []string
	hasKeys   bool
	env       map[string]any // shared by its programs; one goroutine runs a Mapper
	vars      []string       // union of the programs' vars
	raws      []string
	record    bool
	self      bool
}

// Special variables of expressions.
const (
	varRecord     = "record"
	varRecordLong = "_"
	varConfig     = "config"
	varSelf       = "self"
	varStreamName = "__stream_name__"
	rawPrefix     = "__raw__"
)

// Compile checks and compiles settings. It returns nil, nil when the
// settings are not Active.
func Compile(s Settings) (*Mapper, error) {
	if !s.Active() {
		return nil, nil
	}
	m := &Mapper{
		exact:   map[string]*streamMap{},
		sources: map[string][]*streamMap{},
		dropped: map[string]bool{},
		flatten: s.FlattenDepth,
		streams: map[string]*inputStream{},
	}
	m.config, _ = numbersOf(copyValue(s.MapConfig)).(map[string]any)
	if m.config == nil {
		m.config = map[string]any{}
	}
	keys := make([]string, 0, len(s.StreamMaps))
	for k := range s.StreamMaps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var problems []string
	for _, k := range keys {
		v := s.StreamMaps[k]
		where := KeyStreamMaps + "." + k
		if k == opElse {
			if !isNull(v) {
				problems = append(problems, where+": only null (or \"__NULL__\") is supported: it drops the streams no map names")
			}
			m.elseDrop = true
			continue
		}
		if strings.HasPrefix(k, "__") && strings.HasSuffix(k, "__") {
			problems = append(problems, fmt.Sprintf("%s: unknown operation (a stream's map may hold %s, %s, %s, %s and %s; at the top only %s)", where, opAlias, opFilter, opSource, opKeyProperties, opElse, opElse))
			continue
		}
		if _, err := path.Match(k, ""); err != nil {
			problems = append(problems, fmt.Sprintf("%s: bad glob pattern: %v", where, err))
			continue
		}
		if isNull(v) {
			m.dropped[k] = true
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			problems = append(problems, where+": must be an object (property -> expression) or null")
			continue
		}
		sm, errs := compileStreamMap(k, obj, m.config)
		problems = append(problems, errs...)
		if sm == nil {
			continue
		}
		switch {
		case sm.source != "":
			m.sources[sm.source] = append(m.sources[sm.source], sm)
		case sm.glob:
			m.globs = append(m.globs, sm)
		default:
			m.exact[k] = sm
		}
	}
	if len(problems) > 0 {
		return nil, &config.Error{Problems: problems}
	}
	return m, nil
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

func isNull(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && s == nullString
}

func compileStreamMap(key string, obj map[string]any, cfg map[string]any) (*streamMap, []string) {
	sm := &streamMap{key: key, glob: isGlob(key), byName: map[string]*propMap{}}
	where := KeyStreamMaps + "." + key
	var problems []string
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	var progs []*program
	for _, name := range names {
		v := obj[name]
		at := where + "." + name
		switch name {
		case opAlias:
			s, ok := v.(string)
			if !ok || s == "" {
				problems = append(problems, at+": must be a stream name (a string)")
				continue
			}
			if strings.Contains(s, varStreamName) {
				p, err := compileExpr(s, false, cfg)
				if err != nil {
					problems = append(problems, exprProblem(at, s, err))
					continue
				}
				sm.aliasProg = p
			} else {
				sm.alias = s
			}
			continue
		case opFilter:
			s, ok := v.(string)
			if !ok || s == "" {
				problems = append(problems, at+": must be an expression (a string) that is true for the records to keep")
				continue
			}
			p, err := compileExpr(s, true, cfg)
			if err != nil {
				problems = append(problems, exprProblem(at, s, err))
				continue
			}
			sm.filter = p
			progs = append(progs, p)
			continue
		case opSource:
			s, ok := v.(string)
			if !ok || s == "" {
				problems = append(problems, at+": must be the name of the stream to copy (a string)")
				continue
			}
			if isGlob(s) {
				problems = append(problems, at+": must name one stream, not a glob")
				continue
			}
			if sm.glob {
				problems = append(problems, where+": a map with "+opSource+" names its new stream: it cannot be a glob")
				continue
			}
			sm.source = s
			continue
		case opKeyProperties:
			sm.hasKeys = true
			if v == nil {
				continue
			}
			list, ok := v.([]any)
			if !ok {
				problems = append(problems, at+": must be a list of property names, [] or null")
				continue
			}
			for _, x := range list {
				s, ok := x.(string)
				if !ok || s == "" {
					problems = append(problems, at+": must be a list of property names, [] or null")
					break
				}
				sm.keyProps = append(sm.keyProps, s)
			}
			continue
		case opElse:
			if !isNull(v) {
				problems = append(problems, at+": only null (or \"__NULL__\") is supported: it drops the properties the map does not name")
			}
			sm.elseDrop = true
			continue
		}
		if strings.HasPrefix(name, "__") && strings.HasSuffix(name, "__") {
			problems = append(problems, fmt.Sprintf("%s: unknown operation (a stream's map may hold %s, %s, %s, %s and %s)", at, opAlias, opFilter, opSource, opKeyProperties, opElse))
			continue
		}
		pm := &propMap{name: name, lit: singer.AppendJSONString(nil, name)}
		src := ""
		switch v := v.(type) {
		case nil:
			pm.drop = true
		case string:
			if v == nullString {
				pm.drop = true
			} else {
				src = v
			}
		case map[string]any:
			e, ok := v["expression"].(string)
			sch, hasSchema := v["schema"]
			extra := len(v) - 1
			if hasSchema {
				extra--
			}
			if !ok || e == "" || extra != 0 {
				problems = append(problems, at+`: must be an expression, null, or {"expression": "...", "schema": {...}}`)
				continue
			}
			src = e
			if hasSchema {
				if _, isObj := sch.(map[string]any); !isObj {
					problems = append(problems, at+".schema: must be a JSON Schema object, e.g. {\"type\": [\"string\", \"null\"]}")
					continue
				}
				b, _ := json.Marshal(sch)
				pm.declared = b
			}
		default:
			problems = append(problems, at+`: must be an expression (a string), null, or {"expression": "...", "schema": {...}}`)
			continue
		}
		if src != "" {
			if id, ok := bareIdentifier(src); ok {
				pm.copyFrom = id
			} else {
				p, err := compileExpr(src, false, cfg)
				if err != nil {
					problems = append(problems, exprProblem(at, src, err))
					continue
				}
				pm.prog = p
				progs = append(progs, p)
			}
		}
		pm.index = len(sm.props)
		sm.props = append(sm.props, pm)
		sm.byName[name] = pm
	}
	if len(problems) > 0 {
		return nil, problems
	}
	// One environment for the map's programs: the variables they read,
	// reset for each record.
	sm.env = map[string]any{varConfig: cfg}
	seen := map[string]bool{}
	for _, p := range progs {
		for _, v := range p.vars {
			if !seen[v] {
				seen[v] = true
				sm.vars = append(sm.vars, v)
			}
		}
		for _, v := range p.raws {
			if !seen[rawPrefix+v] {
				seen[rawPrefix+v] = true
				sm.raws = append(sm.raws, v)
			}
		}
		sm.record = sm.record || p.usesRecord
		sm.self = sm.self || p.usesSelf
	}
	return sm, nil
}

// bareIdentifier tells whether an expression is only a property name (a
// copy or a rename: "customer_id": "id"), which is copied byte for byte.
func bareIdentifier(src string) (string, bool) {
	s := strings.TrimSpace(src)
	if s == "" || functionNames[s] || isSpecial(s) {
		return "", false
	}
	for i, r := range s {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9' {
			continue
		}
		return "", false
	}
	switch s {
	case "true", "false", "nil", "not", "and", "or", "in", "matches", "contains", "let", "if", "else":
		return "", false
	}
	return s, true
}

func isSpecial(s string) bool {
	switch s {
	case varRecord, varRecordLong, varConfig, varSelf, varStreamName:
		return true
	}
	return false
}

// compileExpr parses src, declares the record properties it names as
// variables and compiles it with the function library.
func compileExpr(src string, asBool bool, cfg map[string]any) (*program, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, err
	}
	p := &program{src: src}
	calls := &calleeFinder{callees: map[*ast.IdentifierNode]bool{}, lets: map[string]bool{}}
	ast.Walk(&tree.Node, calls)
	c := &collector{p: p, seen: map[string]bool{}, lets: calls.lets, callees: calls.callees}
	ast.Walk(&tree.Node, c)
	// Only names that are called are checked here (a typo'd function is
	// an error now); a record property is checked against the stream's
	// SCHEMA when it arrives, since streams are not known before.
	var unknown *ast.IdentifierNode
	for id := range calls.callees {
		if !functionNames[id.Value] && (unknown == nil || id.Location().From < unknown.Location().From) {
			unknown = id
		}
	}
	if unknown != nil {
		return nil, &file.Error{Location: unknown.Location(), Column: unknown.Location().From, Message: fmt.Sprintf("unknown function %s (see docs/stream-maps.md for the functions)", unknown.Value)}
	}
	env := map[string]any{varConfig: map[string]any{}, varStreamName: ""}
	if p.usesRecord {
		env[varRecord] = map[string]any{}
		env[varRecordLong] = map[string]any{}
	}
	opts := append(libraryOptions(), expr.Env(env), expr.AllowUndefinedVariables(), expr.Patch(&rewriter{}))
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, err
	}
	p.prog = prog
	p.typ = knownType(prog)
	p.native = compileNative(prog.Node(), cfg)
	p.hashProp, p.hashAppend = hashCall(prog.Node())
	return p, nil
}

func knownType(prog *vm.Program) reflect.Type {
	if t := prog.Node().Type(); t != nil && t.Kind() != reflect.Interface {
		return t
	}
	return nil
}

// typeWith infers the result type of an expression whose type is unknown
// without the stream's SCHEMA, with its properties typed from the schema
// (integer -> int, number -> float64, string, boolean): n * 2 is an
// integer when n is. The program that runs stays the untyped one, which
// accepts the nulls a typed one would refuse.
func (p *program) typeWith(props map[string]json.RawMessage) reflect.Type {
	if p.typ != nil {
		return p.typ
	}
	env := map[string]any{varConfig: map[string]any{}, varStreamName: ""}
	for _, v := range p.vars {
		var s struct {
			Type any `json:"type"`
		}
		_ = json.Unmarshal(props[v], &s)
		var types []string
		switch t := s.Type.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				if x, ok := x.(string); ok && x != "null" {
					types = append(types, x)
				}
			}
		}
		if len(types) != 1 {
			continue
		}
		switch types[0] {
		case "integer":
			env[v] = 0
		case "number":
			env[v] = 0.0
		case "string":
			env[v] = ""
		case "boolean":
			env[v] = false
		}
	}
	opts := append(libraryOptions(), expr.Env(env), expr.AllowUndefinedVariables(), expr.Patch(&rewriter{}))
	prog, err := expr.Compile(p.src, opts...)
	if err != nil {
		return nil
	}
	return knownType(prog)
}

// calleeFinder finds the names an expression calls (functions, not
// properties) and the names it declares with let.
type calleeFinder struct {
	callees map[*ast.IdentifierNode]bool
	lets    map[string]bool
}

func (c *calleeFinder) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.VariableDeclaratorNode:
		c.lets[n.Name] = true
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			c.callees[id] = true
		}
	}
}

// collector finds the record properties an expression reads.
type collector struct {
	p       *program
	seen    map[string]bool
	lets    map[string]bool
	callees map[*ast.IdentifierNode]bool
}

func (c *collector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		// decimal(amount) reads the exact text of a number.
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == "decimal" && len(n.Arguments) == 1 {
			if arg, ok := n.Arguments[0].(*ast.IdentifierNode); ok && c.isProperty(arg.Value) {
				c.add(&c.p.raws, rawPrefix+arg.Value, arg.Value)
			}
		}
	case *ast.IdentifierNode:
		switch {
		case c.callees[n]:
		case n.Value == varRecord || n.Value == varRecordLong:
			c.p.usesRecord = true
		case n.Value == varSelf:
			c.p.usesSelf = true
		case c.isProperty(n.Value):
			c.add(&c.p.vars, n.Value, n.Value)
		}
	}
}

func (c *collector) isProperty(name string) bool {
	// A name that is called is a function (expr's builtins such as len
	// are not identifiers at all); any other name is a property, even one
	// that shares a function's name.
	return !isSpecial(name) && !c.lets[name]
}

func (c *collector) add(list *[]string, seenKey, name string) {
	if !c.seen[seenKey] {
		c.seen[seenKey] = true
		*list = append(*list, name)
	}
}

// rewriter turns the Python forms of Meltano's documentation into ours
// (email.lower() -> lower(email), email.endswith("x") -> endswith(email,
// "x")) and decimal(amount) into a read of the number's exact text.
type rewriter struct{}

// methods are the Python string methods rewritten to library calls.
var methods = map[string]string{
	"lower": "lower", "upper": "upper", "strip": "trim",
	"startswith": "startswith", "endswith": "endswith", "split": "split",
}

func (rewriter) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	if id, ok := call.Callee.(*ast.IdentifierNode); ok && id.Value == "decimal" && len(call.Arguments) == 1 {
		if arg, ok := call.Arguments[0].(*ast.IdentifierNode); ok && !isSpecial(arg.Value) && !strings.HasPrefix(arg.Value, rawPrefix) {
			ast.Patch(&call.Arguments[0], &ast.IdentifierNode{Value: rawPrefix + arg.Value})
		}
		return
	}
	mem, ok := call.Callee.(*ast.MemberNode)
	if !ok {
		return
	}
	name, ok := mem.Property.(*ast.StringNode)
	if !ok {
		return
	}
	fn, ok := methods[name.Value]
	if !ok {
		return
	}
	args := append([]ast.Node{mem.Node}, call.Arguments...)
	if fn == "split" {
		ast.Patch(node, &ast.BuiltinNode{Name: "split", Arguments: args})
		return
	}
	ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: args})
}

// exprProblem is one line for an expression that does not compile:
// where it is, the expression, the column and what is wrong.
func exprProblem(where, src string, err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fmt.Sprintf("%s: %q: column %d: %s", where, src, fe.Column+1, fe.Message)
	}
	return fmt.Sprintf("%s: %q: %v", where, src, err)
}

func copyValue(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	var out map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	_ = dec.Decode(&out)
	return out
}

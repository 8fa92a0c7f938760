package project

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/internal/streammap"
	"github.com/singerkit/singerkit/schemas"
)

// DefaultState is the state store used when the file names none.
const DefaultState = "file://.singer/state"

// Project is a loaded, interpolated and validated singer.yaml.
type Project struct {
	Path       string // the file it was read from
	Dir        string // its directory: relative paths are resolved from here
	Connectors map[string]*Connector
	Pipelines  map[string]*Pipeline
	State      string // state store URL
}

// Connector is one Singer executable with its settings.
type Connector struct {
	Name     string
	Command  string
	Args     []string
	Config   map[string]any
	Catalog  string
	Select   []string
	Metadata map[string]map[string]any
}

// Pipeline joins a tap to a target.
type Pipeline struct {
	Name     string
	Tap      string
	Target   string
	Schedule string
	Retries  int
	Timeout  time.Duration
	// Canary is the pipeline's canary section (singer canary), nil when
	// it has none.
	Canary *Canary
	// Maps are the stream maps applied between the tap and the target
	// (checked when the file is read), nil when it has none.
	Maps *streammap.Settings
}

// Defaults of a canary section.
const (
	DefaultCanaryOverdue = time.Hour
	DefaultCanaryKeep    = 100
)

// Canary says where a pipeline's tracers are injected and where they must
// arrive. Empty fields take defaults that depend on the connectors
// (internal/canary decides them).
type Canary struct {
	Table        string // source table (schema.table or database.table)
	Topic        string // or a topic of the tap's log servers
	Gate         *CanaryGate
	Overdue      time.Duration
	Keep         int
	Destinations []CanaryDestination
	// Where is "FILE:LINE" of the section, for messages about it.
	Where string
}

// CanaryGate pushes tracers through singer gate.
type CanaryGate struct {
	URL   string
	Token string
	Topic string // "": the tap's topic
}

// CanaryDestination is one place a tracer must arrive: the connector whose
// connection settings are used, and a table or file overriding the one
// its naming rules give.
type CanaryDestination struct {
	Connector string
	Table     string
	File      string
	Where     string // "FILE:LINE" of the entry
}

// Error lists every problem found in a project file, one line each.
type Error struct {
	Problems []string
}

func (e *Error) Error() string { return strings.Join(e.Problems, "\n") }

// Load reads, interpolates and validates a project file. lookup reads the
// environment (os.LookupEnv). A returned *Error lists every problem.
func Load(path string, lookup func(string) (string, bool)) (*Project, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Problems: []string{fmt.Sprintf("reading the project file: %v (write one with `singer init`, or pass --project FILE)", err)}}
	}
	return Parse(path, src, lookup)
}

// Parse is Load on bytes already read; path names the file in messages.
func Parse(path string, src []byte, lookup func(string) (string, bool)) (*Project, error) {
	name := filepath.Base(path)
	src, exprs := shield(src)
	file, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, &Error{Problems: []string{name + ": " + oneLine(yaml.FormatError(err, false, false))}}
	}
	if len(file.Docs) != 1 || file.Docs[0].Body == nil {
		return nil, &Error{Problems: []string{name + ": the project file must hold one YAML document (connectors, pipelines, state)"}}
	}
	body := file.Docs[0].Body
	var problems []string
	doc := toValue(body, func(n ast.Node, s string, quoted bool) any {
		s = unshield(s, exprs)
		out, perr := interpolate(s, lookup)
		if perr != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %v", name, line(n), perr))
			return s
		}
		if !quoted && out != s && s != "" && strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") && strings.Count(s, "${") == 1 {
			// `port: ${PORT}` keeps the type YAML would have given the value.
			if i, err := strconv.ParseInt(out, 10, 64); err == nil {
				return json.Number(strconv.FormatInt(i, 10))
			}
			if b, err := strconv.ParseBool(out); err == nil && (out == "true" || out == "false") {
				return b
			}
		}
		return out
	}, &problems, name)
	problems = append(problems, validate(doc, body, name)...)
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return build(path, doc, body)
}

// shield replaces each ${...} with a placeholder YAML reads as a plain
// scalar anywhere (`{password: ${PW}}` is not valid YAML as written: `{`
// is a flow indicator), keeping lines and columns; unshield puts the
// expression back inside a parsed string before it is interpolated.
func shield(src []byte) ([]byte, []string) {
	var exprs []string
	var out bytes.Buffer
	for i := 0; i < len(src); i++ {
		if src[i] == '$' && i+1 < len(src) && src[i+1] == '$' {
			out.WriteString("$$")
			i++
			continue
		}
		if src[i] == '$' && i+1 < len(src) && src[i+1] == '{' {
			end := bytes.IndexByte(src[i:], '}')
			if end > 0 && bytes.IndexByte(src[i:i+end], '\n') < 0 {
				exprs = append(exprs, string(src[i:i+end+1]))
				out.WriteString(fmt.Sprintf("__singer_var_%d__", len(exprs)-1))
				i += end
				continue
			}
		}
		out.WriteByte(src[i])
	}
	return out.Bytes(), exprs
}

func unshield(s string, exprs []string) string {
	if !strings.Contains(s, "__singer_var_") {
		return s
	}
	for i := len(exprs) - 1; i >= 0; i-- {
		s = strings.ReplaceAll(s, fmt.Sprintf("__singer_var_%d__", i), exprs[i])
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func line(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

// toValue turns the YAML tree into JSON-like values (map[string]any, []any,
// json.Number, string, bool, nil); str is called for every string scalar.
func toValue(n ast.Node, str func(ast.Node, string, bool) any, problems *[]string, name string) any {
	switch v := n.(type) {
	case *ast.DocumentNode:
		return toValue(v.Body, str, problems, name)
	case *ast.TagNode:
		return toValue(v.Value, str, problems, name)
	case *ast.AnchorNode:
		return toValue(v.Value, str, problems, name)
	case *ast.CommentGroupNode:
		return nil
	case *ast.MappingNode:
		m := map[string]any{}
		for _, mv := range v.Values {
			addPair(m, mv, str, problems, name)
		}
		return m
	case *ast.MappingValueNode:
		m := map[string]any{}
		addPair(m, v, str, problems, name)
		return m
	case *ast.SequenceNode:
		out := make([]any, 0, len(v.Values))
		for _, e := range v.Values {
			out = append(out, toValue(e, str, problems, name))
		}
		return out
	case *ast.NullNode:
		return nil
	case *ast.BoolNode:
		return v.Value
	case *ast.IntegerNode:
		return json.Number(v.GetToken().Value)
	case *ast.FloatNode:
		return json.Number(strconv.FormatFloat(v.Value, 'g', -1, 64))
	case *ast.StringNode:
		tk := v.GetToken()
		quoted := tk != nil && (tk.Type.String() == "DoubleQuote" || tk.Type.String() == "SingleQuote")
		return str(v, v.Value, quoted)
	case *ast.LiteralNode:
		return str(v, v.Value.Value, true)
	case *ast.AliasNode:
		*problems = append(*problems, fmt.Sprintf("%s:%d: YAML aliases are not supported in the project file; repeat the value", name, line(v)))
		return nil
	case ast.ScalarNode:
		return str(n, fmt.Sprint(v.GetValue()), false)
	}
	*problems = append(*problems, fmt.Sprintf("%s:%d: unsupported YAML construct", name, line(n)))
	return nil
}

func addPair(m map[string]any, mv *ast.MappingValueNode, str func(ast.Node, string, bool) any, problems *[]string, name string) {
	key := mv.Key.GetToken().Value
	if _, dup := m[key]; dup {
		*problems = append(*problems, fmt.Sprintf("%s:%d: key %q appears twice", name, line(mv.Key), key))
	}
	m[key] = toValue(mv.Value, str, problems, name)
}

// interpolate replaces ${VAR} and ${VAR:-default}; $$ is a literal $.
func interpolate(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if s[i+1] != '{' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unclosed ${ in a value (write ${NAME} or ${NAME:-default}; $$ for a literal $)")
		}
		expr := s[i+2 : i+end]
		varName, def, hasDef := strings.Cut(expr, ":-")
		if !validVarName(varName) {
			return "", fmt.Errorf("${%s} is not a variable name (write ${NAME} or ${NAME:-default})", expr)
		}
		val, ok := lookup(varName)
		switch {
		case ok && (val != "" || !hasDef):
			b.WriteString(val)
		case hasDef:
			b.WriteString(def)
		default:
			missing = append(missing, varName)
		}
		i += end
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set (export it, or write ${%s:-default})", strings.Join(missing, ", "), missing[0])
	}
	return b.String(), nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// validate checks doc against the embedded schema; each problem names the
// line of the value (or of its parent when the value is missing).
func validate(doc any, body ast.Node, name string) []string {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7
	if err := c.AddResource("singer-project.schema.json", bytes.NewReader(schemas.Get("singer-project.schema.json"))); err != nil {
		return []string{"project schema: " + err.Error()}
	}
	s, err := c.Compile("singer-project.schema.json")
	if err != nil {
		return []string{"project schema: " + err.Error()}
	}
	err = s.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []string{name + ": " + err.Error()}
	}
	type problem struct {
		line int
		msg  string
	}
	seen := map[string]bool{}
	var out []problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		loc := strings.TrimPrefix(e.InstanceLocation, "/")
		where := strings.ReplaceAll(loc, "/", ".")
		msg := e.Message
		if where != "" {
			msg = where + ": " + msg
		}
		ln := line(nodeAt(body, loc))
		key := fmt.Sprint(ln, msg)
		if seen[key] {
			return
		}
		seen[key] = true
		out = append(out, problem{ln, msg})
	}
	walk(ve)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].line != out[j].line {
			return out[i].line < out[j].line
		}
		return out[i].msg < out[j].msg
	})
	lines := make([]string, len(out))
	for i, p := range out {
		lines[i] = fmt.Sprintf("%s:%d: %s", name, p.line, p.msg)
	}
	return lines
}

// nodeAt finds the node at a JSON pointer, or the deepest existing parent.
func nodeAt(n ast.Node, pointer string) ast.Node {
	if pointer == "" {
		return n
	}
	for _, seg := range strings.Split(pointer, "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		next := child(n, seg)
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

func child(n ast.Node, seg string) ast.Node {
	switch v := n.(type) {
	case *ast.TagNode:
		return child(v.Value, seg)
	case *ast.AnchorNode:
		return child(v.Value, seg)
	case *ast.MappingNode:
		for _, mv := range v.Values {
			if mv.Key.GetToken().Value == seg {
				return mv.Value
			}
		}
	case *ast.MappingValueNode:
		if v.Key.GetToken().Value == seg {
			return v.Value
		}
	case *ast.SequenceNode:
		i, err := strconv.Atoi(seg)
		if err == nil && i >= 0 && i < len(v.Values) {
			return v.Values[i]
		}
	}
	return nil
}

// build turns the validated document into a Project; cross references
// (a pipeline naming a connector) are checked here.
func build(path string, doc any, body ast.Node) (*Project, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	root := doc.(map[string]any)
	p := &Project{Path: path, Dir: filepath.Dir(abs), Connectors: map[string]*Connector{}, Pipelines: map[string]*Pipeline{}, State: DefaultState}
	if s, ok := root["state"].(string); ok && s != "" {
		p.State = s
	}
	for name, raw := range root["connectors"].(map[string]any) {
		m := raw.(map[string]any)
		c := &Connector{Name: name, Command: m["command"].(string), Config: map[string]any{}, Metadata: map[string]map[string]any{}}
		for _, a := range asSlice(m["args"]) {
			c.Args = append(c.Args, a.(string))
		}
		if cfg, ok := m["config"].(map[string]any); ok {
			c.Config = cfg
		}
		if s, ok := m["catalog"].(string); ok {
			c.Catalog = s
		}
		for _, s := range asSlice(m["select"]) {
			c.Select = append(c.Select, s.(string))
		}
		if md, ok := m["metadata"].(map[string]any); ok {
			for k, v := range md {
				c.Metadata[k] = v.(map[string]any)
			}
		}
		p.Connectors[name] = c
	}
	var problems []string
	name := filepath.Base(path)
	for pname, raw := range root["pipelines"].(map[string]any) {
		m := raw.(map[string]any)
		pl := &Pipeline{Name: pname, Tap: m["tap"].(string), Target: m["target"].(string)}
		if s, ok := m["schedule"].(string); ok {
			pl.Schedule = s
		}
		if n, ok := m["retries"].(json.Number); ok {
			r, _ := n.Int64()
			pl.Retries = int(r)
		}
		if s, ok := m["timeout"].(string); ok {
			d, err := time.ParseDuration(s)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: pipelines.%s.timeout: %v", name, line(nodeAt(body, "pipelines/"+pname+"/timeout")), pname, err))
			}
			pl.Timeout = d
		}
		if mm, ok := m["maps"].(map[string]any); ok {
			s, err := streammap.SettingsFrom(mm)
			if err == nil {
				_, err = streammap.Compile(s)
			}
			var ce *config.Error
			switch {
			case errors.As(err, &ce):
				for _, pr := range ce.Problems {
					// The line of the map entry the problem names
					// (stream_maps.<stream>.<property>: ...).
					at, _, _ := strings.Cut(pr, ": ")
					at = strings.ReplaceAll(strings.ReplaceAll(at, "~", "~0"), "/", "~1")
					node := nodeAt(body, "pipelines/"+pname+"/maps/"+strings.ReplaceAll(at, ".", "/"))
					problems = append(problems, fmt.Sprintf("%s:%d: pipelines.%s.maps.%s", name, line(node), pname, pr))
				}
			case err != nil:
				problems = append(problems, fmt.Sprintf("%s:%d: pipelines.%s.maps: %v", name, line(nodeAt(body, "pipelines/"+pname+"/maps")), pname, err))
			case s.Active():
				pl.Maps = &s
			}
		}
		if c, ok := m["canary"].(map[string]any); ok {
			var cp []string
			pl.Canary, cp = buildCanary(name, body, pname, c, p.Connectors)
			problems = append(problems, cp...)
		}
		for _, ref := range []struct{ role, conn string }{{"tap", pl.Tap}, {"target", pl.Target}} {
			if _, ok := p.Connectors[ref.conn]; !ok {
				problems = append(problems, fmt.Sprintf("%s:%d: pipelines.%s.%s: no connector named %q (connectors: %s)", name, line(nodeAt(body, "pipelines/"+pname+"/"+ref.role)), pname, ref.role, ref.conn, strings.Join(p.ConnectorNames(), ", ")))
			}
		}
		p.Pipelines[pname] = pl
	}
	if len(problems) > 0 {
		sortByLine(problems)
		return nil, &Error{Problems: problems}
	}
	return p, nil
}

// buildCanary reads a pipeline's canary section; a problem names its line.
func buildCanary(name string, body ast.Node, pname string, m map[string]any, conns map[string]*Connector) (*Canary, []string) {
	at := func(ptr string) string {
		return fmt.Sprintf("%s:%d", name, line(nodeAt(body, "pipelines/"+pname+"/canary"+ptr)))
	}
	c := &Canary{Overdue: DefaultCanaryOverdue, Keep: DefaultCanaryKeep, Where: at("")}
	var problems []string
	c.Table, _ = m["table"].(string)
	c.Topic, _ = m["topic"].(string)
	if g, ok := m["gate"].(map[string]any); ok {
		c.Gate = &CanaryGate{}
		c.Gate.URL, _ = g["url"].(string)
		c.Gate.Token, _ = g["token"].(string)
		c.Gate.Topic, _ = g["topic"].(string)
	}
	n := 0
	for _, set := range []bool{c.Table != "", c.Topic != "", c.Gate != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		problems = append(problems, fmt.Sprintf("%s: pipelines.%s.canary: give one of table, topic or gate (a tracer is injected in one place)", at(""), pname))
	}
	if s, ok := m["overdue"].(string); ok {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Sprintf("%s: pipelines.%s.canary.overdue: %q is not a positive duration (write 30m, 2h)", at("/overdue"), pname, s))
		}
		c.Overdue = d
	}
	if n, ok := m["keep"].(json.Number); ok {
		k, _ := n.Int64()
		c.Keep = int(k)
	}
	for i, raw := range asSlice(m["destinations"]) {
		dm := raw.(map[string]any)
		ptr := fmt.Sprintf("/destinations/%d", i)
		d := CanaryDestination{Where: at(ptr)}
		d.Connector, _ = dm["connector"].(string)
		d.Table, _ = dm["table"].(string)
		d.File, _ = dm["file"].(string)
		if _, ok := conns[d.Connector]; !ok {
			problems = append(problems, fmt.Sprintf("%s: pipelines.%s.canary.destinations.%d.connector: no connector named %q", at(ptr+"/connector"), pname, i, d.Connector))
		}
		if d.Table != "" && d.File != "" {
			problems = append(problems, fmt.Sprintf("%s: pipelines.%s.canary.destinations.%d: give table or file, not both", at(ptr), pname, i))
		}
		c.Destinations = append(c.Destinations, d)
	}
	return c, problems
}

// sortByLine orders "FILE:LINE: ..." problems by line number (line 9
// before line 12), then by text.
func sortByLine(problems []string) {
	num := func(s string) int {
		_, rest, _ := strings.Cut(s, ":")
		n, _ := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, ':'))])
		return n
	}
	sort.SliceStable(problems, func(i, j int) bool {
		a, b := num(problems[i]), num(problems[j])
		if a != b {
			return a < b
		}
		return problems[i] < problems[j]
	})
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// ConnectorNames returns the connector names, sorted.
func (p *Project) ConnectorNames() []string {
	out := make([]string, 0, len(p.Connectors))
	for n := range p.Connectors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// PipelineNames returns the pipeline names, sorted.
func (p *Project) PipelineNames() []string {
	out := make([]string, 0, len(p.Pipelines))
	for n := range p.Pipelines {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

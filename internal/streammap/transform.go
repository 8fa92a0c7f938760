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

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/singerkit/singerkit/singer"
)

// This file applies a compiled Mapper to messages: a SCHEMA is rewritten
// once per stream into a plan, and each RECORD follows the plan, reading
// its members in place and copying the values no expression touches byte
// for byte.

// Mapper applies stream maps and flattening to a Singer stream. It keeps
// state per stream (the plans made from each SCHEMA) and is used by one
// goroutine.
type Mapper struct {
	exact    map[string]*streamMap
	globs    []*streamMap
	sources  map[string][]*streamMap
	dropped  map[string]bool
	elseDrop bool
	flatten  int
	config   map[string]any
	streams  map[string]*inputStream

	// Warn receives warnings (a bookmark property a map removed); nil
	// discards them.
	Warn func(string)

	vm      vm.VM
	row     *RowMap // mapping values (RowMap.Map): the record is its row
	members []member
	scanned bool // members hold the current record's
	values  []any
	rec     []byte
	line    []byte
}

// inputStream is what a stream of the input turns into: zero or more
// output streams.
type inputStream struct {
	name    string
	outputs []*output
	row     *RowMap // the sink maps its records on values (RowSink)
}

// output is one stream written for an input stream.
type output struct {
	name     string
	sm       *streamMap // nil: the stream passes as it is (flattened if asked)
	keys     []string   // key properties after the map (kept by __else__: null)
	flat     map[string]int
	identity bool // neither map nor flattening changes the records
	// what the map did to the members of the last records, by position
	seenKeys []string
	seenActs []memberAction
}

// Config error prefix for problems found when a SCHEMA arrives.
func schemaProblem(format string, args ...any) error {
	return &SchemaError{Msg: fmt.Sprintf(format, args...)}
}

// SchemaError is a map that does not fit a stream's SCHEMA (it reads a
// property the stream does not have, or removes a key property): a
// config mistake found when the SCHEMA arrives. Binaries exit 2 on it.
type SchemaError struct{ Msg string }

func (e *SchemaError) Error() string { return e.Msg }

// ExitCode makes a SchemaError a usage error (exit 2) for the command line.
func (e *SchemaError) ExitCode() int { return 2 }

// Emitter is where mapped messages go: *singer.Encoder.
type Emitter interface {
	WriteSchema(singer.SchemaMessage) error
	WriteState(json.RawMessage) error
	WriteActivateVersion(stream string, version int64) error
	WriteRaw(line []byte) error
}

// Apply maps one decoded message and writes the result to out.
func (m *Mapper) Apply(msg *singer.Message, out Emitter) error {
	return m.apply(msg, out, nil)
}

// apply is Apply for a decoder with OpenRecords: a RECORD left open is
// scanned once, here, and finish (the decoder's FinishRecord) reads the
// rest of its envelope.
func (m *Mapper) apply(msg *singer.Message, out Emitter, finish func(n int) error) error {
	switch msg.Type {
	case singer.TypeSchema:
		return m.schema(msg, out)
	case singer.TypeRecord:
		m.scanned = false
		in := m.streams[msg.Stream]
		if in == nil {
			return fmt.Errorf("line %d: RECORD for stream %q before its SCHEMA", msg.Line, msg.Stream)
		}
		if msg.RecordOpen {
			if finish == nil {
				return fmt.Errorf("line %d: RECORD for stream %q was left open by the decoder", msg.Line, msg.Stream)
			}
			end := -1
			var err error
			if m.needsMembers(in) {
				if m.members, end, err = scanMembers(m.members[:0], msg.Record); err != nil {
					return fmt.Errorf("line %d: RECORD for stream %q: %v", msg.Line, in.name, err)
				}
				m.scanned = true
			} else {
				end = valueEnd(msg.Record, 0)
			}
			if err := finish(end); err != nil {
				return err
			}
		}
		for _, o := range in.outputs {
			if err := m.record(msg, in, o, out); err != nil {
				return err
			}
		}
		return nil
	case singer.TypeState:
		return out.WriteState(msg.Value)
	case singer.TypeActivateVersion:
		in := m.streams[msg.Stream]
		if in == nil {
			return out.WriteRaw(msg.Raw)
		}
		for _, o := range in.outputs {
			if err := out.WriteActivateVersion(o.name, msg.Version); err != nil {
				return err
			}
		}
		return nil
	case singer.TypeBatch:
		in := m.streams[msg.Stream]
		if in == nil {
			return out.WriteRaw(msg.Raw)
		}
		for _, o := range in.outputs {
			if !o.identity || o.name != in.name {
				return fmt.Errorf("line %d: BATCH for stream %q: its records are in files that stream maps cannot rewrite; send them as RECORD messages (no batch_config) or map the stream downstream", msg.Line, msg.Stream)
			}
			if err := out.WriteRaw(msg.Raw); err != nil {
				return err
			}
		}
		return nil
	}
	return out.WriteRaw(msg.Raw)
}

// needsMembers tells whether a record of the stream is read member by
// member (some output is not the record as it is).
func (m *Mapper) needsMembers(in *inputStream) bool {
	for _, o := range in.outputs {
		if !o.identity {
			return true
		}
	}
	return false
}

// mapsFor returns the maps an input stream goes through: its primary map
// (or nil for none, passing it as it is) unless the stream is dropped,
// and the maps that copy it with __source__.
func (m *Mapper) mapsFor(stream string) (primary *streamMap, keep bool, copies []*streamMap, err error) {
	copies = m.sources[stream]
	if sm, ok := m.exact[stream]; ok {
		return sm, true, copies, nil
	}
	if m.dropped[stream] {
		return nil, false, copies, nil
	}
	var matched []string
	for _, sm := range m.globs {
		if ok, _ := path.Match(sm.key, stream); ok {
			matched = append(matched, sm.key)
			primary = sm
		}
	}
	for k := range m.dropped {
		if isGlob(k) {
			if ok, _ := path.Match(k, stream); ok {
				matched = append(matched, k)
				primary = nil
			}
		}
	}
	switch {
	case len(matched) > 1:
		sort.Strings(matched)
		return nil, false, nil, schemaProblem("stream_maps: stream %q matches %s: add a map for it by its exact name", stream, quoteList(matched))
	case len(matched) == 1:
		return primary, primary != nil, copies, nil
	}
	return nil, !m.elseDrop, copies, nil
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, " and ")
}

// schema rewrites a SCHEMA message for each output of its stream.
func (m *Mapper) schema(msg *singer.Message, out Emitter) error {
	primary, keep, copies, err := m.mapsFor(msg.Stream)
	if err != nil {
		return err
	}
	in := &inputStream{name: msg.Stream}
	props, top, err := schemaProperties(msg.Schema)
	if err != nil {
		return fmt.Errorf("line %d: SCHEMA for stream %q: %v", msg.Line, msg.Stream, err)
	}
	var maps []*streamMap
	if keep {
		maps = append(maps, primary)
	}
	maps = append(maps, copies...)
	for i, sm := range maps {
		if i == 0 && keep && sm == nil && m.flatten == 0 {
			// No map, no flattening: the stream passes untouched.
			in.outputs = append(in.outputs, &output{name: msg.Stream, identity: true})
			if err := out.WriteRaw(msg.Raw); err != nil {
				return err
			}
			continue
		}
		o, sch, err := m.plan(msg, sm, props, top)
		if err != nil {
			return err
		}
		in.outputs = append(in.outputs, o)
		if err := out.WriteSchema(sch); err != nil {
			return err
		}
	}
	m.streams[msg.Stream] = in
	return nil
}

// schemaProperties returns the members of a schema's "properties" in
// order, and the schema's own members.
func schemaProperties(raw []byte) (props, top []member, err error) {
	top, err = orderedMembers(raw)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range top {
		if t.key == "properties" {
			props, err = orderedMembers(t.raw)
			if err != nil {
				return nil, nil, fmt.Errorf(`"properties": %v`, err)
			}
		}
	}
	return props, top, nil
}

// plan makes the output of one map (sm, or nil for flattening alone) over
// a stream, and its SCHEMA message.
func (m *Mapper) plan(msg *singer.Message, sm *streamMap, props, top []member) (*output, singer.SchemaMessage, error) {
	stream := msg.Stream
	o := &output{name: stream, sm: sm}
	where := "stream_maps"
	if sm != nil {
		where = "stream_maps." + sm.key
		switch {
		case sm.source != "":
			o.name = sm.key
		case sm.aliasProg != nil:
			sm.env[varStreamName] = stream
			v, err := m.vm.Run(sm.aliasProg.prog, sm.env)
			s, ok := v.(string)
			if err != nil || !ok || s == "" {
				return nil, singer.SchemaMessage{}, schemaProblem("%s.__alias__: %q gives no stream name for stream %q (%v)", where, sm.aliasProg.src, stream, err)
			}
			o.name = s
		case sm.alias != "":
			o.name = sm.alias
		}
	}
	has := map[string]json.RawMessage{}
	for _, p := range props {
		has[p.key] = p.raw
	}
	// An exact map may only read properties the stream has: a typo is
	// found here, not as a column of nulls. A glob map applies to streams
	// that may lack some (they read as null).
	if sm != nil && !sm.glob && hasMember(top, "properties") {
		var unknown []string
		for _, v := range append(append([]string{}, sm.vars...), sm.raws...) {
			if _, ok := has[v]; !ok {
				unknown = append(unknown, v)
			}
		}
		for _, p := range sm.props {
			if p.copyFrom != "" {
				if _, ok := has[p.copyFrom]; !ok {
					unknown = append(unknown, p.copyFrom)
				}
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return nil, singer.SchemaMessage{}, schemaProblem("%s: stream %q has no property %s (its SCHEMA has %s)", where, stream, quoteList(dedupe(unknown)), strings.Join(memberKeys(props), ", "))
		}
	}
	// Keys: the override, or the stream's own keys followed through
	// renames.
	keys := append([]string(nil), msg.KeyProperties...)
	if sm != nil && sm.hasKeys {
		keys = append([]string(nil), sm.keyProps...)
	}
	o.keys = keys
	// The properties of the output, in the order of the input schema,
	// then the new ones by name.
	var outProps []member
	named := map[string]bool{}
	for _, p := range props {
		if sm != nil {
			if pm := sm.byName[p.key]; pm != nil {
				named[p.key] = true
				if pm.drop {
					continue
				}
				outProps = append(outProps, member{key: p.key, raw: m.propSchema(pm, has)})
				continue
			}
			if sm.elseDrop && !contains(keys, p.key) {
				continue
			}
		}
		outProps = append(outProps, p)
	}
	if sm != nil {
		for _, pm := range sm.props {
			if named[pm.name] || pm.drop {
				continue
			}
			outProps = append(outProps, member{key: pm.name, raw: m.propSchema(pm, has)})
		}
	}
	present := map[string]bool{}
	for _, p := range outProps {
		present[p.key] = true
	}
	if sm == nil || !sm.hasKeys {
		for i, k := range keys {
			if present[k] {
				continue
			}
			if r := renamedTo(sm, k); r != "" {
				keys[i] = r
				continue
			}
			return nil, singer.SchemaMessage{}, schemaProblem("%s: the map removes key property %q of stream %q: keep it, rename it with a copy (\"new_name\": %q), or set __key_properties__ (a list, or [] for none)", where, k, stream, k)
		}
	} else {
		for _, k := range keys {
			if !present[k] {
				return nil, singer.SchemaMessage{}, schemaProblem("%s.__key_properties__: %q is not a property of the mapped stream %q", where, k, o.name)
			}
		}
	}
	var bookmarks []string
	for _, b := range msg.BookmarkProperties {
		switch {
		case present[b]:
			bookmarks = append(bookmarks, b)
		case renamedTo(sm, b) != "":
			bookmarks = append(bookmarks, renamedTo(sm, b))
		default:
			if m.Warn != nil {
				m.Warn(fmt.Sprintf("%s: the map removes bookmark property %q of stream %q: it is left out of bookmark_properties", where, b, stream))
			}
		}
	}
	// Flattening.
	if m.flatten > 0 {
		o.flat = map[string]int{}
		var err error
		if outProps, err = flattenSchema(outProps, "", 0, m.flatten, o.flat); err != nil {
			return nil, singer.SchemaMessage{}, schemaProblem("flattening stream %q: %v", stream, err)
		}
		if len(o.flat) == 0 {
			o.flat = nil
		}
	}
	o.identity = (sm == nil || sm.identity()) && o.flat == nil && o.name == stream
	// The schema: its members in order, properties and required replaced.
	final := map[string]bool{}
	for _, p := range outProps {
		final[p.key] = true
	}
	newTop := make([]member, 0, len(top)+1)
	hadProps := false
	for _, t := range top {
		switch t.key {
		case "properties":
			hadProps = true
			newTop = append(newTop, member{key: t.key, raw: appendObject(nil, outProps)})
		case "required":
			var req []string
			if json.Unmarshal(t.raw, &req) == nil {
				kept := []string{}
				for _, r := range req {
					if final[r] {
						kept = append(kept, r)
					}
				}
				b, _ := json.Marshal(kept)
				newTop = append(newTop, member{key: t.key, raw: b})
				continue
			}
			newTop = append(newTop, t)
		default:
			newTop = append(newTop, t)
		}
	}
	if !hadProps && len(outProps) > 0 {
		newTop = append(newTop, member{key: "properties", raw: appendObject(nil, outProps)})
	}
	if keys == nil {
		keys = []string{}
	}
	o.keys = keys
	return o, singer.SchemaMessage{Stream: o.name, Schema: appendObject(nil, newTop), KeyProperties: keys, BookmarkProperties: bookmarks}, nil
}

// identity tells whether a map leaves records as they are (an alias or a
// __source__ copy alone).
func (sm *streamMap) identity() bool {
	return sm.filter == nil && len(sm.props) == 0 && !sm.elseDrop
}

// renamedTo returns the one property of the map that copies prop, or "".
func renamedTo(sm *streamMap, prop string) string {
	if sm == nil {
		return ""
	}
	found := ""
	for _, pm := range sm.props {
		if pm.copyFrom == prop {
			if found != "" {
				return "" // copied twice: which is the key is for the user to say
			}
			found = pm.name
		}
	}
	return found
}

func hasMember(ms []member, key string) bool {
	for _, m := range ms {
		if m.key == key {
			return true
		}
	}
	return false
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func dedupe(ss []string) []string {
	var out []string
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func memberKeys(ms []member) []string {
	ks := make([]string, len(ms))
	for i, m := range ms {
		ks[i] = m.key
	}
	return ks
}

// propSchema is the JSON Schema of a mapped property: declared, the
// source's for a copy, from the expression's result type, or (as in the
// Meltano SDK) the property's own schema when it existed, else a string.
func (m *Mapper) propSchema(pm *propMap, has map[string]json.RawMessage) json.RawMessage {
	if pm.declared != nil {
		return pm.declared
	}
	if pm.copyFrom != "" {
		if s, ok := has[pm.copyFrom]; ok {
			return s
		}
		return json.RawMessage(`{"type":["string","null"]}`)
	}
	if typ := pm.prog.typeWith(has); typ != nil {
		switch typ.Kind() {
		case reflect.String:
			if typ == reflect.TypeOf(Decimal("")) {
				return json.RawMessage(`{"type":["number","null"]}`)
			}
			return json.RawMessage(`{"type":["string","null"]}`)
		case reflect.Int, reflect.Int64, reflect.Int32:
			return json.RawMessage(`{"type":["integer","null"]}`)
		case reflect.Float64, reflect.Float32:
			return json.RawMessage(`{"type":["number","null"]}`)
		case reflect.Bool:
			return json.RawMessage(`{"type":["boolean","null"]}`)
		case reflect.Slice, reflect.Array:
			// An array computed from the property itself (a filter of
			// it) keeps the property's schema, items included.
			if own, ok := has[pm.name]; ok && schemaHasType(own, "array") {
				return own
			}
			return json.RawMessage(`{"type":["array","null"]}`)
		case reflect.Map:
			if own, ok := has[pm.name]; ok && schemaHasType(own, "object") {
				return own
			}
			return json.RawMessage(`{"type":["object","null"]}`)
		}
	}
	if s, ok := has[pm.name]; ok {
		return s
	}
	return json.RawMessage(`{"type":["string","null"]}`)
}

// flattenSchema replaces object properties that have "properties" by
// their children (parent__child), up to maxDepth levels. flat records the
// prefixes flattened (the path with "__", and its depth).
func flattenSchema(props []member, prefix string, depth, maxDepth int, flat map[string]int) ([]member, error) {
	var out []member
	seen := map[string]bool{}
	for _, p := range props {
		name := prefix + p.key
		var s struct {
			Type       any             `json:"type"`
			Properties json.RawMessage `json:"properties"`
		}
		_ = json.Unmarshal(p.raw, &s)
		if depth < maxDepth && hasType(s.Type, "object") && len(s.Properties) > 0 {
			children, err := orderedMembers(s.Properties)
			if err != nil {
				return nil, fmt.Errorf("property %q: %v", name, err)
			}
			flat[name] = depth
			sub, err := flattenSchema(children, name+"__", depth+1, maxDepth, flat)
			if err != nil {
				return nil, err
			}
			for _, c := range sub {
				if seen[c.key] {
					return nil, fmt.Errorf("two properties flatten to %q", c.key)
				}
				seen[c.key] = true
				out = append(out, member{key: c.key, raw: nullable(c.raw)})
			}
			continue
		}
		if seen[name] {
			return nil, fmt.Errorf("two properties flatten to %q", name)
		}
		seen[name] = true
		out = append(out, member{key: name, raw: p.raw})
	}
	if prefix != "" {
		// children are keyed by their full name already
		return out, nil
	}
	return out, nil
}

// nullable makes a flattened child's schema accept null: a parent that is
// null or lacks the child leaves it out.
func nullable(raw []byte) []byte {
	var s map[string]any
	if json.Unmarshal(raw, &s) != nil {
		return raw
	}
	switch t := s["type"].(type) {
	case string:
		if t != "null" {
			s["type"] = []any{t, "null"}
		}
	case []any:
		for _, x := range t {
			if x == "null" {
				return raw
			}
		}
		s["type"] = append(t, "null")
	default:
		return raw
	}
	ms, err := orderedMembers(raw)
	if err != nil {
		return raw
	}
	for i := range ms {
		if ms[i].key == "type" {
			ms[i].raw, _ = json.Marshal(s["type"])
		}
	}
	return appendObject(nil, ms)
}

func schemaHasType(raw json.RawMessage, want string) bool {
	var s struct {
		Type any `json:"type"`
	}
	return json.Unmarshal(raw, &s) == nil && hasType(s.Type, want)
}

func hasType(t any, want string) bool {
	switch t := t.(type) {
	case string:
		return t == want
	case []any:
		for _, x := range t {
			if x == want {
				return true
			}
		}
	}
	return false
}

// record writes one RECORD for one output.
func (m *Mapper) record(msg *singer.Message, in *inputStream, o *output, out Emitter) error {
	if o.identity {
		if o.name == in.name {
			return out.WriteRaw(msg.Raw)
		}
		return m.writeRecord(msg, o.name, msg.Record, out)
	}
	var err error
	if !m.scanned {
		if m.members, _, err = scanMembers(m.members[:0], msg.Record); err != nil {
			return fmt.Errorf("line %d: RECORD for stream %q: %v", msg.Line, in.name, err)
		}
		m.scanned = true
	}
	sm := o.sm
	rec := append(m.rec[:0], '{')
	n := 0
	if sm == nil {
		for _, mb := range m.members {
			if rec, n, err = m.appendMember(rec, n, o, mb.key, mb.lit, mb.raw); err != nil {
				return fmt.Errorf("line %d: RECORD for stream %q: %v", msg.Line, in.name, err)
			}
		}
		m.rec = append(rec, '}')
		return m.writeRecord(msg, o.name, m.rec, out)
	}
	envReady := false
	if sm.filter != nil {
		v, err := m.eval(sm, in.name, sm.filter, "", &envReady)
		if err != nil {
			return m.runError(msg, in, sm, opFilter, sm.filter, err)
		}
		if keep, _ := v.(bool); !keep {
			return nil
		}
	}
	// Evaluate every computed property against the input record first:
	// each sees the record as it came.
	if cap(m.values) < len(sm.props) {
		m.values = make([]any, len(sm.props))
	}
	values := m.values[:len(sm.props)]
	for i, pm := range sm.props {
		values[i] = nil
		if pm.prog == nil {
			continue
		}
		v, err := m.eval(sm, in.name, pm.prog, pm.name, &envReady)
		if err != nil {
			return m.runError(msg, in, sm, pm.name, pm.prog, err)
		}
		values[i] = v
	}
	done := uint64(0) // which of the first 64 props were written in place
	var doneMore map[string]bool
	for j, mb := range m.members {
		act := o.action(j, mb.key)
		if act.pm == nil {
			if act.drop {
				continue
			}
			if rec, n, err = m.appendMember(rec, n, o, mb.key, mb.lit, mb.raw); err != nil {
				return fmt.Errorf("line %d: RECORD for stream %q: %v", msg.Line, in.name, err)
			}
			continue
		}
		pm := act.pm
		if pm.drop {
			continue
		}
		i := pm.index
		if i < 64 {
			done |= 1 << i
		} else {
			if doneMore == nil {
				doneMore = map[string]bool{}
			}
			doneMore[pm.name] = true
		}
		if rec, n, err = m.appendComputed(rec, n, o, pm, values[i]); err != nil {
			return m.runError(msg, in, sm, pm.name, pm.prog, err)
		}
	}
	for i, pm := range sm.props {
		if pm.drop || (i < 64 && done&(1<<i) != 0) || doneMore[pm.name] {
			continue
		}
		if rec, n, err = m.appendComputed(rec, n, o, pm, values[i]); err != nil {
			return m.runError(msg, in, sm, pm.name, pm.prog, err)
		}
	}
	m.rec = append(rec, '}')
	return m.writeRecord(msg, o.name, m.rec, out)
}

// memberAction is what a map does to a member of the input record.
type memberAction struct {
	pm   *propMap // the map's entry for it, or nil
	drop bool     // no entry, and __else__: null drops it
}

// action returns what the map does to the j-th member of a record, named
// key. Records of a stream mostly list their members in the same order, so
// the answer for each position is kept and checked with one comparison.
func (o *output) action(j int, key string) memberAction {
	if j < len(o.seenKeys) && o.seenKeys[j] == key {
		return o.seenActs[j]
	}
	act := memberAction{pm: o.sm.byName[key]}
	if act.pm == nil && o.sm.elseDrop && !contains(o.keys, key) {
		act.drop = true
	}
	if j <= len(o.seenKeys) && j < 256 {
		k := strings.Clone(key) // key may be a view of the input line
		if j == len(o.seenKeys) {
			o.seenKeys = append(o.seenKeys, k)
			o.seenActs = append(o.seenActs, act)
		} else {
			o.seenKeys[j], o.seenActs[j] = k, act
		}
	}
	return act
}

// eval runs one program on the current record: natively when it can, else
// in the VM with the environment filled (once per record).
func (m *Mapper) eval(sm *streamMap, stream string, p *program, prop string, envReady *bool) (any, error) {
	if p.native != nil {
		v, err := p.native(m)
		if err != errFallback {
			return v, err
		}
	}
	if !*envReady {
		if err := m.fillEnv(sm, stream); err != nil {
			return nil, err
		}
		*envReady = true
	}
	if sm.self {
		sm.env[varSelf] = nil
		if prop != "" {
			v, err := m.lookup(prop)
			if err != nil {
				return nil, fmt.Errorf("property %q: %v", prop, err)
			}
			sm.env[varSelf] = v
		}
	}
	return m.vm.Run(p.prog, sm.env)
}

// lookup returns the value of a property of the current record, as
// expressions see it; nil when the record lacks it.
func (m *Mapper) lookup(key string) (any, error) {
	if m.row != nil {
		return m.row.lookup(key)
	}
	r := m.find(key)
	if r == nil {
		return nil, nil
	}
	return decodeValue(r)
}

// find returns the raw value of a member of the current record, or nil.
func (m *Mapper) find(key string) []byte {
	for _, mb := range m.members {
		if mb.key == key {
			return mb.raw
		}
	}
	return nil
}

// fillEnv sets the variables of a map's expressions from the current
// record.
func (m *Mapper) fillEnv(sm *streamMap, stream string) error {
	env := sm.env
	env[varStreamName] = stream
	for _, v := range sm.vars {
		x, err := m.lookup(v)
		if err != nil {
			return fmt.Errorf("property %q: %v", v, err)
		}
		env[v] = x
	}
	for _, v := range sm.raws {
		x, err := m.rawValue(v)
		if err != nil {
			return fmt.Errorf("property %q: %v", v, err)
		}
		env[rawPrefix+v] = x
	}
	if sm.record {
		rec := make(map[string]any, len(m.members))
		for _, mb := range m.members {
			x, err := decodeValue(mb.raw)
			if err != nil {
				return fmt.Errorf("property %q: %v", mb.key, err)
			}
			rec[mb.key] = x
		}
		env[varRecord] = rec
		env[varRecordLong] = rec
	}
	return nil
}

func (m *Mapper) runError(msg *singer.Message, in *inputStream, sm *streamMap, prop string, p *program, err error) error {
	text := err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		text = fe.Message
	}
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	src := ""
	if p != nil {
		src = fmt.Sprintf(" %q", p.src)
	}
	return fmt.Errorf("line %d: RECORD for stream %q: stream_maps.%s.%s%s: %s", msg.Line, in.name, sm.key, prop, src, text)
}

// appendComputed writes a mapped property's value.
func (m *Mapper) appendComputed(rec []byte, n int, o *output, pm *propMap, v any) ([]byte, int, error) {
	if pm.copyFrom != "" {
		raw := m.find(pm.copyFrom)
		if raw == nil {
			raw = []byte("null")
		}
		return m.appendMember(rec, n, o, pm.name, pm.lit, raw)
	}
	if o.flat == nil {
		if n > 0 {
			rec = append(rec, ',')
		}
		rec = append(rec, pm.lit...)
		rec = append(rec, ':')
		rec, err := appendValue(rec, v)
		return rec, n + 1, err
	}
	b, err := appendValue(nil, v)
	if err != nil {
		return rec, n, err
	}
	return m.appendMember(rec, n, o, pm.name, pm.lit, b)
}

// rawKind names the JSON type of a raw value, not its content.
func rawKind(raw []byte) string {
	switch raw[0] {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	case 'n':
		return "null"
	}
	return "a number"
}

// appendMember writes one member, flattening it when its schema says so.
func (m *Mapper) appendMember(rec []byte, n int, o *output, key string, lit, raw []byte) ([]byte, int, error) {
	if o.flat != nil {
		if _, ok := o.flat[key]; ok {
			if raw[0] == 'n' {
				return rec, n, nil // a null parent: its children are absent
			}
			if raw[0] != '{' {
				return rec, n, fmt.Errorf("property %q is flattened (its schema is an object) but holds %s", key, rawKind(raw))
			}
			children, _, err := scanMembers(nil, raw)
			if err != nil {
				return rec, n, err
			}
			for _, c := range children {
				if rec, n, err = m.appendMember(rec, n, o, key+"__"+c.key, nil, c.raw); err != nil {
					return rec, n, err
				}
			}
			return rec, n, nil
		}
	}
	if n > 0 {
		rec = append(rec, ',')
	}
	if lit != nil {
		rec = append(rec, lit...)
	} else {
		rec = singer.AppendJSONString(rec, key)
	}
	rec = append(rec, ':')
	rec = append(rec, raw...)
	return rec, n + 1, nil
}

// writeRecord writes a RECORD with the input's version and
// time_extracted (as written).
func (m *Mapper) writeRecord(msg *singer.Message, stream string, rec []byte, out Emitter) error {
	if ok, err := writeRecordTo(out, msg, stream, rec); ok {
		return err
	}
	b := append(m.line[:0], `{"type":"RECORD","stream":`...)
	b = singer.AppendJSONString(b, stream)
	b = append(b, `,"record":`...)
	b = append(b, rec...)
	if msg.HasVersion {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, msg.Version, 10)
	}
	if msg.TimeExtracted != nil {
		b = append(b, `,"time_extracted":`...)
		b = singer.AppendJSONBytes(b, msg.TimeExtracted)
	}
	b = append(b, '}')
	m.line = b
	return out.WriteRaw(b)
}

package gate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"

	"github.com/valyala/fastjson"

	"github.com/singerkit/singerkit/singer"
)

// importRecord is a record of either Import API shape: a batch's message
// (action, sequence, data) or a push's record (which adds table_name,
// key_names and client_id, ignored), as read from the body.
type importRecord struct {
	bad       bool // a problem of its shape was added
	tableName string
	hasTable  bool
	action    []byte
	hasAction bool
	sequence  []byte // the number's text; nil when absent or not a number
	seqBad    bool   // present but not a number
	data      []byte // the object, compact; nil when absent or not an object
	keyNames  []string
}

// readRecord reads one record of the body; push records carry their
// table and keys.
// The compact JSON texts it keeps are appended to *arena, one buffer for
// the request's records instead of one growing slice each.
func readRecord(v *fastjson.Value, n int, push bool, ps *problems, arena *[]byte) importRecord {
	var r importRecord
	compact := func(x *fastjson.Value) []byte {
		s := len(*arena)
		*arena = x.MarshalTo(*arena)
		return (*arena)[s:len(*arena):len(*arena)]
	}
	if v.Type() != fastjson.TypeObject {
		ps.add("", n, "a record must be a JSON object")
		r.bad = true
		return r
	}
	if push {
		if t := v.Get("table_name"); t != nil {
			if t.Type() != fastjson.TypeString {
				ps.add("", n, "table_name must be a string")
				r.bad = true
			} else {
				r.tableName, r.hasTable = string(t.GetStringBytes()), true
			}
		}
		if k := v.Get("key_names"); k != nil {
			keys, ok := stringArray(k)
			if !ok {
				ps.add(r.tableName, n, "key_names must be an array of strings")
				r.bad = true
			}
			r.keyNames = keys
		}
	}
	if a := v.Get("action"); a != nil {
		if a.Type() != fastjson.TypeString {
			r.action, r.hasAction = compact(a), true
		} else {
			r.action, r.hasAction = a.GetStringBytes(), true
		}
	}
	if q := v.Get("sequence"); q != nil {
		r.seqBad = q.Type() != fastjson.TypeNumber
		r.sequence = compact(q)
	}
	if d := v.Get("data"); d != nil && d.Type() == fastjson.TypeObject {
		r.data = compact(d)
	}
	return r
}

// stringArray reads an array of strings.
func stringArray(v *fastjson.Value) ([]string, bool) {
	if v.Type() == fastjson.TypeNull {
		return nil, true
	}
	items, err := v.Array()
	if err != nil {
		return nil, false
	}
	out := make([]string, len(items))
	for i, it := range items {
		if it.Type() != fastjson.TypeString {
			return nil, false
		}
		out[i] = string(it.GetStringBytes())
	}
	return out, true
}

var parsers fastjson.ParserPool

// syntaxError says where a body that is not JSON goes wrong, in
// encoding/json's words (clearer than the fast parser's).
func syntaxError(body []byte, fastErr error) string {
	var v any
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	case err != nil:
		return err.Error()
	}
	return fastErr.Error()
}

// problems collects validation errors, listing the first maxProblems.
type problems struct {
	list  []problem
	total int
}

func (p *problems) add(table string, record int, format string, args ...any) {
	p.total++
	if len(p.list) < maxProblems {
		pr := problem{Table: table, Error: fmt.Sprintf(format, args...)}
		if record >= 0 {
			r := record
			pr.Record = &r
		}
		p.list = append(p.list, pr)
	}
}

// parseBody parses a JSON body; nil when it answered 400. The parser
// goes back to the pool with release.
func parseBody(c *call) (v *fastjson.Value, release func()) {
	if len(bytes.TrimSpace(c.body)) == 0 {
		c.invalid("the request body is empty", nil, 0)
		return nil, nil
	}
	p := parsers.Get()
	v, err := p.ParseBytes(c.body)
	if err != nil {
		parsers.Put(p)
		c.reason = "bad_json"
		c.reply(http.StatusBadRequest, answer{Status: "ERROR", Message: "the request body is not valid JSON: " + syntaxError(c.body, err)})
		return nil, nil
	}
	return v, func() { parsers.Put(p) }
}

// tableSchemaFor finds the schema of a table: the request's, or the one
// declared in the config. nil when it has none (the problem is added).
func (s *Server) tableSchemaFor(topic, table string, raw []byte, keys []string, ps *problems) *tableSchema {
	if len(raw) == 0 || string(raw) == "null" {
		d := s.declared.find(topic, table)
		if d == nil {
			ps.add(table, -1, "unknown table %q: send its schema, or declare it in the gate's config (tables)", table)
			return nil
		}
		raw = d.Schema
		if len(d.KeyNames) > 0 {
			if len(keys) > 0 && !slices.Equal(keys, d.KeyNames) {
				ps.add(table, -1, "key_names %v differ from the table's declared key_names %v", keys, d.KeyNames)
				return nil
			}
			keys = d.KeyNames
		}
	}
	ts, err := s.schemas.get(table, raw, keys)
	if err != nil {
		ps.add(table, -1, "schema of table %q: %v", table, err)
		return nil
	}
	return ts
}

// checkRecords validates a table's records (recs[i] is record first+i of
// the request) and returns them ordered by sequence, so that of two
// updates of one key the larger sequence comes last and wins.
func checkRecords(ts *tableSchema, recs []importRecord, index []int, ps *problems) []record {
	out := make([]record, 0, len(recs))
	var row singer.Row
	sorted := true
	for i, r := range recs {
		n := index[i]
		before := ps.total
		if r.bad {
			continue
		}
		switch {
		case !r.hasAction:
			ps.add(ts.table, n, "action is required (\"upsert\")")
		case string(r.action) != "upsert":
			ps.add(ts.table, n, "action %s is not supported: only \"upsert\"", strconv.Quote(string(r.action)))
		}
		seq, err := strconv.ParseInt(string(r.sequence), 10, 64)
		if r.sequence == nil {
			ps.add(ts.table, n, "sequence is required (an integer)")
		} else if err != nil {
			ps.add(ts.table, n, "sequence must be an integer, not %s", shorten(r.sequence))
		}
		if r.data == nil {
			ps.add(ts.table, n, "data must be a JSON object")
			continue
		}
		if err := ts.schema.Decode(r.data, &row, true); err != nil {
			ps.add(ts.table, n, "data does not match the schema of table %q: %v", ts.table, err)
			continue
		}
		if msg := ts.schema.MissingKey(ts.keyCols, &row); msg != "" {
			ps.add(ts.table, n, "%s", msg)
			continue
		}
		if ps.total != before {
			continue
		}
		if len(out) > 0 && out[len(out)-1].seq > seq {
			sorted = false
		}
		out = append(out, record{seq: seq, data: r.data})
	}
	if !sorted {
		sort.SliceStable(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	}
	return out
}

// parseBatch validates a batch request; nil when it answered.
func (s *Server) parseBatch(c *call) []*tableRecords {
	v, release := parseBody(c)
	if v == nil {
		return nil
	}
	defer release()
	var ps problems
	if v.Type() != fastjson.TypeObject {
		c.invalid("the batch must be a JSON object", nil, 0)
		return nil
	}
	t := v.Get("table_name")
	if t == nil || t.Type() != fastjson.TypeString || len(t.GetStringBytes()) == 0 {
		ps.add("", -1, "table_name is required (a string)")
		c.invalid("the batch is invalid", ps.list, ps.total)
		return nil
	}
	table := string(t.GetStringBytes())
	if !c.grant.mayTable(table) {
		c.refuse(http.StatusForbidden, "table_not_granted", fmt.Sprintf("token %q may not write table %q", c.grant.name, table))
		return nil
	}
	var msgs []*fastjson.Value
	if m := v.Get("messages"); m != nil {
		var err error
		if msgs, err = m.Array(); err != nil {
			ps.add(table, -1, "messages must be an array")
		}
	}
	if len(msgs) == 0 && ps.total == 0 {
		ps.add(table, -1, "messages is required: at least one record")
	}
	if len(msgs) > s.cfg.MaxRecords {
		ps.add(table, -1, "messages holds %d records, over the limit of %d", len(msgs), s.cfg.MaxRecords)
	}
	var keys []string
	if k := v.Get("key_names"); k != nil {
		var ok bool
		if keys, ok = stringArray(k); !ok {
			ps.add(table, -1, "key_names must be an array of strings")
		}
	}
	var schema []byte
	if sc := v.Get("schema"); sc != nil && sc.Type() != fastjson.TypeNull {
		if sc.Type() != fastjson.TypeObject {
			ps.add(table, -1, "schema must be a JSON object (a JSON Schema)")
		}
		schema = sc.MarshalTo(nil)
	}
	if ps.total > 0 {
		c.invalid("the batch is invalid", ps.list, ps.total)
		return nil
	}
	ts := s.tableSchemaFor(c.topic, table, schema, keys, &ps)
	if ts == nil {
		c.invalid("the batch is invalid", ps.list, ps.total)
		return nil
	}
	recs := make([]importRecord, len(msgs))
	index := make([]int, len(msgs))
	arena := make([]byte, 0, len(c.body))
	for i, m := range msgs {
		recs[i] = readRecord(m, i, false, &ps, &arena)
		index[i] = i
	}
	out := checkRecords(ts, recs, index, &ps)
	if ps.total > 0 {
		c.invalid(fmt.Sprintf("%d problem(s) in the batch; nothing was stored", ps.total), ps.list, ps.total)
		return nil
	}
	return []*tableRecords{{schema: ts, records: out}}
}

// parsePush validates a push request (an array of records of any tables);
// nil when it answered.
func (s *Server) parsePush(c *call) []*tableRecords {
	v, release := parseBody(c)
	if v == nil {
		return nil
	}
	defer release()
	items, err := v.Array()
	if err != nil {
		c.invalid("the request must be a JSON array of records", nil, 0)
		return nil
	}
	var ps problems
	req := make([]importRecord, len(items))
	arena := make([]byte, 0, len(c.body))
	for i, it := range items {
		req[i] = readRecord(it, i, true, &ps, &arena)
	}
	if len(req) == 0 {
		c.invalid("the request holds no records", nil, 0)
		return nil
	}
	if len(req) > s.cfg.MaxRecords {
		c.invalid(fmt.Sprintf("the request holds %d records, over the limit of %d", len(req), s.cfg.MaxRecords), nil, 0)
		return nil
	}
	type group struct {
		table string
		keys  []string
		recs  []importRecord
		index []int
	}
	var order []*group
	groups := map[string]*group{}
	for i, r := range req {
		if r.bad {
			continue
		}
		if !r.hasTable || r.tableName == "" {
			ps.add("", i, "table_name is required (a string)")
			continue
		}
		t := r.tableName
		g := groups[t]
		if g == nil {
			if !c.grant.mayTable(t) {
				c.refuse(http.StatusForbidden, "table_not_granted", fmt.Sprintf("token %q may not write table %q", c.grant.name, t))
				return nil
			}
			g = &group{table: t, keys: r.keyNames}
			groups[t] = g
			order = append(order, g)
		} else if !slices.Equal(g.keys, r.keyNames) {
			ps.add(t, i, "key_names %v differ from the key_names %v of the table's first record", r.keyNames, g.keys)
			continue
		}
		g.recs = append(g.recs, r)
		g.index = append(g.index, i)
	}
	var out []*tableRecords
	for _, g := range order {
		ts := s.tableSchemaFor(c.topic, g.table, nil, g.keys, &ps)
		if ts == nil {
			continue
		}
		recs := checkRecords(ts, g.recs, g.index, &ps)
		out = append(out, &tableRecords{schema: ts, records: recs})
	}
	if ps.total > 0 {
		c.invalid(fmt.Sprintf("%d problem(s) in the request; nothing was stored", ps.total), ps.list, ps.total)
		return nil
	}
	return out
}

// importMessages builds the log messages of an accepted Import API
// request: each table's SCHEMA and RECORDs, then one STATE.
func (s *Server) importMessages(c *call, tables []*tableRecords) *builder {
	b := newBuilder(requestKey(c.grant.name, c.topic, c.r.Header.Get("Idempotency-Key"), c.body), s.producer, s.cfg.MaxMessageBytes, s.now())
	for _, t := range tables {
		b.table(t.schema, t.records)
		c.records += len(t.records)
	}
	b.state(tables)
	return b
}

func (s *Server) batch(c *call) {
	if !s.admit(c, true) {
		return
	}
	c.topic = c.grant.topic
	tables := s.parseBatch(c)
	if tables == nil {
		return
	}
	b := s.importMessages(c, tables)
	s.store(c, b.msgs, http.StatusAccepted, "Batch accepted")
}

func (s *Server) push(c *call) {
	if !s.admit(c, true) {
		return
	}
	c.topic = c.grant.topic
	tables := s.parsePush(c)
	if tables == nil {
		return
	}
	b := s.importMessages(c, tables)
	s.store(c, b.msgs, http.StatusCreated, "Batch accepted")
}

// validate runs the checks of push (a JSON array) or batch (an object)
// and stores nothing.
func (s *Server) validate(c *call) {
	if !s.admit(c, true) {
		return
	}
	c.topic = c.grant.topic
	var tables []*tableRecords
	if b := bytes.TrimSpace(c.body); len(b) > 0 && b[0] == '[' {
		tables = s.parsePush(c)
	} else {
		tables = s.parseBatch(c)
	}
	if tables == nil {
		return
	}
	c.reply(http.StatusOK, answer{Status: "OK", Message: "Batch is valid"})
}

// shorten is the start of a JSON value for a message.
func shorten(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

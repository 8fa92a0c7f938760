package gate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"

	"github.com/singerkit/singerkit/singer"
)

// batchRequest is the body of POST /v2/import/batch.
type batchRequest struct {
	TableName *string         `json:"table_name"`
	Schema    json.RawMessage `json:"schema"`
	Messages  []importRecord  `json:"messages"`
	KeyNames  []string        `json:"key_names"`
}

// importRecord is a record of either Import API shape: a batch's message
// (action, sequence, data) or a push's record (which adds table_name,
// key_names and client_id).
type importRecord struct {
	ClientID  json.RawMessage `json:"client_id"`
	TableName *string         `json:"table_name"`
	Action    *string         `json:"action"`
	Sequence  json.RawMessage `json:"sequence"`
	Data      json.RawMessage `json:"data"`
	KeyNames  []string        `json:"key_names"`
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

// decodeBody parses a JSON body; false when it answered 400.
func decodeBody(c *call, v any) bool {
	if len(bytes.TrimSpace(c.body)) == 0 {
		c.invalid("the request body is empty", nil, 0)
		return false
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		c.reason = "bad_json"
		c.reply(http.StatusBadRequest, answer{Status: "ERROR", Message: "the request body is not valid JSON of the expected shape: " + err.Error()})
		return false
	}
	return true
}

// tableSchemaFor finds the schema of a table: the request's, or the one
// declared in the config. nil when it has none (the problem is added).
func (s *Server) tableSchemaFor(topic, table string, raw json.RawMessage, keys []string, ps *problems) *tableSchema {
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
	var buf bytes.Buffer
	sorted := true
	for i, r := range recs {
		n := index[i]
		before := ps.total
		switch {
		case r.Action == nil:
			ps.add(ts.table, n, "action is required (\"upsert\")")
		case *r.Action != "upsert":
			ps.add(ts.table, n, "action %q is not supported: only \"upsert\"", *r.Action)
		}
		seq, err := strconv.ParseInt(string(r.Sequence), 10, 64)
		if len(r.Sequence) == 0 {
			ps.add(ts.table, n, "sequence is required (an integer)")
		} else if err != nil {
			ps.add(ts.table, n, "sequence must be an integer, not %s", singer.Excerpt(r.Sequence))
		}
		if len(r.Data) == 0 || r.Data[0] != '{' {
			ps.add(ts.table, n, "data must be a JSON object")
			continue
		}
		buf.Reset()
		if err := json.Compact(&buf, r.Data); err != nil {
			ps.add(ts.table, n, "data is not valid JSON: %v", err)
			continue
		}
		if err := ts.schema.Decode(buf.Bytes(), &row, true); err != nil {
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
		out = append(out, record{seq: seq, data: bytes.Clone(buf.Bytes())})
	}
	if !sorted {
		sort.SliceStable(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	}
	return out
}

// parseBatch validates a batch request; nil when it answered.
func (s *Server) parseBatch(c *call) []*tableRecords {
	var req batchRequest
	if !decodeBody(c, &req) {
		return nil
	}
	var ps problems
	if req.TableName == nil || *req.TableName == "" {
		ps.add("", -1, "table_name is required")
		c.invalid("the batch is invalid", ps.list, ps.total)
		return nil
	}
	table := *req.TableName
	if !c.grant.mayTable(table) {
		c.refuse(http.StatusForbidden, "table_not_granted", fmt.Sprintf("token %q may not write table %q", c.grant.name, table))
		return nil
	}
	if len(req.Messages) == 0 {
		ps.add(table, -1, "messages is required: at least one record")
	}
	if len(req.Messages) > s.cfg.MaxRecords {
		ps.add(table, -1, "messages holds %d records, over the limit of %d", len(req.Messages), s.cfg.MaxRecords)
	}
	if ps.total > 0 {
		c.invalid("the batch is invalid", ps.list, ps.total)
		return nil
	}
	ts := s.tableSchemaFor(c.topic, table, req.Schema, req.KeyNames, &ps)
	if ts == nil {
		c.invalid("the batch is invalid", ps.list, ps.total)
		return nil
	}
	index := make([]int, len(req.Messages))
	for i := range index {
		index[i] = i
	}
	recs := checkRecords(ts, req.Messages, index, &ps)
	if ps.total > 0 {
		c.invalid(fmt.Sprintf("%d problem(s) in the batch; nothing was stored", ps.total), ps.list, ps.total)
		return nil
	}
	return []*tableRecords{{schema: ts, records: recs}}
}

// parsePush validates a push request (an array of records of any tables);
// nil when it answered.
func (s *Server) parsePush(c *call) []*tableRecords {
	var req []importRecord
	if !decodeBody(c, &req) {
		return nil
	}
	var ps problems
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
		if r.TableName == nil || *r.TableName == "" {
			ps.add("", i, "table_name is required")
			continue
		}
		t := *r.TableName
		g := groups[t]
		if g == nil {
			if !c.grant.mayTable(t) {
				c.refuse(http.StatusForbidden, "table_not_granted", fmt.Sprintf("token %q may not write table %q", c.grant.name, t))
				return nil
			}
			g = &group{table: t, keys: r.KeyNames}
			groups[t] = g
			order = append(order, g)
		} else if !slices.Equal(g.keys, r.KeyNames) {
			ps.add(t, i, "key_names %v differ from the key_names %v of the table's first record", r.KeyNames, g.keys)
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

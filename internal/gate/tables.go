package gate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/singerkit/singerkit/singer"
)

// tableSchema is a table's compiled schema and its SCHEMA line.
type tableSchema struct {
	table   string
	line    []byte // {"type":"SCHEMA","stream":...,"schema":...,"key_properties":[...]}
	schema  *singer.Schema
	keys    []string
	keyCols []int
}

// schemaCache compiles each distinct (table, schema, keys) once.
type schemaCache struct {
	mu sync.RWMutex
	m  map[string]*tableSchema
}

// schemaCacheMax bounds the cache: past it, it starts over.
const schemaCacheMax = 4096

func newSchemaCache() *schemaCache { return &schemaCache{m: make(map[string]*tableSchema)} }

// get compiles (or finds) the schema of table with keys. The error is one
// line for the client.
func (c *schemaCache) get(table string, raw []byte, keys []string) (*tableSchema, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("schema is not valid JSON: %v", err)
	}
	k := table + "\x00" + compact.String() + "\x00" + strings.Join(keys, "\x00")
	c.mu.RLock()
	ts := c.m[k]
	c.mu.RUnlock()
	if ts != nil {
		return ts, nil
	}
	s, err := singer.CompileSchema(compact.Bytes(), singer.SchemaOptions{})
	if err != nil {
		return nil, err
	}
	if t, _ := s.Doc["type"].(string); t != "" && t != "object" {
		return nil, fmt.Errorf("schema must describe an object (its type is %q)", t)
	}
	props, _ := s.Doc["properties"].(map[string]any)
	for _, key := range keys {
		if _, ok := props[key]; !ok {
			return nil, fmt.Errorf("key_names names %q, which is not a property of the schema", key)
		}
	}
	cols, err := s.KeyColumns(keys)
	if err != nil {
		return nil, err
	}
	line, err := json.Marshal(struct {
		Type          string          `json:"type"`
		Stream        string          `json:"stream"`
		Schema        json.RawMessage `json:"schema"`
		KeyProperties []string        `json:"key_properties"`
	}{"SCHEMA", table, compact.Bytes(), append([]string{}, keys...)})
	if err != nil {
		return nil, err
	}
	ts = &tableSchema{table: table, line: line, schema: s, keys: keys, keyCols: cols}
	c.mu.Lock()
	if len(c.m) >= schemaCacheMax {
		c.m = make(map[string]*tableSchema)
	}
	c.m[k] = ts
	c.mu.Unlock()
	return ts, nil
}

// declared finds a table declared in the config, for a topic.
type declared struct {
	byTopic map[string]*TableConfig // topic + "\x00" + name
	any     map[string]*TableConfig // name, for every topic
}

func newDeclared(tables []TableConfig) *declared {
	d := &declared{byTopic: map[string]*TableConfig{}, any: map[string]*TableConfig{}}
	for i := range tables {
		t := &tables[i]
		if t.Topic == "" {
			d.any[t.Name] = t
		} else {
			d.byTopic[t.Topic+"\x00"+t.Name] = t
		}
	}
	return d
}

func (d *declared) find(topic, table string) *TableConfig {
	if t := d.byTopic[topic+"\x00"+table]; t != nil {
		return t
	}
	return d.any[table]
}

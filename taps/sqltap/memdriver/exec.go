package memdriver

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	createTable = regexp.MustCompile(`(?is)^CREATE TABLE (\S+) \((.*)\)$`)
	createView  = regexp.MustCompile(`(?is)^CREATE VIEW (\S+) AS SELECT (.+) FROM (\S+?)(?: WHERE (\w+) (>|>=|<|<=|=) (-?\d+))?$`)
	insertInto  = regexp.MustCompile(`(?is)^INSERT INTO (\S+) \(([^)]*)\) VALUES (.*)$`)
	update      = regexp.MustCompile(`(?is)^UPDATE (\S+) SET (\w+) = (.+?) WHERE (\w+) = (.+)$`)
	dropTable   = regexp.MustCompile(`(?is)^DROP (?:TABLE|VIEW) (\S+)$`)
	varchar     = regexp.MustCompile(`(?i)^varchar\((\d+)\)$`)
)

// Exec runs one statement of the few the package doc lists. Names are
// namespace.name.
func (db *DB) Exec(stmt string) error {
	stmt = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stmt), ";"))
	db.mu.Lock()
	defer db.mu.Unlock()
	switch {
	case createTable.MatchString(stmt):
		m := createTable.FindStringSubmatch(stmt)
		return db.createTable(m[1], m[2])
	case createView.MatchString(stmt):
		m := createView.FindStringSubmatch(stmt)
		return db.createView(m[1], m[2], m[3], m[4], m[5], m[6])
	case insertInto.MatchString(stmt):
		m := insertInto.FindStringSubmatch(stmt)
		return db.insert(m[1], m[2], m[3])
	case update.MatchString(stmt):
		m := update.FindStringSubmatch(stmt)
		return db.update(m[1], m[2], m[3], m[4], m[5])
	case dropTable.MatchString(stmt):
		name := dropTable.FindStringSubmatch(stmt)[1]
		if db.tables[name] == nil {
			return fmt.Errorf("%s does not exist", name)
		}
		delete(db.tables, name)
		return nil
	}
	return fmt.Errorf("memdriver cannot run %q", stmt)
}

func split(name string) (ns, rel string, err error) {
	ns, rel, ok := strings.Cut(name, ".")
	if !ok {
		return "", "", fmt.Errorf("%s: name tables namespace.name", name)
	}
	return ns, rel, nil
}

// splitTop splits s at commas outside parentheses and quotes.
func splitTop(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

func (db *DB) createTable(name, defs string) error {
	if db.tables[name] != nil {
		return fmt.Errorf("%s exists", name)
	}
	ns, rel, err := split(name)
	if err != nil {
		return err
	}
	db.generation++
	t := &table{ns: ns, name: rel, generation: db.generation}
	for _, def := range splitTop(defs) {
		f := strings.Fields(def)
		if len(f) < 2 {
			return fmt.Errorf("column %q: want name and type", def)
		}
		c := column{name: f[0], sqlType: strings.ToLower(f[1])}
		switch {
		case c.sqlType == "integer" || c.sqlType == "bigint" || c.sqlType == "int":
			c.integer = true
		case c.sqlType == "text":
		case varchar.MatchString(c.sqlType):
			c.maxLength, _ = strconv.Atoi(varchar.FindStringSubmatch(c.sqlType)[1])
		default:
			return fmt.Errorf("column %s: memdriver has integer, varchar(n) and text, not %s", c.name, f[1])
		}
		rest := strings.ToUpper(strings.Join(f[2:], " "))
		if strings.Contains(rest, "PRIMARY KEY") {
			t.keys = append(t.keys, c.name)
			c.notNull = true
		}
		if strings.Contains(rest, "NOT NULL") {
			c.notNull = true
		}
		t.cols = append(t.cols, c)
	}
	db.tables[name] = t
	return nil
}

func (db *DB) createView(name, cols, base, whereCol, op, whereVal string) error {
	if db.tables[name] != nil {
		return fmt.Errorf("%s exists", name)
	}
	ns, rel, err := split(name)
	if err != nil {
		return err
	}
	b := db.tables[base]
	if b == nil || b.view {
		return fmt.Errorf("%s is not a table", base)
	}
	v := &table{ns: ns, name: rel, view: true, base: base}
	for _, c := range splitTop(cols) {
		if indexOf(b.cols, c) < 0 {
			return fmt.Errorf("no column %s in %s", c, base)
		}
		v.viewCols = append(v.viewCols, c)
	}
	if whereCol != "" {
		i := indexOf(b.cols, whereCol)
		if i < 0 || !b.cols[i].integer {
			return fmt.Errorf("%s: the WHERE column must be an integer column of %s", whereCol, base)
		}
		n, _ := strconv.ParseInt(whereVal, 10, 64)
		v.viewWhere = func(r row, cols []column) bool {
			x := r.vals[indexOf(cols, whereCol)]
			if x.null {
				return false
			}
			switch op {
			case ">":
				return x.i > n
			case ">=":
				return x.i >= n
			case "<":
				return x.i < n
			case "<=":
				return x.i <= n
			}
			return x.i == n
		}
	}
	db.tables[name] = v
	return nil
}

// literal reads an integer, a 'string' or NULL for column c.
func literal(s string, c column) (value, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.EqualFold(s, "NULL"):
		if c.notNull {
			return value{}, fmt.Errorf("null value in column %s", c.name)
		}
		return value{null: true}, nil
	case c.integer:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return value{}, fmt.Errorf("column %s: %s is not an integer", c.name, s)
		}
		return value{i: n}, nil
	case len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'':
		str := strings.ReplaceAll(s[1:len(s)-1], "''", "'")
		if c.maxLength > 0 && len([]rune(str)) > c.maxLength {
			return value{}, fmt.Errorf("value too long for type %s", c.sqlType)
		}
		return value{s: str}, nil
	}
	return value{}, fmt.Errorf("column %s: %s is not a string literal", c.name, s)
}

func (db *DB) baseTable(name string) (*table, error) {
	t := db.tables[name]
	if t == nil || t.view {
		return nil, fmt.Errorf("%s is not a table", name)
	}
	return t, nil
}

func (db *DB) insert(name, cols, values string) error {
	t, err := db.baseTable(name)
	if err != nil {
		return err
	}
	names := splitTop(cols)
	idx := make([]int, len(names))
	for k, n := range names {
		if idx[k] = indexOf(t.cols, n); idx[k] < 0 {
			return fmt.Errorf("no column %s in %s", n, name)
		}
	}
	var add []row
	for _, tuple := range splitTop(values) {
		if len(tuple) < 2 || tuple[0] != '(' || tuple[len(tuple)-1] != ')' {
			return fmt.Errorf("%q is not a (values) tuple", tuple)
		}
		lits := splitTop(tuple[1 : len(tuple)-1])
		if len(lits) != len(names) {
			return fmt.Errorf("%d values for %d columns", len(lits), len(names))
		}
		vals := make([]value, len(t.cols))
		for i := range vals {
			vals[i] = value{null: true}
		}
		for k, l := range lits {
			v, err := literal(l, t.cols[idx[k]])
			if err != nil {
				return err
			}
			vals[idx[k]] = v
		}
		for i, c := range t.cols {
			if c.notNull && vals[i].null {
				return fmt.Errorf("null value in column %s of %s", c.name, name)
			}
		}
		add = append(add, row{vals: vals})
	}
	if err := db.checkKeys(t, add); err != nil {
		return err
	}
	for _, r := range add {
		t.nextRow++
		r.id = t.nextRow
		t.rows = append(t.rows, r)
	}
	return nil
}

func (db *DB) checkKeys(t *table, add []row) error {
	if len(t.keys) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, set := range [][]row{t.rows, add} {
		for _, r := range set {
			var sb strings.Builder
			for _, k := range t.keys {
				v := r.vals[indexOf(t.cols, k)]
				fmt.Fprintf(&sb, "%d|%s|", v.i, v.s)
			}
			if seen[sb.String()] {
				return fmt.Errorf("duplicate key in %s.%s", t.ns, t.name)
			}
			seen[sb.String()] = true
		}
	}
	return nil
}

func (db *DB) update(name, setCol, setVal, whereCol, whereVal string) error {
	t, err := db.baseTable(name)
	if err != nil {
		return err
	}
	si, wi := indexOf(t.cols, setCol), indexOf(t.cols, whereCol)
	if si < 0 || wi < 0 {
		return fmt.Errorf("no column %s or %s in %s", setCol, whereCol, name)
	}
	nv, err := literal(setVal, t.cols[si])
	if err != nil {
		return err
	}
	wv, err := literal(whereVal, t.cols[wi])
	if err != nil {
		return err
	}
	for r, rw := range t.rows {
		if !rw.vals[wi].null && compareValues(rw.vals[wi], wv, t.cols[wi]) == 0 {
			vals := append([]value(nil), rw.vals...)
			vals[si] = nv
			t.rows[r] = row{id: rw.id, vals: vals}
		}
	}
	return nil
}

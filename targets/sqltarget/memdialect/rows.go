package memdialect

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
)

// Columns returns the column names of a table, in table order (nil when
// it does not exist).
func (db *DB) Columns(schema, name string) ([]string, error) {
	var cols []string
	err := db.view(schema, func(ts tables) {
		if t := ts[name]; t != nil {
			for _, c := range t.Columns {
				cols = append(cols, c.Name)
			}
		}
	})
	return cols, err
}

var (
	aggregate = regexp.MustCompile(`^(?i)(count|min|max)\((\*|DISTINCT [^)]+|[^)]+)\)$`)
	nullTest  = regexp.MustCompile(`^(.+) (?i)IS (NOT )?NULL$`)
)

// Rows returns the rows of a table as "v1|v2|..." (NULL as "NULL"), ordered
// by orderBy (column names separated by commas, NULLs last; "" keeps the
// table's order). A column may also be "c IS NULL", "c IS NOT NULL", or an
// aggregate (count(*), count(DISTINCT c), min(c), max(c)), which makes one
// row of the whole table.
func (db *DB) Rows(schema, name string, cols []string, orderBy string) ([]string, error) {
	var out []string
	var err error
	verr := db.view(schema, func(ts tables) {
		t := ts[name]
		if t == nil {
			err = fmt.Errorf("table %s.%s does not exist", schema, name)
			return
		}
		out, err = t.render(cols, orderBy)
	})
	if err == nil {
		err = verr
	}
	return out, err
}

func (t *table) col(name string) (int, error) {
	i := t.index(strings.TrimSpace(name))
	if i < 0 {
		return 0, fmt.Errorf("no column %q", name)
	}
	return i, nil
}

func (t *table) render(cols []string, orderBy string) ([]string, error) {
	rows := append([][]*string(nil), t.Rows...)
	if orderBy != "" {
		var by []int
		for _, n := range strings.Split(orderBy, ",") {
			i, err := t.col(n)
			if err != nil {
				return nil, err
			}
			by = append(by, i)
		}
		slices.SortStableFunc(rows, func(a, b []*string) int {
			for _, i := range by {
				if c := t.compare(i, a[i], b[i]); c != 0 {
					return c
				}
			}
			return 0
		})
	}
	if len(cols) > 0 && aggregate.MatchString(cols[0]) {
		var parts []string
		for _, c := range cols {
			m := aggregate.FindStringSubmatch(c)
			if m == nil {
				return nil, fmt.Errorf("%q: aggregates and columns mixed", c)
			}
			v, err := t.aggregate(strings.ToLower(m[1]), m[2], rows)
			if err != nil {
				return nil, err
			}
			parts = append(parts, v)
		}
		return []string{strings.Join(parts, "|")}, nil
	}
	type expr struct {
		col      int
		nullTest int // 0: the value; 1: IS NULL; 2: IS NOT NULL
	}
	exprs := make([]expr, len(cols))
	for k, c := range cols {
		e := expr{}
		if m := nullTest.FindStringSubmatch(c); m != nil {
			c, e.nullTest = m[1], 1
			if m[2] != "" {
				e.nullTest = 2
			}
		}
		i, err := t.col(c)
		if err != nil {
			return nil, err
		}
		e.col = i
		exprs[k] = e
	}
	var out []string
	for _, row := range rows {
		parts := make([]string, len(exprs))
		for k, e := range exprs {
			v := row[e.col]
			switch {
			case e.nullTest != 0:
				parts[k] = fmt.Sprint((v == nil) == (e.nullTest == 1))
			case v == nil:
				parts[k] = "NULL"
			default:
				parts[k] = *v
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out, nil
}

func (t *table) aggregate(fn, arg string, rows [][]*string) (string, error) {
	if fn == "count" && arg == "*" {
		return fmt.Sprint(len(rows)), nil
	}
	distinct := false
	if strings.HasPrefix(strings.ToUpper(arg), "DISTINCT ") {
		distinct, arg = true, arg[len("DISTINCT "):]
	}
	i, err := t.col(arg)
	if err != nil {
		return "", err
	}
	seen := map[string]bool{}
	var best *string
	n := 0
	for _, row := range rows {
		v := row[i]
		if v == nil {
			continue
		}
		if distinct && seen[*v] {
			continue
		}
		seen[*v] = true
		n++
		if best == nil || fn == "min" && t.compare(i, v, best) < 0 || fn == "max" && t.compare(i, v, best) > 0 {
			best = v
		}
	}
	switch {
	case fn == "count":
		return fmt.Sprint(n), nil
	case best == nil:
		return "NULL", nil
	}
	return *best, nil
}

// compare orders two values of column i: numbers by value, the rest by
// text, NULL last.
func (t *table) compare(i int, a, b *string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	if numeric(parseType(t.Columns[i].Type).Kind) {
		x, okx := new(big.Rat).SetString(*a)
		y, oky := new(big.Rat).SetString(*b)
		if okx && oky {
			return x.Cmp(y)
		}
	}
	return strings.Compare(*a, *b)
}

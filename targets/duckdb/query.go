package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"
)

// QueryUsage is the usage line of `target-duckdb query`.
const QueryUsage = `usage: target-duckdb query (--config target.json | --path file.duckdb) [--write] "SQL"`

// Query is `target-duckdb query`: it runs SQL on a database file and
// prints the rows as an aligned table, each value as DuckDB's text of it, so that a loaded table can be
// looked at without a DuckDB CLI (make demo does). The file is opened read
// only unless --write is given (which creates a missing file). Exit codes: 0 done, 1 the database or the
// SQL failed, 2 usage.
func Query(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "target-duckdb query: error: "+format+"\n", a...)
		return code
	}
	var path, cfgPath, query string
	write := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--write":
			write = true
		case a == "--path" || a == "--config":
			if i+1 >= len(args) {
				return fail(2, "%s needs a value; %s", a, QueryUsage)
			}
			if a == "--path" {
				path = args[i+1]
			} else {
				cfgPath = args[i+1]
			}
			i++
		case a == "-h" || a == "--help":
			fmt.Fprintln(stdout, QueryUsage)
			return 0
		case strings.HasPrefix(a, "-"):
			return fail(2, "unknown flag %s; %s", a, QueryUsage)
		case query != "":
			return fail(2, "one SQL argument (quote it); %s", QueryUsage)
		default:
			query = a
		}
	}
	if cfgPath != "" {
		if path != "" {
			return fail(2, "give --config or --path, not both")
		}
		b, err := os.ReadFile(cfgPath)
		if err != nil {
			return fail(2, "reading --config %s: %v", cfgPath, errors.Unwrap(err))
		}
		var c struct {
			Path string `json:"path"`
		}
		if err := json.Unmarshal(b, &c); err != nil || c.Path == "" {
			return fail(2, "--config %s: no \"path\" in it", cfgPath)
		}
		path = c.Path
	}
	if path == "" || query == "" {
		return fail(2, "%s", QueryUsage)
	}
	if _, err := os.Stat(path); err != nil && !write {
		return fail(1, "database file %s: %v", path, errors.Unwrap(err))
	}
	dsn := path
	if !write {
		dsn += "?access_mode=READ_ONLY"
	}
	db, err := sql.Open("duckdb", dsn)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		return fail(1, "%v", openError(path, err))
	}
	defer db.Close()
	// Each value as DuckDB's own text of it (exact decimals, TIME
	// 24:00:00, timestamps with their offset) when the statement is a
	// query; any other statement runs as it is.
	query = strings.TrimRight(strings.TrimSpace(query), "; \t\n")
	rows, err := db.QueryContext(ctx, "SELECT COLUMNS(*)::VARCHAR FROM ("+query+"\n)")
	if err != nil {
		rows, err = db.QueryContext(ctx, query)
	}
	if err != nil {
		return fail(1, "%s", firstLine(err.Error()))
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fail(1, "%v", err)
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		return fail(1, "%v", err)
	}
	table := [][]string{cols}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fail(1, "%v", err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = show(v, types[i].DatabaseTypeName())
		}
		table = append(table, row)
	}
	if err := rows.Err(); err != nil {
		return fail(1, "%s", firstLine(err.Error()))
	}
	printTable(stdout, table)
	return 0
}

// show renders a value for the table: dates as YYYY-MM-DD, times of day
// as hh:mm:ss, timestamps in UTC.
func show(v any, typ string) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		switch typ {
		case "DATE":
			return x.Format("2006-01-02")
		case "TIME":
			if x.YearDay() != 1 {
				return "24:00:00" // the end of the day, a day after 00:00:00
			}
			return x.Format("15:04:05.999999")
		}
		return x.UTC().Format("2006-01-02 15:04:05.999999Z07:00")
	case []byte:
		return string(x)
	case fmt.Stringer:
		return x.String()
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

func printTable(w io.Writer, table [][]string) {
	widths := make([]int, len(table[0]))
	for _, row := range table {
		for i, c := range row {
			widths[i] = max(widths[i], width(c))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		for i, c := range row {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-width(c)))
			}
		}
		fmt.Fprintln(w, b.String())
	}
	line(table[0])
	sep := make([]string, len(widths))
	for i, n := range widths {
		sep[i] = strings.Repeat("-", n)
	}
	fmt.Fprintln(w, strings.Join(sep, "-+-"))
	for _, row := range table[1:] {
		line(row)
	}
	if n := len(table) - 1; n == 1 {
		fmt.Fprintln(w, "(1 row)")
	} else {
		fmt.Fprintf(w, "(%d rows)\n", n)
	}
}

// width is the number of terminal columns of s: two for the wide
// characters of CJK scripts, one for the others.
func width(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x1100 && (unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || r >= 0xFF01 && r <= 0xFF60 || r == 0x3000) {
			n++
		}
	}
	return n
}

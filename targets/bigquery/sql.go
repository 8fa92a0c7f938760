package bigquery

import (
	"fmt"
	"strconv"
	"strings"

	"cloud.google.com/go/bigquery"
)

// This file builds the SQL text target-bigquery runs. Identifiers are
// folded names (letters, digits, underscores) or the configured project
// and dataset, always quoted with backticks; values never appear in SQL
// text except the ACTIVATE_VERSION integer.

func quote(name string) string { return "`" + name + "`" }

// tablePath is the quoted project.dataset.table path.
func tablePath(project, dataset, table string) string {
	return "`" + project + "." + dataset + "." + table + "`"
}

func quoteList(names []string, prefix string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = prefix + quote(n)
	}
	return strings.Join(q, ", ")
}

// mergeSQL merges a staging table, which holds one row per key (the batch
// is deduplicated before it is sent, the last record of a key winning),
// into the table by key. With deletedAt (hard_delete), a key whose latest
// record has _sdc_deleted_at set is deleted, and never inserted.
func mergeSQL(table, stage string, cols, keys []string, deletedAt string) string {
	isKey := map[string]bool{}
	var on []string
	for _, k := range keys {
		isKey[k] = true
		on = append(on, "T."+quote(k)+" = S."+quote(k))
	}
	var sets []string
	for _, c := range cols {
		if !isKey[c] {
			sets = append(sets, quote(c)+" = S."+quote(c))
		}
	}
	var b strings.Builder
	b.WriteString("MERGE " + table + " AS T\nUSING " + stage + " AS S\nON " + strings.Join(on, " AND ") + "\n")
	if deletedAt != "" {
		b.WriteString("WHEN MATCHED AND S." + quote(deletedAt) + " IS NOT NULL THEN DELETE\n")
	}
	if len(sets) > 0 {
		b.WriteString("WHEN MATCHED THEN UPDATE SET " + strings.Join(sets, ", ") + "\n")
	}
	b.WriteString("WHEN NOT MATCHED")
	if deletedAt != "" {
		b.WriteString(" AND S." + quote(deletedAt) + " IS NULL")
	}
	b.WriteString(" THEN INSERT (" + quoteList(cols, "") + ") VALUES (" + quoteList(cols, "S.") + ")")
	return b.String()
}

// replaceSQL makes the rows of table exactly those of repl, in one
// statement: joined ON FALSE, every row of the table is unmatched by the
// source (deleted) and every row of repl unmatched by the target
// (inserted).
func replaceSQL(table, repl string, cols []string) string {
	return "MERGE " + table + " AS T\nUSING " + repl + " AS S\nON FALSE\n" +
		"WHEN NOT MATCHED BY SOURCE THEN DELETE\n" +
		"WHEN NOT MATCHED THEN INSERT (" + quoteList(cols, "") + ") VALUES (" + quoteList(cols, "S.") + ")"
}

// activateSQL removes (hard) or marks deleted (soft) the rows of versions
// older than version.
func activateSQL(table, versionCol, deletedCol string, version int64, hard bool) string {
	// Rows without a version (loaded before versioning, or by hand) are
	// not part of the activated version either.
	older := "(" + quote(versionCol) + " < " + strconv.FormatInt(version, 10) + " OR " + quote(versionCol) + " IS NULL)"
	if hard || deletedCol == "" {
		return "DELETE FROM " + table + " WHERE " + older
	}
	return "UPDATE " + table + " SET " + quote(deletedCol) + " = CURRENT_TIMESTAMP() WHERE " + older + " AND " + quote(deletedCol) + " IS NULL"
}

func addColumnSQL(table string, f *bigquery.FieldSchema) string {
	return "ALTER TABLE " + table + " ADD COLUMN " + quote(f.Name) + " " + ddlType(f)
}

func dropNotNullSQL(table, col string) string {
	return "ALTER TABLE " + table + " ALTER COLUMN " + quote(col) + " DROP NOT NULL"
}

// widenSQL changes a number column's type in place (INT64 and NUMERIC to
// BIGNUMERIC: BigQuery allows these without a rewrite).
func widenSQL(table, col string, to *bigquery.FieldSchema) string {
	return "ALTER TABLE " + table + " ALTER COLUMN " + quote(col) + " SET DATA TYPE " + typeName(to)
}

// castExpr converts an old column's values to a new type, keeping them.
func castExpr(col string, from bigquery.FieldType, to *bigquery.FieldSchema) string {
	switch {
	case to.Type == bigquery.JSONFieldType:
		return "TO_JSON(" + quote(col) + ")"
	case to.Type == bigquery.StringFieldType && from == bigquery.JSONFieldType:
		return "TO_JSON_STRING(" + quote(col) + ")"
	case to.Type == bigquery.StringFieldType && from == bigquery.TimestampFieldType:
		// RFC 3339, as the values arrived.
		return "FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E*SZ', " + quote(col) + ", 'UTC')"
	}
	return "CAST(" + quote(col) + " AS " + typeName(to) + ")"
}

// rewriteSQL rewrites the table with some columns cast to new types, every
// row and every other column kept (BigQuery cannot change those types in
// place). Column order is kept.
func rewriteSQL(table string, existing bigquery.Schema, changes map[string]*bigquery.FieldSchema) string {
	var repl []string
	for _, f := range existing {
		if to, ok := changes[strings.ToLower(f.Name)]; ok {
			repl = append(repl, castExpr(f.Name, f.Type, to)+" AS "+quote(f.Name))
		}
	}
	return fmt.Sprintf("CREATE OR REPLACE TABLE %s AS SELECT * REPLACE (%s) FROM %s", table, strings.Join(repl, ", "), table)
}

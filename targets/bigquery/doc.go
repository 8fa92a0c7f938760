// Package bigquery is target-bigquery: the BigQuery dialect of the SQL
// target engine (targets/sqltarget).
//
// A batch is encoded as newline-delimited JSON with exact values (numbers
// as decimal strings, timestamps in RFC 3339 UTC), deduplicated by key in
// the client (the last record of a key wins), sent with a load job into a
// staging table, counted, and merged into the destination table by
// key_properties with one MERGE statement; streams without keys, and the
// append and overwrite load methods, load straight into the table.
//
//	cfg := &bigquery.Config{Project: "p", Dataset: "raw"}
//	d, err := bigquery.NewDialect(ctx, cfg, log)
//	e := sqltarget.New(d, cfg.Config, log)
//	err = e.Run(ctx, os.Stdin, singer.NewEncoder(os.Stdout))
package bigquery

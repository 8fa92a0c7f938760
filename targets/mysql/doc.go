// Package mysql is target-mysql: the MySQL/MariaDB dialect of the shared SQL
// target engine (targets/sqltarget). Batches are encoded as LOAD DATA text
// (tab-separated, backslash escapes, \N for NULL), loaded through
// LOAD DATA LOCAL INFILE from memory (mysql.RegisterReaderHandler, no temp
// file) into a temporary stage, and merged by key with
// INSERT ... SELECT ... ON DUPLICATE KEY UPDATE in one transaction. When the
// server refuses LOCAL INFILE the same rows go in as server-side prepared
// multi-row INSERTs.
//
//	os.Exit(cli.RunTarget(ctx, mysql.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
package mysql

// Package e2e holds the cross-connector end-to-end tests: a tap piped into
// a target (both in-process, through their command lines, as a shell
// pipeline runs them), then the destination compared with the source row
// for row, after a first run and again after changes at the source.
//
// The package has no code of its own besides this comment: its tests need
// the local PostgreSQL and MariaDB (TEST_POSTGRES_URL, TEST_MYSQL_URL;
// under CI=true a server that cannot be reached fails the test), and
// internal/mariadbtest for a throwaway server with the binlog on.
//
//	go test ./internal/e2e/
//
// The BigQuery end-to-end test (tap-postgres into target-bigquery) runs
// against the emulator, in the targets/bigquery/emulatortest module.
package e2e

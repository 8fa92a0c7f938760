// Command target-duckdb loads a Singer stream from stdin into a DuckDB
// database file. It is the one singerkit binary built with cgo (DuckDB is
// linked in as a static library); see docs/target-duckdb.md.
//
// `target-duckdb query` runs SQL on a database file and prints the rows,
// so that what was loaded can be looked at without a DuckDB CLI.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/targets/duckdb"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "query" {
		os.Exit(duckdb.Query(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(cli.RunTarget(context.Background(), duckdb.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Command target-duckdb loads a Singer stream from stdin into a DuckDB
// database file. It is the one singerkit binary built with cgo (DuckDB is
// linked in as a static library); see docs/target-duckdb.md.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/targets/duckdb"
)

func main() {
	os.Exit(cli.RunTarget(context.Background(), duckdb.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Command target-memory is the SQL target engine on the in-memory dialect,
// its tables kept in the directory named by the config's "database": the binary
// that sqltargettest's command-line cases (kills, signals, idle input) run
// when the suite runs without a database. A test tool, not a product: it
// is not built by make build.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/targets/sqltarget/memdialect"
)

func main() {
	os.Exit(cli.RunTarget(context.Background(), memdialect.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Command target-postgres loads a Singer stream from stdin into PostgreSQL.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/targets/postgres"
)

func main() {
	os.Exit(cli.RunTarget(context.Background(), postgres.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

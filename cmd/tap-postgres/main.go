// Command tap-postgres reads PostgreSQL tables and views as Singer streams.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/taps/postgres"
)

func main() {
	os.Exit(cli.RunTap(context.Background(), postgres.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Command tap-csv reads CSV files and writes them as Singer streams.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	csvtap "github.com/singerkit/singerkit/taps/csv"
)

func main() {
	os.Exit(cli.RunTap(context.Background(), csvtap.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Command tap-csv reads CSV files and writes them as Singer streams.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/singer"
	csvtap "github.com/singerkit/singerkit/taps/csv"
)

func main() {
	os.Exit(singer.RunTap(context.Background(), csvtap.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Command target-bigquery loads a Singer stream from stdin into BigQuery.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/targets/bigquery"
)

func main() {
	os.Exit(cli.RunTarget(context.Background(), bigquery.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

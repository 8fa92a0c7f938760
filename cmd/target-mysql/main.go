// Command target-mysql loads a Singer stream from stdin into MySQL or MariaDB.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/targets/mysql"
)

func main() {
	os.Exit(cli.RunTarget(context.Background(), mysql.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

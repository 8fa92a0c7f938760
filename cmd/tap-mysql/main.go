// Command tap-mysql reads MySQL and MariaDB tables and views as Singer streams.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/taps/mysql"
)

func main() {
	os.Exit(cli.RunTap(context.Background(), mysql.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

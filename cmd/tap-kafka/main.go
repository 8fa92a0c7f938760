// Command tap-kafka is the Kafka reader of the central log (see docs/tap-kafka.md).
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	kafkatap "github.com/singerkit/singerkit/taps/kafka"
)

func main() {
	os.Exit(cli.RunTap(context.Background(), kafkatap.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Command target-kafka is the Kafka writer of the central log (see docs/target-kafka.md).
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	kafkatarget "github.com/singerkit/singerkit/targets/kafka"
)

func main() {
	os.Exit(cli.RunTarget(context.Background(), kafkatarget.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

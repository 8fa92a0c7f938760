// Command tap-nats reads a Singer stream back from a NATS JetStream stream
// that target-nats wrote.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	natstap "github.com/singerkit/singerkit/taps/nats"
)

func main() {
	os.Exit(cli.RunTap(context.Background(), natstap.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Command tap-nats reads a Singer stream back from a NATS JetStream stream
// that target-nats wrote.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/singer"
	natstap "github.com/singerkit/singerkit/taps/nats"
)

func main() {
	os.Exit(singer.RunTap(context.Background(), natstap.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

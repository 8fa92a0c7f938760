// Command singer is the singerkit toolkit: `singer check` validates a Singer
// stream for conformance (for CI), `singer gen` writes synthetic streams.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/singer"
)

func main() {
	os.Exit(singer.RunToolkit(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

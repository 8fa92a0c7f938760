// Command singer is the singerkit toolkit: `singer run` runs the pipelines
// of a project file (with `select`, `state` and `runs`), `singer check`
// validates a Singer stream for conformance (for CI), `singer gen` writes
// synthetic streams.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/toolkit"
)

func main() {
	os.Exit(toolkit.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

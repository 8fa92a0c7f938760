// Command target-jsonl writes Singer streams to JSON Lines files, one per
// stream, and echoes STATE once the records before it are on disk.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/targets/jsonl"
)

func main() {
	os.Exit(cli.RunTarget(context.Background(), jsonl.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

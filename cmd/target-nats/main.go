// Command target-nats publishes a Singer stream to a NATS JetStream stream
// and echoes each STATE once the stream acknowledged everything before it.
package main

import (
	"context"
	"os"

	"github.com/singerkit/singerkit/internal/cli"

	natstarget "github.com/singerkit/singerkit/targets/nats"
)

func main() {
	os.Exit(cli.RunTarget(context.Background(), natstarget.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

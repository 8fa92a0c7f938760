package toolkit

import (
	"context"
	"io"
	"strings"

	"github.com/singerkit/singerkit/internal/canary"
	"github.com/singerkit/singerkit/internal/check"
	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/gate"
	"github.com/singerkit/singerkit/internal/gen"
	"github.com/singerkit/singerkit/internal/runner"
	"github.com/spf13/cobra"
)

// Command is a subcommand that parses its own arguments: the singer
// binary hands it everything after its name.
type Command struct {
	Name, Short string
	Main        func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// Commands are the subcommands served by other packages, listed in
// `singer --help` with check and gen.
var Commands = []Command{
	{"run", "Run pipelines of singer.yaml: the tap piped into the target, every STATE saved", runner.Main},
	{"select", "Show what a pipeline's tap will sync (streams, columns, replication)", runner.Main},
	{"state", "Read or change the saved state of pipelines (list, get, set, clear)", runner.Main},
	{"runs", "Show the run history of a pipeline", runner.Main},
	{"schedule", "Print crontab lines or Kubernetes CronJobs for the pipelines with a schedule", runner.Main},
	{"init", "Write a starter singer.yaml for the connectors found on PATH", runner.Main},
	{"canary", "Tracer bullets: send tracers through pipelines, check they arrived and how late (init, send, check, serve, report)", canary.Main},
	{"gate", "Serve an HTTP import API (Stitch Import API v2, Singer messages) that stores pushed data in the central log", gate.Main},
}

// Run runs the `singer` binary: the project commands (run, select,
// state...), conformance checks for CI, a generator of synthetic streams
// and stream maps as a filter (map).
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		for _, c := range Commands {
			if c.Name == args[0] {
				return c.Main(ctx, args, stdin, stdout, stderr)
			}
		}
	}
	root := &cobra.Command{
		Use:           "singer",
		Short:         "The singerkit toolkit: run pipelines, check Singer streams for conformance, map them, generate test streams",
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       cli.Version,
		// Without Args cobra's own "unknown command" error would exit 1;
		// a root that runs only to refuse arguments keeps it a usage error.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("unknown command %q (commands: %s)", args[0], strings.Join(names(), ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.AddCommand(check.NewCommand(stdin, stdout, stderr))
	root.AddCommand(gen.NewCommand(stdout, stderr))
	root.AddCommand(newMapCommand(stdin, stdout, stderr))
	for _, c := range Commands {
		// Listed in the help; Run hands them their arguments before cobra
		// sees them.
		root.AddCommand(&cobra.Command{Use: c.Name, Short: c.Short, DisableFlagParsing: true, Run: func(*cobra.Command, []string) {}})
	}
	return cli.Execute(ctx, root, args, stderr, "singer")
}

// names are the commands, for the unknown-command line.
func names() []string {
	n := []string{"check", "gen", "map"}
	for _, c := range Commands {
		n = append(n, c.Name)
	}
	return n
}

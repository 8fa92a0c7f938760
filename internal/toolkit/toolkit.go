package toolkit

import (
	"context"
	"io"

	"github.com/singerkit/singerkit/internal/check"
	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/gen"
	"github.com/spf13/cobra"
)

// Run runs the `singer` toolkit binary: conformance checks for CI and
// a generator of synthetic streams.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "singer",
		Short:         "The singerkit toolkit: check Singer streams for conformance, generate test streams",
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       cli.Version,
		// Without Args cobra's own "unknown command" error would exit 1;
		// a root that runs only to refuse arguments keeps it a usage error.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("unknown command %q (commands: check, gen)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.AddCommand(check.NewCommand(stdin, stdout, stderr))
	root.AddCommand(gen.NewCommand(stdout, stderr))
	return cli.Execute(ctx, root, args, stderr, "singer")
}

package singer

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// RunToolkit runs the `singer` toolkit binary: conformance checks for CI and
// a generator of synthetic streams.
func RunToolkit(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "singer",
		Short:         "The singerkit toolkit: check Singer streams for conformance, generate test streams",
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       Version,
		// Without Args cobra's own "unknown command" error would exit 1;
		// a root that runs only to refuse arguments keeps it a usage error.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return Usagef("unknown command %q (commands: check, gen)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.AddCommand(newCheckCommand(stdin, stdout, stderr))
	root.AddCommand(newGenerateCommand(stdout, stderr))
	return execute(ctx, root, args, stderr, "singer")
}

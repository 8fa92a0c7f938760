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
	}
	root.AddCommand(newCheckCommand(stdin, stdout, stderr))
	root.AddCommand(newGenerateCommand(stdout, stderr))
	return execute(ctx, root, args, stderr, "singer")
}

package singer

import (
	"io"

	"github.com/spf13/cobra"
)

// Placeholder: replaced by the stream generator.
func newGenerateCommand(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{Use: "gen", Short: "generate a synthetic Singer stream (not built yet)"}
}

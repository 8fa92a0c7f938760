package singer

import (
	"io"

	"github.com/spf13/cobra"
)

// Placeholder: replaced by the conformance checker.
func newCheckCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{Use: "check", Short: "check a Singer stream (not built yet)"}
}

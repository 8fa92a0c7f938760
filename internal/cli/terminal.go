package cli

import (
	"io"
	"os"
)

// IsTerminal tells whether w is a terminal (a character device), where a
// live progress line makes sense.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

package cli

import (
	"os"
	"runtime/debug"
)

// BaseMemoryLimit is the Go runtime's soft memory limit in every binary
// (unless GOMEMLIMIT is set): what the protocol needs besides the batches.
// It does not fail a run that needs more; it makes the garbage collector
// return memory sooner instead of letting the heap grow to twice what is
// live (GOGC's default), which is where most of a long line's or a full
// batch's peak went.
const BaseMemoryLimit = 64 << 20

// SetMemoryLimit sets the runtime's soft memory limit to bytes, unless the
// user set GOMEMLIMIT.
func SetMemoryLimit(bytes int64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(bytes)
}

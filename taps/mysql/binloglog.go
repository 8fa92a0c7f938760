package mysql

import (
	"io"
	"log/slog"
)

// discardLogger keeps the binlog library's own log lines off stderr, which
// carries the tap's one-line errors and metrics.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

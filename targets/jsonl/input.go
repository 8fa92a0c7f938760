package jsonl

import (
	"errors"
	"os"
)

// unwrapPath drops the path from an *os.PathError, whose message the
// caller writes with its own context.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

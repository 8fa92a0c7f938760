package config

import (
	"errors"
	"os"
)

// WithoutPath returns the error of a file operation without the path the
// os package puts in front: the messages of the binaries name the file
// themselves, with the flag or key it came from.
func WithoutPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

package config

import (
	"strings"
)

// These helpers build what the database drivers' configs need from a
// binary's config, with no database import: the taps and targets of one
// database share them.

// Redact replaces every secret (of 3 bytes or more) in msg with ***, so that
// an error from a driver never shows a password or a DSN.
func Redact(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	return msg
}

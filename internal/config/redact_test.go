package config

import (
	"testing"
)

func TestRedact(t *testing.T) {
	got := Redact("dial user:s3cret@h failed (dsn user:s3cret@h)", "s3cret", "ab", "")
	if got != "dial user:***@h failed (dsn user:***@h)" {
		t.Errorf("got %q", got)
	}
}

package toolkit

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A stray positional argument is a usage error (exit 2) in every command.
func TestStrayArgumentIsUsage(t *testing.T) {
	var o, e bytes.Buffer
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"stray"}, "singer: error: unknown command \"stray\" (commands: check, gen)\nRun 'singer --help' for usage.\n"},
		{[]string{"check", "stray"}, "singer: error: check takes no arguments, got \"stray\" (use --input FILE or --tap COMMAND)\nRun 'singer check --help' for usage.\n"},
		{[]string{"gen", "stray"}, "singer: error: gen takes no arguments, got [\"stray\"]\nRun 'singer gen --help' for usage.\n"},
	} {
		o.Reset()
		e.Reset()
		code := Run(context.Background(), c.args, strings.NewReader(""), &o, &e)
		if code != 2 || e.String() != c.want {
			t.Errorf("singer %v: code %d stderr %q, want 2 %q", c.args, code, e.String(), c.want)
		}
	}
}

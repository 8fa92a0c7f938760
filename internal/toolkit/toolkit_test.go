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
		{[]string{"stray"}, "singer: error: unknown command \"stray\" (commands: check, gen, run, select, state, runs, schedule, init)\nRun 'singer --help' for usage.\n"},
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

// TestHelpListsEveryCommand: singer --help lists the project commands
// beside check and gen (on stderr: stdout is for data in every binary),
// and each is handed its own arguments.
func TestHelpListsEveryCommand(t *testing.T) {
	var o, e bytes.Buffer
	if code := Run(context.Background(), []string{"--help"}, strings.NewReader(""), &o, &e); code != 0 {
		t.Fatalf("exit %d: %s", code, e.String())
	}
	for _, name := range names() {
		if !strings.Contains(e.String(), "\n  "+name+" ") { // help goes to stderr, as in every binary
			t.Errorf("singer --help does not list %s:\n%s", name, e.String())
		}
	}
	o.Reset()
	e.Reset()
	code := Run(context.Background(), []string{"state", "list", "--project", "/nonexistent/singer.yaml"}, strings.NewReader(""), &o, &e)
	if code != 2 || !strings.Contains(e.String(), "/nonexistent/singer.yaml") {
		t.Errorf("singer state list: exit %d, stderr %q", code, e.String())
	}
}

package toolkit

import (
	"bytes"
	"context"
	"os"
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
		{[]string{"stray"}, "singer: error: unknown command \"stray\" (commands: check, gen, map, run, select, state, runs, schedule, init, canary, gate)\nRun 'singer --help' for usage.\n"},
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

// singer map: a filter between a tap and a target; a bad expression is
// one line and exit 2 before any input is read.
func TestMapCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"stream_maps":{"users":{"email":"sha256(lower(email))","phone":null,"__filter__":"id != 2"}}}`)
	in := `{"type":"SCHEMA","stream":"users","schema":{"properties":{"id":{"type":"integer"},"email":{"type":"string"},"phone":{"type":"string"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"users","record":{"id":1,"email":"Ada@Example.com","phone":"+1 555 0100"}}
{"type":"STATE","value":{"bookmarks":{"users":{"id":1}}}}
{"type":"RECORD","stream":"users","record":{"id":2,"email":"b@example.com","phone":"+1 555 0101"}}
{"type":"STATE","value":{"bookmarks":{"users":{"id":2}}}}
`
	var o, e bytes.Buffer
	code := Run(context.Background(), []string{"map", "-c", good}, strings.NewReader(in), &o, &e)
	want := `{"type":"SCHEMA","stream":"users","schema":{"properties":{"id":{"type":"integer"},"email":{"type":["string","null"]}}},"key_properties":["id"]}
{"type":"RECORD","stream":"users","record":{"id":1,"email":"b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72"}}
{"type":"STATE","value":{"bookmarks":{"users":{"id":1}}}}
{"type":"STATE","value":{"bookmarks":{"users":{"id":2}}}}
`
	if code != 0 || o.String() != want || e.Len() != 0 {
		t.Errorf("exit %d\nstdout:\n%s\nstderr: %s", code, o.String(), e.String())
	}
	for _, c := range []struct {
		name, config, want string
	}{
		{"bad expression", `{"stream_maps":{"users":{"email":"sha256(email"}}}`,
			"singer: error: invalid config: stream_maps.users.email: \"sha256(email\": column 12: unexpected token EOF\n"},
		{"unknown key", `{"stream_maps":{},"stream_map":{}}`,
			"singer: error: invalid config: unknown config key \"stream_map\": did you mean \"stream_maps\"?\n"},
		{"nothing to map", `{}`,
			"singer: error: the config has no stream_maps and no flattening_enabled: nothing to map\nRun 'singer map --help' for usage.\n"},
	} {
		o.Reset()
		e.Reset()
		code := Run(context.Background(), []string{"map", "--config", write(c.name+".json", c.config)}, strings.NewReader(in), &o, &e)
		if code != 2 || e.String() != c.want || o.Len() != 0 {
			t.Errorf("%s: exit %d, stderr %q, want 2 %q", c.name, code, e.String(), c.want)
		}
	}
}

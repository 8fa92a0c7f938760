package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/singerkit/singerkit/singer"
)

var testAbout = About{
	Name: "tap-test", Description: "a test tap", Version: "1.2.3",
	Capabilities: []string{"discover", "state"},
	Settings:     []byte(`{"type":"object","required":["host"],"properties":{"host":{"type":"string","description":"Server host."},"port":{"type":"integer","default":5432,"description":"Server port."}}}`),
}

func testTap(syncErr error) TapSpec {
	return TapSpec{
		About: testAbout,
		Discover: func(ctx context.Context, env *Env) error {
			_, err := io.WriteString(env.Stdout, `{"streams":[]}`+"\n")
			return err
		},
		Sync: func(ctx context.Context, env *Env, c *singer.Catalog, s *singer.State, out *singer.Encoder) error {
			if syncErr != nil {
				return syncErr
			}
			s.SetBookmark("t", "host", env.Config.String("host"))
			b, _ := s.MarshalJSON()
			return out.WriteState(b)
		},
	}
}

func runTapTest(t *testing.T, spec TapSpec, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = RunTap(context.Background(), spec, args, strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

func TestRunTap(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.json", `{"host":"db1"}`)
	bad := writeFile(t, dir, "bad.json", `{"port":"x"}`)
	state := writeFile(t, dir, "state.json", `{"bookmarks":{"t":{"old":1}}}`)
	cases := []struct {
		name         string
		spec         TapSpec
		args         []string
		code         int
		stdout       string
		stderrPrefix string
	}{
		{"version", testTap(nil), []string{"--version"}, 0, "tap-test 1.2.3\n", ""},
		{"no config", testTap(nil), nil, 2, "", "tap-test: error: --config is required (a JSON file; see --about for its keys)\nRun 'tap-test --help' for usage.\n"},
		{"unknown flag", testTap(nil), []string{"--nope"}, 2, "", "tap-test: error: unknown flag: --nope\n"},
		{"invalid config", testTap(nil), []string{"-c", bad}, 2, "", "tap-test: error: invalid config (2 problems): missing properties: 'host'; port: expected integer, but got string\n"},
		{"discover", testTap(nil), []string{"-c", good, "--discover"}, 0, "{\"streams\":[]}\n", ""},
		{"sync with state", testTap(nil), []string{"--config", good, "--state", state}, 0, `{"type":"STATE","value":{"bookmarks":{"t":{"host":"db1","old":1}},"currently_syncing":null}}` + "\n", ""},
		{"runtime error", testTap(errors.New("connecting to db1: refused")), []string{"-c", good}, 1, "", "tap-test: error: connecting to db1: refused\n"},
		{"missing state", testTap(nil), []string{"-c", good, "-s", dir + "/none.json"}, 2, "", "tap-test: error: cannot use state " + dir + "/none.json: no such file or directory\n"},
		{"catalog and properties", testTap(nil), []string{"-c", good, "--catalog", "a", "--properties", "b"}, 2, "", "tap-test: error: use --catalog or --properties, not both\n"},
		{"stray argument", testTap(nil), []string{"-c", good, "stray"}, 2, "", "tap-test: error: unexpected argument \"stray\": tap-test takes flags only\nRun 'tap-test --help' for usage.\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runTapTest(t, c.spec, c.args...)
			if code != c.code || stdout != c.stdout || !strings.HasPrefix(stderr, c.stderrPrefix) {
				t.Errorf("code %d stdout %q stderr %q\nwant code %d stdout %q stderr prefix %q", code, stdout, stderr, c.code, c.stdout, c.stderrPrefix)
			}
		})
	}
}

func TestAbout(t *testing.T) {
	code, out, _ := runTapTest(t, testTap(nil), "--about")
	if code != 0 || !strings.Contains(out, `"name": "tap-test"`) || !strings.Contains(out, `"capabilities": [`) || !strings.Contains(out, `"settings": {`) {
		t.Errorf("about json: %d %s", code, out)
	}
	code, out, _ = runTapTest(t, testTap(nil), "--about", "--format", "markdown")
	want := "| `port` | integer | `5432` | Server port. |"
	if code != 0 || !strings.Contains(out, "# tap-test") || !strings.Contains(out, want) {
		t.Errorf("about markdown: %d %s", code, out)
	}
	code, _, errOut := runTapTest(t, testTap(nil), "--about", "--format", "xml")
	if code != 2 || !strings.HasPrefix(errOut, `tap-test: error: --format must be json or markdown, not "xml"`) {
		t.Errorf("bad format: %d %s", code, errOut)
	}
}

func TestRunTargetInput(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.json", `{"host":"x"}`)
	in := writeFile(t, dir, "in.jsonl", `{"type":"STATE","value":{"a":1}}`+"\n")
	spec := TargetSpec{About: testAbout, Run: func(ctx context.Context, env *Env, r io.Reader, out *singer.Encoder) error {
		d := singer.NewDecoder(r)
		for d.Next() {
			if d.Message().Type == singer.TypeState {
				if err := out.WriteRaw(d.Message().Value); err != nil {
					return err
				}
			}
		}
		return d.Err()
	}}
	var o, e bytes.Buffer
	code := RunTarget(context.Background(), spec, []string{"-c", cfg, "--input", in}, strings.NewReader(""), &o, &e)
	if code != 0 || o.String() != "{\"a\":1}\n" {
		t.Errorf("code %d out %q err %q", code, o.String(), e.String())
	}
	code = RunTarget(context.Background(), spec, []string{"-c", cfg, "--input", dir + "/missing"}, strings.NewReader(""), &o, &e)
	if code != 2 {
		t.Errorf("missing input: code %d", code)
	}
}

type codedError struct{ code int }

func (e codedError) Error() string { return "coded" }
func (e codedError) ExitCode() int { return e.code }

func TestExitCodeOfExitCoder(t *testing.T) {
	var stderr bytes.Buffer
	err := fmt.Errorf("wrapped: %w", codedError{ExitUsage})
	if code := Report(&stderr, "tap-test", nil, err); code != ExitUsage {
		t.Errorf("exit %d, want %d", code, ExitUsage)
	}
	if got := stderr.String(); got != "tap-test: error: wrapped: coded\n" {
		t.Errorf("stderr %q: want one line, no usage hint", got)
	}
}

// A stray positional argument is a usage error (exit 2) in every binary.
func TestStrayArgumentIsUsage(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.json", `{"host":"x"}`)
	spec := TargetSpec{About: testAbout, Run: func(ctx context.Context, env *Env, r io.Reader, out *singer.Encoder) error { return nil }}
	var o, e bytes.Buffer
	code := RunTarget(context.Background(), spec, []string{"-c", cfg, "stray"}, strings.NewReader(""), &o, &e)
	if want := "tap-test: error: unexpected argument \"stray\": tap-test takes flags only\nRun 'tap-test --help' for usage.\n"; code != 2 || e.String() != want {
		t.Errorf("target: code %d stderr %q, want 2 %q", code, e.String(), want)
	}

}

// A config error is a usage error (exit 2).
func TestExitCodeOfConfigError(t *testing.T) {
	if got := ExitCode(fmt.Errorf("loading: %w", &config.Error{Problems: []string{"port: not an integer"}})); got != ExitUsage {
		t.Errorf("exit code %d, want %d", got, ExitUsage)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

package csvtap

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
)

// fixedMtime is the modification time test files get, so that states are
// exact.
var fixedMtime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

const fixedMtimeText = "2024-01-02T03:04:05Z"

// writeFile writes a file under dir with the fixed modification time and
// returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fixedMtime, fixedMtime); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeConfig writes a config file and returns its path.
func writeConfig(t *testing.T, dir string, cfg any) string {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "config.json", string(b))
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs tap-csv in-process.
func run(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.RunTap(ctx, Spec(), args, strings.NewReader(""), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// runTapTo runs tap-csv in-process with the given output streams.
func runTapTo(ctx context.Context, stdout, stderr io.Writer, args ...string) int {
	return cli.RunTap(ctx, Spec(), args, strings.NewReader(""), stdout, stderr)
}

var timeExtracted = regexp.MustCompile(`"time_extracted":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"`)

// lines splits output into lines with time_extracted masked.
func lines(s string) []string {
	s = timeExtracted.ReplaceAllString(s, `"time_extracted":"*"`)
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// metrics drops the record_count metric lines from stderr.
func withoutMetrics(stderr string) []string {
	var out []string
	for _, l := range lines(stderr) {
		if !strings.HasPrefix(l, "INFO METRIC: ") {
			out = append(out, l)
		}
	}
	return out
}

// checkStream reads a tap's output with singer.NewDecoder and validates
// every record against its stream's SCHEMA with singer.CompileSchema.
func checkStream(t *testing.T, out string) {
	t.Helper()
	dec := singer.NewDecoder(strings.NewReader(out))
	dec.Strict = true
	schemas := map[string]*singer.Schema{}
	var row singer.Row
	for dec.Next() {
		m := dec.Message()
		switch m.Type {
		case singer.TypeSchema:
			s, err := singer.CompileSchema(m.Schema, singer.SchemaOptions{})
			if err != nil {
				t.Fatalf("line %d: %v", m.Line, err)
			}
			schemas[m.Stream] = s
		case singer.TypeRecord:
			s := schemas[m.Stream]
			if s == nil {
				t.Fatalf("line %d: RECORD before SCHEMA for %q", m.Line, m.Stream)
			}
			if err := s.Decode(m.Record, &row, true); err != nil {
				t.Fatalf("line %d: record does not match its schema: %v", m.Line, err)
			}
			if _, ok, err := m.ExtractedAt(); !ok || err != nil {
				t.Fatalf("line %d: time_extracted: ok=%v err=%v", m.Line, ok, err)
			}
		}
	}
	if err := dec.Err(); err != nil {
		t.Fatalf("decoder: %v", err)
	}
}

func equalLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

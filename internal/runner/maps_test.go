package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A pipeline's maps run between its tap and its target: records mapped,
// every STATE passed and saved, in order.
func TestRunWithMaps(t *testing.T) {
	dir, path := writeProject(t, `    maps:
      stream_maps:
        items:
          name: "upper(name)"
          tag: "'t-' + str(id)"
          __filter__: "id % 2 == 1"
`)
	code, _, stderr := runMain(t, "run", "--project", path, "p1")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := readLines(t, filepath.Join(dir, "out.jsonl"))
	want := []string{
		`{"type":"RECORD","stream":"items","record":{"id":1,"name":"N1","tag":"t-1"}}`,
		`{"type":"RECORD","stream":"items","record":{"id":3,"name":"N3","tag":"t-3"}}`,
		`{"type":"RECORD","stream":"items","record":{"id":5,"name":"N5","tag":"t-5"}}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records landed:\n%s", strings.Join(got, "\n"))
	}
	st, _ := os.ReadFile(filepath.Join(dir, "state", "p1.state.json"))
	if string(st) != "{\"pos\":5}\n" || !strings.Contains(stderr, "states saved: 5") {
		t.Errorf("saved state %q\n%s", st, stderr)
	}
}

// A bad map is found when the project file is read, with its line; a map
// that does not fit the stream fails the run as a config error (exit 2,
// not retried) after the target committed nothing wrong.
func TestRunWithBadMaps(t *testing.T) {
	_, path := writeProject(t, `    maps:
      stream_maps:
        items:
          name: "upper(name"
`)
	code, _, stderr := runMain(t, "run", "--project", path, "p1")
	want := `singer.yaml:18: pipelines.p1.maps.stream_maps.items.name: "upper(name": column 10: unexpected token EOF`
	if code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr:\n%s\nwant a line %q", code, stderr, want)
	}
	_, path = writeProject(t, `    retries: 2
    maps:
      stream_maps:
        items:
          id: null
`)
	code, _, stderr = runMain(t, "run", "--project", path, "p1")
	want = `maps: stream_maps.items: the map removes key property "id" of stream "items"`
	if code != 2 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "not retried") || strings.Contains(stderr, "attempt 2") {
		t.Errorf("exit %d, stderr:\n%s\nwant %q", code, stderr, want)
	}
}

package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// connectorsOnPath lists the executables named tap-* and target-* on PATH,
// the first of each name only, sorted.
func connectorsOnPath() (taps, targets []string) {
	seen := map[string]bool{}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if seen[n] || !(strings.HasPrefix(n, "tap-") || strings.HasPrefix(n, "target-")) {
				continue
			}
			info, err := e.Info()
			if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
				continue
			}
			seen[n] = true
			if strings.HasPrefix(n, "tap-") {
				taps = append(taps, n)
			} else {
				targets = append(targets, n)
			}
		}
	}
	sort.Strings(taps)
	sort.Strings(targets)
	return taps, targets
}

// writeStarter writes a commented starter project file; it never
// overwrites one.
func writeStarter(path string, stdout io.Writer) error {
	taps, targets := connectorsOnPath()
	tap, target := "tap-postgres", "target-postgres"
	if len(taps) > 0 {
		tap = taps[0]
	}
	if len(targets) > 0 {
		target = targets[0]
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# singer.yaml: the pipelines of this project (see docs/singer-run.md).
# Run one with: singer run my-pipeline
# Values may use ${VAR} or ${VAR:-default} from the environment: keep secrets there.
`)
	if len(taps)+len(targets) > 0 {
		fmt.Fprintf(&b, "# Connectors found on PATH: %s\n", strings.Join(append(taps, targets...), ", "))
	}
	fmt.Fprintf(&b, `connectors:
  source:
    command: %s
    config: {}              # the settings of %s (%s --help; its docs page)
    select: ["*.*"]         # stream.property globs; "!stream.column" leaves a column out
    # metadata:
    #   some-stream: {replication-method: INCREMENTAL, replication-key: updated_at}
  destination:
    command: %s
    config: {}              # the settings of %s
pipelines:
  my-pipeline:
    tap: source
    target: destination
    # schedule: "*/15 * * * *"   # for singer schedule --crontab|--kubernetes
    retries: 2
    # timeout: 2h
state: ${SINGER_STATE_URL:-file://.singer/state}   # or postgres://user@host/db
`, tap, tap, tap, target, target)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return usagef("%s exists already; singer init does not overwrite it (pass --project NEW.yaml)", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (source: %s, destination: %s)\n", path, tap, target)
	return nil
}

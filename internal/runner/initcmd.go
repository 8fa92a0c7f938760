package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/singerkit/singerkit/internal/config"
)

// starterKeys are the settings a starter config spells out when the
// connector has them: what a connection needs, in this order. The
// required ones come first, whatever their names.
var starterKeys = []string{"host", "port", "user", "password", "dbname", "database", "project", "dataset", "servers", "brokers", "topic", "destination_path", "path", "default_target_schema"}

// about is what a connector's --about says of its settings.
type about struct {
	Settings struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	} `json:"settings"`
}

// starterConfig returns the YAML lines of a starter config for the
// connector at path, from its --about (any Singer connector that has one:
// ours, the Meltano SDK's): its required settings and its connection
// settings with their defaults, secrets from the environment (prefix
// names the variables). ok is false when it gave no --about.
func starterConfig(path, prefix string) (lines []string, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--about").Output()
	if err != nil {
		return nil, false
	}
	var a about
	if json.Unmarshal(out, &a) != nil || a.Settings.Properties == nil {
		return nil, false
	}
	var keys []string
	seen := map[string]bool{}
	for _, k := range append(append([]string{}, a.Settings.Required...), starterKeys...) {
		if _, has := a.Settings.Properties[k]; has && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	required := map[string]bool{}
	for _, k := range a.Settings.Required {
		required[k] = true
	}
	for _, k := range keys {
		var p struct {
			Default     any    `json:"default"`
			Description string `json:"description"`
			Type        any    `json:"type"`
		}
		_ = json.Unmarshal(a.Settings.Properties[k], &p)
		value := placeholder(p.Type)
		switch {
		case config.IsSecretKey(k):
			value = "${" + prefix + "_" + strings.ToUpper(k) + ":-}"
		case p.Default != nil:
			b, _ := json.Marshal(p.Default)
			value = string(b)
		}
		line := k + ": " + value
		note := firstSentence(p.Description)
		if required[k] {
			note = "required. " + note
		}
		if note != "" {
			line += "  # " + note
		}
		lines = append(lines, line)
	}
	return lines, true
}

// placeholder is the empty value of a JSON Schema type, to be filled in.
func placeholder(typ any) string {
	t, _ := typ.(string)
	if ts, ok := typ.([]any); ok && len(ts) > 0 {
		t, _ = ts[0].(string)
	}
	switch t {
	case "array":
		return "[]"
	case "object":
		return "{}"
	case "boolean":
		return "false"
	case "integer", "number":
		return "0"
	}
	return `""`
}

// firstSentence shortens a description to its first sentence.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	return strings.ReplaceAll(s, "\n", " ")
}

// configBlock is a connector's config in the starter, indented under
// its connector.
func configBlock(name, path, prefix string) string {
	lines, ok := starterConfig(path, prefix)
	if !ok {
		return fmt.Sprintf("    config: {}              # the settings of %s (its --about or docs)\n", name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "    config:                 # from %s --about; every setting: %s --about --format markdown\n", name, name)
	if len(lines) == 0 {
		b.Reset()
		fmt.Fprintf(&b, "    config: {}              # %s needs no setting; every setting: %s --about --format markdown\n", name, name)
	}
	for _, l := range lines {
		b.WriteString("      " + l + "\n")
	}
	return b.String()
}

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
	// tap-postgres and target-postgres when they are there, else the
	// first of each found.
	tap, target := "tap-postgres", "target-postgres"
	if len(taps) > 0 && !slices.Contains(taps, tap) {
		tap = taps[0]
	}
	if len(targets) > 0 && !slices.Contains(targets, target) {
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
	tapPath, _ := exec.LookPath(tap)
	targetPath, _ := exec.LookPath(target)
	fmt.Fprintf(&b, `connectors:
  source:
    command: %s
%s    select: ["*.*"]         # stream.property globs; "!stream.column" leaves a column out
    # metadata:
    #   some-stream: {replication-method: INCREMENTAL, replication-key: updated_at}
  destination:
    command: %s
%spipelines:
  my-pipeline:
    tap: source
    target: destination
    # schedule: "*/15 * * * *"   # for singer schedule --crontab|--kubernetes
    retries: 2
    # timeout: 2h
state: ${SINGER_STATE_URL:-file://.singer/state}   # or postgres://user@host/db
`, tap, configBlock(tap, tapPath, "SOURCE"), target, configBlock(target, targetPath, "DESTINATION"))
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

// Package docs_test keeps the pages of docs/ true to the binaries.
//
// Every binary (a directory under cmd/) has a page docs/<binary>.md, linked
// from the README. When the binary prints a settings table (`<binary>
// --about --format markdown`, rendered from its embedded config schema by
// internal/configdoc), its page carries that exact text between the markers
//
//	<!-- settings:<binary> -->
//	<!-- /settings -->
//
// and TestPagesMatchBinaries fails when the two differ. `make docs` (which
// runs this test with SINGERKIT_UPDATE_DOCS=1) rewrites the text between the
// markers. Nothing here names a binary: a new cmd/<binary> with its page is
// checked as soon as it exists.
package docs_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const (
	root          = ".."
	updateEnv     = "SINGERKIT_UPDATE_DOCS"
	regenerate    = "run `make docs` to regenerate it (or SINGERKIT_UPDATE_DOCS=1 go test ./docs/)"
	settingsEnd   = "<!-- /settings -->"
	settingsTitle = "\n## Settings\n\n"
)

var settingsBegin = regexp.MustCompile(`<!-- settings:([A-Za-z0-9_.-]+) -->\n`)

// binaries lists the directories of cmd/ that hold a main package.
func binaries(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(root, "cmd", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(filepath.Dir(d)))
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("no binary under cmd/")
	}
	return names
}

// settingsOf builds every binary and returns, per binary that prints one,
// the text after "## Settings" in its `--about --format markdown`.
func settingsOf(t *testing.T, names []string) map[string]string {
	t.Helper()
	bin := t.TempDir()
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "./cmd/"+n)
	}
	build := exec.Command("go", args...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	settings := map[string]string{}
	for _, n := range names {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(filepath.Join(bin, n), "--about", "--format", "markdown")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			// A binary without --about (the singer toolkit) has no settings.
			continue
		}
		out := stdout.String()
		i := strings.Index(out, settingsTitle)
		if i < 0 {
			t.Errorf("%s --about --format markdown prints no %q section", n, strings.TrimSpace(settingsTitle))
			continue
		}
		settings[n] = out[i+len(settingsTitle):]
	}
	return settings
}

// TestPagesMatchBinaries: every binary has its page, linked from the README,
// and every settings block of every page is what its binary prints.
func TestPagesMatchBinaries(t *testing.T) {
	names := binaries(t)
	settings := settingsOf(t, names)
	update := os.Getenv(updateEnv) == "1"

	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	isBinary := map[string]bool{}
	for _, n := range names {
		isBinary[n] = true
		page := filepath.Join(root, "docs", n+".md")
		if _, err := os.Stat(page); err != nil {
			t.Errorf("cmd/%s has no page docs/%s.md: write one (CONTRIBUTING.md, \"Docs\", says what it holds)", n, n)
			continue
		}
		if !bytes.Contains(readme, []byte("(docs/"+n+".md)")) {
			t.Errorf("README.md does not link docs/%s.md: add a row for %s to its table of binaries", n, n)
		}
	}

	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, page := range pages {
		rel := "docs/" + filepath.Base(page)
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		var out strings.Builder
		rest := text
		for {
			loc := settingsBegin.FindStringSubmatchIndex(rest)
			if loc == nil {
				out.WriteString(rest)
				break
			}
			name := rest[loc[2]:loc[3]]
			out.WriteString(rest[:loc[1]])
			rest = rest[loc[1]:]
			end := strings.Index(rest, settingsEnd)
			if end < 0 {
				t.Fatalf("%s: <!-- settings:%s --> has no %s after it", rel, name, settingsEnd)
			}
			got := rest[:end]
			rest = rest[end:]
			want, ok := settings[name]
			switch {
			case !isBinary[name]:
				t.Errorf("%s: <!-- settings:%s --> names no binary: there is no cmd/%s", rel, name, name)
				out.WriteString(got)
				continue
			case !ok:
				t.Errorf("%s: <!-- settings:%s -->: %s --about --format markdown prints no settings", rel, name, name)
				out.WriteString(got)
				continue
			}
			found[name] = true
			if update {
				out.WriteString(want)
				continue
			}
			out.WriteString(got)
			if got != want {
				t.Errorf("%s: the settings of %s between its markers are not what `%s --about --format markdown` prints from its config schema (schemas/%s.config.json): %s\n%s",
					rel, name, name, name, regenerate, firstDifference(got, want))
			}
		}
		if update && out.String() != text {
			if err := os.WriteFile(page, []byte(out.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("rewrote the settings in %s", rel)
		}
	}
	for _, n := range names {
		if _, ok := settings[n]; ok && !found[n] {
			t.Errorf("docs/%s.md has no settings block: put the lines\n<!-- settings:%s -->\n%s\nunder its settings heading, then %s", n, n, settingsEnd, regenerate)
		}
	}
}

// firstDifference shows the first line where the page and the binary part.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("first difference, line %d of the block:\n page:   %q\n binary: %q", i+1, gl, wl)
		}
	}
	return ""
}

var (
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
	fence   = regexp.MustCompile("(?ms)^```.*?^```")
)

// slug is GitHub's anchor for a heading: lower case, punctuation other than
// '-' and '_' dropped, spaces made '-'.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors lists the heading anchors of a markdown file (a repeated heading
// gets -1, -2... as on GitHub).
func anchors(text string) map[string]bool {
	text = fence.ReplaceAllString(text, "")
	seen := map[string]int{}
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(text, -1) {
		s := slug(m[1])
		if n := seen[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// TestLinks: every relative link of the README, the top-level docs and the
// pages of docs/ names a file of the repository, and its #anchor a heading
// of that file.
func TestLinks(t *testing.T) {
	files := []string{"README.md", "CONTRIBUTING.md", "CHANGELOG.md"}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		files = append(files, "docs/"+filepath.Base(p))
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		text := fence.ReplaceAllString(string(b), "")
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(link, "#")
			target := filepath.Join(root, filepath.Dir(f), path)
			if path == "" {
				target = filepath.Join(root, f)
			}
			info, err := os.Stat(target)
			if err != nil {
				t.Errorf("%s: link %q: no such file %s", f, link, filepath.Clean(filepath.Join(filepath.Dir(f), path)))
				continue
			}
			if anchor == "" || info.IsDir() {
				continue
			}
			tb, err := os.ReadFile(target)
			if err != nil {
				t.Fatal(err)
			}
			if !anchors(string(tb))[anchor] {
				t.Errorf("%s: link %q: %s has no heading with the anchor #%s", f, link, filepath.Clean(filepath.Join(filepath.Dir(f), path)), anchor)
			}
		}
	}
}

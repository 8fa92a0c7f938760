package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCPUProfileFromEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	t.Setenv("SINGERKIT_CPUPROFILE", path)
	var stderr bytes.Buffer
	stop := startCPUProfile(&stderr, "target-x")
	if stop == nil {
		t.Fatalf("no profile started; stderr: %q", stderr.String())
	}
	stop()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() == 0 {
		t.Fatalf("%s is empty: no profile was written", path)
	}
	if stderr.Len() != 0 {
		t.Fatalf("stderr: %q, want nothing", stderr.String())
	}
}

func TestCPUProfileUnwritable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "cpu.prof")
	t.Setenv("SINGERKIT_CPUPROFILE", path)
	var stderr bytes.Buffer
	if stop := startCPUProfile(&stderr, "target-x"); stop != nil {
		stop()
		t.Fatal("a profile started into a directory that does not exist")
	}
	want := "target-x: warning: SINGERKIT_CPUPROFILE: open " + path + ": no such file or directory; running without a profile\n"
	if got := stderr.String(); got != want {
		t.Fatalf("stderr:\n%q\nwant\n%q", got, want)
	}
	if strings.Count(stderr.String(), "\n") != 1 {
		t.Fatal("want one line")
	}
}

func TestNoCPUProfileByDefault(t *testing.T) {
	t.Setenv("SINGERKIT_CPUPROFILE", "")
	var stderr bytes.Buffer
	if stop := startCPUProfile(&stderr, "target-x"); stop != nil {
		stop()
		t.Fatal("a profile started without SINGERKIT_CPUPROFILE")
	}
}

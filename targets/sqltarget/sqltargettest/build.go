package sqltargettest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var builds sync.Map // command name -> *build

type build struct {
	once sync.Once
	path string
	err  error
}

// BuildBinary builds ./cmd/<name> of this repository once per test process
// and returns the binary's path: what a Harness's Binary returns, so that
// the suite's command-line cases run the real program.
func BuildBinary(t testing.TB, name string) string {
	t.Helper()
	return BuildPackage(t, "./cmd/"+name)
}

// BuildPackage builds the command in pkg (a directory of this repository,
// "./cmd/target-postgres") once per test process and returns the binary's
// path, named after the directory.
func BuildPackage(t testing.TB, pkg string) string {
	t.Helper()
	name := filepath.Base(pkg)
	v, _ := builds.LoadOrStore(pkg, &build{})
	b := v.(*build)
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", name+"-test")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, name)
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", b.path, pkg)
		cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building %s: %v: %s", name, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

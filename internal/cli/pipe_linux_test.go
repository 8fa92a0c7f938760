package cli

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestGrowPipe: a pipe's buffer grows to 1 MB from either end; a file,
// or what is not a file, is left alone.
func TestGrowPipe(t *testing.T) {
	size := func(f *os.File) int {
		n, err := unix.FcntlInt(f.Fd(), unix.F_GETPIPE_SZ, 0)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, end := range []string{"reader", "writer"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		f := r
		if end == "writer" {
			f = w
		}
		before := size(f)
		growPipe(f)
		if got := size(f); got != pipeSize || before >= pipeSize {
			t.Errorf("%s: pipe of %d bytes grew to %d, want %d", end, before, got, pipeSize)
		}
		r.Close()
		w.Close()
	}
	file, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	growPipe(file) // must not fail or panic on a file
	growPipe(struct{}{})
}

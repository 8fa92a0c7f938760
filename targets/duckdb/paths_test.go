package duckdb

import (
	"path/filepath"
	"sync"
	"testing"
)

// files: test name -> its database file and the number of Config calls.
var files = struct {
	sync.Mutex
	m map[string]*testDB
}{m: map[string]*testDB{}}

type testDB struct {
	path  string
	calls int
}

// testFile returns the test's database file (made on the first call) and
// counts the calls that count.
func testFile(t *testing.T, count bool) (string, int) {
	files.Lock()
	defer files.Unlock()
	f := files.m[t.Name()]
	if f == nil {
		f = &testDB{path: filepath.Join(t.TempDir(), "test.duckdb")}
		files.m[t.Name()] = f
	}
	if count {
		f.calls++
	}
	return f.path, f.calls
}

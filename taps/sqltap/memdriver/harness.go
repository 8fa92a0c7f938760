package memdriver

import (
	"fmt"
	"testing"

	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// Harness runs sqltaptest's suite: each case gets a database of its own.
type Harness struct{}

// Setup returns a case's Env: namespace "s" of a new database.
func (Harness) Setup(t *testing.T) *sqltaptest.Env {
	db := NewDB()
	const ns = "s"
	return &sqltaptest.Env{
		Driver: db.Driver(ns),
		Exec: func(sql string) {
			t.Helper()
			if err := db.Exec(sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		},
		Table:    func(name string) string { return ns + "." + name },
		StreamID: func(name string) string { return fmt.Sprintf("%s-%s", ns, name) },
	}
}

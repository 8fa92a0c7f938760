// Package testenv decides what a test does when the environment it needs is
// missing (a server down, wal_level not logical, a binary not installed): on
// a developer's machine the test is skipped with the reason, under CI=true it
// fails with the same reason, so a CI run cannot pass by testing nothing.
//
//	conn, err := pgx.Connect(ctx, url)
//	if err != nil {
//		testenv.Missing(t, "PostgreSQL unreachable, set TEST_POSTGRES_URL: %v", err)
//	}
//	testenv.Require(t, walLevel == "logical", "wal_level is "+walLevel+", LOG_BASED needs logical")
//
// A skip that is not about the environment (a case a backend cannot run by
// design, -short) stays a plain t.Skip with its reason.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// CI reports whether the tests run in CI (CI=true), where nothing the tests
// need may be missing.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing ends the test because something it needs is missing: a skip, or a
// failure under CI=true. The message says what is missing and how to get it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatal("missing environment (CI=true, so this fails instead of skipping): " + why)
	}
	t.Skip(why)
}

// Require ends the test as Missing does unless ok.
func Require(t testing.TB, ok bool, why string) {
	t.Helper()
	if !ok {
		Missing(t, "%s", why)
	}
}

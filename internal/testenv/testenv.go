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
//
// WaitFor is how a test waits for something a process or server does (a
// state file written, a session waiting for a lock): it watches for the
// event itself, never sleeps a guessed time.
package testenv

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// PostgresURL is the PostgreSQL database the tests use: TEST_POSTGRES_URL,
// or the local server (root, trust, database test).
func PostgresURL() string {
	if u := os.Getenv("TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://root@127.0.0.1:5432/test?sslmode=disable"
}

// MySQLDSN is the MySQL or MariaDB database the tests use (a
// go-sql-driver DSN): TEST_MYSQL_URL, or the local server (root, database
// test).
func MySQLDSN() string {
	if u := os.Getenv("TEST_MYSQL_URL"); u != "" {
		return u
	}
	return "root@tcp(127.0.0.1:3306)/test"
}

// WaitLimit bounds WaitFor: only a hang bound, generous for a loaded
// machine; nothing is asserted about how long the wait took.
const WaitLimit = 60 * time.Second

// WaitFor checks cond every 20ms until it holds, and fails the test naming
// what it waited for when WaitLimit passes first. cond runs on the test's
// goroutine (it may call t.Fatal).
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %s", what, WaitLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

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

package postgres

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// testURL is the database the tests use; TEST_POSTGRES_URL overrides it.
func testURL() string {
	if u := os.Getenv("TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://root@127.0.0.1:5432/test?sslmode=disable"
}

// connect returns an admin connection or skips (fails under CI=true) when
// the server cannot be reached.
func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testURL())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable (TEST_POSTGRES_URL=%s): %v", testURL(), err)
		}
		t.Skipf("PostgreSQL unreachable, set TEST_POSTGRES_URL: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

var nameUnsafe = regexp.MustCompile(`[^a-z0-9_]+`)

// testSchema creates a schema named from the test, dropped in Cleanup.
func testSchema(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	name := "tappg_" + strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(name) > 63 {
		name = name[:63]
	}
	q := pgx.Identifier{name}.Sanitize()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+q+" CASCADE; CREATE SCHEMA "+q); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+q+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
	})
	return name
}

// testDriver opens a driver that discovers only schema.
func testDriver(t *testing.T, schema string) *Driver {
	t.Helper()
	d, err := Open(context.Background(), &Config{URL: testURL(), FilterSchemas: []string{schema}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

type harness struct{}

func (harness) Setup(t *testing.T) *sqltaptest.Env {
	conn := connect(t)
	schema := testSchema(t, conn)
	return &sqltaptest.Env{
		Driver: testDriver(t, schema),
		Exec: func(sql string) {
			t.Helper()
			if _, err := conn.Exec(context.Background(), sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		},
		Table:    func(name string) string { return pgx.Identifier{schema, name}.Sanitize() },
		StreamID: func(name string) string { return schema + "-" + name },
	}
}

func TestConformance(t *testing.T) {
	sqltaptest.RunSuite(t, harness{})
}

package mysql

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// connect returns an admin pool or skips (fails under CI=true) when the
// server cannot be reached.
func connect(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", testenv.MySQLDSN())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		testenv.Missing(t, "MySQL unreachable, set TEST_MYSQL_URL: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var nameUnsafe = regexp.MustCompile(`[^a-z0-9_]+`)

// testDB creates a database named from the test, dropped in Cleanup.
func testDB(t *testing.T, db *sql.DB) string {
	t.Helper()
	name := "tapmy_" + strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(name) > 64 {
		name = name[:64]
	}
	q := quoteIdent(name)
	for _, s := range []string{"DROP DATABASE IF EXISTS " + q, "CREATE DATABASE " + q} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + q); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	return name
}

// testDriver opens a driver that discovers only database name.
func testDriver(t *testing.T, name string) *Driver {
	t.Helper()
	d, err := Open(context.Background(), testConfig(t, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func testConfig(t *testing.T, name string) *Config {
	mc, err := mysqldrv.ParseDSN(testenv.MySQLDSN())
	if err != nil {
		t.Fatal(err)
	}
	mc.DBName = name
	return &Config{DSN: mc.FormatDSN(), FilterDBs: []string{name}}
}

type harness struct{}

func (harness) Setup(t *testing.T) *sqltaptest.Env {
	db := connect(t)
	name := testDB(t, db)
	return &sqltaptest.Env{
		Driver: testDriver(t, name),
		Exec: func(s string) {
			t.Helper()
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		},
		Table:    func(table string) string { return quoteIdent(name) + "." + quoteIdent(table) },
		StreamID: func(table string) string { return name + "-" + table },
	}
}

func TestConformance(t *testing.T) {
	sqltaptest.RunSuite(t, harness{})
}

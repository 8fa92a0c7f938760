package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/singerkit/singerkit/internal/testenv"
	tapnats "github.com/singerkit/singerkit/taps/nats"
	tappg "github.com/singerkit/singerkit/taps/postgres"
	targetmysql "github.com/singerkit/singerkit/targets/mysql"
	targetnats "github.com/singerkit/singerkit/targets/nats"
	targetpg "github.com/singerkit/singerkit/targets/postgres"
)

func natsURL() string {
	if u := os.Getenv("TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// natsTopic returns a topic of the test's own, deleted (with its schema
// bucket) at cleanup; it skips (fails under CI=true) without NATS.
func natsTopic(t *testing.T) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(natsURL(), "nats://"), 3*time.Second)
	if err != nil {
		testenv.Missing(t, "NATS unreachable at %s, set TEST_NATS_URL: %v", natsURL(), err)
	}
	c.Close()
	topic := fmt.Sprintf("E2E_%s_%d", unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_"), time.Now().UnixNano()%1_000_000_000)
	t.Cleanup(func() {
		nc, err := nats.Connect(natsURL())
		if err != nil {
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		_ = js.DeleteStream(context.Background(), topic)
		_ = js.DeleteKeyValue(context.Background(), topic+"_schemas")
	})
	return topic
}

// logPipe returns a function that runs tap-nats | target once, keeping the
// target's last state for the next run (tap-nats has no catalog).
func logPipe(t *testing.T, target cli.TargetSpec, tapCfg, tgtCfg map[string]any) func() {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, v any) string {
		p := filepath.Join(dir, name)
		b, _ := json.Marshal(v)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tapPath, tgtPath := write("tap.json", tapCfg), write("target.json", tgtCfg)
	statePath := filepath.Join(dir, "state.json")
	return func() {
		t.Helper()
		args := []string{"--config", tapPath}
		if _, err := os.Stat(statePath); err == nil {
			args = append(args, "--state", statePath)
		}
		pr, pw := io.Pipe()
		var tapErr, tgtErr, states bytes.Buffer
		done := make(chan int)
		go func() {
			code := cli.RunTap(context.Background(), tapnats.Spec(), args, nil, pw, &tapErr)
			pw.Close()
			done <- code
		}()
		tgtCode := cli.RunTarget(context.Background(), target, []string{"--config", tgtPath}, pr, &states, &tgtErr)
		_, _ = io.Copy(io.Discard, pr)
		if code := <-done; code != 0 {
			t.Fatalf("tap-nats exit %d: %s", code, tapErr.String())
		}
		if tgtCode != 0 {
			t.Fatalf("target exit %d: %s", tgtCode, tgtErr.String())
		}
		lines := strings.Split(strings.TrimSpace(states.String()), "\n")
		last := lines[len(lines)-1]
		if !strings.Contains(last, `"log":{"topic":`) {
			t.Fatalf("the target's last state %s is not tap-nats's; stderr:\n%s", last, tgtErr.String())
		}
		if err := os.WriteFile(statePath, []byte(last), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPostgresThroughNATS: tap-postgres | target-nats writes the central
// log; two independent readers, tap-nats | target-postgres and tap-nats |
// target-mysql, load it, row for row equal to the source. A second round
// after changes at the source (a new column: a schema change in the middle
// of the log; a deleted row: ACTIVATE_VERSION with hard_delete) leaves
// them equal again, each reader resuming from its own state.
func TestPostgresThroughNATS(t *testing.T) {
	topic := natsTopic(t)
	db := mysqlUTC(t, testenv.MySQLDSN())
	pg := postgres(t)
	src := name(t, "")
	pgDst, myDst := src+"_pg", src+"_my"
	postgresSchema(t, pg, src)
	postgresSchema(t, pg, pgDst)
	mysqlDatabase(t, db, myDst)
	exec := pgExec(t, pg)
	ordersSource(exec, src, 2000)
	natsCfg := map[string]any{"servers": []string{natsURL()}, "topic": topic}
	extract := pipeline(t, tappg.Spec(), targetnats.Spec(),
		map[string]any{"url": testenv.PostgresURL(), "filter_schemas": []string{src}, "itersize": 500}, natsCfg)
	toPostgres := logPipe(t, targetpg.Spec(), natsCfg,
		map[string]any{"url": testenv.PostgresURL(), "default_target_schema": pgDst, "hard_delete": true, "add_metadata_columns": true,
			"schema_mapping": map[string]any{src: map[string]any{"target_schema": pgDst}}})
	toMySQL := logPipe(t, targetmysql.Spec(), natsCfg,
		map[string]any{"dsn": dsnFor(t, testenv.MySQLDSN(), myDst), "default_target_schema": myDst, "add_metadata_columns": true, "hard_delete": true,
			"schema_mapping": map[string]any{src: map[string]any{"target_schema": myDst}}})

	norm := func(c []string) string {
		if a := c[2]; strings.Contains(a, ".") {
			c[2] = strings.TrimRight(strings.TrimRight(a, "0"), ".")
		}
		if c[6] != "<null>" {
			c[6] = jsonText(c[6])
		}
		return strings.Join(c, "|")
	}
	compare := func(extra string) {
		t.Helper()
		pgq := func(schema string) string {
			return `SELECT id::text, name, amount::text, to_char(placed AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
				due::text, paid::text, doc::text, note` + extra + ` FROM ` + schema + `.orders o ORDER BY o.id`
		}
		want := pgTexts(t, pg, pgq(src), norm)
		compareRows(t, want, pgTexts(t, pg, pgq(pgDst), norm))
		compareRows(t, want, sqlTexts(t, db, "SELECT CAST(id AS CHAR), name, CAST(amount AS CHAR), DATE_FORMAT(placed, '%Y-%m-%dT%H:%i:%s.%fZ'),"+
			" CAST(due AS CHAR), CASE WHEN paid IS NULL THEN NULL WHEN paid THEN 'true' ELSE 'false' END, CAST(doc AS CHAR), note"+extra+
			" FROM "+myIdent(myDst)+".orders ORDER BY id", norm))
	}
	extract()
	toPostgres()
	toMySQL()
	compare("")

	// Changes at the source, extracted into the log before either reader
	// runs again: a new column (a new SCHEMA mid-log), updates, a delete.
	exec(`ALTER TABLE ` + src + `.orders ADD COLUMN extra text`)
	exec(`UPDATE ` + src + `.orders SET name = 'changed', amount = -0.001, extra = 'x' || id WHERE id % 100 = 0`)
	exec(`DELETE FROM ` + src + `.orders WHERE id = 7`)
	exec(`INSERT INTO ` + src + `.orders (id, name, extra) VALUES (9999, 'new', 'e')`)
	// Discovered again: the catalog selects the new column.
	pipeline(t, tappg.Spec(), targetnats.Spec(),
		map[string]any{"url": testenv.PostgresURL(), "filter_schemas": []string{src}, "itersize": 500}, natsCfg)()
	toMySQL()
	toPostgres()
	compare(", extra")
}

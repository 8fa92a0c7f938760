package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/testenv"
	natstap "github.com/singerkit/singerkit/taps/nats"
	targetpostgres "github.com/singerkit/singerkit/targets/postgres"
)

func postgresURL() string {
	if u := os.Getenv("TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://root@127.0.0.1:5432/test?sslmode=disable"
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	b, _ := json.Marshal(v)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPipelineToPostgres: what the gate accepted (into its embedded
// server) is read back by tap-nats and loaded by target-postgres, row for
// row, the larger sequence of a key winning.
func TestPipelineToPostgres(t *testing.T) {
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, postgresURL())
	if err != nil {
		testenv.Missing(t, "PostgreSQL unreachable, set TEST_POSTGRES_URL: %v", err)
	}
	defer pg.Close(ctx)
	schema := fmt.Sprintf("gate_pipeline_%d", time.Now().UnixNano()%1_000_000_000)
	t.Cleanup(func() {
		_, _ = pg.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	})

	e, err := StartEmbedded(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	g := startGateOn(t, e.URL(), nil)

	var recs []string
	for i := 1; i <= 100; i++ {
		recs = append(recs, upsert(i, fmt.Sprintf(`{"id":%d,"total":%d.5,"note":"n%d"}`, i, i, i)))
	}
	if r := g.post(t, "/v2/import/batch", tokFull, batchBody("orders", recs...)); r.code != 202 {
		t.Fatalf("batch: %d %s", r.code, r.body)
	}
	// Updates of key 7 in one request, out of order: sequence 300 wins.
	if r := g.post(t, "/v2/import/batch", tokFull, batchBody("orders",
		upsert(300, `{"id":7,"total":0.25,"note":"last"}`),
		upsert(200, `{"id":7,"total":1,"note":"middle"}`))); r.code != 202 {
		t.Fatalf("batch: %d %s", r.code, r.body)
	}
	if r := g.post(t, "/v2/import/push", tokFull,
		`[{"table_name":"users","sequence":1,"action":"upsert","key_names":["id"],"data":{"id":1,"email":"a@x"}},
		  {"table_name":"users","sequence":2,"action":"upsert","key_names":["id"],"data":{"id":2,"email":null}}]`); r.code != 201 {
		t.Fatalf("push: %d %s", r.code, r.body)
	}

	var tapOut, tapErr bytes.Buffer
	if code := cli.RunTap(ctx, natstap.Spec(), []string{"--config", writeJSON(t, map[string]any{"servers": []string{e.URL()}, "topic": g.topic})}, nil, &tapOut, &tapErr); code != 0 {
		t.Fatalf("tap-nats: exit %d: %s", code, tapErr.String())
	}
	// tap-nats counts the records that follow a SCHEMA in one message.
	if want := "INFO METRIC: {\"type\":\"counter\",\"metric\":\"record_count\",\"value\":102,\"tags\":{\"stream\":\"orders\"}}\n" +
		"INFO METRIC: {\"type\":\"counter\",\"metric\":\"record_count\",\"value\":2,\"tags\":{\"stream\":\"users\"}}\n"; tapErr.String() != want {
		t.Errorf("tap-nats stderr:\n%s\nwant\n%s", tapErr.String(), want)
	}
	var tgtOut, tgtErr bytes.Buffer
	if code := cli.RunTarget(ctx, targetpostgres.Spec(), []string{"--config", writeJSON(t, map[string]any{"url": postgresURL(), "default_target_schema": schema})}, &tapOut, &tgtOut, &tgtErr); code != 0 {
		t.Fatalf("target-postgres: exit %d: %s", code, tgtErr.String())
	}
	// The last state: the tap's position after the six messages and the
	// gate's last STATE.
	lines := strings.Split(strings.TrimSpace(tgtOut.String()), "\n")
	want := fmt.Sprintf(`{"log":{"topic":%q,"next":7},"upstream":{"bookmarks":{"users":{"sequence":2}}}}`, g.topic)
	if lines[len(lines)-1] != want {
		t.Errorf("last state: %s\nwant %s", lines[len(lines)-1], want)
	}

	rows := func(q string) []string {
		rs, err := pg.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []string
		for rs.Next() {
			vals, err := rs.Values()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.TrimSpace(fmt.Sprintln(vals...)))
		}
		return out
	}
	var want2 []string
	for i := 1; i <= 100; i++ {
		if i == 7 {
			want2 = append(want2, "7 0.25 last")
			continue
		}
		want2 = append(want2, fmt.Sprintf("%d %d.5 n%d", i, i, i))
	}
	equalLines(t, "orders", rows("SELECT id, total::text, note FROM "+schema+".orders ORDER BY id"), want2)
	equalLines(t, "users", rows("SELECT id, coalesce(email, 'NULL') FROM "+schema+".users ORDER BY id"), []string{"1 a@x", "2 NULL"})
}

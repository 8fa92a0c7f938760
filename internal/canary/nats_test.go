package canary

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/singerkit/singerkit/internal/testenv"
)

func natsURL() string {
	if u := os.Getenv("TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// TestNATSTopic: a tracer published to the topic a tap-nats pipeline
// reads (the log written by another pipeline, tap-postgres ->
// target-nats) reaches target-postgres through singer run, next to the
// upstream rows.
func TestNATSTopic(t *testing.T) {
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(natsURL(), "nats://"), 3*time.Second)
	if err != nil {
		testenv.Missing(t, "NATS unreachable at %s, set TEST_NATS_URL: %v", natsURL(), err)
	}
	c.Close()
	pg := postgres(t)
	name := uniqueName("canary_nats")
	src, dst := name+"_src", name+"_dst"
	pgSchema(t, pg, src)
	pgSchema(t, pg, dst)
	if _, err := pg.Exec(context.Background(), "CREATE TABLE "+src+".items (id int PRIMARY KEY, name text); INSERT INTO "+src+".items VALUES (1, 'a'), (2, 'b')"); err != nil {
		t.Fatal(err)
	}
	topic := strings.ToUpper(name)
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
	t.Setenv("PG_URL", withPassword(pgURL()))
	t.Setenv("NATS_URL", natsURL())
	path := writeProject(t, `connectors:
  shop:
    command: `+binary(t, "tap-postgres")+`
    config: {url: "${PG_URL}", filter_schemas: [`+src+`]}
  log-writer:
    command: `+binary(t, "target-nats")+`
    config: {servers: ["${NATS_URL}"], topic: `+topic+`}
  log-reader:
    command: `+binary(t, "tap-nats")+`
    config: {servers: ["${NATS_URL}"], topic: `+topic+`}
    catalog: no-catalog.json
  warehouse:
    command: `+binary(t, "target-postgres")+`
    config: {url: "${PG_URL}", default_target_schema: `+dst+`}
pipelines:
  to-log:
    tap: shop
    target: log-writer
  from-log:
    tap: log-reader
    target: warehouse
    canary: {overdue: 1h}
state: file://state
`)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "no-catalog.json"), []byte(`{"streams":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	dest := "warehouse:" + dst + ".singer_canary"
	run(t, path, "to-log")
	// init has nothing to create for a topic; it says where tracers go.
	code, out, stderr := canary(t, "init", "--project", path)
	if code != 0 || out != "from-log: tracers are published to log-reader:topic "+topic+" (nothing to create)\n" {
		t.Fatalf("init: exit %d\n%s%s", code, out, stderr)
	}
	for i := 0; i < 2; i++ {
		sent := send(t, path)
		if len(sent) != 1 || sent[0].Source != "log-reader:topic "+topic || strings.Join(sent[0].Destinations, ",") != dest {
			t.Fatalf("sent %+v", sent)
		}
		run(t, path, "from-log")
		code, res, stderr := check(t, path)
		if code != 0 {
			t.Fatalf("check: exit %d\n%s", code, stderr)
		}
		arrived(t, res, sent[0], dest)
	}
	if n := pgCount(t, pg, "SELECT count(*) FROM "+dst+".items"); n != 2 {
		t.Fatalf("the upstream rows: %d, want 2", n)
	}
	if n := pgCount(t, pg, "SELECT count(*) FROM "+dst+".singer_canary"); n != 1 {
		t.Fatalf("canary rows in the destination: %d, want 1", n)
	}
}

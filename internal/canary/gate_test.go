package canary

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/singerkit/singerkit/internal/gate"
	"github.com/singerkit/singerkit/internal/testenv"
)

// TestGate: a tracer pushed through singer gate (POST /v1/topics/TOPIC)
// lands in the log, and a tap-nats pipeline carries it to target-postgres.
// A token the gate refuses fails the send with the gate's answer, and
// never shows the token.
func TestGate(t *testing.T) {
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(natsURL(), "nats://"), 3*time.Second)
	if err != nil {
		testenv.Missing(t, "NATS unreachable at %s, set TEST_NATS_URL: %v", natsURL(), err)
	}
	c.Close()
	pg := postgres(t)
	name := uniqueName("canary_gate")
	dst := name + "_dst"
	pgSchema(t, pg, dst)
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

	// The gate, in-process, on the local NATS; its one token comes from
	// SINGER_GATE_TOKEN.
	ctx, stop := context.WithCancel(context.Background())
	cfg := gate.DefaultConfig()
	cfg.Servers = []string{natsURL()}
	cfg.Listen = "127.0.0.1:0"
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- gate.Run(ctx, &cfg, gate.RunOptions{
			Lookup: func(k string) (string, bool) {
				if k == gate.EnvToken {
					return planted, true
				}
				return "", false
			},
			Stdout: io.Discard, Stderr: io.Discard,
			Ready: func(addr string) { ready <- addr },
		})
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("gate: %v", err)
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("the gate did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the gate did not start within 30s")
	}

	t.Setenv("PG_URL", withPassword(pgURL()))
	t.Setenv("NATS_URL", natsURL())
	t.Setenv("GATE_TOKEN", planted)
	project := func(token string) string {
		return `connectors:
  log-reader:
    command: ` + binary(t, "tap-nats") + `
    config: {servers: ["${NATS_URL}"], topic: ` + topic + `}
    catalog: no-catalog.json
  warehouse:
    command: ` + binary(t, "target-postgres") + `
    config: {url: "${PG_URL}", default_target_schema: ` + dst + `, add_metadata_columns: true}
pipelines:
  via-gate:
    tap: log-reader
    target: warehouse
    canary:
      gate: {url: "http://` + addr + `", token: "` + token + `"}
state: file://state
`
	}
	path := writeProject(t, project("${GATE_TOKEN}"))
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "no-catalog.json"), []byte(`{"streams":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := canary(t, "init", "--project", path)
	if code != 0 || out != "via-gate: tracers are pushed through gate http://"+addr+" topic "+topic+" (nothing to create)\n" {
		t.Fatalf("init: exit %d\n%s%s", code, out, stderr)
	}
	dest := "warehouse:" + dst + ".singer_canary"
	for i := 0; i < 2; i++ {
		sent := send(t, path)
		if len(sent) != 1 || sent[0].Source != "gate http://"+addr+" topic "+topic {
			t.Fatalf("sent %+v", sent)
		}
		run(t, path, "via-gate")
		code, res, stderr := check(t, path)
		if code != 0 {
			t.Fatalf("check: exit %d\n%s", code, stderr)
		}
		var loaded time.Time
		if err := pg.QueryRow(context.Background(), "SELECT _sdc_batched_at FROM "+dst+".singer_canary WHERE pipeline = 'via-gate'").Scan(&loaded); err != nil {
			t.Fatal(err)
		}
		arrivedAt(t, res, sent[0], dest, loaded.UTC())
	}

	// A token the gate does not know: the send fails (exit 1) with the
	// gate's answer; the token is not shown.
	t.Setenv("WRONG_TOKEN", planted+"-not")
	bad := writeProject(t, project("${WRONG_TOKEN}"))
	code, _, stderr = canary(t, "send", "--project", bad)
	want := "singer canary: pipeline via-gate: pushing the tracer to gate http://" + addr + " topic " + topic + ": the gate answered 401 Unauthorized: the access token is not valid\n"
	if code != 1 || stderr != want {
		t.Fatalf("send with a bad token: exit %d\n%s\nwant\n%s", code, stderr, want)
	}
	// Nothing is waited for: no tracer was recorded.
	code, res, _ := check(t, bad)
	if st := status(t, res, "via-gate", dest); code != 0 || st.Status != "none" {
		t.Fatalf("check after a failed send: exit %d %+v", code, st)
	}
}

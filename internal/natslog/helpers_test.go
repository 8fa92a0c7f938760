package natslog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/singerkit/singerkit/internal/testenv"
	natstap "github.com/singerkit/singerkit/taps/nats"
	natstarget "github.com/singerkit/singerkit/targets/nats"
)

// natsURL is the NATS server of the tests (JetStream on).
func natsURL() string {
	if u := os.Getenv("TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// needNATS skips (fails under CI=true) when the server is unreachable.
func needNATS(t testing.TB) {
	t.Helper()
	host := strings.TrimPrefix(natsURL(), "nats://")
	c, err := net.DialTimeout("tcp", host, 3*time.Second)
	if err != nil {
		testenv.Missing(t, "NATS unreachable at %s, set TEST_NATS_URL: %v", natsURL(), err)
	}
	c.Close()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9]+`)

// newTopic returns a topic name of its own for the test and deletes the
// topic and its schema bucket when the test ends.
func newTopic(t testing.TB, urls ...string) string {
	t.Helper()
	name := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(name) > 60 {
		name = name[:60]
	}
	topic := fmt.Sprintf("T_%s_%d", name, time.Now().UnixNano()%1_000_000_000)
	if len(urls) == 0 {
		urls = []string{natsURL()}
	}
	t.Cleanup(func() {
		nc, err := nats.Connect(strings.Join(urls, ","))
		if err != nil {
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, topic)
		_ = js.DeleteKeyValue(ctx, topic+"_schemas")
	})
	return topic
}

// jetStream connects for a test's own checks.
func jetStream(t testing.TB, urls ...string) jetstream.JetStream {
	t.Helper()
	if len(urls) == 0 {
		urls = []string{natsURL()}
	}
	nc, err := nats.Connect(strings.Join(urls, ","))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func writeConfig(t testing.TB, cfg map[string]any) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func baseConfig(topic string, extra ...any) map[string]any {
	cfg := map[string]any{"servers": []string{natsURL()}, "topic": topic}
	for i := 0; i+1 < len(extra); i += 2 {
		cfg[extra[i].(string)] = extra[i+1]
	}
	return cfg
}

type result struct {
	out, err string
	code     int
}

// runTarget runs target-nats in-process on input.
func runTarget(t testing.TB, cfg map[string]any, input string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.RunTarget(context.Background(), natstarget.Spec(), []string{"--config", writeConfig(t, cfg)}, strings.NewReader(input), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// runTap runs tap-nats in-process, from state when it is not "".
func runTap(t testing.TB, ctx context.Context, cfg map[string]any, state string) result {
	t.Helper()
	args := []string{"--config", writeConfig(t, cfg)}
	if state != "" {
		p := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(p, []byte(state), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--state", p)
	}
	var out, errb bytes.Buffer
	code := cli.RunTap(ctx, natstap.Spec(), args, nil, &out, &errb)
	return result{out.String(), errb.String(), code}
}

// withoutMetrics drops the INFO METRIC lines of a stderr.
func withoutMetrics(s string) string {
	var keep []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, "INFO METRIC:") && !strings.HasPrefix(l, "INFO created topic") && l != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

// tapState is a state line of tap-nats.
func tapState(topic string, next int, upstream string) string {
	if upstream == "" {
		return fmt.Sprintf(`{"type":"STATE","value":{"log":{"topic":%q,"next":%d}}}`, topic, next)
	}
	return fmt.Sprintf(`{"type":"STATE","value":{"log":{"topic":%q,"next":%d},"upstream":%s}}`, topic, next, upstream)
}

func natsConnect(urls []string) (*nats.Conn, error) {
	return nats.Connect(strings.Join(urls, ","), nats.Timeout(time.Second))
}

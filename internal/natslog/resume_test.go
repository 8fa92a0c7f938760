package natslog_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	natstap "github.com/singerkit/singerkit/taps/nats"
)

// records returns a stream of n records of "items", a STATE after every
// every-th, and the record lines alone.
func records(n, every int) (input string, recs []string) {
	var b strings.Builder
	b.WriteString(`{"type":"SCHEMA","stream":"items","schema":{"type":"object","properties":{"id":{"type":"integer"},"v":{"type":"string"}}},"key_properties":["id"]}` + "\n")
	for i := 1; i <= n; i++ {
		r := fmt.Sprintf(`{"type":"RECORD","stream":"items","record":{"id":%d,"v":"value %d"}}`, i, i)
		recs = append(recs, r)
		b.WriteString(r + "\n")
		if i%every == 0 || i == n {
			fmt.Fprintf(&b, `{"type":"STATE","value":{"bookmarks":{"items":{"id":%d}}}}`+"\n", i)
		}
	}
	return b.String(), recs
}

// buildTap builds the tap-nats binary for tests that kill it.
func buildTap(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tap-nats")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/singerkit/singerkit/cmd/tap-nats")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestResumeAfterKill: tap-nats killed with SIGKILL mid-run resumes from
// the last state it wrote; what it wrote before that state and what the
// second run writes are every record once, in order.
func TestResumeAfterKill(t *testing.T) {
	needNATS(t)
	topic := newTopic(t)
	cfg := baseConfig(topic)
	input, recs := records(20000, 500)
	if r := runTarget(t, cfg, input); r.code != 0 {
		t.Fatalf("target-nats: %d %s", r.code, r.err)
	}
	bin := buildTap(t)
	cmd := exec.Command(bin, "--config", writeConfig(t, cfg))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read until the fifth state, then kill: no chance to write more.
	var before []string
	lastState := ""
	states := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, `{"type":"STATE"`) {
			states++
			lastState = l
			if states == 5 {
				break
			}
		} else if strings.HasPrefix(l, `{"type":"RECORD"`) {
			before = append(before, l)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, stdout)
	_ = cmd.Wait()
	if lastState == "" {
		t.Fatal("no state before the kill")
	}
	r := runTap(t, context.Background(), cfg, lastState)
	if r.code != 0 {
		t.Fatalf("resumed tap-nats: %d %s", r.code, r.err)
	}
	var after []string
	for _, l := range strings.Split(strings.TrimSpace(r.out), "\n") {
		if strings.HasPrefix(l, `{"type":"RECORD"`) {
			after = append(after, l)
		}
	}
	got := append(before, after...)
	if len(got) != len(recs) {
		t.Fatalf("%d records before the kill and %d after, want %d in all", len(before), len(after), len(recs))
	}
	for i := range recs {
		if got[i] != recs[i] {
			t.Fatalf("record %d: %s, want %s", i, got[i], recs[i])
		}
	}
	if !strings.HasPrefix(r.out, `{"type":"SCHEMA","stream":"items"`) {
		t.Errorf("the resumed run does not start with the stream's SCHEMA: %.200s", r.out)
	}
}

// TestFollowUntilSignal: with follow, tap-nats writes what is published
// while it runs; on SIGTERM it writes the state of what it wrote and exits
// 1, as every tap does.
func TestFollowUntilSignal(t *testing.T) {
	needNATS(t)
	topic := newTopic(t)
	cfg := baseConfig(topic)
	if r := runTarget(t, cfg, lines(upstreamLines[:5]...)); r.code != 0 {
		t.Fatalf("target-nats: %d %s", r.code, r.err)
	}
	// A line that never comes ends the run after a minute (the pipe
	// closes and readUntil fails with what came), never a hung test.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	fcfg := baseConfig(topic, "follow", true)
	args := []string{"--config", writeConfig(t, fcfg)}
	go func() {
		code := cli.RunTap(ctx, natstap.Spec(), args, nil, pw, &stderr)
		pw.Close()
		done <- code
	}()
	sc := bufio.NewScanner(pr)
	var got []string
	readUntil := func(want string) {
		t.Helper()
		for sc.Scan() {
			got = append(got, sc.Text())
			if sc.Text() == want {
				return
			}
		}
		t.Fatalf("no line %s in:\n%s", want, strings.Join(got, "\n"))
	}
	readUntil(tapState(topic, 6, `{"bookmarks":{"users":{"id":1}}}`))
	// Published while the reader follows.
	if r := runTarget(t, cfg, lines(append([]string{schemaUsers}, upstreamLines[5:7]...)...)); r.code != 0 {
		t.Fatalf("target-nats: %d %s", r.code, r.err)
	}
	readUntil(upstreamLines[6])
	cancel() // what the shared command line does on SIGTERM
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	code := <-done
	want := lines(append(append([]string{}, upstreamLines[:4]...),
		tapState(topic, 6, `{"bookmarks":{"users":{"id":1}}}`), schemaUsers, upstreamLines[5], upstreamLines[6],
		tapState(topic, 9, `{"bookmarks":{"users":{"id":1}}}`))...)
	if code != 1 || strings.Join(got, "\n")+"\n" != want || !strings.HasSuffix(stderr.String(), "tap-nats: error: interrupted by a signal\n") {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", code, strings.Join(got, "\n"), want, stderr.String())
	}
}

package kfaketest

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
	kafkatap "github.com/singerkit/singerkit/taps/kafka"
)

// TestFollowUntilSignal: with follow, tap-kafka writes what is produced
// while it runs; on a signal (the context the shared command line cancels
// on SIGTERM) it writes the state of what it wrote and exits 1, as every
// tap does.
func TestFollowUntilSignal(t *testing.T) {
	c := cluster(t)
	topic := "follow"
	cfg := map[string]any{"brokers": c.ListenAddrs(), "topic": topic}
	if r := runTarget(t, cfg, lines(upstreamLines[:5]...)); r.code != 0 {
		t.Fatalf("target-kafka: %d %s", r.code, r.err)
	}
	// A line that never comes ends the run after a minute (the pipe
	// closes and readUntil fails with what came), never a hung test.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	args := []string{"--config", writeConfig(t, map[string]any{"brokers": c.ListenAddrs(), "topic": topic, "follow": true})}
	go func() {
		code := cli.RunTap(ctx, kafkatap.Spec(), args, nil, pw, &stderr)
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
	first := tapState(topic, 6, `{"bookmarks":{"users":{"id":1}}}`)
	readUntil(first)
	// Produced while the reader follows.
	if r := runTarget(t, cfg, lines(append([]string{schemaUsers}, upstreamLines[5:7]...)...)); r.code != 0 {
		t.Fatalf("target-kafka: %d %s", r.code, r.err)
	}
	readUntil(upstreamLines[6])
	cancel()
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	code := <-done
	want := lines(append(append([]string{}, upstreamLines[:4]...),
		first, schemaUsers, upstreamLines[5], upstreamLines[6],
		tapState(topic, 9, `{"bookmarks":{"users":{"id":1}}}`))...)
	if code != 1 || strings.Join(got, "\n")+"\n" != want || !strings.HasSuffix(stderr.String(), "tap-kafka: error: interrupted by a signal\n") {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", code, strings.Join(got, "\n"), want, stderr.String())
	}
}

package natslog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/singerlog"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/singer"
)

// TestRetryIsDeduplicated: a window whose oldest acknowledgement is lost is
// re-sent whole, in order, with the same ids; the stream stores each
// message once and every message keeps its first position.
func TestRetryIsDeduplicated(t *testing.T) {
	url := os.Getenv("TEST_NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "nats://"), 3*time.Second); err != nil {
		testenv.Missing(t, "NATS unreachable at %s, set TEST_NATS_URL: %v", url, err)
	} else {
		c.Close()
	}
	ctx := context.Background()
	conn := DefaultConn()
	conn.Servers = []string{url}
	conn.Topic = fmt.Sprintf("T_retry_%d", time.Now().UnixNano()%1_000_000_000)
	var logBuf strings.Builder
	w, err := NewWriter(ctx, &conn, "test", WriterOptions{CreateIfMissing: true, Replicas: 1, DuplicateWindow: time.Minute, MaxInFlight: 100, RetryFor: 10 * time.Second}, singer.NewLog(&logBuf))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	t.Cleanup(func() {
		_ = w.js.DeleteStream(context.Background(), conn.Topic)
		_ = w.js.DeleteKeyValue(context.Background(), conn.SchemaBucket())
	})
	var acks []singerlog.Ack
	for i := 1; i <= 5; i++ {
		a, err := w.Publish(ctx, &singerlog.Message{ID: fmt.Sprintf("run.%d", i), Type: singer.TypeRecord, Stream: "s", Body: []byte(fmt.Sprintf(`{"type":"RECORD","stream":"s","record":{"id":%d}}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		acks = append(acks, a)
	}
	// The first message's acknowledgement is lost: it reached the stream,
	// its ack did not reach us.
	first := acks[0].(*ack)
	<-first.fut.Ok()
	first.err = errors.New("simulated lost acknowledgement")
	for i, a := range acks {
		pos, err := a.Wait(ctx)
		if err != nil || pos != uint64(i+1) {
			t.Errorf("message %d: position %d, %v; want %d", i+1, pos, err, i+1)
		}
	}
	info, err := w.js.Stream(ctx, conn.Topic)
	if err != nil {
		t.Fatal(err)
	}
	if st := info.CachedInfo().State; st.Msgs != 5 || st.LastSeq != 5 {
		t.Errorf("stream holds %d messages up to %d, want 5 up to 5", st.Msgs, st.LastSeq)
	}
	for i := 1; i <= 5; i++ {
		m, err := info.GetMsg(ctx, uint64(i))
		if err != nil || m.Header.Get("Nats-Msg-Id") != fmt.Sprintf("run.%d", i) {
			t.Errorf("message %d: %v %v", i, m, err)
		}
	}
	want := fmt.Sprintf("INFO created topic %q (JetStream stream, 1 replica(s), file storage)\n", conn.Topic) + fmt.Sprintf("WARNING publishing to topic %q failed (simulated lost acknowledgement); re-sending the 5 message(s) not acknowledged in order, with their ids (the log drops those it already holds)\n", conn.Topic)
	if logBuf.String() != want {
		t.Errorf("log:\n%s\nwant:\n%s", logBuf.String(), want)
	}
}

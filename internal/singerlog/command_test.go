package singerlog

import (
	"context"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/singer"
)

// fakeSettings is a broker's settings for the command tests.
type fakeSettings struct {
	Topic   string   `json:"topic"`
	Servers []string `json:"servers"`
}

func (s *fakeSettings) Check() []string {
	if len(s.Servers) == 0 {
		return []string{"servers: is required"}
	}
	return nil
}

func problems(t *testing.T, err error) []string {
	t.Helper()
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a config error", err)
	}
	return ce.Problems
}

// TestTapSettings: the broker's and the tap's settings decode from one
// config, with every problem of both at once.
func TestTapSettings(t *testing.T) {
	b := TapBroker[fakeSettings, *fakeSettings]{Name: "tap-x", Topic: func(s *fakeSettings) string { return s.Topic }}
	s, opts, err := b.settings(&config.Config{JSON: []byte(`{"topic":"t","servers":["a"],"start_from":"2026-12-01T00:00:00Z","follow":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := ReadOptions{Topic: "t", StartFrom: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Follow: true}
	if !reflect.DeepEqual(opts, want) || s.Servers[0] != "a" {
		t.Errorf("settings %+v, options %+v, want %+v", s, opts, want)
	}
	_, _, err = b.settings(&config.Config{JSON: []byte(`{"topic":"t","start_from":"yesterday"}`)})
	if got, want := problems(t, err), []string{"servers: is required", `start_from: "yesterday" is neither "beginning" nor an RFC 3339 time (e.g. 2026-12-01T00:00:00Z)`}; !reflect.DeepEqual(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}
}

// TestTargetSettings: defaults, the producer's default name, and every
// problem of the broker's and the target's settings at once.
func TestTargetSettings(t *testing.T) {
	b := TargetBroker[fakeSettings, *fakeSettings]{Name: "target-x", Common: DefaultTargetSettings(), MaxReplicas: 5, Compressions: []string{CompressionS2, CompressionNone},
		Open: func(_ context.Context, _ *fakeSettings, _ TargetSettings, _ *singer.Log) (Writer, io.Closer, error) {
			return nil, nil, nil
		}}
	_, ts, err := b.settings(&config.Config{JSON: []byte(`{"topic":"t","servers":["a"],"producer":"p1","batch_records":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultTargetSettings()
	want.Producer, want.BatchRecords = "p1", 1
	if ts != want {
		t.Errorf("settings %+v, want %+v", ts, want)
	}
	_, _, err = b.settings(&config.Config{JSON: []byte(`{"topic":"t","replicas":7,"batch_bytes":10,"max_age_seconds":-1,"compression":"zstd"}`)})
	if got, want := problems(t, err), []string{"servers: is required", `compression: must be "s2" or "none"`, "replicas: must be 1 to 5", "batch_bytes: must be at least 1024", "max_age_seconds and max_bytes: must be 0 (no limit) or more"}; !reflect.DeepEqual(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}
}

package postgres

import (
	"context"
	"testing"

	"github.com/singerkit/singerkit/internal/testenv"
)

// TestSessionsRunWithoutJIT: the tap's sessions turn JIT off (it once
// spent half a second of every run compiling the discovery query).
func TestSessionsRunWithoutJIT(t *testing.T) {
	admin := connect(t)
	var server string
	if err := admin.QueryRow(context.Background(), "SHOW jit").Scan(&server); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{URL: testenv.PostgresURL()}
	conn, err := cfg.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var got string
	if err := conn.QueryRow(context.Background(), "SHOW jit").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "off" {
		t.Errorf("jit is %q in the tap's session (the server's default: %q), want off", got, server)
	}
}

func TestServerMajor(t *testing.T) {
	for v, want := range map[string]int{"15.20 (Debian 15.20-1.pgdg120+1)": 15, "9.6.24": 9, "11beta1": 11, "": 0, "x": 0} {
		if got := serverMajor(v); got != want {
			t.Errorf("serverMajor(%q) = %d, want %d", v, got, want)
		}
	}
}

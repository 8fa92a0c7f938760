package runner

import (
	"testing"

	"github.com/singerkit/singerkit/internal/project"
)

// TestConfigHashLeavesOutSecrets: the cached catalog's name does not
// depend on a secret's value (no offline password guessing from a file
// name), but on whether it is set, and on every other setting.
func TestConfigHashLeavesOutSecrets(t *testing.T) {
	conn := func(host, password, token string) *project.Connector {
		return &project.Connector{Command: "tap-x", Config: map[string]any{
			"host": host, "password": password, "nested": map[string]any{"api_token": token, "port": 5432},
		}}
	}
	base := configHash(conn("h", "pw1", "t1"))
	if got := configHash(conn("h", "other-password", "t2")); got != base {
		t.Errorf("a new password or nested token changed the hash: %s, %s", got, base)
	}
	if got := configHash(conn("h2", "pw1", "t1")); got == base {
		t.Error("another host kept the hash")
	}
	if got := configHash(conn("h", "", "t1")); got == base {
		t.Error("an unset password kept the hash of a set one")
	}
}

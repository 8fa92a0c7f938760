package postgres

import (
	"net/url"
	"testing"

	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

func (harness) ServerAddr(t *testing.T) string {
	u, err := url.Parse(testenv.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func (harness) Via(t *testing.T, cfg map[string]any, addr string) map[string]any {
	u, err := url.Parse(testenv.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	out := map[string]any{}
	for k, v := range cfg {
		out[k] = v
	}
	out["url"] = u.String()
	return out
}

func (harness) LoadMarker() string { return "COPY " }

func TestStalls(t *testing.T) {
	connect(t)
	sqltargettest.RunStallSuite(t, harness{})
}

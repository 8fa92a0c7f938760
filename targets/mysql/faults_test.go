package mysql

import (
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

func (harness) ServerAddr(t *testing.T) string {
	dc, err := mysql.ParseDSN(testenv.MySQLDSN())
	if err != nil {
		t.Fatal(err)
	}
	return dc.Addr
}

func (harness) Via(t *testing.T, cfg map[string]any, addr string) map[string]any {
	dc, err := mysql.ParseDSN(testenv.MySQLDSN())
	if err != nil {
		t.Fatal(err)
	}
	dc.Addr = addr
	out := map[string]any{}
	for k, v := range cfg {
		out[k] = v
	}
	out["dsn"] = dc.FormatDSN()
	return out
}

func (harness) LoadMarker() string { return "LOAD DATA" }

func TestStalls(t *testing.T) {
	connect(t)
	sqltargettest.RunStallSuite(t, harness{})
}

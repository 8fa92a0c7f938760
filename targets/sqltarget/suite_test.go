package sqltarget_test

import (
	"testing"

	"github.com/singerkit/singerkit/targets/sqltarget/memdialect"
	"github.com/singerkit/singerkit/targets/sqltarget/sqltargettest"
)

// TestConformance runs the dialects' conformance suite on the in-memory
// dialect: the engine's behaviour, with no database server.
func TestConformance(t *testing.T) {
	h := memdialect.NewHarness(t)
	sqltargettest.RunSuite(t, h)
	t.Run("append_skips_existing_keys", func(t *testing.T) { sqltargettest.AppendSkipsExistingKeys(t, h) })
	t.Run("overwrite_widens_replacement", func(t *testing.T) { sqltargettest.OverwriteWidensReplacement(t, h) })
}

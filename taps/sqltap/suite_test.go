package sqltap_test

import (
	"testing"

	"github.com/singerkit/singerkit/taps/sqltap/memdriver"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// TestConformance runs the drivers' conformance suite on the in-memory
// driver: the engine's behaviour, with no database server.
func TestConformance(t *testing.T) {
	sqltaptest.RunSuite(t, memdriver.Harness{})
}

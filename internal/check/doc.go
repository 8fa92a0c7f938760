// Package check is `singer check`: it reads a Singer stream (a tap's
// output, ours or another's) and lists every way it departs from the
// protocol as our targets read it, with a summary per stream, so that CI
// can trust a tap before a target ever sees it. It streams: memory stays
// flat however long the input.
//
//	report, err := check.Check(ctx, os.Stdin, check.Options{})
//	if err == nil && !report.OK { /* report.Violations: exit 1 */ }
package check

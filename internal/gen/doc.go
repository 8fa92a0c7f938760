// Package gen is `singer gen`: it writes synthetic, deterministic Singer
// streams (narrow or wide rows, large values, nested objects, many
// streams) for tests, the demo and make bench.
package gen

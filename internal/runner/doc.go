// Package runner is `singer run` and its companions (select, state, runs):
// it runs a pipeline of singer.yaml, a tap piped straight into a target
// through an OS pipe (the runner never copies the record stream), and saves
// every STATE the target prints to the state store as it arrives.
//
//	code := runner.Main(ctx, []string{"run", "shop-to-warehouse"}, os.Stdin, os.Stdout, os.Stderr)
package runner

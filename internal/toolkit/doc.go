// Package toolkit is the `singer` binary's root: it hands the project
// commands (run, select, state, runs, schedule, init, canary...) their
// arguments whole, and serves check, gen and map itself. `singer --help`
// lists every command.
package toolkit

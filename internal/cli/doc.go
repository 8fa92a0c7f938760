// Package cli is the command line every tap and target shares: flags
// (--config, repeatable and merged; --catalog, --state, --discover for
// taps; --input for targets; --about, --version), config loading and
// validation against the binary's schema, stream maps around the tap's
// output or the target's input, signals (the first stops reading and
// commits, the second aborts), and one error line with the exit code
// (0 done, 1 runtime failure, 2 usage or config).
//
// A binary's main is one line:
//
//	os.Exit(cli.RunTarget(context.Background(), postgres.Spec(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
package cli

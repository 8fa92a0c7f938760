// Package emulatortest runs target-bigquery's conformance suite against
// github.com/goccy/bigquery-emulator started in-process. It is a module of
// its own so that the emulator (a large, slow build) never enters the main
// module's build: `make test-bigquery` runs it.
package emulatortest

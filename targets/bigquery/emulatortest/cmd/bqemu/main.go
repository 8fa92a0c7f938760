// Command bqemu runs the BigQuery emulator (package emu) until it is
// interrupted, for scripts/bench-bigquery.sh. It prints one line,
// "http://host:port host:port" (REST, Storage Write gRPC), once both APIs
// listen; with -sink the Storage Write API drops the rows it receives and
// bqemu prints "sunk ROWS BYTES" when it stops.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/singerkit/singerkit/targets/bigquery/emulatortest/emu"
)

func main() {
	project := flag.String("project", "bench", "the emulator's project")
	httpAddr := flag.String("http", "127.0.0.1:0", "REST listen address")
	grpcAddr := flag.String("grpc", "127.0.0.1:0", "Storage Write API listen address")
	sink := flag.Bool("sink", false, "drop the rows sent to the Storage Write API (client-side measurement)")
	flag.Parse()
	e, err := emu.Start(*project, *httpAddr, *grpcAddr, *sink)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bqemu:", err)
		os.Exit(1)
	}
	fmt.Println(e.URL, e.GRPCAddr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	if *sink {
		fmt.Println("sunk", e.SunkRows.Load(), e.SunkBytes.Load())
	}
	e.Close()
}

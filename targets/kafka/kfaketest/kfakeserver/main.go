// Command kfakeserver runs kfake, franz-go's in-process Kafka, as a
// process of its own for make bench (scripts/bench-gate.sh): the gate's
// Kafka figures are taken against it, because no Kafka broker can run on
// the project's machines. It is not Kafka: its figures say what our side
// costs, not what a broker would sustain.
//
//	kfakeserver [--brokers N]
//
// It prints the brokers' addresses, comma-separated, on one line, and runs
// until SIGTERM or SIGINT.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	n := flag.Int("brokers", 1, "number of brokers")
	flag.Parse()
	c, err := kfake.NewCluster(kfake.NumBrokers(*n))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfakeserver:", err)
		os.Exit(1)
	}
	defer c.Close()
	fmt.Println(strings.Join(c.ListenAddrs(), ","))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

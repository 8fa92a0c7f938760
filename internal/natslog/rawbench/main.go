// Command rawbench is make bench's yardstick for the NATS connectors: the
// same client library (nats.go's jetstream package) publishing the lines
// of a file to a JetStream stream, or consuming a stream to the end,
// without Singer: no decoding, no envelope, no state.
//
//	rawbench publish NATS_URL STREAM FILE WINDOW [LINES [BYTES]]   (creates STREAM, file storage, 1 replica;
//	                                                    up to LINES lines (1 by default) and BYTES bytes a message)
//	rawbench consume NATS_URL STREAM
//	rawbench delete NATS_URL STREAM...            (and their schema buckets)
//
// It prints "<messages> <seconds>".
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "rawbench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 3 || args[0] == "publish" && len(args) < 5 {
		return fmt.Errorf("usage: rawbench publish URL STREAM FILE WINDOW | consume URL STREAM | delete URL STREAMS")
	}
	nc, err := nats.Connect(args[1])
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx := context.Background()
	switch args[0] {
	case "publish":
		window, err := strconv.Atoi(args[4])
		if err != nil {
			return err
		}
		js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(window))
		if err != nil {
			return err
		}
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: args[2], Subjects: []string{args[2]}, Storage: jetstream.FileStorage, Replicas: 1}); err != nil {
			return err
		}
		f, err := os.Open(args[3])
		if err != nil {
			return err
		}
		defer f.Close()
		per, maxBytes := 1, 1<<30
		if len(args) > 5 {
			if per, err = strconv.Atoi(args[5]); err != nil {
				return err
			}
		}
		if len(args) > 6 {
			if maxBytes, err = strconv.Atoi(args[6]); err != nil {
				return err
			}
		}
		r := bufio.NewReaderSize(f, 1<<20)
		start := time.Now()
		n := 0
		var body []byte
		lines := 0
		send := func() error {
			if lines == 0 {
				return nil
			}
			_, err := js.PublishAsync(args[2], body, jetstream.WithStallWait(time.Minute))
			body, lines = nil, 0
			return err
		}
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 1 {
				if lines > 0 && len(body)+len(line) > maxBytes {
					if err := send(); err != nil {
						return err
					}
				}
				if lines > 0 {
					body = append(body, '\n')
				}
				body = append(body, line[:len(line)-1]...)
				lines++
				n++
				if lines >= per {
					if err := send(); err != nil {
						return err
					}
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if err := send(); err != nil {
			return err
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(10 * time.Minute):
			return fmt.Errorf("acks did not come")
		}
		fmt.Println(n, time.Since(start).Seconds())
	case "consume":
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		s, err := js.Stream(ctx, args[2])
		if err != nil {
			return err
		}
		last := s.CachedInfo().State.LastSeq
		start := time.Now()
		c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
		if err != nil {
			return err
		}
		// As tap-nats asks (natslog.Source.readBytes).
		it, err := c.Messages(jetstream.PullMaxMessagesWithBytesLimit(10000, max(8<<20, 4*int(nc.MaxPayload()))))
		if err != nil {
			return err
		}
		n := 0
		w := bufio.NewWriterSize(io.Discard, 256<<10)
		for {
			m, err := it.Next()
			if err != nil {
				return err
			}
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			w.Write(m.Data())
			w.WriteByte('\n')
			n++
			if md.Sequence.Stream >= last {
				break
			}
		}
		it.Stop()
		fmt.Println(n, time.Since(start).Seconds())
	case "delete":
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		for _, name := range args[2:] {
			_ = js.DeleteStream(ctx, name)
			_ = js.DeleteKeyValue(ctx, name+"_schemas")
		}
	default:
		return fmt.Errorf("unknown mode %q", args[0])
	}
	return nil
}

// Command gateload is the load generator of make bench's singer gate
// figures (scripts/bench-gate.sh), run as a process of its own:
//
//	gateload run --url http://127.0.0.1:8080 --token T --batch 100 --concurrency 32 --seconds 10 [--rate R] [--acked FILE]
//	gateload count --nats nats://127.0.0.1:4222 --topic T --acked FILE
//	gateload count --brokers HOST:PORT[,...] --topic T --acked FILE   (Kafka)
//	gateload delete NATS_URL TOPIC...   (and their schema buckets)
//
// run posts /v2/import/batch requests of --batch records (ids unique
// across the run, so no body repeats) and prints one JSON line: requests/s,
// records/s, p50/p99 latency of the 2xx answers, errors. --rate paces the
// requests (per second, all workers together). --acked writes "first count"
// for every record range a 2xx answer covered. count reads the topic and
// says how many acknowledged records it holds, and how many are missing.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gateload run|count ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = run(os.Args[2:])
	case "count":
		err = count(os.Args[2:])
	case "delete":
		err = deleteTopics(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateload:", err)
		os.Exit(1)
	}
}

const schema = `{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},"amount":{"type":"number"},"active":{"type":"boolean"},"created_at":{"type":"string","format":"date-time"}}}`

// body appends a batch request of n records with ids from first on.
func body(buf []byte, table string, first int64, n int) []byte {
	buf = append(buf, `{"table_name":"`...)
	buf = append(buf, table...)
	buf = append(buf, `","key_names":["id"],"schema":`...)
	buf = append(buf, schema...)
	buf = append(buf, `,"messages":[`...)
	for i := 0; i < n; i++ {
		id := first + int64(i)
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"action":"upsert","sequence":`...)
		buf = strconv.AppendInt(buf, id, 10)
		buf = append(buf, `,"data":{"id":`...)
		buf = strconv.AppendInt(buf, id, 10)
		buf = append(buf, `,"name":"customer `...)
		buf = strconv.AppendInt(buf, id%100000, 10)
		buf = append(buf, `","amount":`...)
		buf = strconv.AppendInt(buf, id%10000, 10)
		buf = append(buf, `.25,"active":true,"created_at":"2026-12-03T07:00:00Z"}}`...)
	}
	return append(buf, "]}"...)
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "gate base URL")
	token := fs.String("token", "", "bearer token")
	table := fs.String("table", "bench", "table name")
	batch := fs.Int("batch", 100, "records a request")
	conc := fs.Int("concurrency", 32, "requests in flight")
	seconds := fs.Float64("seconds", 10, "how long to send")
	rate := fs.Float64("rate", 0, "requests a second, all workers together (0: as fast as answered)")
	acked := fs.String("acked", "", "file of the record ranges answered 2xx")
	idBase := fs.Int64("id-base", 0, "first record id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ackW *bufio.Writer
	var ackMu sync.Mutex
	if *acked != "" {
		f, err := os.Create(*acked)
		if err != nil {
			return err
		}
		defer f.Close()
		ackW = bufio.NewWriter(f)
		defer ackW.Flush()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2, MaxConnsPerHost: *conc * 2}, Timeout: 60 * time.Second}
	var next atomic.Int64
	next.Store(*idBase)
	deadline := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	var tick <-chan time.Time
	if *rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / *rate))
		defer t.Stop()
		tick = t.C
	}
	type result struct {
		lat      []time.Duration
		okRecs   int64
		errors   int64
		codes    map[int]int
		lastErr  string
		requests int64
	}
	results := make([]*result, *conc)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *conc; w++ {
		r := &result{codes: map[int]int{}}
		results[w] = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for time.Now().Before(deadline) {
				if tick != nil {
					select {
					case <-tick:
					case <-time.After(time.Until(deadline)):
						return
					}
				}
				first := next.Add(int64(*batch)) - int64(*batch)
				buf = body(buf[:0], *table, first, *batch)
				req, _ := http.NewRequest(http.MethodPost, *url+"/v2/import/batch", bytes.NewReader(buf))
				req.Header.Set("Authorization", "Bearer "+*token)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				res, err := client.Do(req)
				r.requests++
				if err != nil {
					r.errors++
					r.lastErr = err.Error()
					if ctxDone(deadline) {
						return
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				r.codes[res.StatusCode]++
				if res.StatusCode/100 != 2 {
					r.errors++
					r.lastErr = fmt.Sprintf("%d %s", res.StatusCode, bytes.TrimSpace(b))
					continue
				}
				r.lat = append(r.lat, time.Since(t0))
				r.okRecs += int64(*batch)
				if ackW != nil {
					ackMu.Lock()
					fmt.Fprintf(ackW, "%d %d\n", first, *batch)
					ackMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	var lat []time.Duration
	var recs, errs, reqs int64
	codes := map[string]int{}
	lastErr := ""
	for _, r := range results {
		lat = append(lat, r.lat...)
		recs += r.okRecs
		errs += r.errors
		reqs += r.requests
		for c, n := range r.codes {
			codes[strconv.Itoa(c)] += n
		}
		if r.lastErr != "" {
			lastErr = r.lastErr
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	out, _ := json.Marshal(map[string]any{
		"batch": *batch, "concurrency": *conc, "rate": *rate, "seconds": round(elapsed),
		"ok_requests": len(lat), "requests": reqs, "errors": errs, "codes": codes,
		"requests_per_s": round(float64(len(lat)) / elapsed), "records_per_s": round(float64(recs) / elapsed),
		"p50_ms": pct(0.50), "p99_ms": pct(0.99), "last_error": lastErr,
	})
	fmt.Println(string(out))
	return nil
}

func ctxDone(deadline time.Time) bool { return time.Now().After(deadline) }

func round(f float64) float64 { return float64(int64(f*10)) / 10 }

// count checks that every acknowledged record is in the topic.
func count(args []string) error {
	fs := flag.NewFlagSet("count", flag.ContinueOnError)
	url := fs.String("nats", "nats://127.0.0.1:4222", "NATS URL")
	brokers := fs.String("brokers", "", "Kafka brokers (comma-separated): read the topic from Kafka instead of NATS")
	topic := fs.String("topic", "", "topic")
	acked := fs.String("acked", "", "file written by run --acked")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	seen := map[int64]int{}
	var lines int64
	// add counts the record ids of one log message (Singer lines).
	idKey := []byte(`"record":{"id":`)
	add := func(data []byte) error {
		for _, l := range bytes.Split(data, []byte{'\n'}) {
			i := bytes.Index(l, idKey)
			if i < 0 {
				continue
			}
			rest := l[i+len(idKey):]
			j := bytes.IndexByte(rest, ',')
			id, err := strconv.ParseInt(string(rest[:j]), 10, 64)
			if err != nil {
				return err
			}
			seen[id]++
			lines++
		}
		return nil
	}
	var err error
	if *brokers != "" {
		err = readKafka(ctx, strings.Split(*brokers, ","), *topic, add)
	} else {
		err = readNATS(ctx, *url, *topic, add)
	}
	if err != nil {
		return err
	}
	f, err := os.Open(*acked)
	if err != nil {
		return err
	}
	defer f.Close()
	var ackedN, missing int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var first, n int64
		if _, err := fmt.Sscan(sc.Text(), &first, &n); err != nil {
			return fmt.Errorf("%s: %q: %v", *acked, sc.Text(), err)
		}
		for id := first; id < first+n; id++ {
			ackedN++
			if seen[id] == 0 {
				missing++
			}
		}
	}
	dups := int64(0)
	for _, n := range seen {
		if n > 1 {
			dups += int64(n - 1)
		}
	}
	out, _ := json.Marshal(map[string]any{"acknowledged": ackedN, "in_log": len(seen), "record_lines": lines, "duplicates": dups, "missing": missing})
	fmt.Println(string(out))
	if missing > 0 {
		return fmt.Errorf("%d acknowledged record(s) are not in the log", missing)
	}
	return nil
}

// readNATS passes every message of a JetStream topic to add.
func readNATS(ctx context.Context, url, topic string, add func([]byte) error) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(ctx, topic)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	if info.State.Msgs == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return err
	}
	it, err := c.Messages()
	if err != nil {
		return err
	}
	defer it.Stop()
	for {
		m, err := it.Next()
		if err != nil {
			return err
		}
		if err := add(m.Data()); err != nil {
			return err
		}
		md, _ := m.Metadata()
		if md.Sequence.Stream >= info.State.LastSeq {
			return nil
		}
	}
}

// readKafka passes every record of partition 0 of a Kafka topic, up to its
// end when called, to add.
func readKafka(ctx context.Context, brokers []string, topic string, add func([]byte) error) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	end, ok := ends.Lookup(topic, 0)
	if !ok || end.Err != nil {
		return fmt.Errorf("end offset of %s: %v", topic, end.Err)
	}
	if end.Offset == 0 {
		return nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}})
	for {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return err
		}
		var last int64 = -1
		var addErr error
		fs.EachRecord(func(r *kgo.Record) {
			if addErr == nil {
				addErr = add(r.Value)
			}
			last = r.Offset
		})
		if addErr != nil {
			return addErr
		}
		if last >= end.Offset-1 {
			return nil
		}
	}
}

// deleteTopics deletes topics and their schema buckets.
func deleteTopics(args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("usage: gateload delete NATS_URL TOPIC [TOPIC]")
	}
	nc, err := nats.Connect(args[0])
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, t := range args[1:] {
		_ = js.DeleteStream(ctx, t)
		_ = js.DeleteKeyValue(ctx, t+"_schemas")
	}
	return nil
}

package singer

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Log writes a binary's diagnostic lines on stderr: "LEVEL message", and
// Singer metric lines ("INFO METRIC: {...}"). It is safe for concurrent use.
type Log struct {
	mu sync.Mutex
	w  io.Writer
}

// NewLog returns a Log writing to w.
func NewLog(w io.Writer) *Log { return &Log{w: w} }

func (l *Log) line(level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s\n", level, msg)
}

// Infof writes an INFO line.
func (l *Log) Infof(format string, args ...any) { l.line("INFO", fmt.Sprintf(format, args...)) }

// Warnf writes a WARNING line.
func (l *Log) Warnf(format string, args ...any) { l.line("WARNING", fmt.Sprintf(format, args...)) }

// Metric is a Singer metric.
type Metric struct {
	Type   string         `json:"type"` // counter or timer
	Metric string         `json:"metric"`
	Value  any            `json:"value"`
	Tags   map[string]any `json:"tags,omitempty"`
}

// Metric writes an "INFO METRIC: {...}" line.
func (l *Log) Metric(m Metric) {
	b, _ := json.Marshal(m)
	l.line("INFO", "METRIC: "+string(b))
}

// Counters keeps one Singer counter metric per stream and reports it on an
// interval and at Close. As in singer-python, each line carries the count
// since the stream's previous line, so the lines of a stream add up to its
// total.
type Counters struct {
	log      *Log
	metric   string
	mu       sync.Mutex
	counters map[string]*Counter
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// Counter counts for one stream. Add is a single atomic operation.
type Counter struct {
	n        atomic.Int64
	reported int64
	total    atomic.Int64
}

// Add adds n.
func (c *Counter) Add(n int64) { c.n.Add(n); c.total.Add(n) }

// Total returns the count since the start.
func (c *Counter) Total() int64 { return c.total.Load() }

// NewCounters starts reporting metric every interval until Close.
func NewCounters(log *Log, metric string, interval time.Duration) *Counters {
	c := &Counters{log: log, metric: metric, counters: make(map[string]*Counter), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				c.report()
			case <-c.stop:
				return
			}
		}
	}()
	return c
}

// For returns the counter of a stream, creating it.
func (c *Counters) For(stream string) *Counter {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.counters[stream]
	if !ok {
		k = &Counter{}
		c.counters[stream] = k
	}
	return k
}

func (c *Counters) report() {
	c.mu.Lock()
	names := make([]string, 0, len(c.counters))
	for s := range c.counters {
		names = append(names, s)
	}
	c.mu.Unlock()
	sort.Strings(names)
	for _, s := range names {
		c.mu.Lock()
		k := c.counters[s]
		c.mu.Unlock()
		n := k.n.Load()
		if n == k.reported {
			continue
		}
		c.log.Metric(Metric{Type: "counter", Metric: c.metric, Value: n - k.reported, Tags: map[string]any{"stream": s}})
		k.reported = n
	}
}

// Close stops the ticker and writes the final counts. It is idempotent.
func (c *Counters) Close() {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		c.report()
	})
}

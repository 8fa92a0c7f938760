package canary

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"text/tabwriter"
)

// Percentiles summarises the latencies of one pipeline and destination.
type Percentiles struct {
	Pipeline    string `json:"pipeline"`
	Destination string `json:"destination"`
	// Tracers counts the tracers considered (the last N sent to the
	// destination), Arrived those found there.
	Tracers int      `json:"tracers"`
	Arrived int      `json:"arrived"`
	P50     *float64 `json:"p50_seconds"`
	P90     *float64 `json:"p90_seconds"`
	P99     *float64 `json:"p99_seconds"`
	Max     *float64 `json:"max_seconds"`
}

// Report computes latency percentiles over the last n tracers (all kept
// ones when n < 1) of each pipeline, per destination, from the state
// store alone.
func (c *Canary) Report(ctx context.Context, names []string, n int) ([]Percentiles, error) {
	pls, err := c.Pipelines(names)
	if err != nil {
		return nil, err
	}
	out := []Percentiles{}
	for _, pl := range pls {
		tracers, err := c.Store.Tracers(ctx, pl.Name)
		if err != nil {
			return nil, err
		}
		var dests []string
		per := map[string]*Percentiles{}
		lat := map[string][]float64{}
		// Newest first, so that each destination counts its own last n.
		for i := len(tracers) - 1; i >= 0; i-- {
			t := &tracers[i]
			for _, d := range t.Destinations {
				p := per[d]
				if p == nil {
					p = &Percentiles{Pipeline: pl.Name, Destination: d}
					per[d] = p
					dests = append(dests, d)
				}
				if n > 0 && p.Tracers >= n {
					continue
				}
				p.Tracers++
				if l, ok := t.Latency(d); ok {
					p.Arrived++
					lat[d] = append(lat[d], l.Seconds())
				}
			}
		}
		sort.Strings(dests)
		for _, d := range dests {
			p := per[d]
			if ls := lat[d]; len(ls) > 0 {
				sort.Float64s(ls)
				p.P50, p.P90, p.P99 = rank(ls, 50), rank(ls, 90), rank(ls, 99)
				p.Max = &ls[len(ls)-1]
			}
			out = append(out, *p)
		}
	}
	return out, nil
}

// rank is the nearest-rank percentile of sorted values.
func rank(sorted []float64, pct float64) *float64 {
	i := int(math.Ceil(pct/100*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	v := sorted[i]
	return &v
}

func writeReport(w io.Writer, ps []Percentiles) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PIPELINE\tDESTINATION\tTRACERS\tARRIVED\tP50\tP90\tP99\tMAX")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", p.Pipeline, p.Destination, p.Tracers, p.Arrived, opt(p.P50), opt(p.P90), opt(p.P99), opt(p.Max))
	}
	tw.Flush()
}

func opt(s *float64) string {
	if s == nil {
		return "-"
	}
	return seconds(*s)
}

package canary

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server runs checks (and, when asked, sends) on a timer and exports the
// last check's result as Prometheus metrics.
type Server struct {
	Canary    *Canary
	Pipelines []string
	// Interval between checks; SendEvery between sends (0: never: cron
	// sends).
	Interval, SendEvery time.Duration
	// Log gets one line per failed check or send.
	Log io.Writer

	mu         sync.Mutex
	last       *Result
	checkErrs  float64
	sendErrs   float64
	checkCount float64
}

var (
	descLatency = prometheus.NewDesc("singer_canary_latency_seconds",
		"Latency of the latest tracer that arrived: from its send to the check that found it in the destination.", []string{"pipeline", "destination"}, nil)
	descSince = prometheus.NewDesc("singer_canary_since_last_arrival_seconds",
		"Seconds since the latest arrival of a tracer in the destination (at scrape time).", []string{"pipeline", "destination"}, nil)
	descOverdue = prometheus.NewDesc("singer_canary_overdue_tracers",
		"Tracers not arrived in the destination past the pipeline's overdue threshold.", []string{"pipeline", "destination"}, nil)
	descDestErr = prometheus.NewDesc("singer_canary_destination_error",
		"1 when the last check could not query the destination.", []string{"pipeline", "destination"}, nil)
	descLastCheck = prometheus.NewDesc("singer_canary_last_check_timestamp_seconds",
		"When the last check ran (Unix time).", nil, nil)
	descChecks = prometheus.NewDesc("singer_canary_checks_total",
		"Checks run.", nil, nil)
	descCheckErrs = prometheus.NewDesc("singer_canary_check_errors_total",
		"Checks that failed as a whole (the state store or the project file).", nil, nil)
	descSendErrs = prometheus.NewDesc("singer_canary_send_errors_total",
		"Sends that failed (with --send-every).", nil, nil)
)

// Describe implements prometheus.Collector.
func (s *Server) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLatency, descSince, descOverdue, descDestErr, descLastCheck, descChecks, descCheckErrs, descSendErrs} {
		ch <- d
	}
}

// Collect implements prometheus.Collector from the last check.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Canary.now()
	ch <- prometheus.MustNewConstMetric(descChecks, prometheus.CounterValue, s.checkCount)
	ch <- prometheus.MustNewConstMetric(descCheckErrs, prometheus.CounterValue, s.checkErrs)
	ch <- prometheus.MustNewConstMetric(descSendErrs, prometheus.CounterValue, s.sendErrs)
	if s.last == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descLastCheck, prometheus.GaugeValue, float64(s.last.CheckedAt.UnixNano())/1e9)
	for _, st := range s.last.Statuses {
		labels := []string{st.Pipeline, st.Destination}
		if st.LatencySeconds != nil {
			ch <- prometheus.MustNewConstMetric(descLatency, prometheus.GaugeValue, *st.LatencySeconds, labels...)
		}
		if st.LastArrival != nil {
			ch <- prometheus.MustNewConstMetric(descSince, prometheus.GaugeValue, now.Sub(*st.LastArrival).Seconds(), labels...)
		}
		ch <- prometheus.MustNewConstMetric(descOverdue, prometheus.GaugeValue, float64(st.Overdue), labels...)
		e := 0.0
		if st.Error != "" {
			e = 1
		}
		ch <- prometheus.MustNewConstMetric(descDestErr, prometheus.GaugeValue, e, labels...)
	}
}

// check runs one check and keeps its result.
func (s *Server) check(ctx context.Context) {
	res, err := s.Canary.Check(ctx, s.Pipelines)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkCount++
	if err != nil {
		if ctx.Err() == nil {
			s.checkErrs++
			fmt.Fprintf(s.Log, "singer canary serve: check: %v\n", err)
		}
		return
	}
	s.last = res
}

func (s *Server) send(ctx context.Context) {
	if _, err := s.Canary.Send(ctx, s.Pipelines); err != nil && ctx.Err() == nil {
		s.mu.Lock()
		s.sendErrs++
		s.mu.Unlock()
		fmt.Fprintf(s.Log, "singer canary serve: send: %v\n", err)
	}
}

// Serve answers /metrics on ln until ctx ends; the first check runs at
// once, the next every Interval.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.loop(ctx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(shut)
		cancel()
	case err = <-errc:
	}
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) loop(ctx context.Context) {
	checkT := time.NewTicker(s.Interval)
	defer checkT.Stop()
	var sendC <-chan time.Time
	if s.SendEvery > 0 {
		sendT := time.NewTicker(s.SendEvery)
		defer sendT.Stop()
		sendC = sendT.C
		s.send(ctx)
	}
	s.check(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-checkT.C:
			s.check(ctx)
		case <-sendC:
			s.send(ctx)
		}
	}
}

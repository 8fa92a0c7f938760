package gate

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the gate's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec   // endpoint, code
	records    *prometheus.CounterVec   // endpoint
	bytes      *prometheus.CounterVec   // endpoint
	latency    *prometheus.HistogramVec // endpoint
	rejections *prometheus.CounterVec   // reason
	publish    prometheus.Histogram
	inFlight   prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "singer_gate_requests_total", Help: "HTTP requests by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "singer_gate_records_total", Help: "Records stored in the log (2xx answers only).",
		}, []string{"endpoint"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "singer_gate_request_bytes_total", Help: "Request body bytes read.",
		}, []string{"endpoint"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "singer_gate_request_duration_seconds", Help: "Time from a request's arrival to its answer.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"endpoint"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "singer_gate_rejections_total", Help: "Requests refused, by reason.",
		}, []string{"reason"}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "singer_gate_log_publish_duration_seconds", Help: "Time to store one request's messages in the log (every acknowledgement).",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16),
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "singer_gate_requests_in_flight", Help: "Requests being served.",
		}),
	}
	m.reg.MustRegister(m.requests, m.records, m.bytes, m.latency, m.rejections, m.publish, m.inFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/kafkalog"
	"github.com/singerkit/singerkit/internal/natslog"
	"github.com/singerkit/singerkit/internal/singerlog"
)

// Log is where the gate stores what it accepts (natslog.Publisher,
// kafkalog.Publisher).
type Log interface {
	// Store publishes msgs to topic in order and returns once the log
	// acknowledged every one, or the error that stopped it (then a
	// prefix of msgs may be stored; storing them again with the same
	// ids within the topic's duplicate window stores each once).
	Store(ctx context.Context, topic string, msgs []*singerlog.Message) ([]uint64, error)
	// Ping reports whether the log answers.
	Ping(ctx context.Context) error
}

// Server is the gate's HTTP handler.
type Server struct {
	cfg      *Config
	auth     *authenticator
	log      Log
	declared *declared
	schemas  *schemaCache
	metrics  *metrics
	access   *slog.Logger
	producer string
	now      func() time.Time
}

// Options are what NewServer needs beside the config.
type Options struct {
	Log      Log
	Producer string
	// Lookup reads the environment (os.LookupEnv).
	Lookup func(string) (string, bool)
	// AccessLog receives one JSON line per request.
	AccessLog io.Writer
}

// NewServer checks the tokens and returns the handler.
func NewServer(cfg *Config, opts Options) (*Server, error) {
	grants, err := cfg.tokens(opts.Lookup)
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg:      cfg,
		auth:     newAuthenticator(grants),
		log:      opts.Log,
		declared: newDeclared(cfg.Tables),
		schemas:  newSchemaCache(),
		metrics:  newMetrics(),
		access:   slog.New(slog.NewJSONHandler(opts.AccessLog, nil)),
		producer: opts.Producer,
		now:      time.Now,
	}, nil
}

// Handler routes the endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/import/batch", s.serve("batch", s.batch))
	mux.HandleFunc("POST /v2/import/push", s.serve("push", s.push))
	mux.HandleFunc("POST /v2/import/validate", s.serve("validate", s.validate))
	mux.HandleFunc("GET /v2/import/status", s.serve("status", s.status))
	mux.HandleFunc("POST /v1/topics/{topic}", s.serve("topics", s.topics))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	return mux
}

// call is one request being served.
type call struct {
	endpoint string
	w        http.ResponseWriter
	r        *http.Request
	grant    *grant
	body     []byte
	topic    string
	code     int
	records  int
	reason   string // of a refusal, for the metrics and the access log
}

// answer is a JSON response body, shaped like the Import API's.
type answer struct {
	Status  string    `json:"status"`
	Message string    `json:"message"`
	Errors  []problem `json:"errors,omitempty"`
	// ErrorsTotal counts every problem when Errors lists only the first.
	ErrorsTotal int `json:"errors_total,omitempty"`
}

// problem is one validation error.
type problem struct {
	Record *int   `json:"record,omitempty"` // index in the request's records
	Line   int64  `json:"line,omitempty"`   // /v1: line of the body
	Table  string `json:"table_name,omitempty"`
	Error  string `json:"error"`
}

// maxProblems is how many problems an answer lists.
const maxProblems = 100

func (c *call) reply(code int, a answer) {
	c.code = code
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(code)
	_ = json.NewEncoder(c.w).Encode(a)
}

// refuse answers an error with one message and counts its reason.
func (c *call) refuse(code int, reason, msg string) {
	c.reason = reason
	c.reply(code, answer{Status: "ERROR", Message: msg})
}

// invalid answers 400 listing the problems.
func (c *call) invalid(msg string, ps []problem, total int) {
	c.reason = "invalid"
	c.reply(http.StatusBadRequest, answer{Status: "ERROR", Message: msg, Errors: ps, ErrorsTotal: total})
}

func (s *Server) serve(endpoint string, h func(*call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.inFlight.Inc()
		defer s.metrics.inFlight.Dec()
		c := &call{endpoint: endpoint, w: w, r: r}
		h(c)
		d := time.Since(start)
		code := strconv.Itoa(c.code)
		s.metrics.requests.WithLabelValues(endpoint, code).Inc()
		s.metrics.latency.WithLabelValues(endpoint).Observe(d.Seconds())
		s.metrics.bytes.WithLabelValues(endpoint).Add(float64(len(c.body)))
		if c.reason != "" {
			s.metrics.rejections.WithLabelValues(c.reason).Inc()
		}
		if c.code/100 == 2 && c.records > 0 {
			s.metrics.records.WithLabelValues(endpoint).Add(float64(c.records))
		}
		attrs := []any{
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", c.code),
			slog.Int("bytes", len(c.body)), slog.Int("records", c.records),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000), slog.String("remote", r.RemoteAddr),
		}
		if c.grant != nil {
			attrs = append(attrs, slog.String("token", c.grant.name))
		}
		if c.topic != "" {
			attrs = append(attrs, slog.String("topic", c.topic))
		}
		if c.reason != "" {
			attrs = append(attrs, slog.String("refused", c.reason))
		}
		s.access.Info("request", attrs...)
	}
}

// admit authenticates the call, applies the token's rate and reads the
// body within the token's size limit. It answers and returns false when
// the call may not go on. Refusals never show the token.
func (s *Server) admit(c *call, wantJSON bool) bool {
	tok := bearer(c.r)
	if tok == "" {
		c.refuse(http.StatusUnauthorized, "no_token", "no access token: send Authorization: Bearer <token>")
		return false
	}
	g := s.auth.find(tok)
	if g == nil {
		c.refuse(http.StatusUnauthorized, "bad_token", "the access token is not valid")
		return false
	}
	c.grant = g
	if !g.allow() {
		c.w.Header().Set("Retry-After", "1")
		c.refuse(http.StatusTooManyRequests, "rate", fmt.Sprintf("token %q is over its rate of %g requests a second: retry later", g.name, g.rate))
		return false
	}
	if wantJSON {
		if ct := c.r.Header.Get("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || (mt != "application/json" && mt != "application/x-www-form-urlencoded") {
				c.refuse(http.StatusUnsupportedMediaType, "media_type", fmt.Sprintf("content type %q is not supported: send application/json (Transit is not supported)", ct))
				return false
			}
		}
	}
	if c.r.ContentLength > g.maxBytes {
		c.refuse(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the request body (%d bytes) is over the limit of %d bytes", c.r.ContentLength, g.maxBytes))
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, g.maxBytes))
	c.body = body
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		c.refuse(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the request body is over the limit of %d bytes", g.maxBytes))
		return false
	case err != nil:
		c.refuse(http.StatusBadRequest, "read", "reading the request body: "+err.Error())
		return false
	}
	return true
}

// store publishes a request's messages and answers: code on success, 503
// when the log did not acknowledge every message.
func (s *Server) store(c *call, msgs []*singerlog.Message, code int, message string) {
	start := time.Now()
	_, err := s.log.Store(c.r.Context(), c.topic, msgs)
	s.metrics.publish.Observe(time.Since(start).Seconds())
	var conflict *natslog.ConflictError
	var kconflict *kafkalog.ConflictError
	if errors.As(err, &conflict) || errors.As(err, &kconflict) {
		c.refuse(http.StatusConflict, "idempotency_conflict",
			"the Idempotency-Key was already used for a different request body (within the duplicate window): use a new key for a new request")
		return
	}
	if err != nil {
		c.w.Header().Set("Retry-After", "1")
		c.refuse(http.StatusServiceUnavailable, "log_unavailable",
			"the log did not acknowledge the request; nothing of it is to be relied on: retry it (same body or Idempotency-Key: what was stored is not stored twice): "+err.Error())
		return
	}
	c.reply(code, answer{Status: "OK", Message: message})
}

func (s *Server) status(c *call) {
	ctx, cancel := context.WithTimeout(c.r.Context(), 5*time.Second)
	defer cancel()
	type statusBody struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	c.code = http.StatusOK
	b := statusBody{Name: "singer-gate", Version: cli.Version, Status: "OK", Message: "the log answers"}
	if err := s.log.Ping(ctx); err != nil {
		c.code, b.Status, b.Message = http.StatusServiceUnavailable, "ERROR", "the log does not answer: "+err.Error()
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(c.code)
	_ = json.NewEncoder(c.w).Encode(b)
}

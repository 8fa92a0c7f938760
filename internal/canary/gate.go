package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/singerkit/singerkit/internal/project"
)

// gateSource pushes the tracer through singer gate: the SCHEMA and RECORD
// of the stream singer_canary, POSTed to /v1/topics/TOPIC as a remote tap
// would push its output. The gate writes them into the log, a tap-nats
// pipeline reads them from there.
type gateSource struct {
	base, token, topic string
	client             *http.Client
}

func newGateSource(p *project.Project, pl *project.Pipeline) (*gateSource, error) {
	g := pl.Canary.Gate
	topic := g.Topic
	if topic == "" {
		tap := p.Connectors[pl.Tap]
		if kindOf(tap) == kindNATS {
			if s, err := newNATSSource(tap, ""); err == nil {
				topic = s.topic
			}
		}
	}
	if topic == "" {
		return nil, fmt.Errorf("%s: pipelines.%s.canary.gate.topic: name the topic the gate writes the tracer to (the tap %s does not read one)", pl.Canary.Where, pl.Name, pl.Tap)
	}
	if _, err := url.Parse(g.URL); err != nil {
		return nil, fmt.Errorf("%s: pipelines.%s.canary.gate.url: %q does not parse", pl.Canary.Where, pl.Name, g.URL)
	}
	return &gateSource{base: strings.TrimSuffix(g.URL, "/"), token: g.Token, topic: topic, client: &http.Client{Timeout: 60 * time.Second}}, nil
}

func (s *gateSource) where() string  { return "gate " + s.base + " topic " + s.topic }
func (s *gateSource) stream() string { return Stream }

// init has nothing to create: the gate creates its topics.
func (s *gateSource) init(context.Context) error { return nil }

func (s *gateSource) send(ctx context.Context, pipeline, id string, at time.Time) error {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.Encode(map[string]any{"type": "SCHEMA", "stream": Stream, "schema": tracerSchema, "key_properties": []string{"pipeline"}})
	enc.Encode(map[string]any{"type": "RECORD", "stream": Stream, "record": map[string]any{"pipeline": pipeline, "id": id, "sent_at": at.UTC().Format(time.RFC3339Nano)}, "time_extracted": at.UTC().Format(time.RFC3339Nano)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/v1/topics/"+url.PathEscape(s.topic), &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	// One tracer, one request: a retried request is stored once.
	req.Header.Set("Idempotency-Key", "singer-canary-"+id)
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("pushing the tracer to %s: %s", s.where(), strings.ReplaceAll(err.Error(), s.token, "***"))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	var answer struct {
		Message string `json:"message"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	json.Unmarshal(b, &answer)
	return fmt.Errorf("pushing the tracer to %s: the gate answered %s: %s", s.where(), resp.Status, answer.Message)
}

func (s *gateSource) close() {}

package gate

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"

	"github.com/singerkit/singerkit/internal/check"
	"github.com/singerkit/singerkit/singer"
)

var topicName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)

// topics serves POST /v1/topics/{topic}: newline-delimited Singer
// messages, checked as `singer check` does (every problem listed, by
// line), then stored in the topic as they are: consecutive RECORD lines
// of one stream share a log message, as target-nats writes them.
func (s *Server) topics(c *call) {
	topic := c.r.PathValue("topic")
	if !s.admit(c, false) {
		return
	}
	if !topicName.MatchString(topic) {
		c.refuse(http.StatusBadRequest, "bad_topic", fmt.Sprintf("topic %q is not a topic name (letters, digits, '-' and '_', 1 to 200 of them)", topic))
		return
	}
	c.topic = topic
	if !c.grant.mayTopic(topic) {
		c.refuse(http.StatusForbidden, "topic_not_granted", fmt.Sprintf("token %q may not write topic %q", c.grant.name, topic))
		return
	}
	rep, err := check.Check(c.r.Context(), bytes.NewReader(c.body), check.Options{MaxFindings: maxProblems})
	if err != nil {
		c.refuse(http.StatusBadRequest, "read", "reading the request body: "+err.Error())
		return
	}
	if !rep.OK {
		ps := make([]problem, len(rep.Violations))
		for i, v := range rep.Violations {
			ps[i] = problem{Line: v.Line, Table: v.Stream, Error: v.Message}
		}
		c.invalid(fmt.Sprintf("%d problem(s) in the Singer messages; nothing was stored", rep.ViolationsTotal), ps, int(rep.ViolationsTotal))
		return
	}
	for _, st := range rep.Streams {
		if !c.grant.mayTable(st.Stream) {
			c.refuse(http.StatusForbidden, "table_not_granted", fmt.Sprintf("token %q may not write stream %q", c.grant.name, st.Stream))
			return
		}
	}
	b := newBuilder(requestKey(c.grant.name, topic, c.r.Header.Get("Idempotency-Key"), c.body), s.producer, s.cfg.MaxMessageBytes, s.now())
	dec := singer.NewDecoder(bytes.NewReader(c.body))
	for dec.Next() {
		m := dec.Message()
		switch m.Type {
		case singer.TypeRecord:
			c.records++
		case singer.TypeSchema, singer.TypeState, singer.TypeActivateVersion, singer.TypeBatch:
		default:
			continue
		}
		if len(m.Raw) > s.cfg.MaxMessageBytes {
			c.refuse(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("line %d is %d bytes, over the largest log message (max_message_bytes %d)", m.Line, len(m.Raw), s.cfg.MaxMessageBytes))
			return
		}
		b.line(m.Type, m.Stream, bytes.Clone(m.Raw))
	}
	if err := dec.Err(); err != nil {
		// singer check passed the same bytes: not expected.
		c.refuse(http.StatusBadRequest, "invalid", err.Error())
		return
	}
	b.flush()
	s.store(c, b.msgs, http.StatusAccepted, fmt.Sprintf("%d message(s) stored", len(b.msgs)))
}

package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/singerkit/singerkit/internal/statestore"
)

// Logger writes the runner's own lines and relays each child's stderr,
// prefixed with the connector's name (`shop-db | ...`) or as JSON lines.
type Logger struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
	// status is the live progress line drawn last (a terminal only): a
	// log line clears it and draws it again below itself.
	status string
}

// NewLogger logs to w; asJSON selects JSON lines.
func NewLogger(w io.Writer, asJSON bool) *Logger { return &Logger{w: w, json: asJSON} }

// clearLine erases the terminal's current line (carriage return, erase
// to the end of the line).
const clearLine = "\r\x1b[K"

// Status draws line as the live progress line ("" removes it).
func (l *Logger) Status(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status != "" || line != "" {
		io.WriteString(l.w, clearLine+line)
	}
	l.status = line
}

func (l *Logger) emit(source, level, msg string, extra map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.json {
		if l.status != "" {
			io.WriteString(l.w, clearLine)
		}
		fmt.Fprintf(l.w, "%s | %s\n", source, msg)
		if l.status != "" {
			io.WriteString(l.w, l.status)
		}
		return
	}
	m := map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "source": source, "level": level, "msg": msg}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	l.w.Write(append(b, '\n'))
}

// Infof logs a line of the runner about a pipeline.
func (l *Logger) Infof(pipeline, format string, args ...any) {
	l.emit("singer run", "info", fmt.Sprintf(format, args...), map[string]any{"pipeline": pipeline})
}

// Errorf logs an error of the runner about a pipeline.
func (l *Logger) Errorf(pipeline, format string, args ...any) {
	l.emit("singer run", "error", fmt.Sprintf(format, args...), map[string]any{"pipeline": pipeline})
}

// Summary logs the end of a run.
func (l *Logger) Summary(pipeline string, run statestore.Run, text string) {
	l.emit("singer run", "info", text, map[string]any{"pipeline": pipeline, "summary": run})
}

// Child routes cmd's stderr through the logger. When records is not nil,
// Singer record_count metrics on that stderr are added to it per stream.
// The returned relay's Wait writes what is left of an unterminated line;
// call it after cmd.Wait.
func (l *Logger) Child(name string, cmd *exec.Cmd, records map[string]int64) (*relay, error) {
	r := &relay{l: l, name: name, records: records}
	cmd.Stderr = r
	return r, nil
}

type relay struct {
	l       *Logger
	name    string
	records map[string]int64
	buf     []byte
}

// Write is called by exec's copying goroutine only, one call at a time.
func (r *relay) Write(p []byte) (int, error) {
	r.buf = append(r.buf, p...)
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			break
		}
		r.line(string(bytes.TrimRight(r.buf[:i], "\r")))
		r.buf = r.buf[i+1:]
	}
	if len(r.buf) > 1<<20 { // a line that long is relayed in pieces
		r.line(string(r.buf))
		r.buf = r.buf[:0]
	}
	return len(p), nil
}

func (r *relay) Wait() {
	if len(r.buf) > 0 {
		r.line(string(r.buf))
		r.buf = nil
	}
}

func (r *relay) line(s string) {
	if r.records != nil {
		r.metric(s)
	}
	r.l.emit(r.name, childLevel(s), s, nil)
}

// childLevel reads a child's stderr line's level: the Singer and Python
// logging prefixes (INFO, WARNING, ERROR, CRITICAL, DEBUG) and our
// binaries' "name: error: ..." line; anything else is info.
func childLevel(s string) string {
	word, _, _ := strings.Cut(s, " ")
	switch strings.TrimRight(strings.ToUpper(word), ":") {
	case "DEBUG":
		return "debug"
	case "WARNING", "WARN":
		return "warning"
	case "ERROR", "CRITICAL", "FATAL":
		return "error"
	}
	if strings.Contains(s, ": error: ") {
		return "error"
	}
	return "info"
}

// metric adds a Singer record_count counter ("INFO METRIC: {...}").
func (r *relay) metric(s string) {
	_, js, ok := strings.Cut(s, "METRIC: ")
	if !ok {
		return
	}
	var m struct {
		Type   string         `json:"type"`
		Metric string         `json:"metric"`
		Value  json.Number    `json:"value"`
		Tags   map[string]any `json:"tags"`
	}
	if json.Unmarshal([]byte(js), &m) != nil || m.Metric != "record_count" {
		return
	}
	n, err := m.Value.Int64()
	if err != nil {
		return
	}
	stream := ""
	for _, k := range []string{"stream", "tap_stream_id", "endpoint"} {
		if v, ok := m.Tags[k].(string); ok {
			stream = v
			break
		}
	}
	if stream == "" {
		stream = "(all)"
	}
	r.records[stream] += n
}

package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/singer"

	"github.com/spf13/cobra"
)

// Options tune Check.
type Options struct {
	// Strict makes a message of an unknown type a violation instead of a
	// warning.
	Strict bool
	// MaxFindings is how many violations (and how many warnings) the report
	// keeps; the rest are only counted, so memory does not grow with the
	// number of bad lines. 0 keeps none.
	MaxFindings int
}

// Finding is one violation or warning of a check. Line is the 1-based input
// line, 0 for a finding about the input as a whole; Stream is empty when the
// finding is not about one stream (or the line could not be decoded far
// enough to tell).
type Finding struct {
	Line    int64  `json:"line"`
	Stream  string `json:"stream"`
	Message string `json:"message"`
}

// String renders a finding as "line N: <stream>: <what>", leaving out the
// parts it does not have.
func (f Finding) String() string {
	var b strings.Builder
	if f.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.FormatInt(f.Line, 10))
		b.WriteString(": ")
	}
	if f.Stream != "" {
		b.WriteString(f.Stream)
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// StreamSummary describes one stream of a checked input.
type StreamSummary struct {
	Stream        string   `json:"stream"`
	Records       int64    `json:"records"`
	Properties    int      `json:"properties"` // top-level properties of the latest schema
	KeyProperties []string `json:"key_properties"`
	// FirstState and LastState are the first and the last STATE values (as
	// compact JSON) seen from the stream's first message on: STATE is global
	// in Singer, so these are the states that cover the stream. Nil when no
	// STATE followed the stream's first message.
	FirstState     json.RawMessage `json:"first_state"`
	LastState      json.RawMessage `json:"last_state"`
	SchemaMessages int             `json:"schema_messages"`
}

// Report is the outcome of a conformance check.
type Report struct {
	OK              bool            `json:"ok"`
	Lines           int64           `json:"lines"`
	Messages        int64           `json:"messages"`
	Streams         []StreamSummary `json:"streams"` // in order of first appearance
	Violations      []Finding       `json:"violations"`
	ViolationsTotal int64           `json:"violations_total"`
	Warnings        []Finding       `json:"warnings"`
	WarningsTotal   int64           `json:"warnings_total"`

	maxFindings int
}

// AddViolation records a violation found outside the stream itself (such as
// a tap's exit status). It is listed first and always kept, whatever the cap.
func (r *Report) AddViolation(f Finding) {
	r.Violations = append([]Finding{f}, r.Violations...)
	r.ViolationsTotal++
	r.OK = false
}

func (r *Report) violation(line int64, stream, msg string) {
	r.ViolationsTotal++
	if len(r.Violations) < r.maxFindings {
		r.Violations = append(r.Violations, Finding{Line: line, Stream: stream, Message: msg})
	}
}

func (r *Report) warning(line int64, stream, msg string) {
	r.WarningsTotal++
	if len(r.Warnings) < r.maxFindings {
		r.Warnings = append(r.Warnings, Finding{Line: line, Stream: stream, Message: msg})
	}
}

// streamCheck is what the checker tracks per stream: a compiled schema and a
// reused row, counts, and nothing that grows with the records.
type streamCheck struct {
	name        string
	records     int64
	schemas     int
	hasSchema   bool           // a SCHEMA came, even one that could not be used
	schema      *singer.Schema // nil when the latest SCHEMA was invalid
	properties  int
	keys        []string
	keyCols     []int // plan columns of the keys that are properties
	firstState  json.RawMessage
	row         singer.Row
	awaitsState bool
}

// checker holds the state of one Check run.
type checker struct {
	rep       *Report
	streams   map[string]*streamCheck
	order     []*streamCheck
	awaiting  []*streamCheck // streams with no STATE since their first message
	states    int64
	lastState []byte
	stateBuf  bytes.Buffer
}

// checkCtxEvery is how many lines pass between looks at the context.
const checkCtxEvery = 4096

// Check reads a Singer stream from r and checks it for conformance: every
// line must decode as a Singer message (Decoder rules), every RECORD must
// follow a SCHEMA of its stream, validate against it and hold a non-null
// value for each key property (what every target refuses), every schema must
// compile and its key_properties and bookmark_properties must name its
// top-level properties, and the input must hold at least one message. Unlike
// a Decoder it never stops at a problem: it reads the whole input and lists
// every violation (up to opts.MaxFindings, counting the rest). Memory does not
// depend on the input's length. The error is for reading failures and ctx
// cancellation only; violations are in the report.
func Check(ctx context.Context, r io.Reader, opts Options) (*Report, error) {
	c := &checker{
		rep:     &Report{maxFindings: max(opts.MaxFindings, 0)},
		streams: make(map[string]*streamCheck),
	}
	d := singer.NewDecoder(r)
	d.Strict = opts.Strict
	// The decoder warns once per unknown type name.
	d.Warn = func(msg string) {
		msg = strings.TrimPrefix(msg, fmt.Sprintf("line %d: ", d.Line()))
		c.rep.warning(d.Line(), "", msg+" (--strict makes them violations)")
	}
	for n := 0; ; n++ {
		if n%checkCtxEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		line, err := d.NextLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("reading input after line %d: %w", d.Line(), err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		// The decoder's own per-line parse, so the rules are exactly a
		// target's; but an error ends only this line, not the check.
		if err := d.DecodeLine(line); err != nil {
			c.undecodable(d, err)
			continue
		}
		c.rep.Messages++
		c.message(d.Message())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.finish(d.Line()), nil
}

// undecodable records a line the decoder rejected (or skipped, for an
// unknown type).
func (c *checker) undecodable(d *singer.Decoder, err error) {
	m := d.Message()
	if errors.Is(err, singer.ErrUnknownType) {
		return // an unknown type, warned about through d.Warn
	}
	var ie *singer.InputError
	if errors.As(err, &ie) {
		msg := ie.Msg
		// Quote the line only when it could not be read as a message at
		// all (a log line on stdout, broken JSON): once the type is known
		// the message says what is wrong with it.
		if ie.Excerpt != "" && m.Type == singer.TypeUnknown {
			msg += " (line starts " + ie.Excerpt + ")"
		}
		c.rep.violation(ie.Line, "", msg)
	} else {
		c.rep.violation(d.Line(), "", err.Error())
	}
	// A SCHEMA that names its stream but cannot be used still counts as the
	// stream's schema: its records are not checked against anything, rather
	// than each reported as coming before a schema.
	if m.Type == singer.TypeSchema && m.Stream != "" {
		st := c.stream(m.Stream)
		st.schemas++
		st.hasSchema = true
		st.schema = nil
		st.properties = 0
		st.keys = st.keys[:0]
	}
}

func (c *checker) stream(name string) *streamCheck {
	if st, ok := c.streams[name]; ok {
		return st
	}
	st := &streamCheck{name: name, awaitsState: true}
	c.streams[name] = st
	c.order = append(c.order, st)
	c.awaiting = append(c.awaiting, st)
	return st
}

func (c *checker) message(m *singer.Message) {
	switch m.Type {
	case singer.TypeSchema:
		c.schema(m)
	case singer.TypeRecord:
		st := c.stream(m.Stream)
		st.records++
		if !st.hasSchema {
			c.rep.violation(m.Line, m.Stream, "RECORD before any SCHEMA of the stream")
			return
		}
		if st.schema != nil {
			if err := st.schema.Decode(m.Record, &st.row, true); err != nil {
				c.rep.violation(m.Line, m.Stream, err.Error())
			} else if msg := st.schema.MissingKey(st.keyCols, &st.row); msg != "" {
				c.rep.violation(m.Line, m.Stream, msg)
			}
		}
		if m.TimeExtracted != nil {
			if _, _, err := m.ExtractedAt(); err != nil {
				c.rep.violation(m.Line, m.Stream, err.Error())
			}
		}
	case singer.TypeState:
		c.state(m)
	case singer.TypeActivateVersion:
		c.stream(m.Stream)
	case singer.TypeBatch:
		if st := c.stream(m.Stream); !st.hasSchema {
			c.rep.violation(m.Line, m.Stream, "BATCH before any SCHEMA of the stream")
		}
	}
}

func (c *checker) schema(m *singer.Message) {
	st := c.stream(m.Stream)
	st.schemas++
	st.hasSchema = true
	st.keys = append(st.keys[:0], m.KeyProperties...)
	st.schema, st.properties = nil, 0
	s, err := singer.CompileSchema(m.Schema, singer.SchemaOptions{})
	if err != nil {
		c.rep.violation(m.Line, m.Stream, err.Error())
		return
	}
	st.schema = s
	props, _ := s.Doc["properties"].(map[string]any)
	st.properties = len(props)
	st.keyCols = st.keyCols[:0]
	for _, k := range m.KeyProperties {
		if _, ok := props[k]; !ok {
			c.rep.violation(m.Line, m.Stream, fmt.Sprintf("key_properties names %q, which is not a top-level property of the schema", k))
		} else if cols, err := s.KeyColumns([]string{k}); err == nil {
			st.keyCols = append(st.keyCols, cols...)
		}
	}
	for _, k := range m.BookmarkProperties {
		if _, ok := props[k]; !ok {
			c.rep.violation(m.Line, m.Stream, fmt.Sprintf("bookmark_properties names %q, which is not a top-level property of the schema", k))
		}
	}
}

func (c *checker) state(m *singer.Message) {
	c.states++
	c.stateBuf.Reset()
	if err := json.Compact(&c.stateBuf, m.Value); err != nil {
		// The decoder checked the syntax; keep the bytes as they came.
		c.stateBuf.Reset()
		c.stateBuf.Write(m.Value)
	}
	c.lastState = append(c.lastState[:0], c.stateBuf.Bytes()...)
	if len(c.awaiting) > 0 {
		// One copy shared by every stream this state is the first for.
		first := json.RawMessage(bytes.Clone(c.lastState))
		for _, st := range c.awaiting {
			st.firstState = first
			st.awaitsState = false
		}
		c.awaiting = c.awaiting[:0]
	}
}

func (c *checker) finish(lines int64) *Report {
	rep := c.rep
	rep.Lines = lines
	rep.Streams = make([]StreamSummary, 0, len(c.order))
	for _, st := range c.order {
		s := StreamSummary{
			Stream:         st.name,
			Records:        st.records,
			Properties:     st.properties,
			KeyProperties:  append([]string{}, st.keys...),
			SchemaMessages: st.schemas,
		}
		if !st.awaitsState {
			s.FirstState = st.firstState
			s.LastState = json.RawMessage(c.lastState)
		}
		rep.Streams = append(rep.Streams, s)
	}
	if rep.Messages == 0 {
		rep.violation(0, "", "no messages: the input holds no Singer message")
	} else if c.states == 0 {
		rep.warning(0, "", "no STATE message: a target would have no state to save, so every run would start over")
	}
	if rep.Violations == nil {
		rep.Violations = []Finding{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []Finding{}
	}
	rep.OK = rep.ViolationsTotal == 0
	return rep
}

// WriteText writes the report for people: a summary line, a line per
// stream, the warnings, then OK or FAIL with the violations. stateWidth
// truncates the states shown (0: no limit).
func (r *Report) WriteText(w io.Writer, stateWidth int) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "singer check: %s, %s, %s\n", plural(r.Lines, "line", "lines"),
		plural(r.Messages, "message", "messages"), plural(int64(len(r.Streams)), "stream", "streams"))
	for _, s := range r.Streams {
		fmt.Fprintf(&b, "stream %s: %s, %s, key [%s], %s, ", s.Stream,
			plural(s.Records, "record", "records"), plural(int64(s.Properties), "property", "properties"),
			strings.Join(s.KeyProperties, ", "), plural(int64(s.SchemaMessages), "schema", "schemas"))
		if s.FirstState == nil {
			b.WriteString("no state\n")
		} else {
			fmt.Fprintf(&b, "first state %s, last state %s\n", truncateText(s.FirstState, stateWidth), truncateText(s.LastState, stateWidth))
		}
	}
	for _, f := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", f)
	}
	if more := r.WarningsTotal - int64(len(r.Warnings)); more > 0 {
		fmt.Fprintf(&b, "warning: ... and %s\n", plural(more, "more warning", "more warnings"))
	}
	if r.OK {
		b.WriteString("OK: the stream conforms\n")
	} else {
		fmt.Fprintf(&b, "FAIL: %s\n", plural(r.ViolationsTotal, "violation", "violations"))
		for _, f := range r.Violations {
			b.WriteString(f.String())
			b.WriteByte('\n')
		}
		if more := r.ViolationsTotal - int64(len(r.Violations)); more > 0 {
			fmt.Fprintf(&b, "... and %s\n", plural(more, "more violation", "more violations"))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteJSON writes the report as one JSON document on one line.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

// truncateText cuts b to about width bytes on a rune boundary, marking the
// cut with "...".
func truncateText(b []byte, width int) string {
	if width <= 0 || len(b) <= width {
		return string(b)
	}
	n := width
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "..."
}

// checkStateWidth is how much of a state the text report shows.
const checkStateWidth = 200

type checkOptions struct {
	input         string
	tap           string
	format        string
	strict        bool
	maxViolations int
}

func NewCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	opts := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [--input FILE | --tap COMMAND]",
		Short: "Check a Singer stream for conformance (exit 0: conforms, 1: violations, 2: usage)",
		Long: `Check reads a Singer stream (stdin, --input FILE, or the stdout of --tap COMMAND)
and checks every line: it decodes as a Singer message, each RECORD follows a
SCHEMA of its stream and validates against it, each schema compiles and its
key_properties and bookmark_properties name top-level properties. It lists
every violation, not only the first, and prints a summary per stream.

Exit status: 0 when the stream conforms, 1 when it has violations (or the
tap failed, or the check was interrupted), 2 for a usage error.`,
		Example: `  tap-postgres --config tap.json --catalog catalog.json | singer check
  singer check --input out.jsonl --format json
  singer check --tap "tap-mysql --config tap.json --catalog catalog.json"`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("check takes no arguments, got %q (use --input FILE or --tap COMMAND)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheck(cmd.Context(), opts, stdin, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.input, "input", "i", "", "read the stream from this file instead of stdin (- is stdin)")
	f.StringVar(&opts.tap, "tap", "", "run this command with sh -c and check its stdout; its exit status counts")
	f.StringVar(&opts.format, "format", "text", "report format: text or json")
	f.BoolVar(&opts.strict, "strict", false, "make messages of unknown types violations instead of warnings")
	f.IntVar(&opts.maxViolations, "max-violations", 50, "list at most this many violations (all are counted)")
	return cmd
}

func runCheck(ctx context.Context, o *checkOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	cli.SetMemoryLimit(cli.BaseMemoryLimit)
	if o.format != "text" && o.format != "json" {
		return cli.Usagef("--format must be text or json, not %q", o.format)
	}
	if o.maxViolations < 0 {
		return cli.Usagef("--max-violations must be 0 or more, not %d", o.maxViolations)
	}
	if o.input != "" && o.tap != "" {
		return cli.Usagef("use --input or --tap, not both")
	}
	opts := Options{Strict: o.strict, MaxFindings: o.maxViolations}
	var (
		rep *Report
		err error
	)
	switch {
	case o.tap != "":
		rep, err = checkTap(ctx, o.tap, stderr, opts)
	case o.input != "" && o.input != "-":
		f, ferr := os.Open(o.input)
		if ferr != nil {
			return cli.Usagef("cannot read --input %s: %v", o.input, config.WithoutPath(ferr))
		}
		defer f.Close()
		rep, err = Check(ctx, f, opts)
	default:
		rep, err = Check(ctx, stdin, opts)
	}
	if err != nil {
		return err
	}
	if o.format == "json" {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout, checkStateWidth)
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if !rep.OK {
		return fmt.Errorf("check failed: %s", plural(rep.ViolationsTotal, "violation", "violations"))
	}
	return nil
}

// tapStopGrace is how long a tap has to exit after SIGTERM when the check is
// cancelled, before it is killed and its pipes closed.
const tapStopGrace = 5 * time.Second

// checkTap runs command with sh -c, checks its stdout and counts a non-zero
// exit as a violation. The tap's stderr goes to stderr as it comes.
func checkTap(ctx context.Context, command string, stderr io.Writer, opts Options) (*Report, error) {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Stderr = stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = tapStopGrace
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("running --tap: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running --tap: %w", err)
	}
	// Closing our end unblocks a read that waits on a tap which ignores
	// SIGTERM, or on a child of it that still holds the pipe.
	stop := context.AfterFunc(ctx, func() { out.Close() })
	rep, checkErr := Check(ctx, out, opts)
	stop()
	if checkErr != nil {
		// Stop the tap rather than wait for it to fill a pipe nobody reads.
		out.Close()
	}
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if checkErr != nil {
		return nil, checkErr
	}
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &exitErr):
		msg := fmt.Sprintf("tap exited with status %d", exitErr.ExitCode())
		if exitErr.ExitCode() < 0 {
			msg = "tap was stopped: " + exitErr.String()
		}
		rep.AddViolation(Finding{Message: msg})
	default:
		return nil, fmt.Errorf("running --tap: %w", waitErr)
	}
	return rep, nil
}

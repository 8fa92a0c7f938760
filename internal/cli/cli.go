package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/singerkit/singerkit/singer"

	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/internal/streammap"

	"github.com/spf13/cobra"

	"github.com/singerkit/singerkit/internal/configdoc"
)

// Exit codes shared by every binary.
const (
	ExitOK      = 0
	ExitRuntime = 1 // database, I/O, bad input mid-stream, interrupted
	ExitUsage   = 2 // flags, invalid config, unreadable catalog or state
)

// Version is the toolkit's version, set at build time with
// -ldflags "-X github.com/singerkit/singerkit/internal/cli.Version=...".
var Version = "0.1.0-dev"

// UsageError is a mistake in how the binary was called (exit 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// ErrInterrupted is returned by a run stopped by SIGINT or SIGTERM.
var ErrInterrupted = errors.New("interrupted by a signal")

// ErrAborted is returned by a run stopped by a second SIGINT or SIGTERM:
// what was under way was abandoned, not finished.
var ErrAborted = errors.New("aborted by a second signal")

type abortKey struct{}

// AbortContext returns the context of work that a first signal lets finish
// (a target's commit of what it has read) and a second signal stops: it is
// not cancelled when ctx is (the first signal), and it is cancelled, with
// ErrAborted as its cause, by the second. Outside the shared command line
// it is never cancelled.
func AbortContext(ctx context.Context) context.Context {
	if a, ok := ctx.Value(abortKey{}).(context.Context); ok {
		return a
	}
	return context.WithoutCancel(ctx)
}

// ExitCoder is an error that picks its exit code: e.g. ExitUsage for a
// problem the user fixes in the catalog, the state or the server's
// settings, reported (unlike a UsageError) without the usage hint.
type ExitCoder interface {
	error
	ExitCode() int
}

// ExitCode maps an error to the exit code of the binaries.
func ExitCode(err error) int {
	var ue *UsageError
	var ce *config.Error
	var ec ExitCoder
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue), errors.As(err, &ce):
		return ExitUsage
	case errors.As(err, &ec):
		return ec.ExitCode()
	}
	return ExitRuntime
}

// Env is what a binary's run function gets: the standard streams and the
// merged, validated config.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Log    *singer.Log
	Config *config.Config
	// Maps are the config's stream maps for a target whose spec sets
	// MapsInside (nil when the config has none).
	Maps *streammap.Mapper
}

// About describes a binary for --about.
type About struct {
	Name          string          `json:"name"`
	Description   string          `json:"description"`
	Version       string          `json:"version"`
	Capabilities  []string        `json:"capabilities"`
	Settings      json.RawMessage `json:"settings"` // the config JSON Schema
	SettingsNotes string          `json:"-"`
}

// TapSpec wires a tap into the shared command line.
type TapSpec struct {
	About About
	// Discover writes the catalog (as JSON) to env.Stdout.
	Discover func(ctx context.Context, env *Env) error
	// Sync writes SCHEMA, RECORD, STATE... to out. On ctx cancellation it
	// writes its last state and returns ctx.Err().
	Sync func(ctx context.Context, env *Env, catalog *singer.Catalog, state *singer.State, out *singer.Encoder) error
}

// TargetSpec wires a target into the shared command line.
type TargetSpec struct {
	About About
	// Run reads messages from in and writes released states to out. On ctx
	// cancellation it stops reading, commits what it has, writes the state
	// the commits cover and returns ctx.Err().
	Run func(ctx context.Context, env *Env, in io.Reader, out *singer.Encoder) error
	// MapsInside: Run applies env.Maps to the messages it decodes itself
	// (streammap.Mapper.ApplyTo). Otherwise the command line maps the
	// input before Run reads it (a Reader: each mapped line is written
	// and read again).
	MapsInside bool
}

// commonOptions are the flags of every tap and target.
type commonOptions struct {
	configs []string
	about   bool
	format  string
	version bool
}

// flagsOnly refuses positional arguments of a tap or target as a usage
// error (exit 2), where cobra's own check would be a runtime one.
func flagsOnly(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return Usagef("unexpected argument %q: %s takes flags only", args[0], cmd.Name())
	}
	return nil
}

// newBinaryCommand returns the root command of a tap or target with the
// common flags bound to o.
func newBinaryCommand(about About, kind string, o *commonOptions, run func(ctx context.Context) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:           about.Name,
		Short:         about.Description,
		Args:          flagsOnly,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE:          func(cmd *cobra.Command, _ []string) error { return run(cmd.Context()) },
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.configs, "config", "c", nil, "config file (JSON); repeat to merge several, later files win")
	f.BoolVar(&o.about, "about", false, "describe the "+kind+": name, version, capabilities, config schema")
	f.StringVar(&o.format, "format", "json", "format of --about: json or markdown")
	f.BoolVar(&o.version, "version", false, "print the version")
	return cmd
}

type tapOptions struct {
	commonOptions
	state      string
	catalog    string
	properties string
	discover   bool
}

// RunTap runs a tap's command line and returns its exit code.
func RunTap(ctx context.Context, spec TapSpec, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts := &tapOptions{}
	cmd := newBinaryCommand(spec.About, "tap", &opts.commonOptions, func(ctx context.Context) error {
		return runTap(ctx, spec, opts, stdin, stdout, stderr)
	})
	f := cmd.Flags()
	f.StringVarP(&opts.state, "state", "s", "", "state file from a previous run (a bare state, or the last line of a target's output)")
	f.StringVar(&opts.catalog, "catalog", "", "catalog file selecting streams (from --discover, edited)")
	f.StringVarP(&opts.properties, "properties", "p", "", "legacy alias of --catalog")
	f.BoolVarP(&opts.discover, "discover", "d", false, "write the catalog of available streams to stdout")
	return Execute(ctx, cmd, args, stderr, spec.About.Name)
}

func runTap(ctx context.Context, spec TapSpec, o *tapOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	if o.version {
		fmt.Fprintf(stdout, "%s %s\n", spec.About.Name, spec.About.Version)
		return nil
	}
	if o.about {
		return writeAbout(stdout, spec.About, o.format)
	}
	if len(o.configs) == 0 {
		return Usagef("--config is required (a JSON file; see --about for its keys)")
	}
	if o.catalog != "" && o.properties != "" {
		return Usagef("use --catalog or --properties, not both")
	}
	cfg, err := config.Load(o.configs, spec.About.Settings)
	if err != nil {
		return err
	}
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Log: singer.NewLog(stderr), Config: cfg}
	for _, w := range cfg.Warnings {
		env.Log.Warnf("%s", w)
	}
	if o.discover {
		return spec.Discover(ctx, env)
	}
	var catalog *singer.Catalog
	catPath := o.catalog
	if catPath == "" {
		catPath = o.properties
	}
	if catPath != "" {
		if catalog, err = singer.LoadCatalogFile(catPath); err != nil {
			return Usagef("cannot use catalog %s: %v", catPath, config.WithoutPath(err))
		}
	}
	state := singer.NewState()
	if o.state != "" {
		if state, err = singer.LoadStateFile(o.state); err != nil {
			return Usagef("cannot use state %s: %v", o.state, config.WithoutPath(err))
		}
	}
	maps, err := compileMaps(cfg, env.Log)
	if err != nil {
		return err
	}
	growPipe(stdout)
	if maps == nil {
		out := singer.NewEncoder(stdout)
		err = spec.Sync(ctx, env, catalog, state, out)
		if ferr := out.Flush(); err == nil {
			err = ferr
		}
		return err
	}
	// Stream maps: the tap's messages are mapped as they leave its
	// encoder, so every tap gets them without code of its own.
	mw := maps.NewWriter(stdout)
	out := singer.NewEncoder(mw)
	err = spec.Sync(ctx, env, catalog, state, out)
	ferr := out.Flush()
	if merr := mw.Close(); merr != nil {
		return merr // the cause: the tap only saw its writes fail
	}
	if err == nil {
		err = ferr
	}
	return err
}

// compileMaps compiles the stream map settings of a tap's or target's
// config; nil when it has none (and then nothing is re-read).
func compileMaps(cfg *config.Config, log *singer.Log) (*streammap.Mapper, error) {
	s, err := streammap.SettingsFrom(cfg.Values)
	if err != nil || !s.Active() {
		return nil, err
	}
	m, err := streammap.Compile(s)
	if err != nil {
		return nil, err
	}
	m.Warn = func(msg string) { log.Warnf("%s", msg) }
	return m, nil
}

type targetOptions struct {
	commonOptions
	input string
}

// RunTarget runs a target's command line and returns its exit code.
func RunTarget(ctx context.Context, spec TargetSpec, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts := &targetOptions{}
	cmd := newBinaryCommand(spec.About, "target", &opts.commonOptions, func(ctx context.Context) error {
		return runTarget(ctx, spec, opts, stdin, stdout, stderr)
	})
	cmd.Flags().StringVarP(&opts.input, "input", "i", "", "read messages from this file instead of stdin")
	return Execute(ctx, cmd, args, stderr, spec.About.Name)
}

func runTarget(ctx context.Context, spec TargetSpec, o *targetOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	SetMemoryLimit(BaseMemoryLimit) // a target that batches raises it
	if o.version {
		fmt.Fprintf(stdout, "%s %s\n", spec.About.Name, spec.About.Version)
		return nil
	}
	if o.about {
		return writeAbout(stdout, spec.About, o.format)
	}
	if len(o.configs) == 0 {
		return Usagef("--config is required (a JSON file; see --about for its keys)")
	}
	cfg, err := config.Load(o.configs, spec.About.Settings)
	if err != nil {
		return err
	}
	in := stdin
	if o.input != "" {
		f, err := os.Open(o.input)
		if err != nil {
			return Usagef("cannot read --input %s: %v", o.input, config.WithoutPath(err))
		}
		defer f.Close()
		in = f
	}
	growPipe(in)
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Log: singer.NewLog(stderr), Config: cfg}
	for _, w := range cfg.Warnings {
		env.Log.Warnf("%s", w)
	}
	maps, err := compileMaps(cfg, env.Log)
	if err != nil {
		return err
	}
	var mapped *streammap.Reader
	if maps != nil && spec.MapsInside {
		env.Maps = maps
	} else if maps != nil {
		// Stream maps: the target reads its input mapped, so every target
		// gets them without code of its own.
		mapped = maps.NewReader(in, func(msg string) { env.Log.Warnf("%s", msg) })
		in = mapped
	}
	out := singer.NewEncoder(stdout)
	err = spec.Run(ctx, env, in, out)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if mapped != nil {
		// The cause, not the target's read error around it; and a failed
		// mapping fails the run even when the target took it for the end
		// of its input.
		if merr := mapped.Err(); merr != nil {
			return merr
		}
	}
	return err
}

// Execute runs a root command with signal handling and turns its error into
// one line on stderr and an exit code. The first SIGINT or SIGTERM cancels
// the run's context (stop reading, finish what can be finished); the
// second cancels its AbortContext (give up at once); after that the
// signals' default action applies again, so a third ends the process.
func Execute(ctx context.Context, cmd *cobra.Command, args []string, stderr io.Writer, name string) int {
	if stop := startCPUProfile(stderr, name); stop != nil {
		defer stop()
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	abortCtx, abort := context.WithCancelCause(context.WithoutCancel(ctx))
	defer abort(nil)
	ctx, interrupt := context.WithCancelCause(ctx)
	defer interrupt(nil)
	ctx = context.WithValue(ctx, abortKey{}, abortCtx)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		interrupt(ErrInterrupted)
		select {
		case <-sigs:
		case <-done:
			return
		}
		abort(ErrAborted)
		signal.Stop(sigs)
	}()
	cmd.SetArgs(args)
	cmd.SetOut(stderr)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return Usagef("%v", err)
	})
	ran, err := cmd.ExecuteContextC(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = ErrInterrupted
	}
	if ran == nil {
		ran = cmd
	}
	return Report(stderr, name, ran, err)
}

// Report prints err as one line (with usage for usage errors) and returns
// the exit code.
func Report(stderr io.Writer, name string, cmd *cobra.Command, err error) int {
	if err == nil {
		return ExitOK
	}
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	fmt.Fprintf(stderr, "%s: error: %s\n", name, msg)
	var ue *UsageError
	if errors.As(err, &ue) && cmd != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return ExitCode(err)
}

func writeAbout(w io.Writer, a About, format string) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(a, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "markdown", "md":
		return writeAboutMarkdown(w, a)
	}
	return Usagef("--format must be json or markdown, not %q", format)
}

func writeAboutMarkdown(w io.Writer, a About) error {
	section, err := configdoc.Section(a.Name, a.Settings, a.SettingsNotes)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "# %s\n\n%s\n\nVersion: %s\n\n## Capabilities\n\n", a.Name, a.Description, a.Version)
	for _, c := range a.Capabilities {
		fmt.Fprintf(w, "- `%s`\n", c)
	}
	_, err = fmt.Fprintf(w, "\n## Settings\n\n%s", section)
	return err
}

// startCPUProfile writes a CPU profile of the whole run to the file that
// SINGERKIT_CPUPROFILE names (for `go tool pprof`; a development aid, see
// CONTRIBUTING.md), and returns what stops it. A file that cannot be
// created is said once and the run goes on unprofiled.
func startCPUProfile(stderr io.Writer, name string) func() {
	path := os.Getenv("SINGERKIT_CPUPROFILE")
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: warning: SINGERKIT_CPUPROFILE: %v; running without a profile\n", name, err)
		return nil
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

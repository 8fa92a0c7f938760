package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/project"
	"github.com/singerkit/singerkit/internal/statestore"
)

// usageError is a mistake in the command line or the project file: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// exitError carries an exit code already explained on stderr.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs `singer run|select|state|runs ...` and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := &cobra.Command{Use: "singer", SilenceErrors: true, SilenceUsage: true}
	var projectPath string
	root.PersistentFlags().StringVar(&projectPath, "project", "singer.yaml", "the project file")
	load := func() (*project.Project, error) {
		p, err := project.Load(projectPath, os.LookupEnv)
		if err != nil {
			return nil, &usageError{err.Error()}
		}
		return p, nil
	}
	openStore := func(ctx context.Context, p *project.Project) (statestore.Store, error) {
		st, err := statestore.Open(ctx, p.State, p.Dir)
		if err != nil {
			return nil, err
		}
		return st, nil
	}

	// run
	var all, refresh bool
	var logFormat string
	run := &cobra.Command{
		Use:   "run PIPELINE... | --all",
		Short: "Run pipelines of singer.yaml: the tap piped into the target, every STATE saved as it arrives",
		Example: `  export SHOP_DB_PASSWORD=...
  singer run shop-to-warehouse
  singer run --all --log-format json --project /etc/singer/singer.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if logFormat != "text" && logFormat != "json" {
				return usagef("--log-format must be text or json, not %q", logFormat)
			}
			if all == (len(args) > 0) {
				return usagef("name the pipelines to run, or pass --all")
			}
			p, err := load()
			if err != nil {
				return err
			}
			names := args
			if all {
				names = p.PipelineNames()
			}
			for _, n := range names {
				if _, ok := p.Pipelines[n]; !ok {
					return usagef("no pipeline named %q in %s (pipelines: %s)", n, projectPath, strings.Join(p.PipelineNames(), ", "))
				}
			}
			ctx, abort, stop := signals(cmd.Context())
			defer stop()
			st, err := openStore(ctx, p)
			if err != nil {
				return err
			}
			defer st.Close()
			r := &Runner{Project: p, Store: st, Log: NewLogger(stderr, logFormat == "json"), RefreshCatalog: refresh, Abort: abort,
				Progress: logFormat == "text" && cli.IsTerminal(stderr)}
			if s := os.Getenv("SINGER_RUN_BACKOFF"); s != "" {
				if d, err := time.ParseDuration(s); err == nil {
					r.Backoff = d
				}
			}
			code := 0
			for _, n := range names {
				res := r.Run(ctx, n)
				code = max(code, res.Code)
				if ctx.Err() != nil {
					break
				}
			}
			if code != 0 {
				return &exitError{code}
			}
			return nil
		},
	}
	run.Flags().BoolVar(&all, "all", false, "run every pipeline of the project, one after another")
	run.Flags().BoolVar(&refresh, "refresh-catalog", false, "discover again even when a cached catalog matches the tap's config")
	run.Flags().StringVar(&logFormat, "log-format", "text", "text (stderr lines prefixed with the connector name) or json (one JSON object a line)")

	// select
	var listAll bool
	sel := &cobra.Command{
		Use:   "select PIPELINE|CONNECTOR",
		Short: "Show what a tap will sync: streams, columns, replication method and key",
		Example: `  singer select shop-db
  singer select shop-to-warehouse --all   # also the streams and columns left out`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := load()
			if err != nil {
				return err
			}
			c, ok := p.Connectors[args[0]]
			if pl, isPl := p.Pipelines[args[0]]; isPl {
				c, ok = p.Connectors[pl.Tap], true
			}
			if !ok {
				return usagef("no pipeline or connector named %q in %s", args[0], projectPath)
			}
			r := &Runner{Project: p, Log: NewLogger(stderr, false), RefreshCatalog: refresh}
			choices, err := r.Selection(cmd.Context(), c)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STREAM\tSELECTED\tREPLICATION\tKEY\tCOLUMNS")
			for _, ch := range choices {
				if !ch.Selected && !listAll {
					continue
				}
				cols := strings.Join(ch.Properties, ",")
				if listAll && len(ch.Excluded) > 0 {
					cols += " (left out: " + strings.Join(ch.Excluded, ",") + ")"
				}
				fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\n", ch.Stream, ch.Selected, dash(ch.ReplicationMethod), dash(ch.ReplicationKey), cols)
			}
			return tw.Flush()
		},
	}
	sel.Flags().BoolVar(&listAll, "all", false, "list every stream and column, selected or not")
	sel.Flags().BoolVar(&refresh, "refresh-catalog", false, "discover again")

	// state
	state := &cobra.Command{Use: "state list|get|set|clear", Short: "Read or change the saved state of pipelines"}
	withStore := func(cmd *cobra.Command, f func(context.Context, *project.Project, statestore.Store) error) error {
		p, err := load()
		if err != nil {
			return err
		}
		st, err := openStore(cmd.Context(), p)
		if err != nil {
			return err
		}
		defer st.Close()
		return f(cmd.Context(), p, st)
	}
	known := func(p *project.Project, name string) error {
		if _, ok := p.Pipelines[name]; !ok {
			return usagef("no pipeline named %q in %s", name, projectPath)
		}
		return nil
	}
	state.AddCommand(&cobra.Command{
		Use: "list", Short: "List the pipelines with a saved state", Args: cobra.NoArgs,
		Example: "  singer state list",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, _ *project.Project, st statestore.Store) error {
				names, err := st.Pipelines(ctx)
				for _, n := range names {
					fmt.Fprintln(stdout, n)
				}
				return err
			})
		},
	}, &cobra.Command{
		Use: "get PIPELINE", Short: "Print the saved state of a pipeline", Args: cobra.ExactArgs(1),
		Example: "  singer state get shop-to-warehouse > state.json",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, p *project.Project, st statestore.Store) error {
				if err := known(p, args[0]); err != nil {
					return err
				}
				b, err := st.State(ctx, args[0])
				if err != nil {
					return err
				}
				if b == nil {
					return fmt.Errorf("%s has no saved state", args[0])
				}
				_, err = fmt.Fprintf(stdout, "%s\n", b)
				return err
			})
		},
	}, &cobra.Command{
		Use: "set PIPELINE FILE|-", Short: "Replace the saved state of a pipeline (the JSON a target prints)", Args: cobra.ExactArgs(2),
		Example: `  singer state set shop-to-warehouse state.json
  echo '{"bookmarks":{}}' | singer state set shop-to-warehouse -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, p *project.Project, st statestore.Store) error {
				if err := known(p, args[0]); err != nil {
					return err
				}
				var b []byte
				var err error
				if args[1] == "-" {
					b, err = io.ReadAll(stdin)
				} else {
					b, err = os.ReadFile(args[1])
				}
				if err != nil {
					return usagef("reading the state: %v", err)
				}
				var v any
				if err := json.Unmarshal(b, &v); err != nil {
					return usagef("the state in %s is not valid JSON: %v", args[1], err)
				}
				compact, _ := json.Marshal(v)
				unlock, err := st.Lock(ctx, args[0])
				if errors.Is(err, statestore.ErrLocked) {
					return &lockedError{args[0]}
				}
				if err != nil {
					return err
				}
				defer unlock()
				return st.SetState(ctx, args[0], compact)
			})
		},
	}, &cobra.Command{
		Use: "clear PIPELINE", Short: "Forget the saved state: the next run starts from scratch", Args: cobra.ExactArgs(1),
		Example: "  singer state clear shop-to-warehouse",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, p *project.Project, st statestore.Store) error {
				if err := known(p, args[0]); err != nil {
					return err
				}
				unlock, err := st.Lock(ctx, args[0])
				if errors.Is(err, statestore.ErrLocked) {
					return &lockedError{args[0]}
				}
				if err != nil {
					return err
				}
				defer unlock()
				return st.ClearState(ctx, args[0])
			})
		},
	})

	// runs
	runs := &cobra.Command{
		Use: "runs PIPELINE", Short: "Show the run history of a pipeline", Args: cobra.ExactArgs(1),
		Example: "  singer runs shop-to-warehouse",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, p *project.Project, st statestore.Store) error {
				if err := known(p, args[0]); err != nil {
					return err
				}
				rs, err := st.Runs(ctx, args[0])
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "START\tDURATION\tATTEMPT\tSTATUS\tTAP\tTARGET\tSTATES\tRECORDS\tERROR")
				for _, r := range rs {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\t%s\t%s\n", r.Start.Format(time.RFC3339), r.End.Sub(r.Start).Round(time.Millisecond), r.Attempt, r.Status, r.TapExit, r.TargetExit, r.StatesSaved, records(r.Records), r.Error)
				}
				return tw.Flush()
			})
		},
	}
	// schedule
	var asCrontab, asK8s bool
	var image, secret, configMap string
	schedule := &cobra.Command{
		Use:   "schedule --crontab | --kubernetes",
		Short: "Print crontab lines, or Kubernetes CronJobs, for the pipelines with a schedule",
		Example: `  singer schedule --crontab | crontab -
  singer schedule --kubernetes --image registry.example/singerkit:1.0 --secret singer-env | kubectl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asCrontab == asK8s {
				return usagef("pass one of --crontab or --kubernetes")
			}
			p, err := load()
			if err != nil {
				return err
			}
			if asCrontab {
				return crontab(stdout, p, projectPath)
			}
			return kubernetes(stdout, p, image, secret, configMap)
		},
	}
	schedule.Flags().BoolVar(&asCrontab, "crontab", false, "print crontab lines")
	schedule.Flags().BoolVar(&asK8s, "kubernetes", false, "print one CronJob manifest per pipeline (concurrencyPolicy Forbid)")
	schedule.Flags().StringVar(&image, "image", "singerkit:latest", "container image holding singer and the connectors")
	schedule.Flags().StringVar(&secret, "secret", "singer-env", "Secret whose keys become the environment (SINGER_STATE_URL, passwords)")
	schedule.Flags().StringVar(&configMap, "configmap", "singer-project", "ConfigMap holding singer.yaml")
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter singer.yaml for the connectors found on PATH",
		Example: `  singer init
  singer init --project etl/singer.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return writeStarter(projectPath, stdout) },
	}
	root.AddCommand(run, sel, state, runs, schedule, initCmd)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var ee *exitError
	var ue *usageError
	var le *lockedError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &le):
		fmt.Fprintf(stderr, "singer: %v\n", err)
		return ExitLocked
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "singer: %v\n", err)
		return ExitUsage
	case strings.HasPrefix(err.Error(), "unknown flag") || strings.HasPrefix(err.Error(), "accepts ") || strings.HasPrefix(err.Error(), "unknown command") || strings.Contains(err.Error(), "flag needs an argument"):
		fmt.Fprintf(stderr, "singer: %v (see singer %s --help)\n", err, args[0])
		return ExitUsage
	}
	fmt.Fprintf(stderr, "singer: %v\n", err)
	return ExitFailed
}

type lockedError struct{ pipeline string }

func (e *lockedError) Error() string {
	return fmt.Sprintf("another run of %s is in progress (it holds the lock); nothing was changed", e.pipeline)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func records(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, ",")
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// signals: the first SIGINT/SIGTERM cancels ctx (the tap is stopped, the
// target drains); a second one closes abort (both children are killed).
func signals(parent context.Context) (context.Context, <-chan struct{}, func()) {
	ctx, cancel := context.WithCancel(parent)
	abort := make(chan struct{})
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-ch:
				n++
				if n == 1 {
					cancel()
				} else {
					close(abort)
					return
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, abort, func() { signal.Stop(ch); close(done); cancel() }
}

// Selection discovers (or reads the cached catalog of) a tap and returns
// what its select patterns and metadata overrides choose.
func (r *Runner) Selection(ctx context.Context, c *project.Connector) ([]StreamChoice, error) {
	path, err := r.executable(c)
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	tmp, err := os.MkdirTemp("", "singer-select-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	cfg, err := writeJSON(tmp, "tap-config.json", c.Config)
	if err != nil {
		return nil, err
	}
	cat, err := r.catalog(ctx, c, path, cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	_, choices, err := applySelection(cat, selectPatterns(c), c.Metadata)
	return choices, err
}

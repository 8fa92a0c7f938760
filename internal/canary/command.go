package canary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/singerkit/singerkit/internal/project"
	"github.com/singerkit/singerkit/internal/statestore"
)

// Exit codes of singer canary.
const (
	ExitOK     = 0
	ExitFailed = 1 // a tracer is overdue, or a source or destination failed
	ExitUsage  = 2 // bad flags, an invalid project file or canary section
)

// exitError carries an exit code already explained.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs `singer canary init|send|check|serve|report` (args[0] is
// "canary") and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := &cobra.Command{Use: "singer", SilenceErrors: true, SilenceUsage: true}
	var projectPath string
	root.PersistentFlags().StringVar(&projectPath, "project", "singer.yaml", "the project file")
	cmd := &cobra.Command{
		Use:   "canary init|send|check|serve|report",
		Short: "Tracer bullets: prove that data still flows through each pipeline, and how late",
	}
	root.AddCommand(cmd)

	// with loads the project and opens its state store.
	with := func(ctx context.Context, f func(c *Canary) error) error {
		p, err := project.Load(projectPath, os.LookupEnv)
		if err != nil {
			return &usageError{err.Error()}
		}
		st, err := statestore.Open(ctx, p.State, p.Dir)
		if err != nil {
			return err
		}
		defer st.Close()
		ts, ok := st.(statestore.TracerStore)
		if !ok {
			return fmt.Errorf("the state store %T keeps no tracers", st)
		}
		return f(&Canary{Project: p, Store: ts})
	}

	initCmd := &cobra.Command{
		Use:   "init [PIPELINE...]",
		Short: "Create the canary table at each pipeline's source (one row per pipeline; nothing else is written)",
		Example: `  singer canary init
  singer canary init shop-to-warehouse`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return with(cmd.Context(), func(c *Canary) error {
				return c.Init(cmd.Context(), args, func(pipeline, what string) {
					fmt.Fprintf(stdout, "%s: %s\n", pipeline, what)
				})
			})
		},
	}

	var sendFormat string
	send := &cobra.Command{
		Use:   "send [PIPELINE...]",
		Short: "Inject one tracer per pipeline (every pipeline with a canary section by default) and record it",
		Example: `  singer canary send
  */5 * * * * cd /srv/etl && singer canary send`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(sendFormat); err != nil {
				return err
			}
			return with(cmd.Context(), func(c *Canary) error {
				sent, err := c.Send(cmd.Context(), args)
				if sendFormat == "json" {
					if sent == nil {
						sent = []Sent{}
					}
					writeJSON(stdout, sent)
				} else {
					for _, s := range sent {
						fmt.Fprintf(stdout, "%s: tracer %s sent %s into %s, expected in %s\n", s.Pipeline, s.ID, s.SentAt.Format(time.RFC3339Nano), s.Source, strings.Join(s.Destinations, ", "))
					}
				}
				return err
			})
		},
	}
	send.Flags().StringVar(&sendFormat, "format", "text", "text or json")

	var checkFormatFlag string
	check := &cobra.Command{
		Use:   "check [PIPELINE...]",
		Short: "Look for the outstanding tracers in every destination; exit 1 naming each overdue tracer",
		Example: `  singer canary check
  singer canary check --format json shop-to-warehouse`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(checkFormatFlag); err != nil {
				return err
			}
			return with(cmd.Context(), func(c *Canary) error {
				res, err := c.Check(cmd.Context(), args)
				if err != nil {
					return err
				}
				if checkFormatFlag == "json" {
					writeJSON(stdout, res)
				} else {
					writeTable(stdout, res)
				}
				for _, l := range res.Overdue {
					fmt.Fprintf(stderr, "singer canary: %s\n", l.Line())
				}
				for _, s := range res.Statuses {
					if s.Error != "" {
						fmt.Fprintf(stderr, "singer canary: pipeline %s, destination %s: cannot look for tracers: %s\n", s.Pipeline, s.Destination, s.Error)
					}
				}
				if res.Failed() {
					return &exitError{ExitFailed}
				}
				return nil
			})
		},
	}
	check.Flags().StringVar(&checkFormatFlag, "format", "text", "text (a table) or json")

	var listen string
	var interval, sendEvery time.Duration
	serve := &cobra.Command{
		Use:   "serve [PIPELINE...]",
		Short: "Check every --interval and export Prometheus metrics on /metrics (latency, time since the last arrival, overdue tracers)",
		Example: `  singer canary serve --listen :9102
  singer canary serve --listen 127.0.0.1:9102 --interval 30s --send-every 5m`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return &usageError{"--interval must be a positive duration (30s, 1m)"}
			}
			if sendEvery < 0 {
				return &usageError{"--send-every must be 0 (never) or a positive duration"}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return with(ctx, func(c *Canary) error {
				// A canary section that does not resolve is refused
				// before serving; a destination down is a metric.
				if err := c.Validate(args); err != nil {
					return err
				}
				ln, err := net.Listen("tcp", listen)
				if err != nil {
					return &usageError{fmt.Sprintf("--listen %s: %v", listen, err)}
				}
				fmt.Fprintf(stderr, "singer canary: serving metrics on http://%s/metrics (a check every %s)\n", ln.Addr(), interval)
				srv := &Server{Canary: c, Pipelines: args, Interval: interval, SendEvery: sendEvery, Log: stderr}
				return srv.Serve(ctx, ln)
			})
		},
	}
	serve.Flags().StringVar(&listen, "listen", ":9102", "address to serve /metrics on")
	serve.Flags().DurationVar(&interval, "interval", time.Minute, "time between checks")
	serve.Flags().DurationVar(&sendEvery, "send-every", 0, "also send a tracer per pipeline this often (0: never; send from cron)")

	var last int
	var reportFormat string
	report := &cobra.Command{
		Use:   "report [PIPELINE...]",
		Short: "Latency percentiles (p50, p90, p99, max) of the last N tracers per pipeline and destination, from the state store",
		Example: `  singer canary report
  singer canary report --last 20 --format json shop-to-warehouse`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(reportFormat); err != nil {
				return err
			}
			if last < 0 {
				return &usageError{"--last must be 0 (every kept tracer) or more"}
			}
			return with(cmd.Context(), func(c *Canary) error {
				ps, err := c.Report(cmd.Context(), args, last)
				if err != nil {
					return err
				}
				if reportFormat == "json" {
					writeJSON(stdout, ps)
				} else {
					writeReport(stdout, ps)
				}
				return nil
			})
		},
	}
	report.Flags().IntVar(&last, "last", 0, "the last N tracers of each pipeline and destination (0: every kept one, see canary.keep)")
	report.Flags().StringVar(&reportFormat, "format", "text", "text (a table) or json")

	cmd.AddCommand(initCmd, send, check, serve, report)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var ee *exitError
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "singer canary: %s\n", line)
		}
		return ExitUsage
	case strings.HasPrefix(err.Error(), "unknown flag") || strings.HasPrefix(err.Error(), "accepts ") || strings.HasPrefix(err.Error(), "unknown command") || strings.Contains(err.Error(), "flag needs an argument") || strings.Contains(err.Error(), "invalid argument"):
		fmt.Fprintf(stderr, "singer canary: %v (see singer canary --help)\n", err)
		return ExitUsage
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "singer canary: %s\n", line)
	}
	return ExitFailed
}

func checkFormat(f string) error {
	if f != "text" && f != "json" {
		return &usageError{fmt.Sprintf("--format must be text or json, not %q", f)}
	}
	return nil
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// writeTable prints a check's result, one line per pipeline and
// destination.
func writeTable(w io.Writer, res *Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PIPELINE\tDESTINATION\tSTATUS\tTRACER\tSENT\tLATENCY\tLAST ARRIVAL\tOVERDUE\tNOTE")
	for _, s := range res.Statuses {
		sent, latency, last := "-", "-", "-"
		if s.SentAt != nil {
			sent = s.SentAt.Format(time.RFC3339)
		}
		if s.LatencySeconds != nil {
			latency = seconds(*s.LatencySeconds)
		}
		if s.LastArrival != nil {
			last = s.LastArrival.Format(time.RFC3339)
		}
		note := s.Note
		if s.Error != "" {
			note = s.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.Pipeline, s.Destination, s.Status, dash(s.Tracer), sent, latency, last, s.Overdue, dash(note))
	}
	tw.Flush()
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

package toolkit

import (
	"context"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/internal/streammap"
	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
)

type mapOptions struct {
	configs []string
	input   string
}

// newMapCommand is `singer map`: stream maps as a filter between any tap
// and any target.
func newMapCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	o := &mapOptions{}
	cmd := &cobra.Command{
		Use:   "map --config maps.json",
		Short: "Filter, rename, reshape and strip PII from a Singer stream (Meltano stream maps) between a tap and a target",
		Long: `Map reads a Singer stream (stdin, or --input FILE), applies the stream maps of
its config (stream_maps, stream_map_config, flattening_enabled,
flattening_max_depth: the keys of Meltano's stream maps) and writes the
result to stdout. SCHEMA and RECORD messages are rewritten; STATE and
ACTIVATE_VERSION messages pass in order, each STATE flushed as it passes.
Memory stays flat whatever the input's length.

Every expression is compiled when the config is read: a mistake exits 2 with
one line naming the stream, the property and the column. Syntax, functions
and the differences from Meltano's: docs/stream-maps.md.

A first SIGINT or SIGTERM lets the stream run to its end (the tap upstream
writes its last STATE, which must pass); a second one stops at once.`,
		Example: `  tap-postgres --config tap.json --catalog catalog.json | singer map -c maps.json | target-postgres -c target.json
  singer map --config maps.json --input out.jsonl > mapped.jsonl`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("map takes no arguments, got %q (use --config FILE, and --input FILE or stdin)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMap(cmd.Context(), o, stdin, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.configs, "config", "c", nil, "config file (JSON) with stream_maps; repeat to merge several, later files win")
	f.StringVarP(&o.input, "input", "i", "", "read the stream from this file instead of stdin")
	return cmd
}

func runMap(ctx context.Context, o *mapOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	cli.SetMemoryLimit(cli.BaseMemoryLimit)
	if len(o.configs) == 0 {
		return cli.Usagef("--config is required (a JSON file with stream_maps; see docs/stream-maps.md)")
	}
	cfg, err := config.Load(o.configs, schemas.Get("singer-map.config.json"))
	if err != nil {
		return err
	}
	s, err := streammap.SettingsFrom(cfg.Values)
	if err != nil {
		return err
	}
	if !s.Active() {
		return cli.Usagef("the config has no stream_maps and no flattening_enabled: nothing to map")
	}
	m, err := streammap.Compile(s)
	if err != nil {
		return err
	}
	log := singer.NewLog(stderr)
	warn := func(msg string) { log.Warnf("%s", msg) }
	m.Warn = warn
	in := stdin
	if o.input != "" && o.input != "-" {
		f, err := os.Open(o.input)
		if err != nil {
			return cli.Usagef("cannot read --input %s: %v", o.input, config.WithoutPath(err))
		}
		defer f.Close()
		in = f
	}
	// The first signal does not stop a filter: the tap upstream got it
	// too and writes its last STATE, which must reach the target.
	return m.Run(cli.AbortContext(ctx), in, stdout, warn)
}

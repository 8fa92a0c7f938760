package csvtap

import (
	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/schemas"
)

// Spec wires tap-csv into the shared command line (cli.RunTap).
func Spec() cli.TapSpec {
	return cli.TapSpec{
		About: cli.About{
			Name:         "tap-csv",
			Description:  "Reads CSV files and writes them as Singer streams, one stream per file, with types inferred from the data and resumable state.",
			Version:      cli.Version,
			Capabilities: []string{"discover", "catalog", "properties", "state"},
			Settings:     schemas.Get("tap-csv.config.json"),
		},
		Discover: Discover,
		Sync:     Sync,
	}
}

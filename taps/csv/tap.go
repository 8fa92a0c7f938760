package csvtap

import (
	"github.com/singerkit/singerkit/schemas"
	"github.com/singerkit/singerkit/singer"
)

// Spec wires tap-csv into the shared command line (singer.RunTap).
func Spec() singer.TapSpec {
	return singer.TapSpec{
		About: singer.About{
			Name:         "tap-csv",
			Description:  "Reads CSV files and writes them as Singer streams, one stream per file, with types inferred from the data and resumable state.",
			Version:      singer.Version,
			Capabilities: []string{"discover", "catalog", "properties", "state"},
			Settings:     schemas.Get("tap-csv.config.json"),
		},
		Discover: Discover,
		Sync:     Sync,
	}
}

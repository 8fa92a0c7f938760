package canary

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/internal/project"
	"github.com/singerkit/singerkit/schemas"
)

// kind is the database or log a connector talks to, read from its
// command's name (tap-postgres, pipelinewise-target-postgres,
// /opt/bin/tap-mysql...).
type kind string

const (
	kindPostgres kind = "postgres"
	kindMySQL    kind = "mysql"
	kindJSONL    kind = "jsonl"
	kindNATS     kind = "nats"
	kindKafka    kind = "kafka"
	kindBigQuery kind = "bigquery"
	kindDuckDB   kind = "duckdb"
)

func kindOf(c *project.Connector) kind {
	base := strings.ToLower(filepath.Base(c.Command))
	for _, k := range []struct {
		word string
		k    kind
	}{{"postgres", kindPostgres}, {"mysql", kindMySQL}, {"mariadb", kindMySQL}, {"jsonl", kindJSONL}, {"nats", kindNATS}, {"kafka", kindKafka}, {"bigquery", kindBigQuery}, {"duckdb", kindDuckDB}} {
		if strings.Contains(base, k.word) {
			return k.k
		}
	}
	return ""
}

// connectorConfig reads a connector's config from the project file with
// the policy and schema of our binary of that kind (so the keys of the
// PipelineWise and Meltano variants are read as the binary reads them).
func connectorConfig(c *project.Connector, binary string) (*config.Config, error) {
	cfg, err := config.FromValues(c.Config, schemas.Get(binary+".config.json"))
	if err != nil {
		return nil, fmt.Errorf("connector %s: %v (as %s reads it)", c.Name, err, binary)
	}
	return cfg, nil
}

// splitName splits schema.table (database.table); def is the schema of an
// unqualified name.
func splitName(name, def string) (schema, table string) {
	if s, t, ok := strings.Cut(name, "."); ok {
		return s, t
	}
	return def, name
}

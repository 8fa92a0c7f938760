// Package project reads singer.yaml, the project file of `singer run`: the
// connectors (Singer executables with their config, selection and metadata
// overrides), the pipelines joining a tap to a target, and the state store.
//
// Load interpolates ${VAR} and ${VAR:-default} from the environment inside
// string values, validates the result against the embedded JSON Schema
// (schemas/singer-project.schema.json) and returns every problem at once,
// each naming its file and line:
//
//	p, err := project.Load("singer.yaml", os.LookupEnv)
//	if err != nil {
//		fmt.Fprintln(os.Stderr, err) // singer.yaml:7: ${SHOP_DB_PASSWORD} is not set ...
//	}
package project

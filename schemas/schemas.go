// Package schemas holds the JSON Schemas the binaries embed: one config
// schema per binary (named <binary>.config.json) and the schemas of Singer
// state files.
package schemas

import (
	"embed"
	"fmt"
)

//go:embed *.json
var files embed.FS

// Get returns an embedded schema by file name. A missing schema is a bug of
// the build, so it panics at start-up rather than at use.
func Get(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("schemas: %s is not embedded", name))
	}
	return b
}

// Package config loads a binary's config: one or more JSON files merged
// (later files win), checked against the binary's JSON Schema with every
// problem at once, the keys of the PipelineWise and Meltano variants
// honoured or dropped with one warning (the schema's x-compat section),
// any other unknown key refused with the closest known one, and secrets
// kept out of every message (Redact).
//
//	cfg, err := config.Load(paths, schemas.Get("target-postgres.config.json"))
//	if err != nil { /* a *config.Error: exit 2 */ }
//	err = cfg.Decode(&myConfig)
package config

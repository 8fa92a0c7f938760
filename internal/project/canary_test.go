package project

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

const canaryBase = `connectors:
  src: {command: tap-postgres, config: {url: "postgres://x"}}
  dst: {command: target-postgres, config: {url: "postgres://y"}}
pipelines:
  p:
    tap: src
    target: dst
`

func TestCanarySection(t *testing.T) {
	src := canaryBase + `    canary:
      table: ops.singer_canary
      overdue: 15m
      keep: 20
      destinations:
        - {connector: dst, table: analytics.singer_canary}
        - connector: dst
  q:
    tap: src
    target: dst
    canary: {}
  r:
    tap: src
    target: dst
`
	p, err := Parse("singer.yaml", []byte(src), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := &Canary{Table: "ops.singer_canary", Overdue: 15 * time.Minute, Keep: 20, Where: "singer.yaml:9",
		Destinations: []CanaryDestination{
			{Connector: "dst", Table: "analytics.singer_canary", Where: "singer.yaml:13"},
			{Connector: "dst", Where: "singer.yaml:14"},
		}}
	if got := p.Pipelines["p"].Canary; !reflect.DeepEqual(got, want) {
		t.Errorf("canary of p\n%+v\nwant\n%+v", got, want)
	}
	if got := p.Pipelines["q"].Canary; got == nil || got.Overdue != DefaultCanaryOverdue || got.Keep != DefaultCanaryKeep || got.Table != "" {
		t.Errorf("canary: {} gives %+v, want the defaults", got)
	}
	if p.Pipelines["r"].Canary != nil {
		t.Error("a pipeline without a canary section got one")
	}
}

func TestCanarySectionProblems(t *testing.T) {
	src := canaryBase + `    canary:
      table: a.b
      topic: shop
      overdue: soon
      keep: 0
      colour: red
      destinations:
        - {connector: nope, table: x.y, file: out.jsonl}
        - {table: x.y}
`
	_, err := Parse("singer.yaml", []byte(src), noEnv)
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("err %v", err)
	}
	want := []string{
		"singer.yaml:9: pipelines.p.canary: additionalProperties 'colour' not allowed",
		"singer.yaml:11: pipelines.p.canary.overdue: does not match pattern '^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$'",
		"singer.yaml:12: pipelines.p.canary.keep: must be >= 1 but found 0",
		"singer.yaml:16: pipelines.p.canary.destinations.1: missing properties: 'connector'",
	}
	if got := strings.Join(pe.Problems, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("problems\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}

	// Past the schema: the cross checks, each with its line.
	src = canaryBase + `    canary:
      table: a.b
      topic: shop
      destinations:
        - {connector: nope, table: x.y, file: out.jsonl}
`
	_, err = Parse("singer.yaml", []byte(src), noEnv)
	if !errors.As(err, &pe) {
		t.Fatalf("err %v", err)
	}
	want = []string{
		"singer.yaml:9: pipelines.p.canary: give one of table, topic or gate (a tracer is injected in one place)",
		"singer.yaml:12: pipelines.p.canary.destinations.0.connector: no connector named \"nope\"",
		"singer.yaml:12: pipelines.p.canary.destinations.0: give table or file, not both",
	}
	if got := strings.Join(pe.Problems, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("problems\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

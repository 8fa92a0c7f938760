// Package canary is `singer canary`: tracer bullets that prove, again and
// again, that data still flows through each pipeline of a project file,
// and how late it arrives.
//
// A tracer is one row, upserted into a small table at the pipeline's
// source (one row per pipeline: the source never grows), or one message
// published to the topic a log tap reads. It travels the normal path: the
// tap reads the canary table like any other, the target loads it like any
// other; no connector knows about it. `send` records each tracer (id,
// pipeline, sent at, the destinations it must reach) in the project's
// state store (statestore.TracerStore); `check` looks for the pipeline's
// row in every destination through the target's own connection settings,
// records when the tracer was found, and reports what is overdue; `serve`
// exports the same as Prometheus metrics; `report` gives percentiles of the
// kept latencies.
//
//	singer canary init                 # create the canary tables at the sources
//	singer canary send                 # one tracer per pipeline with a canary section
//	singer run --all
//	singer canary check                # exit 1 and one line per overdue tracer
package canary

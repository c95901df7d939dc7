// Package engine owns a run, replay and live capture alike: sources in,
// the capture pipeline, the dissectors and the classifier, findings
// windows, and the sinks out. Every flow that leaves a pipeline is judged
// against the vendor catalogs and the site inventory, written as a
// flows.parquet row, and turned into findings; finished SIP calls go to
// calls.parquet, DNS transactions to dns.parquet, decapsulated tunnels to
// tunnels.parquet; findings are written per window to findings.parquet and
// published to the alert feed.
//
// [Replay] runs a whole replay: it opens the inputs and the output
// directory's tables, runs the pipeline, writes the run's manifest last,
// and returns a [ReplayResult] even when it fails part-way, with a
// [PartialError] when the outputs were written from damaged input or
// alerts went undelivered. [Capture] runs a live capture: it opens the
// eBPF or AF_PACKET engine, runs one pipeline per socket, merges the
// in-kernel counters, closes a [Window] of files per rotation period in
// Hive partitions while every worker is paused, reloads the catalog and
// inventory between two windows, and flushes the last window when its
// context ends; [CaptureHooks] let the caller read the running counters
// ([CaptureRun.Counters] sums those of the pipelines).
// [OpenFlowInputs] gives the flows of a mix of earlier outputs and
// captures, replaying the captures port-only, for the analyses that read
// flows (inventory suggest and diff).
//
// The building blocks are exported for tests and tools: an [Auditor]
// holds the configuration and the state shared by the pipeline's workers,
// and [Auditor.Configure] gives each worker its own dissectors and
// classifier clone; a [FlowSink] writes the rows on a goroutine of its
// own; a replay ends with [Auditor.Finish].
//
// The package decides nothing about flags, exit codes or output format:
// the command builds a [ReplayConfig] or [CaptureConfig] from its flags,
// says through callbacks what it prints while the run goes on, and formats
// what the run returns.
package engine

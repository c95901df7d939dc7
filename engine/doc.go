// Package engine owns a run, replay and live capture alike: every
// flow that leaves a capture pipeline is judged against the vendor catalogs
// and the site inventory, written as a flows.parquet row, and turned into
// findings; finished SIP calls go to calls.parquet; findings are written
// per window to findings.parquet and published to the alert feed.
//
// An [Auditor] holds the configuration and the state shared by the
// pipeline's workers; [Auditor.Configure] gives each worker its own
// dissectors and classifier clone. A [FlowSink] writes the rows on a
// goroutine of its own. A replay writes one set of files and ends with
// [Auditor.Finish]; a live capture writes a [Window] of files per rotation
// period in Hive partitions.
//
// The package decides nothing about flags, exit codes or output format:
// the command wires it to a capture engine and formats what it returns.
package engine

package engine

import (
	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
)

// PipelineCounters are the packet and flow counters of a run's pipelines,
// summed over the pipelines, their flow tables and their decoders.
type PipelineCounters struct {
	// Frames and Bytes were offered to the decoders; Packets were
	// accounted to flows.
	Frames, Bytes, Packets uint64
	// ActiveFlows are in the flow tables now.
	ActiveFlows int64
	// FlowsEvicted ended early because a table was full.
	FlowsEvicted uint64
	// Skipped counts the frames not turned into flow packets, by reason.
	Skipped [decode.NumReasons]uint64
	// ICMPUnquoted counts the ICMP errors whose quoted flow was in no
	// table, as single pipelines count them (capture.Stats.ICMPUnquoted;
	// a fanout counts its own in Quotes.Unmatched).
	ICMPUnquoted uint64
}

// SumPipelines reads the pipelines' atomic counters once each and sums
// them: safe while the pipelines run, and nothing is added to the packet
// path.
func SumPipelines(pipes ...*capture.Pipeline) PipelineCounters {
	var c PipelineCounters
	for _, p := range pipes {
		st := p.Stats()
		c.Frames += st.Frames.Load()
		c.Bytes += st.Bytes.Load()
		c.Packets += st.Packets.Load()
		c.ICMPUnquoted += st.ICMPUnquoted.Load()
		for _, t := range p.Tables() {
			c.ActiveFlows += t.Stats().Active.Load()
			c.FlowsEvicted += t.Stats().Ended[flow.EndEvicted].Load()
		}
		for r, n := range p.Decoder().Skipped() {
			c.Skipped[r] += n
		}
	}
	return c
}

// Counters returns the running capture's pipeline counters, summed over
// its pipelines.
func (r *CaptureRun) Counters() PipelineCounters { return SumPipelines(r.pipes...) }

// Pipelines returns the number of pipelines the capture runs: one per
// socket of an AF_PACKET fanout, one for eBPF.
func (r *CaptureRun) Pipelines() int { return len(r.pipes) }

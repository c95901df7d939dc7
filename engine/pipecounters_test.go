package engine

import (
	"context"
	"testing"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
)

// runDemo runs the demo capture through a pipeline of cfg.
func runDemo(t *testing.T, cfg capture.Config) *capture.Pipeline {
	t.Helper()
	cfg.OnFlow = func(*flow.Flow) {}
	if cfg.Workers > 1 {
		cfg.OnFlow = nil
		cfg.Stages = func(int) capture.Stages { return capture.Stages{OnFlow: func(*flow.Flow) {}} }
	}
	p, err := capture.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.Open([]string{"../testdata/demo.pcapng"}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := p.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	return p
}

// SumPipelines adds every pipeline's frames, bytes and packets, and every
// table's active and evicted flows, and every decoder's skipped frames by
// reason.
func TestSumPipelines(t *testing.T) {
	small := flow.DefaultConfig()
	small.MaxFlows = 8
	one := runDemo(t, capture.Config{Table: small})
	sharded := runDemo(t, capture.Config{Table: flow.DefaultConfig(), Workers: 2})
	third := runDemo(t, capture.Config{Table: flow.DefaultConfig()})
	// The end of input empties the tables; flows still tracked are what a
	// live capture has, so the gauges of two tables are set by hand.
	one.Tables()[0].Stats().Active.Add(3)
	sharded.Tables()[1].Stats().Active.Add(4)

	of := func(p *capture.Pipeline) PipelineCounters {
		var c PipelineCounters
		st := p.Stats()
		c.Frames, c.Bytes, c.Packets = st.Frames.Load(), st.Bytes.Load(), st.Packets.Load()
		for _, tb := range p.Tables() {
			c.ActiveFlows += tb.Stats().Active.Load()
		}
		c.FlowsEvicted = p.FlowsEnded(flow.EndEvicted)
		c.Skipped = p.Decoder().Skipped()
		return c
	}
	a, b, f := of(one), of(sharded), of(third)
	if a.FlowsEvicted == 0 || b.FlowsEvicted != 0 || a.Skipped == ([decode.NumReasons]uint64{}) || len(sharded.Tables()) != 2 || a.Frames == 0 {
		t.Fatalf("fixture: %+v, %+v (%d tables); want evictions in the small table only, and skipped frames", a, b, len(sharded.Tables()))
	}
	want := PipelineCounters{Frames: a.Frames + b.Frames + f.Frames, Bytes: a.Bytes + b.Bytes + f.Bytes, Packets: a.Packets + b.Packets + f.Packets,
		ActiveFlows: 7, FlowsEvicted: a.FlowsEvicted + b.FlowsEvicted + f.FlowsEvicted}
	for r := range want.Skipped {
		want.Skipped[r] = a.Skipped[r] + b.Skipped[r] + f.Skipped[r]
	}
	if got := SumPipelines(one, sharded, third); got != want {
		t.Errorf("SumPipelines = %+v\nwant %+v", got, want)
	}
	run := &CaptureRun{pipes: []*capture.Pipeline{one, sharded}}
	if got := run.Counters(); got.Frames != a.Frames+b.Frames || got.ActiveFlows != 7 || run.Pipelines() != 2 {
		t.Errorf("CaptureRun.Counters = %+v over %d pipelines", got, run.Pipelines())
	}
	if (SumPipelines() != PipelineCounters{}) {
		t.Error("no pipeline: want zero counters")
	}
}

// Package capture runs the front half of the auditor: packet sources feed a
// decoder, the decoder feeds the flow table, and protocol dissectors see the
// packets of the flows they asked for. Finished flows leave through a
// FlowHandler. The package knows nothing of verdicts or sinks: classifiers
// and writers plug in through those two narrow interfaces.
package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync/atomic"

	"github.com/gopacket/gopacket/layers"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
)

// Dissector is a protocol parser that follows flows. The pipeline asks each
// dissector once per flow, on its first packet, whether it wants the flow;
// afterwards only the dissectors still interested see its packets, so an
// RTP flow that no parser wants costs one bit test per packet.
type Dissector interface {
	// Start is called with the first packet of every flow (already counted
	// in f). It returns whether the dissector wants this flow's packets.
	Start(f *flow.Flow, p *decode.Packet) bool
	// Packet sees each packet of a wanted flow, the first one included.
	// Returning false stops further packets of this flow.
	Packet(f *flow.Flow, p *decode.Packet, fromOrig bool) bool
	// End is called when a flow the dissector saw leaves the table, before
	// the FlowHandler, so it can label the flow and drop per-flow state.
	End(f *flow.Flow)
}

// FlowHandler receives every flow that leaves the table. The flow is reused
// after the call: copy what must outlive it.
type FlowHandler func(*flow.Flow)

// maxDissectors is the width of flow.Flow.Inspect.
const maxDissectors = 32

// Config configures a Pipeline.
type Config struct {
	Table      flow.Config
	Decode     decode.Options
	Dissectors []Dissector
	OnFlow     FlowHandler
}

// Stats counts what the pipeline saw. Counters are atomic: a progress or
// metrics reader may read them while the pipeline runs.
type Stats struct {
	Frames      atomic.Uint64 // frames offered to the decoder
	Bytes       atomic.Uint64 // their original (wire) length
	Packets     atomic.Uint64 // frames that became flow packets
	ICMPQuoted  atomic.Uint64 // ICMP errors attributed to an active flow
	FirstPacket atomic.Int64  // unix ns
	LastPacket  atomic.Int64
}

// Pipeline is one decoding and flow-tracking worker. It is not safe for
// concurrent use.
type Pipeline struct {
	dec        *decode.Decoder
	table      *flow.Table
	dissectors []Dissector
	onFlow     FlowHandler
	pkt        decode.Packet
	stats      Stats
}

// New builds a pipeline.
func New(cfg Config) (*Pipeline, error) {
	if len(cfg.Dissectors) > maxDissectors {
		return nil, fmt.Errorf("%d dissectors: at most %d are supported", len(cfg.Dissectors), maxDissectors)
	}
	p := &Pipeline{dec: decode.New(cfg.Decode), dissectors: cfg.Dissectors, onFlow: cfg.OnFlow}
	p.table = flow.NewTable(cfg.Table, p.flowEnded)
	return p, nil
}

// Stats returns the pipeline's counters.
func (p *Pipeline) Stats() *Stats { return &p.stats }

// Table exposes the flow table's counters and clock.
func (p *Pipeline) Table() *flow.Table { return p.table }

// Decoder exposes the decoder's skip counters.
func (p *Pipeline) Decoder() *decode.Decoder { return p.dec }

// Frame processes one captured frame. Frames the decoder does not turn into
// flow packets are counted by the decoder, by reason.
func (p *Pipeline) Frame(lt layers.LinkType, data []byte, ts int64, wireLen int) {
	p.stats.Frames.Add(1)
	p.stats.Bytes.Add(uint64(wireLen))
	if p.stats.FirstPacket.Load() == 0 || ts < p.stats.FirstPacket.Load() {
		p.stats.FirstPacket.Store(ts)
	}
	if ts > p.stats.LastPacket.Load() {
		p.stats.LastPacket.Store(ts)
	}
	pkt := &p.pkt
	if err := p.dec.Decode(lt, data, ts, wireLen, pkt); err != nil {
		return
	}
	p.stats.Packets.Add(1)
	if pkt.Quoted && p.table.ICMPUnreachable(pkt.QuotedKey, pkt.ICMPType, pkt.ICMPCode) {
		p.stats.ICMPQuoted.Add(1)
	}
	f, fromOrig := p.table.Packet(&pkt.Packet)
	if f.Orig.Packets+f.Resp.Packets == 1 {
		p.startDissectors(f)
	}
	if f.Inspect != 0 {
		p.dissect(f, fromOrig)
	}
}

func (p *Pipeline) startDissectors(f *flow.Flow) {
	for i, d := range p.dissectors {
		if d.Start(f, &p.pkt) {
			f.Inspect |= 1 << i
		}
	}
	// Remember who was ever interested, so End reaches them even after
	// they stopped inspecting.
	f.Seen = f.Inspect
}

func (p *Pipeline) dissect(f *flow.Flow, fromOrig bool) {
	for set := f.Inspect; set != 0; set &= set - 1 {
		i := bits.TrailingZeros32(set)
		if !p.dissectors[i].Packet(f, &p.pkt, fromOrig) {
			f.Inspect &^= 1 << i
		}
	}
}

func (p *Pipeline) flowEnded(f *flow.Flow) {
	for set := f.Seen; set != 0; set &= set - 1 {
		p.dissectors[bits.TrailingZeros32(set)].End(f)
	}
	if p.onFlow != nil {
		p.onFlow(f)
	}
}

// Flush ends every active flow (end of input, rotation, shutdown).
func (p *Pipeline) Flush() { p.table.Flush(flow.EndFlush) }

// FrameSource is where frames come from: a file reader or a live socket.
type FrameSource interface {
	Next() (*source.Frame, error)
}

// Run feeds every frame of src through the pipeline until src ends (io.EOF)
// or ctx is cancelled, then flushes the table so every flow reaches the
// handler. Cancellation is checked between frames, so an interrupted replay
// still writes what it has seen.
func (p *Pipeline) Run(ctx context.Context, src FrameSource) error {
	defer p.Flush()
	done := ctx.Done()
	for n := 0; ; n++ {
		if n&1023 == 0 {
			select {
			case <-done:
				return ctx.Err()
			default:
			}
		}
		fr, err := src.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p.Frame(fr.LinkType, fr.Data, fr.Time, fr.WireLen)
	}
}

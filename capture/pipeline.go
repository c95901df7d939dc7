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
	"os"
	"sync/atomic"
	"time"

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
	Table  flow.Config
	Decode decode.Options

	// Workers is the number of flow-table workers. With more than one, Run
	// decodes on the caller's goroutine and hands packets to workers
	// sharded by a direction-independent flow hash, so each flow lives in
	// exactly one worker's table; Table.MaxFlows is split between the
	// tables. State dissectors share across workers goes through Shared,
	// so results do not depend on the number of workers.
	Workers int

	// Pipelined runs a single worker on its own goroutine, fed in batches
	// like the sharded workers, so decoding and flow tracking overlap on
	// two cores while the results stay exactly those of one goroutine.
	Pipelined bool

	// Stages builds the dissectors and flow handler of worker i; it is
	// called once per worker by New. Dissectors of different workers may
	// share state (a SIP call tracker, a DNS cache) only through types
	// safe for concurrent use. When nil, Dissectors and OnFlow below serve
	// the single worker (and New refuses Workers > 1).
	Stages func(worker int) Stages

	Dissectors []Dissector
	OnFlow     FlowHandler

	// Shared is the state dissectors of different workers share: the DNS
	// name cache, the SIP calls and their media expectations. Dissectors
	// stage their changes to it; at the end of each epoch, with every
	// worker paused, the pipeline calls Commit, which applies the staged
	// changes of all workers in capture order. Within an epoch every
	// worker reads the state as the last commit left it. So what a flow
	// learns from another flow (its server's name, its call) depends only
	// on the input, never on how flows were sharded or on worker timing,
	// and one worker and eight give the same results (when no table
	// reaches its share of Table.MaxFlows).
	Shared []Shared

	// An epoch ends after EpochPackets decoded packets or once EpochSpan
	// of packet time has passed since its first packet, whichever comes
	// first (defaults DefaultEpochPackets and DefaultEpochSpan). Idle
	// flows end only at epoch boundaries, at the boundary's time, in
	// every worker's table alike. Shorter epochs end idle flows closer to
	// their timeout and make a DNS answer or an SDP visible to other flows
	// sooner; longer ones pause workers less.
	EpochPackets int
	EpochSpan    time.Duration

	// KeepFrames hands dissectors each packet's captured frame
	// (decode.Packet.Frame), at the cost of copying it between the
	// decoder and the workers.
	KeepFrames bool

	// Quotes, for the single-worker pipelines of a live capture spread
	// over several sockets, forwards the ICMP errors whose quoted flow
	// is not in this pipeline's table to the others; QuotesIndex is this
	// pipeline's place among them. See Quotes.
	Quotes      *Quotes
	QuotesIndex int
}

// Shared is cross-flow state that dissectors stage changes to during an
// epoch; see Config.Shared.
type Shared interface {
	// Commit applies the changes staged since the previous commit, in
	// capture order, and moves the state's clock to now (unix ns: the
	// latest packet time of the epoch). No dissector runs meanwhile.
	Commit(now int64)
}

// Epoch defaults: at line rate an epoch is a few milliseconds of work;
// on a quiet link, a second of traffic, the live capture's tick. The span
// only sets how soon idle flows end and shared state reaches other flows:
// what a flow is matched or named with does not depend on it (see
// sipcall's and names' commits). It is a cost, though: every epoch end
// pauses the workers, and a contact center's few thousand packets a
// second made 100 ms epochs of a few hundred packets, whose barriers took
// a tenth of a replay's time.
const (
	DefaultEpochPackets = 4096
	DefaultEpochSpan    = time.Second
)

// Stages are one worker's protocol dissectors and flow handler.
type Stages struct {
	Dissectors []Dissector
	OnFlow     FlowHandler
}

// BackwardsSlack is how far a frame's time may fall behind the latest
// frame's before it counts as a jump back (Stats.TimeBackwards): live
// capture on several CPUs and merged captures reorder by less.
const BackwardsSlack = time.Second

// Stats counts what the pipeline saw. Counters are atomic: a progress or
// metrics reader may read them while the pipeline runs.
type Stats struct {
	Frames     atomic.Uint64 // frames offered to the decoder
	Bytes      atomic.Uint64 // their original (wire) length
	Packets    atomic.Uint64 // frames that became flow packets
	ICMPQuoted atomic.Uint64 // ICMP errors attributed to an active flow
	// ICMPUnquoted counts ICMP errors whose quoted flow no table held (it
	// ended, or began before the capture): the error is still a flow of
	// its own. A fanout's pipelines count theirs in Quotes.Unmatched.
	ICMPUnquoted atomic.Uint64
	// TimeBackwards counts frames timestamped more than BackwardsSlack
	// before the latest frame seen: a clock stepped back, or inputs whose
	// times overlap. Their flows still start at their earliest packet.
	TimeBackwards atomic.Uint64
	FirstPacket   atomic.Int64 // unix ns
	LastPacket    atomic.Int64
	Epochs        atomic.Uint64 // commits of the shared state
}

// Pipeline decodes frames and tracks their flows. Frame and Run are not
// safe for concurrent use; Stats may be read from any goroutine.
type Pipeline struct {
	dec       *decode.Decoder
	workers   []*worker
	pipelined bool
	// keepFrames: Config.KeepFrames
	keepFrames bool
	shared     []Shared
	epoch      epochClock
	pkt        decode.Packet
	ordinal    uint64 // packets decoded so far: the next packet's Ordinal
	tally      tally
	stats      Stats

	quotes     *Quotes
	quoteIndex int
	quoteBuf   []quote
}

// tally is what the decoding goroutine counted since it last published to
// Stats. Five atomic writes per packet cost more than decoding an RTP
// header, so the counters reach Stats at each epoch end (at most an
// epoch, or a live tick, behind) and when the input ends.
type tally struct {
	frames, bytes, packets uint64
	first, last            int64 // unix ns; first is 0 until a frame came
}

// publish moves the tally to Stats. Decoding goroutine only.
func (p *Pipeline) publish() {
	t := &p.tally
	if t.frames == 0 {
		return
	}
	p.stats.Frames.Add(t.frames)
	p.stats.Bytes.Add(t.bytes)
	p.stats.Packets.Add(t.packets)
	t.frames, t.bytes, t.packets = 0, 0, 0
	p.stats.FirstPacket.Store(t.first)
	p.stats.LastPacket.Store(t.last)
}

// epochClock decides where epochs end, from the decoded packets alone.
type epochClock struct {
	maxPackets int
	span       int64
	n          int   // packets in the current epoch
	start      int64 // time of its first packet
}

// due counts a packet at time t and reports whether the epoch ends with it.
func (e *epochClock) due(t int64) bool {
	if e.n == 0 {
		e.start = t
	}
	e.n++
	if e.n >= e.maxPackets || t-e.start >= e.span {
		e.n = 0
		return true
	}
	return false
}

// worker owns one flow table and the dissectors that see its flows.
type worker struct {
	table      *flow.Table
	dissectors []Dissector
	onFlow     FlowHandler
	pkt        *decode.Packet // packet being handled, for startDissectors
	tunnels    decode.TunnelNames
	tunnelKey  flow.Key // scratch for tunnelIdentity
	stats      *Stats
}

// New builds a pipeline.
func New(cfg Config) (*Pipeline, error) {
	n := max(cfg.Workers, 1)
	if n > 1 && cfg.Stages == nil {
		return nil, fmt.Errorf("%d workers need a Stages function to build each worker's dissectors", n)
	}
	dopts := cfg.Decode
	// The payload part of checksums is summed on the workers (packet).
	dopts.DeferPayloadChecksum = true
	p := &Pipeline{dec: decode.New(dopts), pipelined: cfg.Pipelined, shared: cfg.Shared, keepFrames: cfg.KeepFrames,
		quotes: cfg.Quotes, quoteIndex: cfg.QuotesIndex}
	p.epoch = epochClock{maxPackets: cfg.EpochPackets, span: int64(cfg.EpochSpan)}
	if p.epoch.maxPackets <= 0 {
		p.epoch.maxPackets = DefaultEpochPackets
	}
	if p.epoch.span <= 0 {
		p.epoch.span = int64(DefaultEpochSpan)
	}
	// Idle flows end at epoch boundaries only, in every table at once.
	cfg.Table.ExpireOnAdvance = true
	if n > 1 {
		// The bound is the pipeline's: each table holds its share.
		if cfg.Table.MaxFlows <= 0 {
			cfg.Table.MaxFlows = flow.DefaultConfig().MaxFlows
		}
		cfg.Table.MaxFlows = (cfg.Table.MaxFlows + n - 1) / n
	}
	for i := range n {
		st := Stages{Dissectors: cfg.Dissectors, OnFlow: cfg.OnFlow}
		if cfg.Stages != nil {
			st = cfg.Stages(i)
		}
		if len(st.Dissectors) > maxDissectors {
			return nil, fmt.Errorf("%d dissectors: at most %d are supported", len(st.Dissectors), maxDissectors)
		}
		w := &worker{dissectors: st.Dissectors, onFlow: st.OnFlow, stats: &p.stats}
		w.table = flow.NewTable(cfg.Table, w.flowEnded)
		p.workers = append(p.workers, w)
	}
	return p, nil
}

// Stats returns the pipeline's counters.
func (p *Pipeline) Stats() *Stats { return &p.stats }

// Tables returns the workers' flow tables, for their counters.
func (p *Pipeline) Tables() []*flow.Table {
	ts := make([]*flow.Table, len(p.workers))
	for i, w := range p.workers {
		ts[i] = w.table
	}
	return ts
}

// FlowsEnded sums, over all workers, the flows that ended for reason r.
func (p *Pipeline) FlowsEnded(r flow.EndReason) uint64 {
	var n uint64
	for _, w := range p.workers {
		n += w.table.Stats().Ended[r].Load()
	}
	return n
}

// Decoder exposes the decoder's skip counters.
func (p *Pipeline) Decoder() *decode.Decoder { return p.dec }

// decodeFrame counts and decodes one frame into p.pkt; false when the
// decoder skipped it (the decoder counts why).
func (p *Pipeline) decodeFrame(lt layers.LinkType, data []byte, ts int64, wireLen int) bool {
	t := &p.tally
	t.frames++
	t.bytes += uint64(wireLen)
	if t.first == 0 || ts < t.first {
		t.first = ts
	}
	if ts < t.last-int64(BackwardsSlack) {
		p.stats.TimeBackwards.Add(1)
	}
	t.last = max(t.last, ts)
	if err := p.dec.Decode(lt, data, ts, wireLen, &p.pkt); err != nil {
		return false
	}
	if p.keepFrames {
		p.pkt.Frame, p.pkt.LinkType = data, lt
	}
	p.pkt.Ordinal = p.ordinal
	p.ordinal++
	t.packets++
	return true
}

// commit applies what the dissectors staged to the shared state.
func (p *Pipeline) commit(now int64) {
	for _, s := range p.shared {
		s.Commit(now)
	}
	p.stats.Epochs.Add(1)
}

// endEpoch commits the shared state, then ends the flows idle at now. The
// order matters: a flow that ends sees what its own epoch taught the
// others. Single-goroutine pipelines only.
func (p *Pipeline) endEpoch(now int64) {
	p.publish()
	p.commit(now)
	for _, w := range p.workers {
		w.table.Advance(now)
	}
}

// Frame processes one captured frame on the caller's goroutine. It is for
// single-worker pipelines; Run is the way to use several workers.
func (p *Pipeline) Frame(lt layers.LinkType, data []byte, ts int64, wireLen int) {
	if !p.decodeFrame(lt, data, ts, wireLen) {
		return
	}
	w := p.workers[0]
	if p.pkt.Quoted && !w.attribute(p.pkt.QuotedKey, p.pkt.ICMPType, p.pkt.ICMPCode) {
		if p.quotes != nil {
			p.quotes.post(p.quoteIndex, p.pkt.QuotedKey, p.pkt.ICMPType, p.pkt.ICMPCode, p.pkt.Time)
		} else {
			w.stats.ICMPUnquoted.Add(1)
		}
	}
	w.packet(&p.pkt)
	if p.epoch.due(p.pkt.Time) {
		p.endEpoch(p.tally.last)
	}
}

// attribute records an ICMP error against the flow it quotes; false when
// that flow is not in the worker's table.
func (w *worker) attribute(quoted flow.Key, icmpType, icmpCode uint8) bool {
	if w.table.ICMPUnreachable(quoted, icmpType, icmpCode) {
		w.stats.ICMPQuoted.Add(1)
		return true
	}
	return false
}

func (w *worker) packet(pkt *decode.Packet) {
	var sum flow.PayloadChecksum
	if pkt.ChecksumPending() {
		sum = pkt
	}
	var tunnel *flow.Key
	if pkt.Tunnel != decode.TunnelNone {
		tunnel = tunnelIdentity(pkt, &w.tunnelKey)
	}
	f, fromOrig := w.table.PacketTunneled(&pkt.Packet, sum, tunnel)
	w.pkt = pkt
	if f.Orig.Packets+f.Resp.Packets == 1 {
		if pkt.Tunnel != decode.TunnelNone {
			// A flow's tunnel is that of its first packet, as the flow
			// table keys flows by their inner 5-tuple alone.
			f.MetaOrNew().Tunnel = w.tunnels.Name(pkt)
		}
		w.startDissectors(f)
	}
	if f.Inspect != 0 {
		w.dissect(f, fromOrig)
	}
}

func (w *worker) startDissectors(f *flow.Flow) {
	for i, d := range w.dissectors {
		if d.Start(f, w.pkt) {
			f.Inspect |= 1 << i
		}
	}
	// Remember who was ever interested, so End reaches them even after
	// they stopped inspecting.
	f.Seen = f.Inspect
}

func (w *worker) dissect(f *flow.Flow, fromOrig bool) {
	for set := f.Inspect; set != 0; set &= set - 1 {
		i := bits.TrailingZeros32(set)
		if !w.dissectors[i].Packet(f, w.pkt, fromOrig) {
			f.Inspect &^= 1 << i
		}
	}
}

func (w *worker) flowEnded(f *flow.Flow) {
	for set := f.Seen; set != 0; set &= set - 1 {
		w.dissectors[bits.TrailingZeros32(set)].End(f)
	}
	if w.onFlow != nil {
		w.onFlow(f)
	}
}

// Flush ends every active flow (end of input, rotation, shutdown) and
// commits what they staged, so the shared state holds everything when it
// returns. With several workers it must not run concurrently with Run.
func (p *Pipeline) Flush() {
	p.applyQuotes()
	p.publish()
	last := p.tally.last
	p.commit(last)
	for _, w := range p.workers {
		w.flush(last)
	}
	p.commit(last)
	p.epoch.n = 0
}

// flush ends the worker's flows at the time of the last packet of the whole
// input, not of this worker's share, so the end reasons do not depend on
// how flows were sharded.
func (w *worker) flush(last int64) {
	w.table.Advance(last)
	w.table.Flush(flow.EndFlush)
}

// FrameSource is where frames come from: a file reader or a live socket.
type FrameSource interface {
	Next() (*source.Frame, error)
}

// Run feeds every frame of src through the pipeline until src ends (io.EOF)
// or ctx is cancelled, then flushes the tables so every flow reaches its
// handler. Cancellation is checked between frames, so an interrupted replay
// still writes what it has seen.
func (p *Pipeline) Run(ctx context.Context, src FrameSource) error {
	if len(p.workers) > 1 || p.pipelined {
		return p.runParallel(ctx, src)
	}
	defer p.Flush()
	return eachFrame(ctx, src, func(fr *source.Frame) {
		p.Frame(fr.LinkType, fr.Data, fr.Time, fr.WireLen)
	})
}

// eachFrame calls fn for every frame of src until it ends (nil) or ctx is
// cancelled, checking ctx every 1024 frames to keep the loop cheap.
func eachFrame(ctx context.Context, src FrameSource, fn func(*source.Frame)) error {
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
		fn(fr)
	}
}

// LiveSource is a packet source that blocks: a socket or ring buffer whose
// Next can be bounded by a deadline, so the pipeline gets to do its
// periodic work when no packet comes.
type LiveSource interface {
	FrameSource
	SetDeadline(t time.Time)
}

// RunLive reads src until ctx is cancelled (and then what src still
// holds, see drain), calling tick on the pipeline's
// goroutine at least every interval with the wall-clock time: the place to
// expire idle flows (Advance), merge counters kept elsewhere (AddCounters)
// and rotate output (Flush). It needs a single-worker, unpipelined
// pipeline so tick and packets never run concurrently. On cancellation it
// returns nil; the caller flushes what it wants to keep.
func (p *Pipeline) RunLive(ctx context.Context, src LiveSource, interval time.Duration, tick func(now time.Time)) error {
	if len(p.workers) != 1 || p.pipelined {
		return errors.New("live capture needs a single-worker, unpipelined pipeline")
	}
	next := time.Now().Add(interval)
	for ctx.Err() == nil {
		src.SetDeadline(next)
		fr, err := src.Next()
		switch {
		case err == nil:
			p.Frame(fr.LinkType, fr.Data, fr.Time, fr.WireLen)
		case errors.Is(err, os.ErrDeadlineExceeded):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
		if now := time.Now(); !now.Before(next) {
			tick(now)
			next = now.Add(interval)
		}
	}
	return p.drain(src)
}

// A stopping capture reads what its source already holds: the frames the
// kernel queued in its ring (and the partly filled block it hands over
// within its block timeout) were captured, counted as received and not as
// dropped, and would otherwise vanish unreported. It reads until no frame
// came for drainIdle, and stops after drainMax on a link that never goes
// quiet.
const (
	drainIdle = 200 * time.Millisecond
	drainMax  = time.Second
)

func (p *Pipeline) drain(src LiveSource) error {
	end := time.Now().Add(drainMax)
	for {
		now := time.Now()
		if !now.Before(end) {
			return nil
		}
		deadline := now.Add(drainIdle)
		if deadline.After(end) {
			deadline = end
		}
		src.SetDeadline(deadline)
		fr, err := src.Next()
		switch {
		case err == nil:
			p.Frame(fr.LinkType, fr.Data, fr.Time, fr.WireLen)
		case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}

// Advance ends the current epoch at now: it commits the shared state,
// moves every worker's clock to now and ends the flows idle past their
// timeout. Live capture calls it from its ticker, as time passes without
// packets. Single-worker pipelines only, on the pipeline goroutine.
func (p *Pipeline) Advance(now int64) {
	// Before idle flows end: a quoted flow may be about to.
	p.applyQuotes()
	p.endEpoch(now)
	p.epoch.n = 0
}

// AddCounters merges packets counted outside the pipeline (in the kernel)
// into flow k. Single-worker pipelines only, on the pipeline goroutine.
func (p *Pipeline) AddCounters(k flow.Key, d flow.Dir, packets, bytes, payload uint64, flags uint8, first, last int64) {
	p.stats.Packets.Add(packets)
	p.stats.Frames.Add(packets)
	p.stats.Bytes.Add(bytes)
	p.workers[0].table.AddCounters(k, d, packets, bytes, payload, flags, first, last)
}

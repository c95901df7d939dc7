package capture

import (
	"context"
	"sync"

	"github.com/gopacket/gopacket/layers"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
)

// Batching amortises the channel hand-off between the decoding goroutine
// and the workers: one send per batchPackets packets. Payloads are copied
// into the batch's arena because the decoder's and reader's buffers are
// reused as soon as the next frame is read.
//
// A batch coming back from a worker is primed before the decoder refills
// it (see batch.prime).
//
// Each worker may have batchesInFlow batches queued or in hand: about two
// epochs of its share of the packets, so the decoder keeps decoding the
// next epoch while the workers meet at the end of the last one, instead of
// stalling on a full queue and leaving them idle after the barrier. It
// bounds memory too: 4 MiB of arenas per worker.
const (
	batchPackets  = 256
	batchArena    = 256 << 10
	batchesInFlow = 16
)

// entry is a packet as a batch carries it: the fields almost every packet
// has, inline, and an index into the batch's side array for the few that
// the rest rarely do (a quoted flow, a tunnel, a kept frame). It is less
// than half the size of a decode.Packet, which the decoder writes, prime
// clears and the worker reads for every packet.
type entry struct {
	pkt       flow.Packet
	csumAcc   uint64
	ordinal   uint64
	payload   uint32 // arena offset of the payload
	payLen    uint32
	fragments uint16
	linkType  layers.LinkType
	icmpType  uint8
	icmpCode  uint8
	flags     entryFlags
	side      uint8 // index in batch.sides when flags has entrySide
}

type entryFlags uint8

const (
	// entryAttribute: an ICMP error to attribute to the quoted flow,
	// whose key is in pkt.Key, not a flow packet.
	entryAttribute entryFlags = 1 << iota
	entrySide                 // the packet has a side entry
	entryCsumPending
	entryReassembled
	entryTruncated
)

// sideEntry holds the fields of a packet that most packets do not have.
type sideEntry struct {
	quotedKey flow.Key
	outerKey  flow.Key
	tunnel    decode.Tunnel
	outerDir  flow.Dir
	hasFrame  bool
	frame     uint32 // arena offset of the kept frame
	frameLen  uint32
}

type batch struct {
	entries []entry
	// sides is allocated with the first packet that needs one.
	sides []sideEntry
	arena []byte
	// used and usedSides are how much of the arena and of sides the last
	// round filled: what prime takes back.
	used, usedSides int

	// epochEnd marks the last batch of an epoch for its worker: after its
	// packets the worker waits for the others, the shared state is
	// committed, and idle flows end at epochAt.
	epochEnd bool
	epochAt  int64
}

// The side array's index is a uint8.
var _ [256 - batchPackets]struct{}

func newBatch() *batch {
	return &batch{
		entries: make([]entry, 0, batchPackets),
		arena:   make([]byte, 0, batchArena),
	}
}

func (b *batch) reset() {
	b.used, b.usedSides = len(b.arena), len(b.sides)
	b.entries, b.sides, b.arena = b.entries[:0], b.sides[:0], b.arena[:0]
	b.epochEnd = false
}

// prime claims the batch's memory for the decoding goroutine's core in one
// sweep before it is refilled. A worker on the other core read every line
// of it last round, so each first store of a refill must take its line
// back from that core; taken one packet at a time those stores stall the
// decoder (a third of its time, blamed by profiles on whatever store came
// next), while a sequential clear lets the core fetch the lines ahead of
// the stores. The decoder is the pipeline's serial stage, so its stalls
// are the whole pipeline's (BenchmarkRun, where the hand-off is most of
// the work, shows the difference). The arena is primed up to what the
// last round used, a good guess of what this one will.
func (b *batch) prime() {
	clear(b.entries[:cap(b.entries)])
	clear(b.sides[:b.usedSides])
	clear(b.arena[:b.used])
}

// take returns a free batch, primed.
func take(free <-chan *batch) *batch {
	b := <-free
	b.prime()
	return b
}

// maxKeptFrame bounds a frame copied into a batch (Config.KeepFrames):
// a larger one would not fit the arena, and goes without its frame.
const maxKeptFrame = 64 << 10

// add copies pkt into the batch as a flow packet; false when the batch is
// full.
func (b *batch) add(pkt *decode.Packet) bool {
	frame := pkt.Frame
	if len(frame) > maxKeptFrame {
		frame = nil
	}
	if len(b.entries) == cap(b.entries) || len(b.arena)+len(pkt.Payload)+len(frame) > cap(b.arena) {
		return false
	}
	b.entries = b.entries[:len(b.entries)+1]
	e := &b.entries[len(b.entries)-1]
	e.pkt = pkt.Packet
	acc, pending := pkt.PendingChecksum()
	e.csumAcc, e.ordinal = acc, pkt.Ordinal
	e.payload, e.payLen = uint32(len(b.arena)), uint32(len(pkt.Payload))
	b.arena = append(b.arena, pkt.Payload...)
	e.fragments, e.linkType = pkt.Fragments, pkt.LinkType
	e.icmpType, e.icmpCode = pkt.ICMPType, pkt.ICMPCode
	var fl entryFlags
	if pending {
		fl |= entryCsumPending
	}
	if pkt.Reassembled {
		fl |= entryReassembled
	}
	if pkt.Truncated {
		fl |= entryTruncated
	}
	if pkt.Quoted || pkt.Tunnel != decode.TunnelNone || frame != nil {
		fl |= entrySide
		if b.sides == nil {
			b.sides = make([]sideEntry, 0, batchPackets)
		}
		e.side = uint8(len(b.sides))
		b.sides = append(b.sides, sideEntry{quotedKey: pkt.QuotedKey, outerKey: pkt.OuterKey,
			tunnel: pkt.Tunnel, outerDir: pkt.OuterDir, hasFrame: frame != nil,
			frame: uint32(len(b.arena)), frameLen: uint32(len(frame))})
		b.arena = append(b.arena, frame...)
	}
	e.flags = fl
	return true
}

// addAttribute queues the ICMP error pkt for attribution to the flow it
// quotes; false when the batch is full.
func (b *batch) addAttribute(pkt *decode.Packet) bool {
	if len(b.entries) == cap(b.entries) {
		return false
	}
	b.entries = append(b.entries, entry{pkt: flow.Packet{Key: pkt.QuotedKey},
		icmpType: pkt.ICMPType, icmpCode: pkt.ICMPCode, flags: entryAttribute})
	return true
}

// unpack rebuilds into p the flow packet of entry e. Every field of p is
// written, so one p serves every entry. The quote was delivered separately
// to the quoted flow's worker, so Quoted is false (QuotedKey stays, for
// dissectors that keep the packet).
func (b *batch) unpack(e *entry, p *decode.Packet) {
	p.Packet = e.pkt
	end := e.payload + e.payLen
	p.Payload = b.arena[e.payload:end:end]
	p.Quoted = false
	p.ICMPType, p.ICMPCode = e.icmpType, e.icmpCode
	p.Reassembled = e.flags&entryReassembled != 0
	p.Truncated = e.flags&entryTruncated != 0
	p.Fragments = e.fragments
	p.Ordinal = e.ordinal
	p.LinkType = e.linkType
	p.SetPendingChecksum(e.csumAcc, e.flags&entryCsumPending != 0)
	if e.flags&entrySide == 0 {
		// One key per statement: the compiler builds a tuple assignment
		// of two keys in a stack temporary, zeroed and read back with
		// overlapping 16-byte moves that stall store forwarding, which
		// cost a tenth of a microsecond per packet.
		p.QuotedKey = flow.Key{}
		p.OuterKey = flow.Key{}
		p.Tunnel, p.OuterDir = decode.TunnelNone, 0
		p.Frame = nil
		return
	}
	s := &b.sides[e.side]
	p.QuotedKey = s.quotedKey
	p.OuterKey = s.outerKey
	p.Tunnel, p.OuterDir = s.tunnel, s.outerDir
	p.Frame = nil
	if s.hasFrame {
		end := s.frame + s.frameLen
		p.Frame = b.arena[s.frame:end:end]
	}
}

// runParallel decodes on this goroutine and shards packets over the workers
// by flow hash. Each worker owns its table, so no flow state is shared and
// no lock is taken per packet. Workers meet only at epoch boundaries, where
// the shared state is committed (see Config.Shared).
func (p *Pipeline) runParallel(ctx context.Context, src FrameSource) error {
	n := len(p.workers)
	queues := make([]chan *batch, n)
	free := make(chan *batch, n*batchesInFlow)
	for range n * batchesInFlow {
		free <- newBatch()
	}
	bar := newBarrier(n)
	var wg sync.WaitGroup
	for i, w := range p.workers {
		queues[i] = make(chan *batch, batchesInFlow)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pkt decode.Packet
			for b := range queues[i] {
				for j := range b.entries {
					e := &b.entries[j]
					if e.flags&entryAttribute != 0 {
						if !w.attribute(e.pkt.Key, e.icmpType, e.icmpCode) {
							w.stats.ICMPUnquoted.Add(1)
						}
						continue
					}
					b.unpack(e, &pkt)
					w.packet(&pkt)
				}
				end, at := b.epochEnd, b.epochAt
				// Return the batch before waiting: the decoder may need
				// it to deliver the other workers' epoch ends.
				b.reset()
				free <- b
				if end {
					bar.wait(func() { p.commit(at) })
					w.table.Advance(at)
				}
			}
			// The decoder has finished before the queues close, so the
			// last packet time is final here.
			last := p.stats.LastPacket.Load()
			bar.wait(func() { p.commit(last) })
			w.flush(last)
		}()
	}

	shard := func(k flow.Key) int {
		if n == 1 {
			return 0
		}
		// Lemire's multiply-shift maps the hash onto [0, n) without a
		// division.
		return int((k.Hash() >> 32) * uint64(n) >> 32)
	}
	pending := make([]*batch, n)
	send := func(i int) {
		if b := pending[i]; b != nil && (len(b.entries) > 0 || b.epochEnd) {
			queues[i] <- b
			pending[i] = nil
		}
	}
	put := func(i int, pkt *decode.Packet, attribute bool) {
		for {
			if pending[i] == nil {
				pending[i] = take(free)
			}
			b := pending[i]
			if attribute && b.addAttribute(pkt) || !attribute && b.add(pkt) {
				return
			}
			send(i)
		}
	}
	endEpoch := func(at int64) {
		for i := range n {
			if pending[i] == nil {
				pending[i] = take(free)
			}
			pending[i].epochEnd, pending[i].epochAt = true, at
			send(i)
		}
	}

	err := eachFrame(ctx, src, func(fr *source.Frame) {
		if !p.decodeFrame(fr.LinkType, fr.Data, fr.Time, fr.WireLen) {
			return
		}
		pkt := &p.pkt
		if pkt.Quoted {
			put(shard(pkt.QuotedKey), pkt, true)
		}
		put(shard(pkt.Key), pkt, false)
		if p.epoch.due(pkt.Time) {
			p.publish()
			endEpoch(p.tally.last)
		}
	})
	// Workers read the final counts once their queue is closed.
	p.publish()
	for i := range n {
		send(i)
		close(queues[i])
	}
	wg.Wait()
	// Flows the workers flushed staged their last changes.
	p.commit(p.tally.last)
	p.epoch.n = 0
	return err
}

// barrier is where workers meet at the end of an epoch.
type barrier struct {
	mu      sync.Mutex
	cond    sync.Cond
	parties int
	arrived int
	round   uint64
}

func newBarrier(parties int) *barrier {
	b := &barrier{parties: parties}
	b.cond.L = &b.mu
	return b
}

// wait blocks until every party has arrived. The last to arrive runs last
// first, while the others still wait: the one moment no worker runs.
func (b *barrier) wait(last func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.arrived++
	if b.arrived == b.parties {
		last()
		b.arrived = 0
		b.round++
		b.cond.Broadcast()
		return
	}
	for r := b.round; r == b.round; {
		b.cond.Wait()
	}
}

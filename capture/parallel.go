package capture

import (
	"context"
	"sync"

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
// stalling on a full queue and leaving them idle after the barrier (4
// batches made the benchmark replay about 8% slower). It bounds memory
// too: 4 MiB of arenas per worker.
const (
	batchPackets  = 256
	batchArena    = 256 << 10
	batchesInFlow = 16
)

type entryKind uint8

const (
	entryPacket    entryKind = iota // a flow packet
	entryAttribute                  // an ICMP error to attribute to the quoted flow
)

type batch struct {
	pkts  []decode.Packet
	kinds []entryKind
	arena []byte
	// used is how much of the arena the last round filled: what prime
	// takes back.
	used int

	// epochEnd marks the last batch of an epoch for its worker: after its
	// packets the worker waits for the others, the shared state is
	// committed, and idle flows end at epochAt.
	epochEnd bool
	epochAt  int64
}

func newBatch() *batch {
	return &batch{
		pkts:  make([]decode.Packet, 0, batchPackets),
		kinds: make([]entryKind, 0, batchPackets),
		arena: make([]byte, 0, batchArena),
	}
}

func (b *batch) reset() {
	b.used = len(b.arena)
	b.pkts, b.kinds, b.arena = b.pkts[:0], b.kinds[:0], b.arena[:0]
	b.epochEnd = false
}

// prime claims the batch's memory for the decoding goroutine's core in one
// sweep before it is refilled. A worker on the other core read every line
// of it last round, so each first store of a refill must take its line
// back from that core; taken one packet at a time those stores stall the
// decoder (a third of its time, blamed by profiles on whatever store came
// next), while a sequential clear lets the core fetch the lines ahead of
// the stores. The decoder is the pipeline's serial stage: priming took it
// from about 0.95 to 0.65 s of CPU on the benchmark capture, and
// BenchmarkRun, where the hand-off is most of the work, from 3.0 to
// 4.4-5.0 M packets/s with two workers. The arena is primed up to what
// the last round used, a good guess of what this one will.
func (b *batch) prime() {
	clear(b.pkts[:cap(b.pkts)])
	clear(b.kinds[:cap(b.kinds)])
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

// add copies pkt into the batch; false when the batch is full.
func (b *batch) add(pkt *decode.Packet, kind entryKind) bool {
	n := len(pkt.Payload)
	if kind == entryAttribute {
		n = 0
	}
	frame := pkt.Frame
	if len(frame) > maxKeptFrame || kind == entryAttribute {
		frame = nil
	}
	n += len(frame)
	if len(b.pkts) == cap(b.pkts) || len(b.arena)+n > cap(b.arena) {
		return false
	}
	b.pkts = append(b.pkts, *pkt)
	b.kinds = append(b.kinds, kind)
	cp := &b.pkts[len(b.pkts)-1]
	cp.Frame = nil
	if kind == entryAttribute {
		cp.Payload = nil
		return true
	}
	start := len(b.arena)
	b.arena = append(b.arena, pkt.Payload...)
	cp.Payload = b.arena[start:len(b.arena):len(b.arena)]
	if frame != nil {
		start = len(b.arena)
		b.arena = append(b.arena, frame...)
		cp.Frame = b.arena[start:len(b.arena):len(b.arena)]
	}
	// The quote is delivered separately to the quoted flow's worker.
	cp.Quoted = false
	return true
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
			for b := range queues[i] {
				for j := range b.pkts {
					if b.kinds[j] == entryAttribute {
						w.attribute(&b.pkts[j])
					} else {
						w.packet(&b.pkts[j])
					}
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
		if b := pending[i]; b != nil && (len(b.pkts) > 0 || b.epochEnd) {
			queues[i] <- b
			pending[i] = nil
		}
	}
	put := func(i int, pkt *decode.Packet, kind entryKind) {
		for {
			if pending[i] == nil {
				pending[i] = take(free)
			}
			if pending[i].add(pkt, kind) {
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
			put(shard(pkt.QuotedKey), pkt, entryAttribute)
		}
		put(shard(pkt.Key), pkt, entryPacket)
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

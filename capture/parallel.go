package capture

import (
	"context"
	"hash/maphash"
	"sync"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
)

// Batching amortises the channel hand-off between the decoding goroutine
// and the workers: one send per batchPackets packets. Payloads are copied
// into the batch's arena because the decoder's and reader's buffers are
// reused as soon as the next frame is read.
const (
	batchPackets  = 256
	batchArena    = 256 << 10
	batchesInFlow = 4 // per worker: enough to keep decoder and workers busy, bounded memory
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
}

func newBatch() *batch {
	return &batch{
		pkts:  make([]decode.Packet, 0, batchPackets),
		kinds: make([]entryKind, 0, batchPackets),
		arena: make([]byte, 0, batchArena),
	}
}

func (b *batch) reset() {
	b.pkts, b.kinds, b.arena = b.pkts[:0], b.kinds[:0], b.arena[:0]
}

// add copies pkt into the batch; false when the batch is full.
func (b *batch) add(pkt *decode.Packet, kind entryKind) bool {
	n := len(pkt.Payload)
	if kind == entryAttribute {
		n = 0
	}
	if len(b.pkts) == cap(b.pkts) || len(b.arena)+n > cap(b.arena) {
		return false
	}
	b.pkts = append(b.pkts, *pkt)
	b.kinds = append(b.kinds, kind)
	cp := &b.pkts[len(b.pkts)-1]
	if kind == entryAttribute {
		cp.Payload = nil
		return true
	}
	start := len(b.arena)
	b.arena = append(b.arena, pkt.Payload...)
	cp.Payload = b.arena[start:len(b.arena):len(b.arena)]
	// The quote is delivered separately to the quoted flow's worker.
	cp.Quoted = false
	return true
}

// runParallel decodes on this goroutine and shards packets over the workers
// by flow hash. Each worker owns its table, so no flow state is shared and
// no lock is taken per packet.
func (p *Pipeline) runParallel(ctx context.Context, src FrameSource) error {
	n := len(p.workers)
	queues := make([]chan *batch, n)
	free := make(chan *batch, n*batchesInFlow)
	for range n * batchesInFlow {
		free <- newBatch()
	}
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
				b.reset()
				free <- b
			}
			// The reader has finished before the queues close, so the last
			// packet time is final here.
			w.flush(p.stats.LastPacket.Load())
		}()
	}

	seed := maphash.MakeSeed()
	shard := func(k flow.Key) int {
		if n == 1 {
			return 0
		}
		return int(maphash.Comparable(seed, k) % uint64(n))
	}
	pending := make([]*batch, n)
	send := func(i int) {
		if pending[i] != nil && len(pending[i].pkts) > 0 {
			queues[i] <- pending[i]
			pending[i] = nil
		}
	}
	put := func(i int, pkt *decode.Packet, kind entryKind) {
		for {
			if pending[i] == nil {
				pending[i] = <-free
			}
			if pending[i].add(pkt, kind) {
				return
			}
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
	})
	for i := range n {
		send(i)
		close(queues[i])
	}
	wg.Wait()
	return err
}

package capture

import (
	"sync"
	"sync/atomic"

	"github.com/ccaudit/auditor/capture/flow"
)

// Quotes carries ICMP errors between the pipelines of a live capture.
//
// A kernel fanout (AF_PACKET's PACKET_FANOUT_HASH) spreads packets over
// sockets by a hash of their own addresses, with a seed userspace cannot
// know: an ICMP port unreachable, addressed from the probed host back to
// the prober, may reach another socket, and so another pipeline, than the
// UDP flow it quotes. Replay shards by the quoted flow's key instead (see
// runParallel); live capture cannot choose, so a pipeline whose own table
// lacks the quoted flow posts the error here, and every other pipeline
// looks it up in its table at its next tick. The flow lives in exactly one
// table (the fanout hash is symmetric), so at most one pipeline counts it.
//
// The probe is captured before its error (the error answers it), and each
// socket's ring is read in capture order. So a pipeline that has read a
// frame captured at or after the error's time has read the probe too, if
// the probe was its own: a quote it still lacks the flow of is not its
// flow's. A pipeline behind that point (a ring with a backlog, a
// goroutine starved on a loaded sensor) keeps the quote for its next
// tick, for at most maxQuoteTicks ticks. A quote is looked for at two
// ticks at least, as a frame's time is only close to capture order across
// CPUs. A quote every pipeline gave up on without finding its flow is
// counted (Unmatched).
type Quotes struct {
	inboxes []quoteInbox
	// Unmatched counts ICMP errors that quoted a flow no pipeline had.
	Unmatched atomic.Uint64
	// Dropped counts ICMP errors not forwarded because an inbox was
	// full: a flood of ICMP errors must not grow memory without bound.
	Dropped atomic.Uint64
}

// maxPendingQuotes bounds each pipeline's inbox.
const maxPendingQuotes = 1 << 16

// maxQuoteTicks bounds how many ticks a pipeline that has not read up to
// an error's time keeps looking for its flow. A pipeline that many seconds
// behind its socket is overloaded and its ring about to drop; an idle one,
// which reads no later frame, gives up only after this many, so on a quiet
// link an unmatched error is counted this late.
const maxQuoteTicks = 10

type quote struct {
	key       flow.Key
	typ, code uint8
	// at is the error's capture time (unix ns).
	at int64
	// misses counts the ticks at which the quote found no flow here.
	misses uint8
	// from is the pipeline that posted it: it already looked.
	from int
	// fate is shared by the copies posted to the other pipelines.
	fate *quoteFate
}

// quoteFate is what the pipelines a quote was posted to decided: whether
// one of them had the flow, and how many are still looking. The last to
// give up counts the quote as unmatched when none had it.
type quoteFate struct {
	matched atomic.Bool
	looking atomic.Int32
}

type quoteInbox struct {
	mu      sync.Mutex
	pending []quote
}

// NewQuotes returns the exchange of n pipelines; pipeline i is configured
// with Config.Quotes and Config.QuotesIndex = i.
func NewQuotes(n int) *Quotes { return &Quotes{inboxes: make([]quoteInbox, n)} }

// post hands an ICMP error captured at at that pipeline from could not
// attribute to every other pipeline.
func (q *Quotes) post(from int, k flow.Key, typ, code uint8, at int64) {
	fate := &quoteFate{}
	fate.looking.Store(int32(len(q.inboxes) - 1))
	for i := range q.inboxes {
		if i == from {
			continue
		}
		in := &q.inboxes[i]
		in.mu.Lock()
		if len(in.pending) < maxPendingQuotes {
			in.pending = append(in.pending, quote{key: k, typ: typ, code: code, at: at, from: from, fate: fate})
		} else {
			q.Dropped.Add(1)
			q.gaveUp(fate)
		}
		in.mu.Unlock()
	}
}

// gaveUp records that one more pipeline stopped looking for a quote's flow.
func (q *Quotes) gaveUp(f *quoteFate) {
	if f.looking.Add(-1) == 0 && !f.matched.Load() {
		q.Unmatched.Add(1)
	}
}

// take empties pipeline i's inbox into buf.
func (q *Quotes) take(i int, buf []quote) []quote {
	in := &q.inboxes[i]
	in.mu.Lock()
	buf = append(buf, in.pending...)
	in.pending = in.pending[:0]
	in.mu.Unlock()
	return buf
}

// keep puts back the quotes pipeline i will look for again at its next
// tick.
func (q *Quotes) keep(i int, qs []quote) {
	if len(qs) == 0 {
		return
	}
	in := &q.inboxes[i]
	in.mu.Lock()
	in.pending = append(in.pending, qs...)
	in.mu.Unlock()
}

// applyQuotes attributes the ICMP errors other pipelines posted to the
// flows of this pipeline's table. A quote is posted to every other
// pipeline, so a miss here is the normal case; it counts as unmatched when
// every pipeline gave up on it and none had its flow. This pipeline gives
// up once it has read past the error's time (see Quotes).
func (p *Pipeline) applyQuotes() {
	q := p.quotes
	if q == nil {
		return
	}
	p.quoteBuf = q.take(p.quoteIndex, p.quoteBuf[:0])
	w := p.workers[0]
	var again []quote
	for _, qt := range p.quoteBuf {
		if w.table.ICMPUnreachable(qt.key, qt.typ, qt.code) {
			w.stats.ICMPQuoted.Add(1)
			qt.fate.matched.Store(true)
			q.gaveUp(qt.fate)
			continue
		}
		qt.misses++
		readPast := p.tally.last >= qt.at
		if qt.misses < 2 || !readPast && qt.misses < maxQuoteTicks {
			again = append(again, qt)
		} else {
			q.gaveUp(qt.fate)
		}
	}
	q.keep(p.quoteIndex, again)
}

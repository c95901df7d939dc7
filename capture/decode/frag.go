package decode

import (
	"errors"
	"time"
)

// maxDatagram is the largest datagram fragments may rebuild: the IPv4 total
// length limit, and the end of the last byte an IPv6 fragment offset can
// address (jumbograms are never fragmented).
const maxDatagram = 65535

// maxSpans bounds the disjoint byte ranges one datagram may hold: in-order
// fragments coalesce into one span, so only a reordering or hostile sender
// needs more.
const maxSpans = 64

var (
	errFragOverlap   = errors.New("fragment overlaps data already held with different bounds")
	errFragBeyondEnd = errors.New("fragment ends beyond the datagram's last fragment")
	errFragTooBig    = errors.New("fragment ends beyond 65535 bytes")
	errFragEmpty     = errors.New("empty fragment")
	errFragSpans     = errors.New("too many disjoint fragments in one datagram")
	errFragCut       = errors.New("fragment cut by the snap length")
	errFragNested    = errors.New("fragment inside a reassembled datagram")
)

// fragKey identifies a datagram: RFC 791 keys IPv4 fragments by source,
// destination, protocol and ID; RFC 8200 keys IPv6 ones by source,
// destination and ID (proto is 0 for them).
type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    uint8
	is4      bool
}

type span struct{ start, end int }

// datagram is one datagram being rebuilt. Its buffers are kept when it is
// released so that steady fragment traffic does not allocate.
type datagram struct {
	key   fragKey
	data  []byte
	spans []span
	total int // datagram length, -1 until the last fragment arrived

	// proto is the protocol of the rebuilt payload: the IPv4 protocol, or
	// the Next Header of the IPv6 fragment at offset 0.
	proto    uint8
	hasFirst bool

	frames  int
	wireLen int
	last    int64  // time of the newest fragment, unix ns
	seq     uint64 // order of creation: breaks ties in last, so eviction is deterministic
}

// reassembler rebuilds IPv4 and IPv6 datagrams. gopacket's ip4defrag and
// ip6defrag are not used: both keep the caller's layer (and so the frame
// buffer) by pointer, which the reused layers of a DecodingLayerParser
// overwrite on the next packet; neither bounds how many datagrams it holds;
// and ip6defrag times datagrams by the wall clock, which is wrong when
// replaying a capture. This one copies fragment bytes into buffers it owns,
// keys time on packet timestamps and holds at most max datagrams.
type reassembler struct {
	max     int
	timeout int64
	pending map[fragKey]*datagram
	free    []*datagram

	nextSweep int64
	seq       uint64
	c         *counters

	// out holds the last datagram rebuilt; Packet.Payload may alias it
	// until the next Decode. done describes it.
	out  []byte
	done datagram
}

func newReassembler(max int, timeout time.Duration, c *counters) *reassembler {
	return &reassembler{
		max:     max,
		timeout: int64(timeout),
		pending: make(map[fragKey]*datagram, max),
		c:       c,
	}
}

// fragment is one fragment as the IP layer found it.
type fragment struct {
	key     fragKey
	offset  int // bytes
	more    bool
	proto   uint8 // protocol after the fragment header (IPv6) or of the datagram (IPv4)
	data    []byte
	wantLen int // payload length the IP header announces
	ts      int64
	wireLen int
}

// add stores a fragment. It returns the datagram once it is complete (its
// payload in r.out, valid until the next add), nil while fragments are
// missing, or an error after which the datagram is dropped.
func (r *reassembler) add(f *fragment) (*datagram, error) {
	r.expire(f.ts)
	if len(f.data) < f.wantLen {
		// Bytes the capture never saw cannot be rebuilt; the datagram stays
		// pending and expires.
		return nil, errFragCut
	}
	length := f.wantLen
	if f.more {
		// Only whole 8-byte units of a non-final fragment count (RFC 791,
		// RFC 8200), as receivers do.
		length &^= 7
	}
	if length <= 0 {
		r.drop(f.key)
		return nil, errFragEmpty
	}
	start, end := f.offset, f.offset+length
	if end > maxDatagram {
		r.drop(f.key)
		return nil, errFragTooBig
	}

	dg := r.pending[f.key]
	if dg == nil {
		dg = r.alloc(f.key, f.ts)
	}
	dg.frames++
	dg.wireLen += f.wireLen
	dg.last = f.ts

	switch {
	case !f.more:
		if (dg.total >= 0 && end != dg.total) || end < dg.highest() {
			r.drop(f.key)
			return nil, errFragBeyondEnd
		}
		dg.total = end
	case dg.total >= 0 && end > dg.total:
		r.drop(f.key)
		return nil, errFragBeyondEnd
	}
	dup, err := dg.insert(start, end)
	if err != nil {
		r.drop(f.key)
		return nil, err
	}
	if dup {
		// A repeat of bytes already held: the retransmitted frame still
		// counts towards the datagram's frames and bytes.
		return nil, nil
	}
	if cap(dg.data) < end {
		grown := make([]byte, end, min(maxDatagram, max(end, 2*cap(dg.data))))
		copy(grown, dg.data)
		dg.data = grown
	} else if len(dg.data) < end {
		dg.data = dg.data[:end]
	}
	copy(dg.data[start:end], f.data)
	if start == 0 {
		dg.hasFirst = true
		dg.proto = f.proto
	}
	if dg.total < 0 || len(dg.spans) != 1 || dg.spans[0] != (span{0, dg.total}) {
		return nil, nil
	}

	// Complete: hand the bytes over in r.out and recycle the slot at once,
	// so that a flood of completed datagrams holds nothing.
	r.out = append(r.out[:0], dg.data[:dg.total]...)
	r.done = datagram{key: dg.key, data: r.out, total: dg.total, proto: dg.proto,
		hasFirst: dg.hasFirst, frames: dg.frames, wireLen: dg.wireLen, last: dg.last}
	delete(r.pending, f.key)
	r.release(dg)
	r.c.reassembled.Add(1)
	r.c.fragPending.Store(uint64(len(r.pending)))
	return &r.done, nil
}

func (dg *datagram) highest() int {
	if len(dg.spans) == 0 {
		return 0
	}
	return dg.spans[len(dg.spans)-1].end
}

// insert merges [start, end) into the sorted, disjoint spans. dup reports a
// fragment wholly inside one span already held; any other overlap is an
// error, as Linux and ip4defrag treat it (RFC 5722 for IPv6).
func (dg *datagram) insert(start, end int) (dup bool, err error) {
	i := 0
	for i < len(dg.spans) && dg.spans[i].end < start {
		i++
	}
	// dg.spans[i] is the first span that ends at or after start.
	if i < len(dg.spans) {
		s := dg.spans[i]
		if s.start <= start && end <= s.end {
			return true, nil
		}
		if s.start < end && start < s.end {
			return false, errFragOverlap
		}
		if i+1 < len(dg.spans) && dg.spans[i+1].start < end {
			return false, errFragOverlap
		}
	}
	touchLeft := i < len(dg.spans) && dg.spans[i].end == start
	touchRight := false
	j := i
	if touchLeft {
		j = i + 1
	}
	if j < len(dg.spans) && dg.spans[j].start == end {
		touchRight = true
	}
	switch {
	case touchLeft && touchRight:
		dg.spans[i].end = dg.spans[j].end
		dg.spans = append(dg.spans[:j], dg.spans[j+1:]...)
	case touchLeft:
		dg.spans[i].end = end
	case touchRight:
		dg.spans[j].start = start
	default:
		if len(dg.spans) >= maxSpans {
			return false, errFragSpans
		}
		dg.spans = append(dg.spans, span{})
		copy(dg.spans[j+1:], dg.spans[j:])
		dg.spans[j] = span{start, end}
	}
	return false, nil
}

func (r *reassembler) alloc(key fragKey, ts int64) *datagram {
	if len(r.pending) >= r.max {
		r.evictOldest()
	}
	var dg *datagram
	if n := len(r.free); n > 0 {
		dg = r.free[n-1]
		r.free = r.free[:n-1]
	} else {
		dg = &datagram{}
	}
	r.seq++
	*dg = datagram{key: key, data: dg.data[:0], spans: dg.spans[:0], total: -1, last: ts, seq: r.seq}
	r.pending[key] = dg
	r.c.fragPending.Store(uint64(len(r.pending)))
	return dg
}

func (r *reassembler) release(dg *datagram) {
	if len(r.free) < r.max {
		r.free = append(r.free, dg)
	}
}

func (r *reassembler) drop(key fragKey) {
	if dg := r.pending[key]; dg != nil {
		delete(r.pending, key)
		r.release(dg)
		r.c.fragPending.Store(uint64(len(r.pending)))
	}
}

// expire drops datagrams idle for longer than the timeout. It scans at most
// every half timeout, so its cost is spread thin.
func (r *reassembler) expire(now int64) {
	if now < r.nextSweep || len(r.pending) == 0 {
		return
	}
	r.nextSweep = now + r.timeout/2
	for k, dg := range r.pending {
		if now-dg.last > r.timeout {
			delete(r.pending, k)
			r.release(dg)
			r.c.fragExpired.Add(1)
		}
	}
	r.c.fragPending.Store(uint64(len(r.pending)))
}

func (r *reassembler) evictOldest() {
	var oldest *datagram
	for _, dg := range r.pending {
		if oldest == nil || dg.last < oldest.last || (dg.last == oldest.last && dg.seq < oldest.seq) {
			oldest = dg
		}
	}
	if oldest != nil {
		delete(r.pending, oldest.key)
		r.release(oldest)
		r.c.fragEvicted.Add(1)
	}
}

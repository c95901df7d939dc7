// Package tcpstream puts the segments of one direction of a TCP connection
// back in sequence order, for parsers that need a byte stream (TLS
// handshakes, DNS and SIP over TCP) rather than packets.
//
// A Buffer is deliberately small: it holds at most a configured number of
// bytes, keeps a handful of out-of-order segments, and when the capture lost
// data (or the peer is far ahead) it skips the hole and counts it instead of
// waiting forever. Parsers watch Gaps to know the stream is no longer
// contiguous. In steady state Add allocates nothing: the in-order bytes and
// the held segments reuse their backing arrays.
package tcpstream

const (
	// DefaultMax bounds a Buffer initialised with a non-positive max.
	DefaultMax = 64 << 10

	// maxHeld is how many out-of-order segments wait for a hole to fill.
	// A real reordering rarely spans more than a few segments; past that
	// the missing data was most likely not captured at all.
	maxHeld = 8

	// keepCap is the largest backing array Reset keeps: enough for the
	// typical handshake, small enough that a million idle buffers are cheap.
	keepCap = 4 << 10

	// minGrow is the first allocation for in-order bytes.
	minGrow = 512

	flagSYN = 0x02 // TCP SYN, as in flow.FlagSYN
)

// segment is an out-of-order segment waiting for the bytes before it.
// data owns its memory: the caller's payload aliases a packet buffer.
type segment struct {
	seq  uint32
	data []byte
}

// Buffer reassembles one direction of a TCP connection in sequence order,
// bounded. The zero value is usable after Init. A Buffer is not safe for
// concurrent use.
type Buffer struct {
	max int

	buf []byte // in-order bytes; the unconsumed ones are buf[off:]
	off int

	next     uint32 // sequence number of the next in-order byte
	started  bool   // next is meaningful
	received bool   // a payload byte was placed since the start

	held      [maxHeld]segment // held[:nheld] are in use
	nheld     int
	heldBytes int

	gaps int
}

// Init sets the bound on buffered bytes (in-order plus held out-of-order)
// and clears the buffer. A non-positive max means DefaultMax.
func (b *Buffer) Init(max int) {
	if max <= 0 {
		max = DefaultMax
	}
	b.Reset()
	b.max = max
}

// Reset forgets the stream and the gap count and releases backing arrays
// larger than a few KiB, so a pooled Buffer stays small.
func (b *Buffer) Reset() {
	if cap(b.buf) > keepCap {
		b.buf = nil
	}
	b.buf = b.buf[:0]
	b.off = 0
	for i := range b.held {
		if cap(b.held[i].data) > keepCap {
			b.held[i].data = nil
		}
		b.held[i].data = b.held[i].data[:0]
	}
	b.nheld, b.heldBytes = 0, 0
	b.next, b.started, b.received = 0, false, false
	b.gaps = 0
}

// Bytes returns the contiguous in-order bytes not yet consumed. The slice is
// valid until the next Add, Consume or Reset.
func (b *Buffer) Bytes() []byte { return b.buf[b.off:] }

// Consume drops the first n bytes of Bytes.
func (b *Buffer) Consume(n int) {
	if n <= 0 {
		return
	}
	if n >= len(b.buf)-b.off {
		b.buf, b.off = b.buf[:0], 0
		return
	}
	b.off += n
}

// Gaps is the number of holes skipped: data the capture lost, or bytes
// dropped because the buffer was full. Bytes on either side of a gap are
// adjacent in Bytes, so a parser should stop trusting message boundaries
// once Gaps grows.
func (b *Buffer) Gaps() int { return b.gaps }

// Add places one segment. A SYN sets the initial sequence number; without
// one (a capture that starts mid-connection) the first segment carrying
// data sets the start. Bytes already received are trimmed, bytes beyond a
// hole are held until it fills, and when the hold is full the hole is
// skipped and counted.
func (b *Buffer) Add(seq uint32, flags uint8, payload []byte) {
	if b.max == 0 {
		b.max = DefaultMax
	}
	if flags&flagSYN != 0 {
		// A retransmitted SYN carries the same ISN; a SYN after data is
		// noise (port reuse ends the flow before it gets here).
		if !b.received {
			b.next, b.started = seq+1, true
		}
		seq++ // the SYN occupies one sequence number; TFO data follows it
	}
	if len(payload) == 0 {
		return
	}
	if !b.started {
		b.next, b.started = seq, true
	}
	b.received = true
	b.place(seq, payload)
}

func (b *Buffer) place(seq uint32, p []byte) {
	for {
		d := int64(int32(seq - b.next))
		if d <= 0 {
			if -d >= int64(len(p)) {
				return // wholly retransmitted
			}
			b.appendInOrder(p[-d:])
			b.drain()
			return
		}
		if b.nheld < maxHeld && b.total()+len(p) <= b.max {
			b.hold(seq, p)
			return
		}
		if b.nheld == 0 {
			// Nothing to wait for and no room to wait: jump to this segment.
			b.skipTo(seq)
			continue
		}
		// Give up on the oldest hole: jump to the earliest held segment and
		// release what becomes contiguous, then try again.
		b.skipTo(b.held[b.earliest()].seq)
		b.drain()
	}
}

func (b *Buffer) total() int { return len(b.buf) - b.off + b.heldBytes }

func (b *Buffer) skipTo(seq uint32) {
	if int32(seq-b.next) > 0 {
		b.next = seq
		b.gaps++
	}
}

// appendInOrder appends p, which starts at next. What does not fit under
// max is lost and counted as a gap, so later segments still line up.
func (b *Buffer) appendInOrder(p []byte) {
	n := len(p)
	b.next += uint32(n)
	if room := b.max - b.total(); n > room {
		if room < 0 {
			room = 0
		}
		p = p[:room]
		b.gaps++
	}
	if len(p) == 0 {
		return
	}
	b.reserve(len(p))
	b.buf = append(b.buf, p...)
}

// reserve makes room for n more in-order bytes without exceeding max:
// first by sliding out consumed bytes, then by growing geometrically.
func (b *Buffer) reserve(n int) {
	if len(b.buf)+n <= cap(b.buf) {
		return
	}
	if b.off > 0 {
		k := copy(b.buf, b.buf[b.off:])
		b.buf, b.off = b.buf[:k], 0
		if k+n <= cap(b.buf) {
			return
		}
	}
	want := len(b.buf) + n
	c := 2 * cap(b.buf)
	if c < minGrow {
		c = minGrow
	}
	if c < want {
		c = want
	}
	if c > b.max {
		c = b.max
	}
	nb := make([]byte, len(b.buf), c)
	copy(nb, b.buf)
	b.buf = nb
}

func (b *Buffer) hold(seq uint32, p []byte) {
	s := &b.held[b.nheld]
	s.seq = seq
	s.data = append(s.data[:0], p...)
	b.nheld++
	b.heldBytes += len(p)
}

func (b *Buffer) earliest() int {
	e := 0
	for i := 1; i < b.nheld; i++ {
		if int32(b.held[i].seq-b.held[e].seq) < 0 {
			e = i
		}
	}
	return e
}

// drain moves held segments that the in-order bytes have reached.
func (b *Buffer) drain() {
	for {
		i := b.reached()
		if i < 0 {
			return
		}
		s := b.held[i]
		b.heldBytes -= len(s.data)
		b.nheld--
		// Swap rather than overwrite so the slot keeps its backing array.
		b.held[i], b.held[b.nheld] = b.held[b.nheld], b.held[i]
		if d := int64(int32(b.next - s.seq)); d < int64(len(s.data)) {
			b.appendInOrder(s.data[d:])
		}
	}
}

func (b *Buffer) reached() int {
	for i := 0; i < b.nheld; i++ {
		if int32(b.held[i].seq-b.next) <= 0 {
			return i
		}
	}
	return -1
}

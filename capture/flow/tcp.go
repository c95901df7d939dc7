package flow

import "math/bits"

// The TCP connection model below follows Zeek's TCP analyzer
// (src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc, TCP_Endpoint and
// TCP_Reassembler in src/analyzer/protocol/tcp): each endpoint walks
// Zeek's endpoint states, and conn_state, history letters and sequence
// byte counts are derived from them the way Zeek derives them.
// docs/conn-state.md lists each rule and what differs.

// epState is Zeek's TCP_ENDPOINT_* state of one endpoint.
type epState uint8

const (
	epInactive epState = iota
	epSynSent
	epSynAckSent
	epPartial
	epEstablished
	epClosed
	epReset
)

// tooLargeSeqDelta is Zeek's TOO_LARGE_SEQ_DELTA: SYN and RST sequence
// numbers further than this from the last one are not trusted.
const tooLargeSeqDelta = 1 << 20

// maxHoles bounds the out-of-order blocks an endpoint remembers above its
// reassembly point: content-gap detection needs only their sequence
// ranges, never their bytes.
const maxHoles = 3

// seqRange is a block of received sequence space, stored as the low 32
// bits of its relative bounds: a block always lies less than 4 GiB above
// the reassembly point, which restores the high bits.
type seqRange struct{ lo, hi uint32 }

// Scaled history events of a TCP endpoint.
const (
	evChecksum = iota
	evRexmit
	evZeroWindow
	evGap
	numEvents
)

// tcpEndpoint is what Zeek's TCP_Endpoint and TCP_Reassembler keep for one
// side, without any payload.
type tcpEndpoint struct {
	state, prev epState
	sentFIN     bool
	nblocks     uint8
	seqWraps    uint16
	ackWraps    uint16
	startSeq    uint32
	lastSeq     uint32
	ackSeq      uint32
	finSeq      uint64 // relative sequence just past the FIN

	// Low 32 bits of the relative sequence of the last SYN, FIN and RST,
	// for Zeek's rule that a repeat with a new sequence number is a new
	// letter.
	histLastSYN, histLastFIN, histLastRST uint32

	// Counts and next-threshold exponents of the scaled history events.
	evCount [numEvents]uint32
	evExp   [numEvents]uint8

	// Reassembly bookkeeping: the next relative sequence number not yet
	// contiguous from the start (Zeek's last_reassem_seq), the point up to
	// which acknowledgements trimmed (trim_seq), and the blocks received
	// above a hole.
	reassem, trim uint64
	blocks        [maxHoles]seqRange
}

// tcpConn is the TCP state of a flow. ep[orig] is the originator's
// endpoint; a flip changes orig, not the endpoints, as Zeek swaps its
// endpoint pointers.
type tcpConn struct {
	ep        [2]tcpEndpoint
	orig      uint8
	firstSeen uint8 // Zeek's first_packet_seen: bit 0 originator, bit 1 responder
	partial   bool  // Zeek's is_partial
	sawSYN    bool  // originator sent a SYN without ACK
	sawSYNACK bool  // responder sent a SYN-ACK
	// finAlone is set when an endpoint sent a FIN while its peer had sent
	// nothing: Zeek's ConnectionClosed counts that close as complete.
	finAlone bool
}

func (c *tcpConn) reset() {
	*c = tcpConn{}
	for i := range c.ep {
		c.ep[i].reassem, c.ep[i].trim = 1, 1
	}
}

func (c *tcpConn) origEP() *tcpEndpoint { return &c.ep[c.orig] }
func (c *tcpConn) respEP() *tcpEndpoint { return &c.ep[c.orig^1] }

// closed reports whether the connection is over for the table's linger,
// as Zeek's ConnectionClosed finds the close complete: a RST from either
// side, a FIN from both, or a FIN while the peer had sent nothing (the
// peer's later packets do not reopen it).
// Both endpoints are tested alike, so which one is the originator does
// not matter.
func (c *tcpConn) closed() bool {
	a, b := c.ep[0].state, c.ep[1].state
	return c.finAlone || a == epReset || b == epReset || (a == epClosed && b == epClosed)
}

// reusedBy is Zeek's TCPSessionAdapter::IsReuse for a SYN (flags has
// SYN) with sequence number seq: whether it starts a new connection on
// the 4-tuple. A SYN-ACK only can while the originator has sent nothing
// (a half connection). Once either side sent a FIN or a RST (Zeek's
// did_close; those states are never left) every such SYN does; before
// that, one whose number is not the first SYN's, unless it is the SYN of
// a SYN/SYN-ACK pair captured in reverse order.
func (c *tcpConn) reusedBy(flags uint8, seq uint32) bool {
	o, r := c.origEP(), c.respEP()
	first := o
	if flags&FlagACK != 0 {
		if o.state != epInactive {
			return false
		}
		first = r
	}
	done := func(e *tcpEndpoint) bool { return e.state == epClosed || e.state == epReset }
	if done(o) || done(r) {
		return true
	}
	if seq == first.startSeq {
		return false
	}
	reversed := flags&FlagACK == 0 && first.state == epSynAckSent && r.state == epInactive && seq == r.startSeq
	return !reversed
}

func seqDelta(a, b uint32) int32 { return int32(a - b) }

func (e *tcpEndpoint) setState(s epState) {
	if s != e.state {
		e.prev = e.state
		e.state = s
	}
}

func (e *tcpEndpoint) initSeqs(start, ack, last uint32) {
	e.startSeq, e.ackSeq, e.lastSeq = start, ack, last
	e.seqWraps, e.ackWraps = 0, 0
}

func (e *tcpEndpoint) advanceLastSeq(s uint32) {
	if s < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = s
}

func (e *tcpEndpoint) updateAckSeq(s uint32) {
	if s < e.ackSeq {
		e.ackWraps++
	}
	e.ackSeq = s
}

func fullSeq(s uint32, wraps uint16) uint64 { return uint64(wraps)<<32 | uint64(s) }

// relSeq is Zeek's get_relative_seq: s relative to the endpoint's start,
// with wrap-around tracked against last. underflow reports a sequence
// number before the start.
func (e *tcpEndpoint) relSeq(s, last uint32, wraps uint16) (rel uint64, underflow bool) {
	d := seqDelta(s, last)
	if d < 0 && wraps > 0 && s > last {
		wraps--
	} else if d > 0 && s < last {
		wraps++
	}
	if wraps == 0 {
		d = seqDelta(s, e.startSeq)
		return uint64(int64(d)), d < 0
	}
	return fullSeq(s, wraps) - uint64(e.startSeq), false
}

// noDataAcked is Zeek's NoDataAcked: at most the SYN octet acknowledged.
func (e *tcpEndpoint) noDataAcked() bool {
	ack := fullSeq(e.ackSeq, e.ackWraps)
	start := uint64(e.startSeq)
	return ack == start || ack == start+1
}

// size is Zeek's TCP_Endpoint::Size: payload bytes by sequence numbers,
// the furthest of what was sent and what the peer acknowledged, less the
// SYN and FIN octets.
func (e *tcpEndpoint) size(peer *tcpEndpoint) uint64 {
	if e.prev == epSynSent && e.state == epReset && peer.state == epInactive && !e.noDataAcked() {
		return 0
	}
	last, ack := fullSeq(e.lastSeq, e.seqWraps), fullSeq(e.ackSeq, e.ackWraps)
	top := max(last, ack)
	var size uint64
	if top > uint64(e.startSeq) {
		size = top - uint64(e.startSeq)
	}
	if size != 0 {
		size--
	}
	if e.sentFIN && size != 0 {
		size--
	}
	return size
}

var pow10 = [...]uint32{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// scaledEvent is Zeek's Session::ScaledHistoryEntry with base 10: the
// letter at the 1st, 10th, 100th... event. exp is the power of ten of the
// next threshold.
func (h *history) scaledEvent(cnt *uint32, exp *uint8, c byte) {
	*cnt++
	if *cnt != pow10[*exp] {
		return
	}
	h.append(c)
	if int(*exp)+1 < len(pow10) {
		*exp++
	} else {
		// Zeek's threshold stops growing where it would overflow 32
		// bits; its counter starts over.
		*cnt = 0
	}
}

// event records a scaled event of endpoint ei with its letter.
func (f *Flow) event(ei uint8, ev int, code byte) {
	e := &f.tcp.ep[ei]
	f.history.scaledEvent(&e.evCount[ev], &e.evExp[ev], caseFor(ei == f.tcp.orig, code))
}

// segment is one TCP packet as the state machine reads it.
type segment struct {
	flags   uint8
	seq     uint32
	ack     uint32
	zeroWin bool
	len     uint32 // payload length per the IP header
	cut     bool   // payload not wholly captured
}

func (s *segment) syn() bool { return s.flags&FlagSYN != 0 }
func (s *segment) fin() bool { return s.flags&FlagFIN != 0 }
func (s *segment) rst() bool { return s.flags&FlagRST != 0 }
func (s *segment) ack_() bool {
	return s.flags&FlagACK != 0
}

// segLen is Zeek's get_segment_len: the sequence space a segment takes.
func (s *segment) segLen() uint32 {
	n := s.len
	if s.syn() {
		n++
	}
	if s.fin() {
		n++
	}
	if s.rst() {
		n -= s.len
	}
	return n
}

// tcpPacket runs one valid-checksum TCP packet through Zeek's
// TCPSessionAdapter::Process. It returns whether the connection flipped.
func (f *Flow) tcpPacket(isOrig bool, s *segment, quiet bool) (flipped bool) {
	c := f.tcp
	origBefore := c.orig
	ei := c.orig
	if !isOrig {
		ei ^= 1
	}
	e, peer := &c.ep[ei], &c.ep[ei^1]

	// SetPartialStatus.
	if isOrig {
		if c.firstSeen&1 == 0 {
			c.partial = !s.syn() || s.ack_()
		}
	} else if c.firstSeen&2 == 0 && !c.partial {
		c.partial = !s.syn()
	}

	segLen := s.segLen()
	onePast := s.seq + segLen
	// The calls below are guarded by what each needs to do anything, so
	// established traffic in order (most packets) skips them.
	if s.syn() || e.state == epInactive {
		e.initEndpoint(s, onePast)
	}

	rel, underflow := e.relSeq(s.seq, e.lastSeq, e.seqWraps)

	if !quiet {
		f.updateHistory(ei, s, rel)
	}
	if s.zeroWin {
		f.updateWindow(ei, s, quiet)
	}

	if s.fin() {
		e.sentFIN = true
		e.finSeq = rel + uint64(segLen)
	}

	var relAck uint64
	if s.ack_() {
		if peer.state == epInactive {
			relAck = 1
			peer.initSeqs(s.ack-1, s.ack-1, s.ack-1)
		} else {
			var ackUnder bool
			relAck, ackUnder = peer.relSeq(s.ack, peer.ackSeq, peer.ackWraps)
			if ackUnder {
				relAck = 0
			} else if !s.rst() {
				if d := seqDelta(s.ack, peer.ackSeq); !(s.ack == 0 && d > tooLargeSeqDelta) && d > 0 {
					peer.updateAckSeq(s.ack)
				}
			}
		}
	}

	f.updateLastSeq(ei, onePast, s, quiet)
	if e.state == epInactive || s.flags&(FlagSYN|FlagFIN|FlagRST) != 0 {
		f.updateStateMachine(ei, s, isOrig)
	}
	// The peer's state never returns to INACTIVE, so a FIN that finds it
	// there finds it there at the endpoint's first FIN too. Kernel-counted
	// flags (quiet) replay one side before the other: no evidence.
	if s.fin() && e.state == epClosed && peer.state == epInactive && !quiet {
		c.finAlone = true
	}

	// ackReceived does nothing for an acknowledgement at or below the
	// point acknowledgements already trimmed to (a pure ACK for no new
	// data): its clamp to the FIN only lowers the number, except for a
	// FIN that ended at the endpoint's start, whose finSeq wrapped to 0
	// and whose clamp (finSeq-1) raises it.
	if s.ack_() && !quiet && (relAck > peer.trim || peer.sentFIN && peer.finSeq == 0) {
		f.ackReceived(ei^1, relAck)
	}

	relData := rel
	if s.syn() {
		relData++
	}
	if s.len > 0 && !s.rst() && !underflow && !s.cut && !quiet {
		e.dataSent(relData, uint64(s.len))
	}
	// Zeek's CheckPIA_FirstPacket marks the sender's first packet seen by
	// the role it had when the packet arrived.
	if isOrig {
		c.firstSeen |= 1
	} else {
		c.firstSeen |= 2
	}
	// For Established: the roles now, after any flip.
	if ei == c.orig {
		c.sawSYN = c.sawSYN || (s.syn() && !s.ack_())
	} else {
		c.sawSYNACK = c.sawSYNACK || (s.syn() && s.ack_())
	}
	return c.orig != origBefore
}

// initEndpoint is Zeek's init_endpoint.
func (e *tcpEndpoint) initEndpoint(s *segment, last uint32) {
	switch e.state {
	case epInactive:
		if s.syn() {
			e.initSeqs(s.seq, s.seq, last)
		} else {
			// A partial connection: number as though a SYN was seen, and
			// keep the first packet from counting as a duplicate.
			e.initSeqs(s.seq-1, s.seq-1, s.seq)
		}
	case epSynSent, epSynAckSent:
		if s.syn() && s.seq != e.startSeq {
			e.initSeqs(s.seq, s.seq, last)
		}
	case epEstablished, epPartial:
		if s.syn() {
			e.initSeqs(s.seq, s.seq, last)
		}
	case epReset:
		if s.syn() && e.prev == epInactive {
			e.initSeqs(s.seq, s.seq, last)
		}
	}
}

// updateHistory is Zeek's update_history with TCP_Endpoint::CheckHistory's
// late flip of a connection that began with a SYN-ACK.
func (f *Flow) updateHistory(ei uint8, s *segment, rel uint64) {
	c := f.tcp
	e := &c.ep[ei]
	h := &f.history
	bits := bits.OnesCount8(s.flags & (FlagSYN | FlagFIN | FlagRST))
	// check is TCP_Endpoint::CheckHistory and add its AddHistory: the
	// letter's case and the mask's half follow the endpoint's role at the
	// moment of the call, after any flip.
	check := func(m uint32, code byte) bool {
		orig := ei == c.orig
		return h.check(maskFor(orig, m), caseFor(orig, code))
	}
	add := func(code byte) { h.append(caseFor(ei == c.orig, code)) }
	switch {
	case bits > 1:
		if s.fin() && s.rst() {
			check(histFINRST, 'I')
		} else {
			check(histMulti, 'Q')
		}
	case bits == 1:
		if s.syn() {
			code := byte('S')
			if s.ack_() {
				code = 'H'
			}
			if check(histSYN, code) && uint32(rel) != e.histLastSYN {
				add(code)
			}
			e.histLastSYN = uint32(rel)
		}
		if s.fin() {
			// A FIN's sequence number is the one after its data.
			end := uint32(rel) + s.len
			if check(histFIN, 'F') && end != e.histLastFIN {
				add('F')
			}
			e.histLastFIN = end
		}
		if s.rst() {
			if check(histRST, 'R') && uint32(rel) != e.histLastRST {
				add('R')
			}
			e.histLastRST = uint32(rel)
		}
	default:
		var m uint32
		var code byte
		switch {
		case s.len > 0:
			m, code = histData, 'D'
		case s.ack_():
			m, code = histAck, 'A'
		default:
			return
		}
		if h.is("H") {
			// A connection that began with a SYN-ACK, now with productive
			// traffic: Zeek flips it and pretends the missing SYN was seen.
			f.flip()
			h.replace("^h")
			c.firstSeen |= 1
		}
		check(m, code)
	}
}

// updateWindow is the zero-window part of Zeek's update_window. A zero
// window is zero whatever the scale, so the scale option is not needed;
// window recisions are only a weird in Zeek.
func (f *Flow) updateWindow(ei uint8, s *segment, quiet bool) {
	c := f.tcp
	e, peer := &c.ep[ei], &c.ep[ei^1]
	if s.zeroWin && !s.rst() && peer.state != epClosed && e.state != epReset && !quiet {
		f.event(ei, evZeroWindow, 'W')
	}
}

// updateLastSeq is Zeek's update_last_seq; a segment wholly at or below
// the highest sequence seen that carries payload is a retransmission.
func (f *Flow) updateLastSeq(ei uint8, last uint32, s *segment, quiet bool) {
	c := f.tcp
	e := &c.ep[ei]
	d := seqDelta(last, e.lastSeq)
	switch {
	case (s.syn() || s.rst()) && (d > tooLargeSeqDelta || d < -tooLargeSeqDelta):
	case s.fin() && e.lastSeq == e.startSeq+1:
		e.advanceLastSeq(last)
	case e.state == epReset:
	case d > 0:
		e.advanceLastSeq(last)
	case d <= 0 && s.len > 0:
		if !quiet {
			f.event(ei, evRexmit, 'T')
		}
	}
}

// updateStateMachine is Zeek's UpdateStateMachine with its per-state
// handlers, reduced to the state changes (Zeek's events and weirds have
// no counterpart here).
func (f *Flow) updateStateMachine(ei uint8, s *segment, isOrig bool) {
	c := f.tcp
	e, peer := &c.ep[ei], &c.ep[ei^1]
	switch e.state {
	case epInactive:
		f.updateInactive(ei, s, isOrig)
	case epSynSent, epSynAckSent:
		if s.fin() {
			e.setState(epClosed)
		}
		if s.rst() {
			e.setState(epReset)
		}
	case epEstablished, epPartial:
		if s.syn() && e.state == epPartial && peer.state == epInactive && !s.ack_() {
			e.setState(epSynSent)
		}
		if s.fin() && !s.rst() {
			e.setState(epClosed)
			if peer.state == epReset && peer.prev == epClosed {
				// The peer sent a FIN then a RST: a normal termination.
				peer.setState(epClosed)
			}
		}
		if s.rst() {
			e.setState(epReset)
		}
	case epClosed:
		// A RST once the peer has also closed changes nothing: the FIN
		// exchange already ended the connection.
		if s.rst() && peer.state != epClosed {
			e.setState(epReset)
		}
	case epReset:
	}
}

// updateInactive is Zeek's UpdateInactiveState.
func (f *Flow) updateInactive(ei uint8, s *segment, isOrig bool) {
	c := f.tcp
	e, peer := &c.ep[ei], &c.ep[ei^1]
	if s.syn() {
		if isOrig {
			if s.ack_() {
				e.setState(epSynAckSent)
			} else {
				e.setState(epSynSent)
			}
		} else {
			if !s.ack_() && peer.state == epSynAckSent && s.seq == e.startSeq {
				// A SYN answering a SYN-ACK: the roles were reversed.
				c.partial = false
				f.flip()
				peer.setState(epEstablished)
				c.firstSeen |= 1
			}
			if peer.state == epSynSent {
				peer.setState(epEstablished)
			}
			e.setState(epEstablished)
		}
	}
	if s.fin() {
		e.setState(epClosed)
	}
	if s.rst() {
		e.setState(epReset)
	}
	if e.state != epInactive {
		return
	}
	origState := c.origEP().state
	switch {
	case !isOrig && s.len == 0 && origState == epSynSent:
		// Some stacks ACK a SYN before answering it: not yet a partial
		// connection.
	case s.ack_() && peer.state == epEstablished:
		// A SYN-ACK was seen but not the SYN, and now a pure ACK: the
		// SYN was missed; establish.
		e.setState(epEstablished)
		c.partial = false
		if isOrig {
			c.firstSeen |= 1
		} else {
			c.firstSeen |= 2
		}
	default:
		e.setState(epPartial)
	}
}

// dataSent is the reassembler's part of Zeek's DataSent: it records which
// sequence ranges arrived, to find the holes acknowledgements later reveal.
func (e *tcpEndpoint) dataSent(seq, n uint64) {
	end := seq + n
	if end <= e.trim || end <= e.reassem {
		return
	}
	if seq < e.trim {
		seq = e.trim
	}
	if seq <= e.reassem {
		e.reassem = end
		e.absorbBlocks()
		return
	}
	if end-e.reassem >= 1<<31 {
		// Implausibly far ahead (a sequence jump): not a block to wait for.
		return
	}
	e.insertBlock(seq, end)
}

// block returns block i's relative bounds.
func (e *tcpEndpoint) block(i int) (lo, hi uint64) {
	b := e.blocks[i]
	base := uint32(e.reassem)
	return e.reassem + uint64(b.lo-base), e.reassem + uint64(b.hi-base)
}

// absorbBlocks moves the reassembly point over blocks that now join it.
// Blocks are sorted and disjoint, so only the first can.
func (e *tcpEndpoint) absorbBlocks() {
	for e.nblocks > 0 {
		lo, hi := e.block(0)
		if lo > e.reassem {
			return
		}
		e.removeBlock(0)
		e.reassem = max(e.reassem, hi)
	}
}

func (e *tcpEndpoint) removeBlock(i int) {
	copy(e.blocks[i:e.nblocks], e.blocks[i+1:e.nblocks])
	e.nblocks--
}

// insertBlock adds [lo,hi), above the reassembly point, to the sorted
// block list, merging overlaps. When the list is full the two closest
// blocks merge: the smallest hole is forgotten rather than a block, so a
// gap may go unreported but none is invented.
func (e *tcpEndpoint) insertBlock(lo, hi uint64) {
	for {
		i := 0
		for i < int(e.nblocks) {
			if _, bhi := e.block(i); bhi >= lo {
				break
			}
			i++
		}
		j := i
		for j < int(e.nblocks) {
			blo, bhi := e.block(j)
			if blo > hi {
				break
			}
			lo, hi = min(lo, blo), max(hi, bhi)
			j++
		}
		if j > i {
			e.blocks[i] = seqRange{uint32(lo), uint32(hi)}
			copy(e.blocks[i+1:], e.blocks[j:e.nblocks])
			e.nblocks -= uint8(j - i - 1)
			return
		}
		if int(e.nblocks) < maxHoles {
			copy(e.blocks[i+1:e.nblocks+1], e.blocks[i:e.nblocks])
			e.blocks[i] = seqRange{uint32(lo), uint32(hi)}
			e.nblocks++
			return
		}
		best, bestGap := 0, ^uint64(0)
		for k := 0; k+1 < int(e.nblocks); k++ {
			_, ahi := e.block(k)
			blo, _ := e.block(k + 1)
			if g := blo - ahi; g < bestGap {
				best, bestGap = k, g
			}
		}
		e.blocks[best].hi = e.blocks[best+1].hi
		e.removeBlock(best + 1)
	}
}

func isClean(e *tcpEndpoint) bool {
	return e.state == epEstablished || (e.state == epClosed && e.prev == epEstablished)
}

// ackReceived is Zeek's TCP_Reassembler::AckReceived for endpoint ei: the
// peer acknowledged its data up to seq. Acknowledged bytes that never
// arrived are content gaps: a history letter g/G for each hole, when both
// endpoints are established or closing cleanly.
func (f *Flow) ackReceived(ei uint8, seq uint64) {
	c := f.tcp
	e, peer := &c.ep[ei], &c.ep[ei^1]
	if e.sentFIN && seq >= e.finSeq {
		seq = e.finSeq - 1
	}
	if seq <= e.trim {
		return
	}
	if seq > e.reassem {
		// A partial connection's first acknowledgement may point one or two
		// octets past the faked start: not a gap (Zeek's Undelivered).
		report := !(seq <= 2 && c.partial) && isClean(e) && isClean(peer)
		for e.nblocks > 0 {
			lo, hi := e.block(0)
			if lo >= seq {
				break
			}
			if report {
				f.event(ei, evGap, 'G')
			}
			e.removeBlock(0)
			e.reassem = max(e.reassem, hi)
			e.absorbBlocks()
		}
		if seq > e.reassem && report {
			f.event(ei, evGap, 'G')
		}
		e.reassem = max(e.reassem, seq)
		e.absorbBlocks()
	}
	e.trim = seq
}

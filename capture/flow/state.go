package flow

// history is Zeek's history string. Letters that Zeek records once per
// direction are guarded by a mask of packet kinds, as Zeek's
// Session::CheckHistory does; S/H/F/R repeat when their sequence number
// changes and c/g/t/w repeat on a logarithmic scale, so the string is
// bounded by its buffer: letters past it are dropped (docs/conn-state.md).
type history struct {
	buf  [32]byte
	n    uint8
	mask uint32 // Zeek's hist_seen: bit per packet kind, responder's shifted by 16
}

// Packet kinds for the history mask (Zeek's HIST_* of TCP_Endpoint and
// the UDP analyzer).
const (
	histSYN uint32 = 1 << iota
	histFIN
	histRST
	histFINRST
	histMulti
	histData
	histAck
)

func (h *history) append(c byte) {
	if int(h.n) < len(h.buf) {
		h.buf[h.n] = c
		h.n++
	}
}

// check is Zeek's CheckHistory: the first packet of a kind adds its letter
// and reports false; later ones report true and add nothing.
func (h *history) check(mask uint32, c byte) bool {
	if h.mask&mask != 0 {
		return true
	}
	h.mask |= mask
	h.append(c)
	return false
}

func (h *history) is(s string) bool { return string(h.buf[:h.n]) == s }

func (h *history) replace(s string) { h.n = uint8(copy(h.buf[:], s)) }

func (h *history) String() string { return string(h.buf[:h.n]) }

// maskFor shifts a packet kind's bit for the responder.
func maskFor(orig bool, m uint32) uint32 {
	if orig {
		return m
	}
	return m << 16
}

// caseFor gives a letter in upper case for the originator, lower case for
// the responder.
func caseFor(orig bool, c byte) byte {
	if orig {
		return c
	}
	return c + 'a' - 'A'
}

// UDP activity bits: the UDP analyzer's request_len/reply_len >= 0.
const (
	udpOrigActive uint8 = 1 << iota
	udpRespActive
)

// flip swaps the originator and responder, as Zeek's FlipRoles does, and
// notes it in the history.
func (f *Flow) flip() {
	f.OrigDir = f.OrigDir.Flip()
	f.Orig, f.Resp = f.Resp, f.Orig
	f.udpActive = (f.udpActive&udpOrigActive)<<1 | (f.udpActive&udpRespActive)>>1
	if c := f.tcp; c != nil {
		c.orig ^= 1
		c.firstSeen = (c.firstSeen&1)<<1 | (c.firstSeen&2)>>1
		c.partial = false
	}
	f.history.append('^')
}

// badChecksum records a packet whose checksum failed: Zeek counts it in
// the history on the logarithmic scale (TCP and UDP; ICMP gets no letter)
// and otherwise ignores it.
func (f *Flow) badChecksum(fromOrig bool) {
	switch f.Key.proto {
	case ProtoTCP:
		ei := f.tcp.orig
		if !fromOrig {
			ei ^= 1
		}
		f.event(ei, evChecksum, 'C')
	case ProtoUDP:
		s := &f.Orig
		if !fromOrig {
			s = &f.Resp
		}
		f.history.scaledEvent(&s.chkCnt, &s.chkExp, caseFor(fromOrig, 'C'))
	}
}

// udpPacket is the state part of Zeek's UDP analyzer for a datagram whose
// checksum is good: the sender becomes active and a d/D is recorded once.
func (f *Flow) udpPacket(fromOrig bool) {
	if fromOrig {
		f.udpActive |= udpOrigActive
	} else {
		f.udpActive |= udpRespActive
	}
	f.history.check(maskFor(fromOrig, histData), caseFor(fromOrig, 'D'))
}

// SeqBytes are the payload bytes each side sent as Zeek's conn.log
// orig_bytes/resp_bytes count them: for TCP from sequence numbers (so a
// retransmission counts once and a hole the capture missed counts as
// sent), for other protocols the transport payload of every packet.
func (f *Flow) SeqBytes() (orig, resp uint64) {
	if f.Key.proto == ProtoTCP {
		if f.tcp == nil {
			return f.seqEnd[0], f.seqEnd[1]
		}
		o, r := f.tcp.origEP(), f.tcp.respEP()
		return o.size(r), r.size(o)
	}
	return f.Orig.Payload, f.Resp.Payload
}

package sipcall

import "encoding/binary"

// RFC 3550 appendix A.1 thresholds: a forward jump within maxDropout is
// loss, a backward step within maxMisorder is reordering, anything else
// restarts the sequence once two consecutive packets agree on it.
const (
	maxDropout  = 3000
	maxMisorder = 100
)

// looksRTP checks the fixed RTP header (RFC 3550 section 5.1): version 2,
// CSRC list and padding inside the datagram, and a payload type outside
// 64-95, which RFC 5761 section 4 reserves so RTP and RTCP can share a
// port. One packet proves little; flowMedia confirms over several.
func looksRTP(b []byte) bool {
	if len(b) < 12 || b[0]>>6 != 2 {
		return false
	}
	if pt := b[1] & 0x7f; pt >= 64 && pt <= 95 {
		return false
	}
	hdr := 12 + 4*int(b[0]&0x0f)
	if hdr > len(b) {
		return false
	}
	if b[0]&0x10 != 0 { // header extension
		if hdr+4 > len(b) {
			return false
		}
		hdr += 4 + 4*int(binary.BigEndian.Uint16(b[hdr+2:]))
		if hdr > len(b) {
			return false
		}
	}
	if b[0]&0x20 != 0 { // padding: the last byte counts it
		pad := int(b[len(b)-1])
		if pad == 0 || hdr+pad > len(b) {
			return false
		}
	}
	return true
}

// looksRTCP walks an RTCP compound packet (RFC 3550 section 6.1): every
// part is version 2 with a length that fits, the first is SR, RR, SDES,
// BYE or APP (200-204), and the parts cover the datagram exactly, or up
// to an SRTCP trailer (E flag, index and authentication tag, RFC 3711).
func looksRTCP(b []byte) bool {
	if len(b) < 8 || b[0]>>6 != 2 || b[1] < 200 || b[1] > 204 {
		return false
	}
	for off := 0; ; {
		rest := len(b) - off
		if rest == 0 {
			return true
		}
		if rest < 4 || b[off]>>6 != 2 {
			return off > 0 && rest <= srtcpTrailer
		}
		if pt := b[off+1]; pt < 192 || pt > 213 {
			return off > 0 && rest <= srtcpTrailer
		}
		n := 4 * (int(binary.BigEndian.Uint16(b[off+2:])) + 1)
		if n > rest {
			return false
		}
		off += n
	}
}

// srtcpTrailer is the longest SRTCP trailer: 4 bytes of E flag and index
// and an authentication tag of at most 16 bytes.
const srtcpTrailer = 20

// streamStats is what one direction of a media flow sent. It is updated
// per packet, so it holds only fixed-size fields.
type streamStats struct {
	packets, bytes uint64
	first, last    int64

	ssrc        uint32
	ssrcSet     bool
	ssrcChanges uint32
	pt          uint8

	// Sequence accounting of the current SSRC (RFC 3550 A.1) and the
	// expected/received totals of the sequences before it.
	seqStarted   bool
	maxSeq       uint16
	badSeq       uint32 // 1<<16 + 1 when unset: no uint16 equals it
	cycles       uint32
	baseSeq      uint32
	received     uint64
	prevExpected uint64
	prevReceived uint64

	// Interarrival jitter (RFC 3550 A.8), in timestamp units, and the
	// state it needs. origin anchors arrival times so that the product
	// with the clock rate cannot overflow.
	jitter      float64
	transit     uint32
	haveTransit bool
	origin      int64
	clock       uint32

	// Loss pattern and the worst quality interval (quality.go), and what
	// RTCP reports said (rtcp.go).
	lossBursts uint64
	interval   qualityInterval
	reports    rtcpReports

	// probe counts consecutive packets that agree on SSRC and sequence:
	// the content test for RTP without an expectation.
	probe uint8
	rtcp  uint64 // packets that looked like RTCP
}

// rtpPacket accounts one RTP packet. clock is the RTP clock rate of its
// payload type (0: unknown, jitter is not computed). It allocates nothing.
func (s *streamStats) rtpPacket(b []byte, t int64, clock uint32) {
	seq := binary.BigEndian.Uint16(b[2:])
	ts := binary.BigEndian.Uint32(b[4:])
	ssrc := binary.BigEndian.Uint32(b[8:])
	s.pt = b[1] & 0x7f

	// The interval starts before its first packet is counted.
	if t >= s.interval.end {
		s.rollInterval(t)
	}
	if !s.ssrcSet || ssrc != s.ssrc {
		if s.ssrcSet {
			s.ssrcChanges++
			s.closeSequence()
		}
		s.ssrc, s.ssrcSet = ssrc, true
		s.startSequence(seq)
		s.probe = 1
		s.haveTransit = false
	} else if s.updateSequence(seq) {
		if s.probe < 255 {
			s.probe++
		}
	}

	if clock != s.clock {
		// A payload type of another clock (telephone-event at 8000 next
		// to 16 kHz audio, say) would read as a huge transit jump.
		s.clock, s.haveTransit = clock, false
	}
	if clock == 0 {
		return
	}
	if s.origin == 0 {
		s.origin = t
	}
	arrival := uint32((t - s.origin) * int64(clock) / 1e9)
	transit := arrival - ts
	if s.haveTransit {
		d := int32(transit - s.transit)
		if d < 0 {
			d = -d
		}
		s.jitter += (float64(d) - s.jitter) / 16
	}
	s.transit, s.haveTransit = transit, true
}

func (s *streamStats) startSequence(seq uint16) {
	s.seqStarted = true
	s.maxSeq = seq
	s.baseSeq = uint32(seq)
	s.badSeq = 1<<16 + 1
	s.cycles = 0
	s.received = 1
}

// closeSequence moves the current sequence's counts into the totals.
func (s *streamStats) closeSequence() {
	if !s.seqStarted {
		return
	}
	s.prevExpected += s.expectedNow()
	s.prevReceived += s.received
	s.seqStarted = false
}

// updateSequence follows RFC 3550 A.1 without its probation (the flow
// was already classified). It reports whether seq continued the sequence.
func (s *streamStats) updateSequence(seq uint16) bool {
	delta := seq - s.maxSeq
	switch {
	case delta == 0:
		s.received++ // duplicate
		return false
	case delta < maxDropout:
		if delta > 1 {
			s.lossBursts++
		}
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = seq
		s.received++
		return true
	case delta <= 1<<16-maxMisorder:
		// A big jump: the sender restarted. Believe it when the next
		// packet follows the jump.
		if uint32(seq) == s.badSeq {
			s.closeSequence()
			s.startSequence(seq)
			return true
		}
		s.badSeq = uint32(seq+1) & 0xffff
		return false
	default:
		s.received++ // late or duplicate
		return false
	}
}

func (s *streamStats) expectedNow() uint64 {
	return uint64(s.cycles) + uint64(s.maxSeq) - uint64(s.baseSeq) + 1
}

// expected and lost are the RFC 3550 A.3 numbers over all sequences of
// the direction. lost is negative when duplicates outnumber losses.
func (s *streamStats) expected() uint64 {
	e := s.prevExpected
	if s.seqStarted {
		e += s.expectedNow()
	}
	return e
}

func (s *streamStats) lost() int64 {
	r := s.prevReceived
	if s.seqStarted {
		r += s.received
	}
	return int64(s.expected()) - int64(r)
}

// jitterMillis converts the jitter estimate to milliseconds.
func (s *streamStats) jitterMillis() float64 {
	if s.clock == 0 {
		return 0
	}
	return s.jitter * 1000 / float64(s.clock)
}

// staticClock is the RTP clock rate of the static payload types (RFC 3551
// section 6); 0 for unassigned and dynamic ones.
func staticClock(pt uint8) uint32 {
	switch pt {
	case 0, 3, 4, 5, 7, 8, 9, 12, 13, 15, 18:
		return 8000
	case 6:
		return 16000
	case 10, 11:
		return 44100
	case 16:
		return 11025
	case 17:
		return 22050
	case 14, 25, 26, 28, 31, 32, 33, 34:
		return 90000
	}
	return 0
}

// staticName is the encoding name of a static payload type (RFC 3551).
func staticName(pt uint8) string {
	switch pt {
	case 0:
		return "PCMU"
	case 3:
		return "GSM"
	case 4:
		return "G723"
	case 5, 6, 16, 17:
		return "DVI4"
	case 7:
		return "LPC"
	case 8:
		return "PCMA"
	case 9:
		return "G722"
	case 10, 11:
		return "L16"
	case 12:
		return "QCELP"
	case 13:
		return "CN"
	case 14:
		return "MPA"
	case 15:
		return "G728"
	case 18:
		return "G729"
	case 25:
		return "CelB"
	case 26:
		return "JPEG"
	case 28:
		return "nv"
	case 31:
		return "H261"
	case 32:
		return "MPV"
	case 33:
		return "MP2T"
	case 34:
		return "H263"
	}
	return ""
}

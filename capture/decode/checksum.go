package decode

import (
	"encoding/binary"
	"math/bits"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Checksums are verified as Zeek verifies them with checksum validation
// on (its default; -C turns it off): the IPv4 header checksum, and the TCP,
// UDP, ICMP and ICMPv6 checksums over the whole segment. A packet whose
// checksum fails is still a flow packet, marked BadChecksum: the flow table
// counts it and records c/C, and otherwise ignores it, as Zeek does.
//
// Checksums a sending host left to its NIC (checksum offload) are skipped,
// as Zeek skips the packets its AF_PACKET source reports as not yet
// checksummed: a zero TCP or UDP checksum field, or one holding only the
// pseudo-header sum (the value Linux puts there for the NIC to complete).
// A capture on the sending host is full of both, and judging them bad
// would throw its every outgoing packet away. Segments the snap length cut
// cannot be verified and are skipped too, as Zeek skips them.

// csum adds b into a ones'-complement accumulator. It reads 64-bit words
// in little-endian order: the ones'-complement sum does not depend on the
// byte order (RFC 1071), so the result is byte-swapped once at the end
// (fold) instead of swapping every word. Every part except the last must
// have an even length.
func csum(acc uint64, b []byte) uint64 {
	var c uint64
	// The carry stays in the CPU's flag across a block's additions and is
	// taken out once per block: the longer the block, the fewer of those
	// round trips in the loop's one dependency chain.
	for len(b) >= 128 {
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[24:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[32:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[40:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[48:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[56:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[64:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[72:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[80:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[88:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[96:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[104:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[112:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[120:]), c)
		b = b[128:]
	}
	if len(b) >= 64 {
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[24:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[32:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[40:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[48:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[56:]), c)
		b = b[64:]
	}
	if len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) >= 4 {
		acc, c = bits.Add64(acc, uint64(binary.LittleEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, c = bits.Add64(acc, uint64(binary.LittleEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		// The odd byte is the high byte of a zero-padded word: in the
		// little-endian sum, the low one.
		acc, c = bits.Add64(acc, uint64(b[0]), c)
	}
	acc, c = bits.Add64(acc, 0, c)
	return acc + c
}

// fold reduces the accumulator to the 16-bit ones'-complement sum in
// network byte order.
func fold(acc uint64) uint16 {
	s, c := bits.Add32(uint32(acc), uint32(acc>>32), 0)
	s += c // cannot carry again: s was at most 2^32-2
	t := s>>16 + s&0xffff
	t = t>>16 + t&0xffff
	return bits.ReverseBytes16(uint16(t))
}

// pseudoSum is the sum of the TCP/UDP/ICMPv6 pseudo-header, in the
// little-endian form csum uses.
func pseudoSum(is4 bool, src, dst *[16]byte, proto uint8, l4Len int) uint64 {
	// Protocol and length as network-order words.
	words := uint64(proto)<<8 + uint64(bits.ReverseBytes16(uint16(l4Len))) + uint64(bits.ReverseBytes16(uint16(l4Len>>16)))
	if is4 {
		return uint64(binary.LittleEndian.Uint32(src[12:])) + uint64(binary.LittleEndian.Uint32(dst[12:])) + words
	}
	var c uint64
	acc, c := bits.Add64(binary.LittleEndian.Uint64(src[:8]), binary.LittleEndian.Uint64(src[8:]), 0)
	acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(dst[:8]), c)
	acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(dst[8:]), c)
	acc, c = bits.Add64(acc, words, c)
	return acc + c
}

// ip4HeaderBad reports a wrong IPv4 header checksum (zero means the
// sender left it to the NIC).
func ip4HeaderBad(hdr []byte) bool {
	if len(hdr) < 20 || hdr[10]|hdr[11] == 0 {
		return false
	}
	if len(hdr) == 20 {
		// The common header without options, in five words.
		acc := uint64(binary.LittleEndian.Uint32(hdr)) + uint64(binary.LittleEndian.Uint32(hdr[4:])) +
			uint64(binary.LittleEndian.Uint32(hdr[8:])) + uint64(binary.LittleEndian.Uint32(hdr[12:])) +
			uint64(binary.LittleEndian.Uint32(hdr[16:20]))
		return fold(acc) != 0xffff
	}
	return fold(csum(0, hdr)) != 0xffff
}

// transportBad reports a wrong transport checksum in l4, the whole segment
// of protocol proto.
func transportBad(is4 bool, src, dst *[16]byte, proto uint8, l4 []byte) bool {
	ps, _, verify := transportPseudoSum(is4, src, dst, proto, l4)
	return verify && fold(csum(ps, l4)) != 0xffff
}

// transportPseudoSum starts the verification of the whole segment l4: the
// sum of the pseudo-header, where the protocol has one, and hdr, the
// length of its fixed header (the checksum field lies within it). verify
// is false when the checksum is not to be verified (offloaded, absent, or
// a protocol without one).
func transportPseudoSum(is4 bool, src, dst *[16]byte, proto uint8, l4 []byte) (ps uint64, hdr int, verify bool) {
	var off int
	switch proto {
	case flow.ProtoTCP:
		off, hdr = 16, 20
	case flow.ProtoUDP:
		off, hdr = 6, 8
	case flow.ProtoICMP:
		return 0, 0, len(l4) >= 4
	case flow.ProtoICMPv6:
		return pseudoSum(is4, src, dst, proto, len(l4)), 0, len(l4) >= 4
	default:
		return 0, 0, false
	}
	if len(l4) < hdr {
		return 0, 0, false
	}
	field := binary.BigEndian.Uint16(l4[off:])
	if field == 0 {
		// UDP over IPv4 without a checksum, or an offloaded one.
		return 0, 0, false
	}
	ps = pseudoSum(is4, src, dst, proto, len(l4))
	if field == fold(ps) {
		// Only the pseudo-header sum: offloaded to the NIC.
		return 0, 0, false
	}
	return ps, hdr, true
}

// deferChecksum verifies what it can of a TCP or UDP segment now and
// leaves the sum over the payload, the part that grows with the packet,
// to FinishChecksum on the worker that handles the packet: the decoder is
// the pipeline's one serial stage. It needs p.Payload to be exactly the
// segment after its headers, at an even offset; otherwise it verifies at
// once.
func deferChecksum(p *Packet, is4 bool, src, dst *[16]byte, proto uint8, l4 []byte) {
	ps, hdr, verify := transportPseudoSum(is4, src, dst, proto, l4)
	if !verify {
		return
	}
	if proto == flow.ProtoTCP || proto == flow.ProtoUDP {
		// The headers (TCP options too) in one sum; the payload is what
		// p.Payload will hold.
		n := len(l4) - len(p.Payload)
		if n >= hdr && n%2 == 0 && len(p.Payload) > 0 && &l4[n] == &p.Payload[0] {
			p.csumAcc = csum(ps, l4[:n])
			p.csumPending = true
			return
		}
	}
	p.BadChecksum = fold(csum(ps, l4)) != 0xffff
}

// FinishChecksum completes a transport checksum the decoder left pending
// (see deferChecksum), setting BadChecksum; p.Payload may have been copied
// since.
func (p *Packet) FinishChecksum() {
	if p.csumPending {
		p.BadChecksum = p.PayloadChecksumBad()
	}
}

// ChecksumPending reports whether the transport checksum still has to be
// completed over the payload (FinishChecksum or PayloadChecksumBad).
func (p *Packet) ChecksumPending() bool { return p.csumPending }

// PendingChecksum returns the partial sum of a transport checksum left
// pending (see ChecksumPending), for a pipeline that carries packets in a
// form of its own and rebuilds them with SetPendingChecksum.
func (p *Packet) PendingChecksum() (acc uint64, pending bool) { return p.csumAcc, p.csumPending }

// SetPendingChecksum restores what PendingChecksum returned; p.Payload
// must then hold the payload the sum was left for.
func (p *Packet) SetPendingChecksum(acc uint64, pending bool) {
	p.csumAcc, p.csumPending = acc, pending
}

// PayloadChecksumBad completes a transport checksum the decoder left
// pending and reports whether it is bad (false when none is pending). The
// pipeline hands it to the flow table (flow.Table.PacketChecked), which
// decides whether the payload is summed.
func (p *Packet) PayloadChecksumBad() bool {
	if !p.csumPending {
		return false
	}
	p.csumPending = false
	return fold(csum(p.csumAcc, p.Payload)) != 0xffff
}

// checkFast verifies the checksums of a packet the fast path decoded:
// ip4 is the IPv4 header (nil for IPv6), l4 the captured transport bytes,
// l4Len their length per the IP header.
func (d *Decoder) checkFast(p *Packet, ip4 []byte, src, dst *[16]byte, proto uint8, l4 []byte, l4Len int) {
	p.Cut = len(l4) < l4Len
	if d.noChecksums {
		return
	}
	if ip4 != nil && ip4HeaderBad(ip4) {
		p.BadChecksum = true
		return
	}
	if p.Cut || len(l4) != l4Len {
		return
	}
	if d.deferSum {
		deferChecksum(p, ip4 != nil, src, dst, proto, l4)
		return
	}
	p.BadChecksum = transportBad(ip4 != nil, src, dst, proto, l4)
}

// checkSlow verifies the checksums of a packet the general path decoded,
// next being the layer after the innermost IP header. It runs before
// finish sets p.Payload, so it verifies the whole segment at once: the
// general path carries the unusual packets, not the bulk.
func (d *Decoder) checkSlow(p *Packet, next gopacket.LayerType) {
	l3 := &d.st.l3
	p.Cut = len(l3.l4) < l3.l4Len
	if d.noChecksums {
		return
	}
	if l3.is4 && !d.st.defragd && ip4HeaderBad(d.ip4.Contents) {
		p.BadChecksum = true
		return
	}
	switch next {
	case layers.LayerTypeTCP, layers.LayerTypeUDP, layers.LayerTypeICMPv4, layers.LayerTypeICMPv6:
	default:
		return
	}
	if p.Cut || len(l3.l4) != l3.l4Len {
		return
	}
	if !l3.is4 {
		// A routing header's final destination, or a Mobile IPv6 home
		// address option's address, enters the pseudo-header instead of
		// the packet's: leave such packets unverified.
		for _, t := range d.decoded[:min(l3.next, len(d.decoded))] {
			if t == layers.LayerTypeIPv6Routing || t == layers.LayerTypeIPv6Destination {
				return
			}
		}
	}
	p.BadChecksum = transportBad(l3.is4, &l3.src, &l3.dst, l3.proto, l3.l4)
}

// tcpAckWindow copies the acknowledgement number and the zero-window
// condition from a TCP header.
func tcpAckWindow(p *Packet, hdr []byte) {
	if len(hdr) >= 16 {
		p.Ack = binary.BigEndian.Uint32(hdr[8:12])
		p.ZeroWindow = hdr[14] == 0 && hdr[15] == 0
	}
}

package decode

import (
	"encoding/binary"

	"github.com/ccaudit/auditor/capture/flow"
)

// ICMPError reports whether an ICMP message of type t is an error that
// quotes the offending datagram, for proto flow.ProtoICMP or
// flow.ProtoICMPv6: ICMPv4 destination unreachable, source quench,
// redirect, time exceeded and parameter problem (RFC 792); ICMPv6
// destination unreachable, packet too big, time exceeded and parameter
// problem (RFC 4443).
func ICMPError(proto, t uint8) bool {
	if proto == flow.ProtoICMPv6 {
		return t >= 1 && t <= 4
	}
	switch t {
	case 3, 4, 5, 11, 12:
		return true
	}
	return false
}

// quote fills the quoted-packet fields of an ICMP error from the IP header
// and first transport bytes it carries (RFC 792: at least 8; RFC 4443: as
// much as fits). The quoted packet was sent by the original sender, so its
// key is built from its own source to its own destination and matches the
// flow it belongs to.
func (d *Decoder) quote(p *Packet, b []byte) {
	key, ok := quotedKey(b)
	if !ok {
		return
	}
	p.Quoted = true
	p.QuotedKey = key
}

func quotedKey(b []byte) (flow.Key, bool) {
	if len(b) == 0 {
		return flow.Key{}, false
	}
	var (
		src, dst [16]byte
		proto    uint8
		l4       []byte
		is4      bool
		noPorts  bool // a non-first fragment: no transport header quoted
	)
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return flow.Key{}, false
		}
		hl := int(b[0]&0x0f) * 4
		if hl < 20 || hl > len(b) {
			return flow.Key{}, false
		}
		is4 = true
		src = [16]byte{10: 0xff, 11: 0xff}
		dst = src
		copy(src[12:], b[12:16])
		copy(dst[12:], b[16:20])
		proto = b[9]
		noPorts = binary.BigEndian.Uint16(b[6:8])&0x1fff != 0
		l4 = b[hl:]
	case 6:
		if len(b) < 40 {
			return flow.Key{}, false
		}
		copy(src[:], b[8:24])
		copy(dst[:], b[24:40])
		proto = b[6]
		l4 = b[40:]
		// Walk the extension headers; the loop ends because each one
		// consumes at least 8 bytes.
	ext:
		for {
			switch proto {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(l4) < 8 {
					return flow.Key{}, false
				}
				n := (int(l4[1]) + 1) * 8
				if n > len(l4) {
					return flow.Key{}, false
				}
				proto, l4 = l4[0], l4[n:]
			case 44: // fragment
				if len(l4) < 8 {
					return flow.Key{}, false
				}
				noPorts = binary.BigEndian.Uint16(l4[2:4])&0xfff8 != 0
				proto, l4 = l4[0], l4[8:]
			default:
				break ext
			}
		}
	default:
		return flow.Key{}, false
	}

	var sport, dport uint16
	switch proto {
	case flow.ProtoTCP, flow.ProtoUDP, flow.ProtoSCTP:
		if noPorts || len(l4) < 4 {
			return flow.Key{}, false
		}
		sport, dport = binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
	case flow.ProtoICMP, flow.ProtoICMPv6:
		if noPorts || len(l4) < 2 {
			return flow.Key{}, false
		}
		sport, dport, _ = flow.ICMPPorts(proto, l4[0], l4[1])
	}
	key, _ := flow.KeyFrom16(proto, is4, src, sport, dst, dport)
	return key, true
}

package decode

import (
	"encoding/binary"

	"github.com/ccaudit/auditor/capture/flow"
)

// decodeFast handles the frames that make up nearly all contact-center
// traffic (RTP, SIP, TLS): Ethernet, at most one 802.1Q tag, an IPv4 header
// without options or an IPv6 header without extension headers, not a
// fragment, and a complete TCP or UDP header. It reads them by hand,
// without the DecodingLayerParser's per-layer interface calls, which halves
// the cost per packet. Anything else, or anything unusual about these
// (a tunnel's UDP port, odd lengths), returns false and takes the general path; the
// fuzz target checks that both paths agree on every input.
func (d *Decoder) decodeFast(data []byte, ts int64, wireLen int, p *Packet) bool {
	if len(data) < 14 {
		return false
	}
	etype := binary.BigEndian.Uint16(data[12:14])
	b := data[14:]
	var vlan uint16
	if etype == 0x8100 {
		if len(b) < 4 {
			return false
		}
		vlan = binary.BigEndian.Uint16(b) & 0x0fff
		etype = binary.BigEndian.Uint16(b[2:4])
		b = b[4:]
	}

	var (
		is4        bool
		src, dst   [16]byte
		proto      uint8
		l4         []byte
		l4Len      int
		ipHeaderOK bool
	)
	switch etype {
	case 0x0800:
		if len(b) < 20 || b[0] != 0x45 {
			return false
		}
		total := int(binary.BigEndian.Uint16(b[2:4]))
		// Fragments (MF or an offset) go to the reassembler; the DF bit
		// is ignored.
		if total < 20 || binary.BigEndian.Uint16(b[6:8])&0x3fff != 0 {
			return false
		}
		is4 = true
		// The IPv4-mapped form's second word in one store each: the key
		// is built from the addresses in 8-byte words, which the CPU
		// forwards from its store buffer only when one store holds the
		// whole word (not a prefix stored whole and the address into it).
		binary.LittleEndian.PutUint64(src[8:], 0xffff0000|uint64(binary.LittleEndian.Uint32(b[12:16]))<<32)
		binary.LittleEndian.PutUint64(dst[8:], 0xffff0000|uint64(binary.LittleEndian.Uint32(b[16:20]))<<32)
		proto = b[9]
		l4 = b[20:min(total, len(b))]
		l4Len = total - 20
		ipHeaderOK = true
	case 0x86dd:
		if len(b) < 40 || b[0]>>4 != 6 {
			return false
		}
		plen := int(binary.BigEndian.Uint16(b[4:6]))
		if plen == 0 {
			return false // jumbogram
		}
		copy(src[:], b[8:24])
		copy(dst[:], b[24:40])
		proto = b[6]
		l4 = b[40:min(40+plen, len(b))]
		l4Len = plen
		ipHeaderOK = true
	}
	if !ipHeaderOK {
		return false
	}

	switch proto {
	case flow.ProtoUDP:
		if len(l4) < 8 {
			return false
		}
		sport, dport := binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
		ulen := int(binary.BigEndian.Uint16(l4[4:6]))
		if ulen < 8 || ulen > len(l4) || tunnelPort(sport, dport) {
			return false
		}
		// The first payload byte rules out Teredo for nearly every
		// datagram (RTP starts with 0x80) without a call.
		if ulen >= 48 && (l4[8]>>4 == 6 || l4[8] == 0) && looksTeredo(l4[8:ulen]) {
			return false
		}
		p.Dir = p.Key.SetFrom16(flow.ProtoUDP, is4, &src, sport, &dst, dport)
		p.Payload = l4[8:ulen]
		p.PayloadLen = clampLen(l4Len - 8)
	case flow.ProtoTCP:
		if len(l4) < 20 {
			return false
		}
		off := int(l4[12]>>4) * 4
		if off < 20 || off > len(l4) {
			return false
		}
		p.Dir = p.Key.SetFrom16(flow.ProtoTCP, is4, &src, binary.BigEndian.Uint16(l4), &dst, binary.BigEndian.Uint16(l4[2:]))
		p.TCPFlags = l4[13]
		p.Seq = binary.BigEndian.Uint32(l4[4:])
		tcpAckWindow(p, l4)
		p.Payload = l4[off:]
		p.PayloadLen = clampLen(l4Len - off)
	default:
		return false
	}
	p.Time = ts
	p.WireLen = uint32(wireLen)
	p.VLAN = vlan
	var ip4 []byte
	if is4 {
		ip4 = b[:20]
	}
	d.checkFast(p, ip4, &src, &dst, proto, l4, l4Len)
	return true
}

package flow

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// icmpCounterpart maps ICMP request/reply types onto each other, as Community
// ID v1 and the decoder's ICMP keys both do, so that an echo request and its
// reply form one flow. Types absent from the table are one-way.
func icmpCounterpart(proto, typ uint8) (uint8, bool) {
	if proto == ProtoICMP {
		switch typ {
		case 8:
			return 0, true
		case 0:
			return 8, true
		case 13:
			return 14, true
		case 14:
			return 13, true
		case 15:
			return 16, true
		case 16:
			return 15, true
		case 10:
			return 9, true
		case 9:
			return 10, true
		case 17:
			return 18, true
		case 18:
			return 17, true
		}
		return 0, false
	}
	switch typ {
	case 128:
		return 129, true
	case 129:
		return 128, true
	case 133:
		return 134, true
	case 134:
		return 133, true
	case 135:
		return 136, true
	case 136:
		return 135, true
	case 130:
		return 131, true
	case 131:
		return 130, true
	case 144:
		return 145, true
	case 145:
		return 144, true
	}
	return 0, false
}

// ICMPPorts gives the pseudo ports of an ICMP message, as the flow key and
// Community ID use them: (type, counterpart type) for request/reply types,
// (type, code) for one-way messages.
func ICMPPorts(proto, typ, code uint8) (src, dst uint16, twoWay bool) {
	if c, ok := icmpCounterpart(proto, typ); ok {
		return uint16(typ), uint16(c), true
	}
	return uint16(typ), uint16(code), false
}

// CommunityID returns the Community ID v1 flow hash (seed 0) of the flow,
// originator first, so that records join with Zeek, Suricata and Elastic
// data about the same connection.
func (f *Flow) CommunityID() string {
	return CommunityID(f.Key.proto, f.Src(), f.Dst(), 0)
}

// CommunityIDLen is the length of a Community ID v1: "1:" and the base64
// of a SHA-1 hash.
const CommunityIDLen = 2 + 28

// CommunityID computes Community ID v1 for a 5-tuple, per
// https://github.com/corelight/community-id-spec.
func CommunityID(proto uint8, src, dst netip.AddrPort, seed uint16) string {
	// One allocation per flow: the string itself.
	var out [CommunityIDLen]byte
	return string(AppendCommunityID(out[:0], proto, src, dst, seed))
}

// AppendCommunityID appends the CommunityID of a 5-tuple to text, for
// writers that keep the text of many in one buffer.
func AppendCommunityID(text []byte, proto uint8, src, dst netip.AddrPort, seed uint16) []byte {
	sa, da := src.Addr(), dst.Addr()
	sp, dp := src.Port(), dst.Port()
	ordered := true
	if proto == ProtoICMP || proto == ProtoICMPv6 {
		// The pseudo ports of a one-way ICMP message keep the sender first.
		if _, twoWay := icmpCounterpart(proto, uint8(sp)); !twoWay {
			ordered = false
		}
	}
	if ordered {
		if c := sa.Compare(da); c > 0 || (c == 0 && sp > dp) {
			sa, da, sp, dp = da, sa, dp, sp
		}
	}
	var in [2 + 16 + 16 + 4 + 4]byte
	b := in[:0]
	b = binary.BigEndian.AppendUint16(b, seed)
	b = append(b, sa.AsSlice()...)
	b = append(b, da.AsSlice()...)
	b = append(b, proto, 0)
	switch proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP, ProtoICMP, ProtoICMPv6:
		b = binary.BigEndian.AppendUint16(b, sp)
		b = binary.BigEndian.AppendUint16(b, dp)
	}
	sum := sha1.Sum(b)
	text = append(text, '1', ':')
	return base64.StdEncoding.AppendEncode(text, sum[:])
}

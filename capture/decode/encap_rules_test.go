package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestEncapRules pins each encapsulation rule with a frame built byte by
// byte from its specification, for the cases the real captures do not
// hold (options, indicators, extension chains, frames that must not be
// opened). Every frame goes through the fast path and the parser path,
// which must agree: a tunnel port the fast path forgot would make them
// differ.
func TestEncapRules(t *testing.T) {
	ap := netip.AddrPortFrom
	udpW := func(src netip.Addr, sport uint16, dst netip.Addr, dport uint16, n uint32) want {
		return want{key: key(flow.ProtoUDP, src, sport, dst, dport), src: ap(src, sport), payloadLen: n}
	}
	teredo4 := netip.MustParseAddr("2001:0:4137:9e50::1") // Teredo prefix 2001:0::/32
	inner4 := ser(t, ip4(layers.IPProtocolUDP, cli4, srv4), udp(40000, 5004), payload(100))
	inner6 := ser(t, ip6(layers.IPProtocolUDP, cli6, srv6), udp(40000, 5004), payload(100))
	innerTeredo := ser(t, ip6(layers.IPProtocolUDP, teredo4, srv6), udp(40000, 5004), payload(100))
	bubble := ser(t, &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolNoNextHeader, SrcIP: teredo4.AsSlice(), DstIP: srv6.AsSlice()})
	in4 := udpW(cli4, 40000, srv4, 5004, 100)
	in6 := udpW(cli6, 40000, srv6, 5004, 100)
	overUDP := func(sport, dport uint16, parts ...[]byte) []byte {
		return ser(t, eth4(), ip4(layers.IPProtocolUDP, tep1, tep2), udp(sport, dport), gopacket.Payload(cat(parts...)))
	}
	overGRE := func(parts ...[]byte) []byte {
		return ser(t, eth4(), ip4(layers.IPProtocolGRE, tep1, tep2), gopacket.Payload(cat(parts...)))
	}
	outerUDP := func(sport, dport uint16) flow.Key { return key(flow.ProtoUDP, tep1, sport, tep2, dport) }
	greKey := key(47, tep1, 0, tep2, 0)
	tunneled := func(w want, kind Tunnel, outer flow.Key) want {
		w.tunnel, w.outer = kind, outer
		return w
	}
	u16 := func(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
	snap := func(etype uint16) []byte { return cat([]byte{0xaa, 0xaa, 0x03, 0, 0, 0}, u16(etype)) }
	mac3 := make([]byte, 18)
	// 802.11 data frame from the DS: frame control, duration, three
	// addresses, sequence control.
	dot11Data := cat([]byte{0x08, 0x02, 0, 0}, mac3, []byte{0, 0})
	geneveOpts := make([]byte, 24) // six 4-byte words of options, as AWS GWLB sends
	gtpExt := []byte{0x01, 0x00, 0x01, 0x00}

	cases := []struct {
		name string
		lt   layers.LinkType
		data []byte
		want want
	}{
		// Geneve (RFC 8926): version 0, option length in words, protocol.
		{"geneve with options carrying ipv4", layers.LinkTypeEthernet,
			overUDP(51000, 6081, []byte{0x06, 0, 0x08, 0x00, 0, 0, 1, 0}, geneveOpts, inner4),
			tunneled(in4, TunnelGeneve, outerUDP(51000, 6081))},
		{"geneve of an unknown protocol stays udp", layers.LinkTypeEthernet,
			overUDP(51000, 6081, []byte{0, 0, 0x12, 0x34, 0, 0, 1, 0}, inner4),
			udpW(tep1, 51000, tep2, 6081, 8+uint32(len(inner4)))},
		{"source port 6081 is not geneve", layers.LinkTypeEthernet,
			overUDP(6081, 5004, []byte{0, 0, 0x08, 0x00, 0, 0, 1, 0}, inner4),
			udpW(tep1, 6081, tep2, 5004, 8+uint32(len(inner4)))},
		// GTPv1-U (TS 29.281): E flag, sequence/N-PDU/next type, one
		// extension header of one word whose last byte ends the chain.
		{"gtp-u with an extension header", layers.LinkTypeEthernet,
			overUDP(2152, 2152, []byte{0x34, 0xff}, u16(uint16(4+len(gtpExt)+len(inner4))), []byte{0, 0, 0, 1, 0, 0, 0, 0x85}, gtpExt, inner4),
			tunneled(in4, TunnelGTPU, outerUDP(2152, 2152))},
		// The path's own messages are tunnel traffic (TestTunnelCarriers).
		{"gtp-u echo request is tunnel traffic", layers.LinkTypeEthernet,
			overUDP(2152, 2152, []byte{0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0}),
			skipped(ReasonTunnelControl)},
		{"gtp-u end marker is tunnel traffic", layers.LinkTypeEthernet,
			overUDP(2152, 2152, []byte{0x30, 0xfe, 0, 0, 0, 0, 0, 7}),
			skipped(ReasonTunnelControl)},
		{"gtp-u tunnel status is tunnel traffic", layers.LinkTypeEthernet,
			overUDP(2152, 2152, []byte{0x30, 0xfd, 0, 4, 0, 0, 0, 9, 230, 0, 1, 1}),
			skipped(ReasonTunnelControl)},
		{"gtp-u echo request whose length is not the datagram's stays udp", layers.LinkTypeEthernet,
			overUDP(2152, 2152, []byte{0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0, 9, 9}),
			udpW(tep1, 2152, tep2, 2152, 14)},
		{"gtp-u create pdp context request stays udp", layers.LinkTypeEthernet,
			overUDP(2152, 2152, []byte{0x32, 0x10, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0}),
			udpW(tep1, 2152, tep2, 2152, 12)},
		// Teredo (RFC 4380 5.1.1): authentication indicator (ID length 2,
		// AU length 3, nonce, confirmation), then origin indication.
		{"teredo with authentication and origin indicators", layers.LinkTypeEthernet,
			overUDP(3544, 50000, []byte{0, 1, 2, 3, 'i', 'd', 'a', 'u', 'x'}, make([]byte, 9), []byte{0, 0, 0xff, 0xff, 1, 2, 3, 4}, inner6),
			tunneled(in6, TunnelTeredo, outerUDP(3544, 50000))},
		{"teredo between relay and client found by its prefix", layers.LinkTypeEthernet,
			overUDP(40001, 50000, innerTeredo),
			tunneled(udpW(teredo4, 40000, srv6, 5004, 100), TunnelTeredo, outerUDP(40001, 50000))},
		{"ipv6 in udp without the teredo prefix stays udp", layers.LinkTypeEthernet,
			overUDP(40001, 50000, inner6),
			udpW(tep1, 40001, tep2, 50000, uint32(len(inner6)))},
		// Bubbles (RFC 4380 2.8: an IPv6 header, next header 59, no
		// payload) carry no packet: tunnel traffic, no flow.
		// TestTunnelCarriers checks that the tunnels table counts them.
		{"teredo bubble is tunnel traffic", layers.LinkTypeEthernet,
			overUDP(50000, 3544, bubble), skipped(ReasonTunnelControl)},
		{"teredo bubble with origin indication", layers.LinkTypeEthernet,
			overUDP(3544, 50000, []byte{0, 0, 0xff, 0xff, 1, 2, 3, 4}, bubble), skipped(ReasonTunnelControl)},
		{"teredo bubble between client and relay found by its prefix", layers.LinkTypeEthernet,
			overUDP(40001, 50000, bubble), skipped(ReasonTunnelControl)},
		{"teredo bubble with bytes after it", layers.LinkTypeEthernet,
			overUDP(50000, 3544, bubble, []byte{1, 2, 3, 4}), skipped(ReasonTunnelControl)},
		// Indicators with nothing after them are no Teredo message (RFC
		// 4380 5.1.1 puts an IPv6 packet after them; Zeek refuses them):
		// the UDP flow they are.
		{"teredo origin indication alone stays udp", layers.LinkTypeEthernet,
			overUDP(3544, 50000, []byte{0, 0, 0xff, 0xff, 1, 2, 3, 4}), udpW(tep1, 3544, tep2, 50000, 8)},
		{"teredo authentication indicator alone stays udp", layers.LinkTypeEthernet,
			overUDP(50000, 3544, []byte{0, 1, 0, 0}, make([]byte, 9)), udpW(tep1, 50000, tep2, 3544, 13)},
		{"teredo both indicators alone stay udp", layers.LinkTypeEthernet,
			overUDP(50000, 3544, []byte{0, 1, 0, 0}, make([]byte, 9), []byte{0, 0, 0xff, 0xff, 1, 2, 3, 4}), udpW(tep1, 50000, tep2, 3544, 21)},
		{"port 3544 datagram that is not teredo stays udp", layers.LinkTypeEthernet,
			overUDP(50000, 3544, []byte{0x80, 0, 0, 1}, make([]byte, 60)),
			udpW(tep1, 50000, tep2, 3544, 64)},
		// AYIYA: identity 2^4 bytes, signature 5 words, opcode 1 forward,
		// next header 41; any other opcode carries nothing.
		{"ayiya forward", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x41, 0x52, 0x21, 41, 0, 0, 0, 0}, make([]byte, 16+20), inner6),
			tunneled(in6, TunnelAYIYA, outerUDP(40002, 5072))},
		{"ayiya heartbeat is tunnel traffic", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x41, 0x52, 0x10, 59, 0, 0, 0, 0}, make([]byte, 16+20)),
			skipped(ReasonTunnelControl)},
		// A heartbeat must have a plausible header (draft-massar-v6ops-
		// ayiya-02 section 5), or every datagram on port 5072 whose
		// fourth byte is 59 and whose length is the header length its
		// first two bytes give would be taken. Each case breaks one
		// rule; TestAYIYAHeartbeatRTP has the RTP packets.
		{"ayiya heartbeat with an ipv4 identity and md5", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x21, 0x41, 0x10, 59, 0, 0, 0, 0}, make([]byte, 4+16)),
			skipped(ReasonTunnelControl)},
		{"ayiya heartbeat without authentication", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x41, 0x00, 0x00, 59, 0, 0, 0, 0}, make([]byte, 16)),
			skipped(ReasonTunnelControl)},
		{"ayiya echo response with nothing after it is tunnel traffic", layers.LinkTypeEthernet,
			overUDP(5072, 40002, []byte{0x41, 0x52, 0x14, 59, 0, 0, 0, 0}, make([]byte, 16+20)),
			skipped(ReasonTunnelControl)},
		{"ayiya heartbeat with an identity of 2^8 bytes stays udp", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x81, 0x52, 0x10, 59, 0, 0, 0, 0}, make([]byte, 256+20)),
			udpW(tep1, 40002, tep2, 5072, 8+256+20)},
		{"ayiya heartbeat with an undefined identity type stays udp", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x43, 0x52, 0x10, 59, 0, 0, 0, 0}, make([]byte, 16+20)),
			udpW(tep1, 40002, tep2, 5072, 8+16+20)},
		{"ayiya heartbeat with an undefined authentication method stays udp", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x41, 0x52, 0x30, 59, 0, 0, 0, 0}, make([]byte, 16+20)),
			udpW(tep1, 40002, tep2, 5072, 8+16+20)},
		{"ayiya heartbeat whose signature is not sha-1's length stays udp", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x41, 0x42, 0x10, 59, 0, 0, 0, 0}, make([]byte, 16+16)),
			udpW(tep1, 40002, tep2, 5072, 8+16+16)},
		{"ayiya heartbeat with an undefined hash method stays udp", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x41, 0x53, 0x10, 59, 0, 0, 0, 0}, make([]byte, 16+20)),
			udpW(tep1, 40002, tep2, 5072, 8+16+20)},
		{"ayiya forward with nothing after it stays udp", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x41, 0x52, 0x11, 59, 0, 0, 0, 0}, make([]byte, 16+20)),
			udpW(tep1, 40002, tep2, 5072, 8+16+20)},
		{"ayiya echo request and forward with nothing after it stays udp", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x41, 0x52, 0x13, 59, 0, 0, 0, 0}, make([]byte, 16+20)),
			udpW(tep1, 40002, tep2, 5072, 8+16+20)},
		{"ayiya undefined opcode stays udp", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x41, 0x52, 0x18, 59, 0, 0, 0, 0}, make([]byte, 16+20)),
			udpW(tep1, 40002, tep2, 5072, 8+16+20)},
		{"ayiya next header none with bytes after it stays udp", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x41, 0x52, 0x10, 59, 0, 0, 0, 0}, make([]byte, 16+20+4)),
			udpW(tep1, 40002, tep2, 5072, 8+16+20+4)},
		{"ayiya echo request is not opened", layers.LinkTypeEthernet,
			overUDP(40002, 5072, []byte{0x41, 0x52, 0x12, 41, 0, 0, 0, 0}, make([]byte, 16+20), inner6),
			udpW(tep1, 40002, tep2, 5072, 8+16+20+uint32(len(inner6)))},
		// GRE in UDP (RFC 8086).
		{"gre in udp 4754", layers.LinkTypeEthernet,
			overUDP(51001, 4754, []byte{0, 0, 0x08, 0x00}, inner4),
			tunneled(in4, TunnelGREinUDP, outerUDP(51001, 4754))},
		// PPTP: enhanced GRE (RFC 2637) with key (payload length, call ID),
		// sequence and acknowledgment, carrying PPP.
		{"pptp enhanced gre carrying ppp", layers.LinkTypeEthernet,
			overGRE([]byte{0x30, 0x81, 0x88, 0x0b}, u16(uint16(4+len(inner4))), []byte{0, 7, 0, 0, 0, 1, 0, 0, 0, 1}, []byte{0xff, 0x03, 0x00, 0x21}, inner4),
			tunneled(in4, TunnelPPTP, greKey)},
		// An acknowledgment alone is the tunnel's own packet
		// (TestTunnelCarriers counts it in the pptp row).
		{"pptp acknowledgment only", layers.LinkTypeEthernet,
			overGRE([]byte{0x20, 0x81, 0x88, 0x0b, 0, 0, 0, 7, 0, 0, 0, 1}),
			skipped(ReasonTunnelControl)},
		{"pptp mppe datagram", layers.LinkTypeEthernet,
			overGRE([]byte{0x30, 0x01, 0x88, 0x0b, 0, 8, 0, 7, 0, 0, 0, 2}, []byte{0xff, 0x03, 0x00, 0xfd, 0x90, 0x00, 1, 2}),
			skipped(ReasonEncrypted)},
		// ERSPAN type III with the platform-specific subheader (O bit).
		{"erspan iii with platform subheader", layers.LinkTypeEthernet,
			overGRE([]byte{0x10, 0, 0x22, 0xeb, 0, 0, 0, 1}, []byte{0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x01}, make([]byte, 8), ethHdr(layers.EthernetTypeIPv4), inner4),
			tunneled(in4, TunnelERSPAN, greKey)},
		// ERSPAN type III frame type 2 (draft-foschiano-erspan, 4.3: the
		// FT field, bits 1-5 of byte 10, says "IP": the mirrored packet
		// follows the header with no Ethernet header), IPv4 without the
		// subheader and IPv6 after it.
		{"erspan iii frame type ip, ipv4", layers.LinkTypeEthernet,
			overGRE([]byte{0x10, 0, 0x22, 0xeb, 0, 0, 0, 1}, []byte{0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2 << 2, 0}, inner4),
			tunneled(in4, TunnelERSPAN, greKey)},
		{"erspan iii frame type ip, ipv6 after the subheader", layers.LinkTypeEthernet,
			overGRE([]byte{0x10, 0, 0x22, 0xeb, 0, 0, 0, 1}, []byte{0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2 << 2, 0x01}, make([]byte, 8), inner6),
			tunneled(in6, TunnelERSPAN, greKey)},
		{"erspan iii reserved frame type", layers.LinkTypeEthernet,
			overGRE([]byte{0x10, 0, 0x22, 0xeb, 0, 0, 0, 1}, []byte{0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1 << 2, 0}, inner4),
			skipped(ReasonTunnelUnsupported)},
		// Aruba: GRE 0x8210 carrying an 802.11 data frame.
		{"aruba gre carrying 802.11", layers.LinkTypeEthernet,
			overGRE([]byte{0, 0, 0x82, 0x10}, dot11Data, snap(0x0800), inner4),
			tunneled(in4, TunnelAruba, greKey)},
		{"aruba gre 0x9000", layers.LinkTypeEthernet,
			overGRE([]byte{0, 0, 0x90, 0x00}, dot11Data, snap(0x0800), inner4),
			tunneled(in4, TunnelAruba, greKey)},
		{"gre 0x8380 is not aruba", layers.LinkTypeEthernet,
			overGRE([]byte{0, 0, 0x83, 0x80}, dot11Data, snap(0x0800), inner4),
			skipped(ReasonTunnelUnsupported)},
		// PPP link types: address/control and protocol compression, Cisco
		// framing, control and compressed datagrams.
		{"ppp with compressed fields", layers.LinkTypePPP, cat([]byte{0x21}, inner4), in4},
		{"ppp in hdlc-like framing", layers.LinkTypePPP_HDLC, cat([]byte{0xff, 0x03, 0x00, 0x57}, inner6), in6},
		{"cisco framing under ppp_hdlc", layers.LinkTypePPP_HDLC, cat([]byte{0x0f, 0x00, 0x08, 0x00}, inner4), in4},
		{"ppp lcp", layers.LinkTypePPP, []byte{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}, skipped(ReasonNotIP)},
		{"ppp ccp datagram", layers.LinkTypePPP, []byte{0x00, 0xfd, 1, 2, 3}, skipped(ReasonEncrypted)},
		// PPPoE (RFC 2516), in QinQ; discovery is not IP.
		{"pppoe session in qinq", layers.LinkTypeEthernet,
			cat(ethHdr(0x88a8), []byte{0, 100, 0x81, 0x00, 0, 200, 0x88, 0x64}, []byte{0x11, 0, 0, 1}, u16(uint16(2+len(inner4))), []byte{0, 0x21}, inner4),
			with(in4, func(w *want) { w.vlan = 200 })},
		{"pppoe discovery", layers.LinkTypeEthernet,
			cat(ethHdr(0x8863), []byte{0x11, 0x09, 0, 0, 0, 4, 1, 1, 0, 0}), skipped(ReasonNotIP)},
		// Data-centre tags in front of the frame.
		{"vn-tag", layers.LinkTypeEthernet, cat(ethHdr(0x8926), []byte{0x80, 1, 0, 2}, u16(0x0800), inner4), in4},
		{"pbb i-tag", layers.LinkTypeEthernet, cat(ethHdr(0x88e7), []byte{0, 0, 0, 9}, ethHdr(layers.EthernetTypeIPv4), inner4), in4},
		{"fabricpath", layers.LinkTypeEthernet, cat(ethHdr(0x8903), []byte{0, 0x3f}, ethHdr(layers.EthernetTypeIPv4), inner4), in4},
		{"802.3 llc/snap", layers.LinkTypeEthernet, cat(macB, macA, u16(uint16(8+len(inner4))), snap(0x0800), inner4), in4},
		{"802.3 spanning tree", layers.LinkTypeEthernet, cat(macB, macA, u16(38), []byte{0x42, 0x42, 0x03}, make([]byte, 35)), skipped(ReasonNotIP)},
		// 802.11 (link type 105) and radiotap (127).
		{"802.11 data", layers.LinkTypeIEEE802_11, cat(dot11Data, snap(0x0800), inner4), in4},
		{"802.11 qos data, four addresses, ht control", layers.LinkTypeIEEE802_11,
			cat([]byte{0x88, 0x83, 0, 0}, mac3, []byte{0, 0}, make([]byte, 6), []byte{0, 0}, make([]byte, 4), snap(0x86dd), inner6), in6},
		{"802.11 a-msdu first subframe", layers.LinkTypeIEEE802_11,
			cat([]byte{0x88, 0x02, 0, 0}, mac3, []byte{0, 0}, []byte{0x80, 0}, make([]byte, 12), u16(uint16(8+len(inner4))), snap(0x0800), inner4), in4},
		{"802.11 protected", layers.LinkTypeIEEE802_11, cat([]byte{0x08, 0x42, 0, 0}, mac3, []byte{0, 0}, make([]byte, 40)), skipped(ReasonEncrypted)},
		{"802.11 beacon", layers.LinkTypeIEEE802_11, cat([]byte{0x80, 0x00, 0, 0}, mac3, []byte{0, 0}, make([]byte, 40)), skipped(ReasonNotIP)},
		{"802.11 null function", layers.LinkTypeIEEE802_11, cat([]byte{0x48, 0x01, 0, 0}, mac3, []byte{0, 0}), skipped(ReasonNotIP)},
		{"radiotap tsft flags fcs", layers.LinkTypeIEEE80211Radio,
			cat([]byte{0, 0, 17, 0, 0x03, 0, 0, 0}, make([]byte, 8), []byte{0x10}, dot11Data, snap(0x0800), inner4, []byte{1, 2, 3, 4}), in4},
		{"radiotap bad fcs", layers.LinkTypeIEEE80211Radio,
			cat([]byte{0, 0, 9, 0, 0x02, 0, 0, 0, 0x50}, dot11Data, snap(0x0800), inner4, []byte{1, 2, 3, 4}), skipped(ReasonBadLinkHeader)},
		{"radiotap extended presence", layers.LinkTypeIEEE80211Radio,
			cat([]byte{0, 0, 13, 0, 0x02, 0, 0, 0x80, 0, 0, 0, 0, 0x00}, dot11Data, snap(0x0800), inner4), in4},
	}
	fast, slow := New(Options{}), New(Options{})
	slow.noFastPath = true
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var pf, ps Packet
			errF := fast.Decode(tc.lt, tc.data, 1e9, len(tc.data), &pf)
			errS := slow.Decode(tc.lt, tc.data, 1e9, len(tc.data), &ps)
			checkPacket(t, pf, errF, tc.want)
			checkPacket(t, ps, errS, tc.want)
		})
	}
}

// TestTunnelCarriers checks that a tunnel's own packets (a Teredo bubble,
// an AYIYA heartbeat, a GTP-U echo, a PPTP acknowledgment) count in its row of the tunnels table, in their
// direction, with the tunnelled packets, and make no flow packet.
func TestTunnelCarriers(t *testing.T) {
	teredo := netip.MustParseAddr("2001:0:4137:9e50::1")
	bubble := ser(t, &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolNoNextHeader, SrcIP: teredo.AsSlice(), DstIP: srv6.AsSlice()})
	inner6 := ser(t, ip6(layers.IPProtocolUDP, srv6, teredo), udp(5004, 40000), payload(100))
	heartbeat := cat([]byte{0x41, 0x52, 0x10, 59, 0, 0, 0, 0}, make([]byte, 16+20))
	forward := cat([]byte{0x41, 0x52, 0x11, 41, 0, 0, 0, 0}, make([]byte, 16+20), inner6)
	frame := func(src, dst netip.Addr, sport, dport uint16, b []byte) []byte {
		return ser(t, eth4(), ip4(layers.IPProtocolUDP, src, dst), udp(sport, dport), gopacket.Payload(b))
	}
	// A bubble inside GRE counts in both tunnels, as a tunnelled packet
	// does in each level.
	inGRE := ser(t, eth4(), ip4(layers.IPProtocolGRE, tep1, tep2), gopacket.Payload([]byte{0, 0, 0x08, 0x00}),
		ip4(layers.IPProtocolUDP, cli4, srv4), udp(50000, 3544), gopacket.Payload(bubble))
	cases := []struct {
		name               string
		frames             [][]byte
		carriers, tunneled uint64
		want               []string // "name out/in", as Tunnels orders them
	}{
		{"teredo bubble then a packet back", [][]byte{
			frame(tep1, tep2, 50000, 3544, bubble),
			frame(tep2, tep1, 3544, 50000, inner6),
		}, 1, 1, []string{"teredo 198.51.100.1:50000->198.51.100.2:3544 1/1"}},
		{"ayiya heartbeats around a forwarded packet", [][]byte{
			frame(tep1, tep2, 40002, 5072, heartbeat),
			frame(tep2, tep1, 5072, 40002, forward),
			frame(tep1, tep2, 40002, 5072, heartbeat),
		}, 2, 1, []string{"ayiya 198.51.100.1:40002->198.51.100.2:5072 2/1"}},
		{"gtp-u echo request and response", [][]byte{
			frame(tep1, tep2, 2152, 2152, []byte{0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0}),
			frame(tep2, tep1, 2152, 2152, []byte{0x32, 0x02, 0, 6, 0, 0, 0, 0, 0, 1, 0, 0, 14, 0}),
		}, 2, 0, []string{"gtpu 198.51.100.1:2152->198.51.100.2:2152 1/1"}},
		// PPTP's enhanced GRE acknowledges without a PPP frame when the
		// peer has nothing to send (RFC 2637 4.4).
		{"pptp acknowledgments around a datagram", [][]byte{
			ser(t, eth4(), ip4(layers.IPProtocolGRE, tep2, tep1), gopacket.Payload([]byte{0x20, 0x81, 0x88, 0x0b, 0, 0, 0, 7, 0, 0, 0, 1})),
			ser(t, eth4(), ip4(layers.IPProtocolGRE, tep1, tep2), gopacket.Payload(cat([]byte{0x30, 0x01, 0x88, 0x0b},
				binary.BigEndian.AppendUint16(nil, uint16(4+len(inner6))), []byte{0, 9, 0, 0, 0, 2, 0xff, 0x03, 0x00, 0x57}, inner6))),
			ser(t, eth4(), ip4(layers.IPProtocolGRE, tep2, tep1), gopacket.Payload([]byte{0x20, 0x81, 0x88, 0x0b, 0, 0, 0, 7, 0, 0, 0, 2})),
		}, 2, 1, []string{"pptp 198.51.100.2->198.51.100.1 2/1"}},
		{"teredo bubble inside gre", [][]byte{inGRE}, 1, 0, []string{
			"teredo 10.0.0.1:50000->192.0.2.10:3544 1/0",
			"gre 198.51.100.1->198.51.100.2 1/0",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(Options{})
			for i, f := range tc.frames {
				var p Packet
				err := d.Decode(layers.LinkTypeEthernet, f, int64(i+1)*1e9, len(f), &p)
				if err != nil && !errors.Is(err, ReasonTunnelControl) {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			st := d.Stats()
			if st.Skipped[ReasonTunnelControl] != tc.carriers || st.Tunneled != tc.tunneled {
				t.Errorf("%d tunnel-control, %d tunnelled; want %d and %d", st.Skipped[ReasonTunnelControl], st.Tunneled, tc.carriers, tc.tunneled)
			}
			var got []string
			for _, s := range d.Tunnels() {
				got = append(got, fmt.Sprintf("%s %d/%d", s.Name(), s.PacketsOut, s.PacketsIn))
				if s.First != 1e9 || s.Last != int64(len(tc.frames))*1e9 {
					t.Errorf("%s: first %d last %d, want the first and last frame's", s.Name(), s.First, s.Last)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("tunnels %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAYIYAHeartbeatRTP checks that RTP packets to and from the AYIYA port
// stay UDP flow packets, and make no tunnels row, when they match the
// loose heartbeat rule (fourth byte 59, length equal to the header length
// the first two bytes imply): RTP ranges often include 5072, and taken as
// heartbeats one such packet in 256 of the right size would vanish from
// its call's flow.
func TestAYIYAHeartbeatRTP(t *testing.T) {
	rtp := func(hdr []byte) []byte {
		// Version 2 header with the given first four bytes, then
		// timestamp and SSRC, padded to the implied AYIYA length.
		n := 8 + 1<<(hdr[0]>>4) + int(hdr[1]>>4)*4
		return cat(hdr, []byte{0, 0, 0x3e, 0x80, 0x12, 0x34, 0x56, 0x78}, make([]byte, n-12))
	}
	cases := []struct {
		name         string
		sport, dport uint16
		body         []byte
	}{
		// Opus (dynamic payload type 111), sequence 0x123b: 288 bytes.
		{"opus to 5072", 40000, 5072, rtp([]byte{0x80, 0x6f, 0x12, 0x3b})},
		{"opus from 5072", 5072, 40000, rtp([]byte{0x80, 0x6f, 0x12, 0x3b})},
		// PCMU, sequence 0x053b: 264 bytes.
		{"pcmu from 5072", 5072, 40000, rtp([]byte{0x80, 0x00, 0x05, 0x3b})},
		// One CSRC, payload type 82, sequence 0x103b: every field but the
		// identity length nibble (8, from the RTP version) is one a real
		// heartbeat could have, so only that rule keeps it a UDP packet.
		{"one csrc to 5072", 40000, 5072, rtp([]byte{0x81, 0x52, 0x10, 0x3b})},
		{"one csrc from 5072", 5072, 40000, rtp([]byte{0x81, 0x52, 0x10, 0x3b})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.body
			if b[3] != 59 || len(b) != 8+1<<(b[0]>>4)+int(b[1]>>4)*4 {
				t.Fatalf("the case does not match the loose heartbeat rule")
			}
			frame := ser(t, eth4(), ip4(layers.IPProtocolUDP, tep1, tep2), udp(tc.sport, tc.dport), gopacket.Payload(b))
			w := want{key: key(flow.ProtoUDP, tep1, tc.sport, tep2, tc.dport), src: netip.AddrPortFrom(tep1, tc.sport), payloadLen: uint32(len(b))}
			for _, noFast := range []bool{false, true} {
				d := New(Options{})
				d.noFastPath = noFast
				var p Packet
				err := d.Decode(layers.LinkTypeEthernet, frame, 1e9, len(frame), &p)
				checkPacket(t, p, err, w)
				if st := d.Stats(); st.Skipped[ReasonTunnelControl] != 0 {
					t.Errorf("fast path off %v: %d tunnel-control", noFast, st.Skipped[ReasonTunnelControl])
				}
				if rows := d.Tunnels(); len(rows) != 0 {
					t.Errorf("fast path off %v: tunnels %v, want none", noFast, rows)
				}
			}
		})
	}
}

// TestTunnelString pins the tunnel column's format.
func TestTunnelString(t *testing.T) {
	udpKey, dir := flow.NewKey(flow.ProtoUDP, netip.MustParseAddrPort("[2001:db8::2]:3544"), netip.MustParseAddrPort("[2001:db8::1]:50000"))
	greKey, greDir := flow.NewKey(47, netip.MustParseAddrPort("10.0.0.2:0"), netip.MustParseAddrPort("10.0.0.1:0"))
	for _, tc := range []struct {
		id   TunnelID
		want string
	}{
		{TunnelID{}, ""},
		{TunnelID{Kind: TunnelTeredo, Outer: udpKey, Dir: dir}, "teredo [2001:db8::2]:3544->[2001:db8::1]:50000"},
		{TunnelID{Kind: TunnelTeredo, Outer: udpKey, Dir: dir.Flip()}, "teredo [2001:db8::1]:50000->[2001:db8::2]:3544"},
		{TunnelID{Kind: TunnelGRE, Outer: greKey, Dir: greDir}, "gre 10.0.0.2->10.0.0.1"},
		{TunnelID{Kind: TunnelAruba, Outer: greKey, Dir: greDir}, "aruba 10.0.0.2->10.0.0.1"},
	} {
		if got := tc.id.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.id, got, tc.want)
		}
	}
	var n TunnelNames
	p := Packet{Tunnel: TunnelGRE, OuterKey: greKey, OuterDir: greDir}
	a, b := n.Name(&p), n.Name(&p)
	if a != "gre 10.0.0.2->10.0.0.1" || b != a {
		t.Errorf("names %q %q", a, b)
	}
	if n.Name(&Packet{}) != "" {
		t.Error("a packet outside any tunnel has a tunnel name")
	}
}

// TestSupportsLinkType covers the link types a capture may hold.
func TestSupportsLinkType(t *testing.T) {
	for _, lt := range []layers.LinkType{1, 0, 108, 101, 113, 276, 239, 9, 50, 104, 105, 127} {
		if !SupportsLinkType(lt) {
			t.Errorf("link type %d not supported", lt)
		}
	}
	for _, lt := range []layers.LinkType{10, 147, 192} {
		if SupportsLinkType(lt) {
			t.Errorf("link type %d supported", lt)
		}
	}
}

package decode

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

type want struct {
	skip       Reason // checked when skipped is set
	skipped    bool
	key        flow.Key
	src        netip.AddrPort // the sender, to check Dir
	payloadLen uint32
	flags      uint8
	seq        uint32
	vlan       uint16
	tunnel     Tunnel
	outer      flow.Key
	truncated  bool
	icmpType   uint8
	icmpCode   uint8
	quoted     flow.Key
}

func skipped(r Reason) want { return want{skip: r, skipped: true} }

func TestDecode(t *testing.T) {
	ap := netip.AddrPortFrom
	udpWant := func(src netip.Addr, sport uint16, dst netip.Addr, dport uint16, n uint32) want {
		return want{key: key(flow.ProtoUDP, src, sport, dst, dport), src: ap(src, sport), payloadLen: n}
	}
	tcpSynAck := func(tb testing.TB) []byte {
		return ser(tb, ip4(layers.IPProtocolTCP, srv4, cli4), tcp(5060, 40001, 7, true, true), payload(10))
	}
	inner4 := func(tb testing.TB) []byte {
		return ser(tb, ip4(layers.IPProtocolUDP, cli4, srv4), udp(40000, 5004), payload(100))
	}
	inner6 := func(tb testing.TB) []byte {
		return ser(tb, ip6(layers.IPProtocolUDP, cli6, srv6), udp(40000, 5004), payload(100))
	}
	innerUDP4 := udpWant(cli4, 40000, srv4, 5004, 100)

	cases := []struct {
		name string
		lt   layers.LinkType
		data func(testing.TB) []byte
		want want
	}{
		{"ethernet/ipv4/udp", layers.LinkTypeEthernet, func(tb testing.TB) []byte { return udp4Frame(tb, 160) },
			udpWant(cli4, 40000, srv4, 5004, 160)},
		{"ethernet/vlan/ipv4/tcp", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 42, Type: layers.EthernetTypeIPv4},
				ip4(layers.IPProtocolTCP, srv4, cli4), tcp(5060, 40001, 7, true, true), payload(10))
		}, want{key: key(flow.ProtoTCP, srv4, 5060, cli4, 40001), src: ap(srv4, 5060), payloadLen: 10,
			flags: flow.FlagSYN | flow.FlagACK, seq: 7, vlan: 42}},
		{"ethernet/qinq 88a8+8100/ipv4/udp innermost vlan", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
				&layers.Dot1Q{VLANIdentifier: 200, Type: layers.EthernetTypeDot1Q},
				&layers.Dot1Q{VLANIdentifier: 300, Type: layers.EthernetTypeIPv4},
				ip4(layers.IPProtocolUDP, cli4, srv4), udp(40000, 5004), payload(100))
		}, with(innerUDP4, func(w *want) { w.vlan = 300 })},
		{"ethernet/ipv6/udp", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolUDP, cli6, srv6), udp(40000, 5004), payload(100))
		}, udpWant(cli6, 40000, srv6, 5004, 100)},
		{"ethernet/ipv6 hop-by-hop+routing+destination/tcp", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			seg := ser(tb, tcp(40001, 80, 1, true, false))
			hbh := []byte{43, 0, 1, 4, 0, 0, 0, 0}                           // next: routing, PadN
			rt := append([]byte{60, 2, 0, 1, 0, 0, 0, 0}, srv6.AsSlice()...) // type 0, one segment
			dst := []byte{6, 0, 1, 4, 0, 0, 0, 0}                            // next: TCP
			return ser(tb, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolIPv6HopByHop, cli6, srv6), gopacket.Payload(cat(hbh, rt, dst, seg)))
		}, want{key: key(flow.ProtoTCP, cli6, 40001, srv6, 80), src: ap(cli6, 40001), flags: flow.FlagSYN, seq: 1}},
		{"ethernet/ipv6 atomic fragment/udp", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			fh := []byte{17, 0, 0, 0, 0, 0, 0, 9}
			return ser(tb, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolIPv6Fragment, cli6, srv6), gopacket.Payload(cat(fh, ser(tb, udp(40000, 5004), payload(100)))))
		}, udpWant(cli6, 40000, srv6, 5004, 100)},
		{"linux sll/ipv4/udp", layers.LinkTypeLinuxSLL, func(tb testing.TB) []byte {
			return cat(sllHeader(layers.EthernetTypeIPv4), inner4(tb))
		}, innerUDP4},
		{"linux sll2/ipv6/udp", layers.LinkTypeLinuxSLL2, func(tb testing.TB) []byte {
			return cat(sll2Header(layers.EthernetTypeIPv6), inner6(tb))
		}, udpWant(cli6, 40000, srv6, 5004, 100)},
		{"null (host order)/ipv4/udp", layers.LinkTypeNull, func(tb testing.TB) []byte {
			return cat([]byte{2, 0, 0, 0}, inner4(tb))
		}, innerUDP4},
		{"loop (network order)/ipv6/udp", layers.LinkTypeLoop, func(tb testing.TB) []byte {
			return cat([]byte{0, 0, 0, 24}, inner6(tb))
		}, udpWant(cli6, 40000, srv6, 5004, 100)},
		{"raw 101/ipv4", layers.LinkTypeRaw, inner4, innerUDP4},
		{"raw 101/ipv6", layers.LinkTypeRaw, inner6, udpWant(cli6, 40000, srv6, 5004, 100)},
		{"raw 12/ipv4", layers.LinkType(12), inner4, innerUDP4},
		{"raw 14/ipv6", layers.LinkType(14), inner6, udpWant(cli6, 40000, srv6, 5004, 100)},
		{"raw 228/ipv4", layers.LinkTypeIPv4, inner4, innerUDP4},
		{"raw 229/ipv6", layers.LinkTypeIPv6, inner6, udpWant(cli6, 40000, srv6, 5004, 100)},
		{"raw with version 5", layers.LinkTypeRaw, func(tb testing.TB) []byte {
			b := inner4(tb)
			b[0] = 0x55
			return b
		}, skipped(ReasonBadIPVersion)},
		{"nflog little-endian/ipv4", linkTypeNFLOG, func(tb testing.TB) []byte {
			return nflogRecord(binary.LittleEndian, 2, inner4(tb))
		}, innerUDP4},
		{"nflog big-endian/ipv6", linkTypeNFLOG, func(tb testing.TB) []byte {
			return nflogRecord(binary.BigEndian, 10, inner6(tb))
		}, udpWant(cli6, 40000, srv6, 5004, 100)},
		{"nflog with a broken TLV", linkTypeNFLOG, func(tb testing.TB) []byte {
			b := nflogRecord(binary.LittleEndian, 2, inner4(tb))
			b[4], b[5] = 0xff, 0xff
			return b
		}, skipped(ReasonBadLinkHeader)},
		{"mpls two labels/ipv4", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return cat(ethHdr(layers.EthernetTypeMPLSUnicast), mplsLabel(100, false), mplsLabel(200, true), inner4(tb))
		}, innerUDP4},
		{"mpls pseudowire with control word/ethernet/ipv4", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return cat(ethHdr(layers.EthernetTypeMPLSUnicast), mplsLabel(100, true), []byte{0, 0, 0, 0},
				ethHdr(layers.EthernetTypeIPv4), inner4(tb))
		}, innerUDP4},
		{"gre/ipv4 inner flow", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, tep1, tep2),
				&layers.GRE{Protocol: layers.EthernetTypeIPv4}, gopacket.Payload(cat(tcpSynAck(tb))))
		}, want{key: key(flow.ProtoTCP, srv4, 5060, cli4, 40001), src: ap(srv4, 5060), payloadLen: 10,
			flags: flow.FlagSYN | flow.FlagACK, seq: 7, tunnel: TunnelGRE, outer: key(47, tep1, 0, tep2, 0)}},
		{"gre transparent ethernet bridging/vlan/ipv4", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, tep1, tep2),
				&layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging}, eth(layers.EthernetTypeDot1Q),
				&layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}, gopacket.Payload(cat(inner4(tb))))
		}, with(innerUDP4, func(w *want) { w.tunnel, w.vlan, w.outer = TunnelGRE, 7, key(47, tep1, 0, tep2, 0) })},
		{"gre erspan II/ethernet/ipv4", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, tep1, tep2),
				&layers.GRE{Protocol: layers.EthernetTypeERSPAN, SeqPresent: true, Seq: 1},
				&layers.ERSPANII{Version: layers.ERSPANIIVersion, SessionID: 3}, eth(layers.EthernetTypeIPv4), gopacket.Payload(cat(inner4(tb))))
		}, with(innerUDP4, func(w *want) { w.tunnel, w.outer = TunnelERSPAN, key(47, tep1, 0, tep2, 0) })},
		{"gre carrying ppp", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolGRE, tep1, tep2),
				&layers.GRE{Protocol: layers.EthernetTypePPP}, gopacket.Payload(cat([]byte{0xff, 0x03, 0, 0x21}, inner4(tb))))
		}, with(innerUDP4, func(w *want) { w.tunnel, w.outer = TunnelGRE, key(47, tep1, 0, tep2, 0) })},
		{"vxlan/ethernet/ipv4/udp", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP, tep1, tep2), udp(51000, 4789),
				&layers.VXLAN{ValidIDFlag: true, VNI: 5000}, eth(layers.EthernetTypeIPv4), gopacket.Payload(cat(inner4(tb))))
		}, with(innerUDP4, func(w *want) { w.tunnel, w.outer = TunnelVXLAN, key(flow.ProtoUDP, tep1, 51000, tep2, 4789) })},
		{"udp from port 4789 is not vxlan", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP, cli4, srv4), udp(4789, 5004), payload(100))
		}, udpWant(cli4, 4789, srv4, 5004, 100)},
		{"ipv4 in ipv4", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolIPv4, tep1, tep2), gopacket.Payload(cat(inner4(tb))))
		}, with(innerUDP4, func(w *want) { w.tunnel, w.outer = TunnelIPinIP, key(4, tep1, 0, tep2, 0) })},
		{"6in4", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolIPv6, tep1, tep2), gopacket.Payload(cat(inner6(tb))))
		}, with(udpWant(cli6, 40000, srv6, 5004, 100), func(w *want) { w.tunnel, w.outer = TunnelIPinIP, key(41, tep1, 0, tep2, 0) })},
		{"6in4 with a bad inner version", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			b := ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolIPv6, tep1, tep2), gopacket.Payload(cat(inner6(tb))))
			b[14+20] = 0x45
			return b
		}, skipped(ReasonBadIPVersion)},
		{"icmp echo request", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4, cli4, srv4),
				&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1}, payload(56))
		}, want{key: key(flow.ProtoICMP, cli4, 8, srv4, 0), src: ap(cli4, 8), payloadLen: 56, icmpType: 8}},
		{"icmp echo reply shares the request's key", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4, srv4, cli4),
				&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0), Id: 1, Seq: 1}, payload(56))
		}, want{key: key(flow.ProtoICMP, cli4, 8, srv4, 0), src: ap(srv4, 0), payloadLen: 56}},
		{"icmp port unreachable quoting udp", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			quoted := ser(tb, ip4(layers.IPProtocolUDP, cli4, srv4), udp(40000, 5004), payload(100))[:28]
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4, srv4, cli4),
				&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(quoted))
		}, want{key: key(flow.ProtoICMP, srv4, 3, cli4, 3), src: ap(srv4, 3), payloadLen: 28, icmpType: 3, icmpCode: 3,
			quoted: key(flow.ProtoUDP, cli4, 40000, srv4, 5004)}},
		{"icmpv6 unreachable quoting udp", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			quoted := ser(tb, ip6(layers.IPProtocolUDP, cli6, srv6), udp(40000, 5004), payload(100))[:48]
			return ser(tb, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolICMPv6, srv6, cli6),
				&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(1, 4)}, gopacket.Payload(cat([]byte{0, 0, 0, 0}, quoted)))
		}, want{key: key(flow.ProtoICMPv6, srv6, 1, cli6, 4), src: ap(srv6, 1), payloadLen: 52, icmpType: 1, icmpCode: 4,
			quoted: key(flow.ProtoUDP, cli6, 40000, srv6, 5004)}},
		{"sctp ports by hand", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			hdr := []byte{0x13, 0xc4, 0x13, 0xc5, 0, 0, 0, 1, 0, 0, 0, 0}
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolSCTP, cli4, srv4), gopacket.Payload(cat(hdr, payload(16))))
		}, want{key: key(flow.ProtoSCTP, cli4, 5060, srv4, 5061), src: ap(cli4, 5060), payloadLen: 16}},
		{"esp: a flow without ports", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolESP, cli4, srv4), payload(64))
		}, want{key: key(50, cli4, 0, srv4, 0), src: ap(cli4, 0), payloadLen: 64}},
		{"tcp cut after the flags", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			b := ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP, srv4, cli4), tcp(5060, 40001, 7, true, true), payload(10))
			return b[:14+20+14]
		}, want{key: key(flow.ProtoTCP, srv4, 5060, cli4, 40001), src: ap(srv4, 5060), payloadLen: 10,
			flags: flow.FlagSYN | flow.FlagACK, seq: 7, truncated: true}},
		{"tcp cut before the flags", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP, srv4, cli4), tcp(5060, 40001, 7, true, true), payload(10))[:14+20+12]
		}, skipped(ReasonTruncated)},
		{"udp cut after the ports", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return udp4Frame(tb, 100)[:14+20+6]
		}, with(udpWant(cli4, 40000, srv4, 5004, 100), func(w *want) { w.truncated = true })},
		{"tcp data offset 4", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			b := ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP, srv4, cli4), tcp(5060, 40001, 7, true, true), payload(10))
			b[14+20+12] = 4 << 4
			return b
		}, skipped(ReasonBadL4Header)},
		{"ipv4 header cut", layers.LinkTypeEthernet, func(tb testing.TB) []byte { return udp4Frame(tb, 100)[:14+12] },
			skipped(ReasonTruncated)},
		{"ipv4 ihl 4", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			b := udp4Frame(tb, 100)
			b[14] = 0x44
			return b
		}, skipped(ReasonBadIPHeader)},
		{"ipv6 ethertype with version 4", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			b := udp4Frame(tb, 100)
			b[12], b[13] = 0x86, 0xdd
			return b
		}, skipped(ReasonBadIPVersion)},
		{"ethernet header cut", layers.LinkTypeEthernet, func(tb testing.TB) []byte { return udp4Frame(tb, 100)[:10] },
			skipped(ReasonTruncated)},
		{"ethernet with nothing after it", layers.LinkTypeEthernet, func(tb testing.TB) []byte { return udp4Frame(tb, 100)[:14] },
			skipped(ReasonTruncated)},
		{"arp", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
				HwAddressSize: 6, ProtAddressSize: 4, Operation: 1, SourceHwAddress: macA, SourceProtAddress: cli4.AsSlice(),
				DstHwAddress: macB, DstProtAddress: srv4.AsSlice()})
		}, skipped(ReasonNotIP)},
		{"lldp ethertype", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return ser(tb, eth(layers.EthernetTypeLinkLayerDiscovery), payload(40))
		}, skipped(ReasonNotIP)},
		{"802.3 frame (stp)", layers.LinkTypeEthernet, func(tb testing.TB) []byte {
			return cat(macB, macA, []byte{0, 38, 0x42, 0x42, 0x03}, payload(35))
		}, skipped(ReasonNotIP)},
		{"unsupported link type", layers.LinkTypeFDDI, func(tb testing.TB) []byte { return udp4Frame(tb, 10) },
			skipped(ReasonUnsupportedLinkType)},
	}

	d := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data(t)
			var p Packet
			err := d.Decode(tc.lt, data, 1e9, len(data), &p)
			checkPacket(t, p, err, tc.want)
			if err == nil && (p.Time != 1e9 || p.WireLen != uint32(len(data))) {
				t.Errorf("time %d wirelen %d, want 1e9 and %d", p.Time, p.WireLen, len(data))
			}
		})
	}
}

func with(w want, f func(*want)) want {
	f(&w)
	return w
}

func checkPacket(t *testing.T, p Packet, err error, w want) {
	t.Helper()
	if w.skipped {
		var r Reason
		if !errors.As(err, &r) || r != w.skip {
			t.Fatalf("err = %v, want skip %v", err, w.skip)
		}
		return
	}
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if p.Key != w.key {
		t.Errorf("key %v-%v/%d, want %v-%v/%d", p.Key.A(), p.Key.B(), p.Key.Proto(), w.key.A(), w.key.B(), w.key.Proto())
	}
	if got := p.Key.Endpoint(p.Dir); got != w.src {
		t.Errorf("sender %v, want %v", got, w.src)
	}
	if p.PayloadLen != w.payloadLen {
		t.Errorf("payload len %d, want %d", p.PayloadLen, w.payloadLen)
	}
	if p.TCPFlags != w.flags || p.Seq != w.seq {
		t.Errorf("flags %#x seq %d, want %#x %d", p.TCPFlags, p.Seq, w.flags, w.seq)
	}
	if p.VLAN != w.vlan {
		t.Errorf("vlan %d, want %d", p.VLAN, w.vlan)
	}
	if p.Tunnel != w.tunnel || p.OuterKey != w.outer {
		t.Errorf("tunnel %v outer %v-%v, want %v %v-%v", p.Tunnel, p.OuterKey.A(), p.OuterKey.B(), w.tunnel, w.outer.A(), w.outer.B())
	}
	if p.Truncated != w.truncated {
		t.Errorf("truncated %v, want %v", p.Truncated, w.truncated)
	}
	if p.ICMPType != w.icmpType || p.ICMPCode != w.icmpCode {
		t.Errorf("icmp %d/%d, want %d/%d", p.ICMPType, p.ICMPCode, w.icmpType, w.icmpCode)
	}
	if p.Quoted != (w.quoted != flow.Key{}) || p.QuotedKey != w.quoted {
		t.Errorf("quoted %v %v-%v, want %v-%v", p.Quoted, p.QuotedKey.A(), p.QuotedKey.B(), w.quoted.A(), w.quoted.B())
	}
	if !p.Truncated && uint32(len(p.Payload)) != p.PayloadLen {
		t.Errorf("captured payload %d bytes, header says %d", len(p.Payload), p.PayloadLen)
	}
}

func TestSkippedCounters(t *testing.T) {
	d := New(Options{})
	var p Packet
	arp := ser(t, eth(layers.EthernetTypeARP), payload(28))
	for range 3 {
		if err := d.Decode(layers.LinkTypeEthernet, arp, 0, len(arp), &p); !errors.Is(err, ReasonNotIP) {
			t.Fatalf("err = %v", err)
		}
	}
	_ = d.Decode(layers.LinkTypeFDDI, arp, 0, len(arp), &p)
	got := d.Skipped()
	if got[ReasonNotIP] != 3 || got[ReasonUnsupportedLinkType] != 1 {
		t.Errorf("skipped = %v", got)
	}
	if !ReasonNotIP.Normal() || !ReasonTunnelControl.Normal() || ReasonBadIPHeader.Normal() {
		t.Error("Normal() misclassifies")
	}
	for r := Reason(0); r < NumReasons; r++ {
		if r.String() == "" || r.String()[0] == 'r' {
			t.Errorf("reason %d has no name", r)
		}
	}
}

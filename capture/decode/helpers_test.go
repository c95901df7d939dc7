package decode

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Addresses used by the generated packets.
var (
	cli4 = netip.MustParseAddr("10.0.0.1")
	srv4 = netip.MustParseAddr("192.0.2.10")
	cli6 = netip.MustParseAddr("2001:db8::1")
	srv6 = netip.MustParseAddr("2001:db8::2")
	// Tunnel endpoints.
	tep1 = netip.MustParseAddr("198.51.100.1")
	tep2 = netip.MustParseAddr("198.51.100.2")
)

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

func ser(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		tb.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func ip4(proto layers.IPProtocol, src, dst netip.Addr) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func ip6(next layers.IPProtocol, src, dst netip.Addr) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func udp(sport, dport uint16) *layers.UDP {
	return &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
}

func tcp(sport, dport uint16, seq uint32, syn, ack bool) *layers.TCP {
	return &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, SYN: syn, ACK: ack, Window: 65535}
}

func payload(n int) gopacket.Payload {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// key is the flow key a packet from src to dst must get.
func key(proto uint8, src netip.Addr, sport uint16, dst netip.Addr, dport uint16) flow.Key {
	k, _ := flow.NewKey(proto, netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport))
	return k
}

// udp4Frame is Ethernet/IPv4/UDP with n payload bytes.
func udp4Frame(tb testing.TB, n int) []byte {
	return ser(tb, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP, cli4, srv4), udp(40000, 5004), payload(n))
}

// sllHeader is a LINKTYPE_LINUX_SLL header for an outgoing packet.
func sllHeader(proto layers.EthernetType) []byte {
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h[0:], 4) // outgoing
	binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:], 6)
	copy(h[6:], macA)
	binary.BigEndian.PutUint16(h[14:], uint16(proto))
	return h
}

// sll2Header is a LINKTYPE_LINUX_SLL2 header.
func sll2Header(proto layers.EthernetType) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], uint16(proto))
	binary.BigEndian.PutUint32(h[4:], 2) // interface index
	binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
	h[10] = 4
	h[11] = 6
	copy(h[12:], macA)
	return h
}

// nflogRecord wraps pkt in a LINKTYPE_NFLOG record with a prefix TLV
// before the payload TLV, in the given byte order.
func nflogRecord(order binary.ByteOrder, family uint8, pkt []byte) []byte {
	b := []byte{family, 0, 0, 0}
	tlv := func(typ uint16, v []byte) {
		h := make([]byte, 4)
		order.PutUint16(h, uint16(4+len(v)))
		order.PutUint16(h[2:], typ)
		b = append(b, h...)
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	tlv(10, []byte("prefix\x00")) // NFULA_PREFIX
	tlv(9, pkt)
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// mplsLabel is one label stack entry.
func mplsLabel(label uint32, bottom bool) []byte {
	v := label<<12 | 64
	if bottom {
		v |= 1 << 8
	}
	return binary.BigEndian.AppendUint32(nil, v)
}

// ethHdr is a bare Ethernet header: serializing an Ethernet layer without
// a payload would pad it to the 60-byte minimum.
func ethHdr(t layers.EthernetType) []byte {
	return binary.BigEndian.AppendUint16(cat(macB, macA), uint16(t))
}

func eth4() *layers.Ethernet { return eth(layers.EthernetTypeIPv4) }

func ethFrame(t layers.EthernetType) *layers.Ethernet { return eth(t) }

func payloadOf(b []byte) gopacket.Payload { return gopacket.Payload(b) }

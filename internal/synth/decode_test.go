package synth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pkt is a decoded packet, flattened for the checks.
type pkt struct {
	n        int
	ts       time.Time
	iface    int
	vlan     uint16
	v6       bool
	src, dst netip.Addr
	proto    layers.IPProtocol
	sport    uint16
	dport    uint16
	tcp      *layers.TCP
	payload  []byte
	fragment bool // any IPv4 fragment
	mf       bool
	fragOff  uint16
	ipID     uint16
	ipBody   []byte // the IP payload as on the wire (for fragments)
	icmp     *layers.ICMPv4
	arp      *layers.ARP
}

func (p *pkt) isUDP() bool { return p.proto == layers.IPProtocolUDP && !p.fragment }
func (p *pkt) isTCP() bool { return p.proto == layers.IPProtocolTCP }

// generate runs Generate and decodes the result, failing the test on any
// decode error or bad checksum.
func generate(t testing.TB, opts Options) ([]*pkt, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Generate(&buf, opts)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	pkts := decodeCapture(t, buf.Bytes(), opts.Format)
	if len(pkts) != st.Packets {
		t.Fatalf("decoded %d packets, Stats.Packets = %d", len(pkts), st.Packets)
	}
	return pkts, st
}

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

func decodeCapture(t testing.TB, b []byte, format Format) []*pkt {
	t.Helper()
	var src packetSource
	var err error
	if format == PCAP {
		src, err = pcapgo.NewReader(bytes.NewReader(b))
	} else {
		src, err = pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	}
	if err != nil {
		t.Fatalf("open capture: %v", err)
	}
	var out []*pkt
	var last time.Time
	for n := 1; ; n++ {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
		if ci.Timestamp.Before(last) {
			t.Fatalf("packet %d: time %v before previous %v", n, ci.Timestamp, last)
		}
		last = ci.Timestamp
		out = append(out, decodePacket(t, n, data, ci))
	}
}

// portGuessed reports whether a decode failure lies in an application layer
// gopacket chose by port alone, for a protocol the generator does not
// write there. Phones send RTP from ports near 2222, which gopacket takes
// for EtherNet/IP (FuzzGenerate found a 6-byte payload it called
// truncated). DNS (53) and TLS (443), which the generator does write and
// gopacket decodes by port, must still decode cleanly.
func portGuessed(gp gopacket.Packet) bool {
	var ports [2]uint16
	switch l := gp.TransportLayer().(type) {
	case *layers.UDP:
		ports = [2]uint16{uint16(l.SrcPort), uint16(l.DstPort)}
	case *layers.TCP:
		ports = [2]uint16{uint16(l.SrcPort), uint16(l.DstPort)}
	default:
		return false // the failure is at or below the transport layer
	}
	for _, p := range ports {
		if p == 53 || p == 443 {
			return false
		}
	}
	return true
}

func decodePacket(t testing.TB, n int, data []byte, ci gopacket.CaptureInfo) *pkt {
	t.Helper()
	gp := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
	if el := gp.ErrorLayer(); el != nil && el.LayerType() != layers.LayerTypeSIP && !portGuessed(gp) {
		t.Fatalf("packet %d: decode error: %v", n, el.Error())
	}
	p := &pkt{n: n, ts: ci.Timestamp, iface: ci.InterfaceIndex}
	if l, ok := gp.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
		p.vlan = l.VLANIdentifier
	}
	if l, ok := gp.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
		p.arp = l
		return p
	}
	var pseudo []byte
	switch ip := gp.NetworkLayer().(type) {
	case *layers.IPv4:
		p.src, _ = netip.AddrFromSlice(ip.SrcIP)
		p.dst, _ = netip.AddrFromSlice(ip.DstIP)
		p.proto, p.ipID = ip.Protocol, ip.Id
		if int(ip.Length) != len(ip.Contents)+len(ip.Payload) {
			t.Fatalf("packet %d: IPv4 length %d, have %d", n, ip.Length, len(ip.Contents)+len(ip.Payload))
		}
		if fold(sum(ip.Contents, 0)) != 0xffff {
			t.Fatalf("packet %d: bad IPv4 header checksum", n)
		}
		p.fragment = ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0
		p.mf, p.fragOff, p.ipBody = ip.Flags&layers.IPv4MoreFragments != 0, ip.FragOffset, ip.Payload
		pseudo = append(append(append([]byte{}, ip.SrcIP.To4()...), ip.DstIP.To4()...), 0, byte(ip.Protocol), 0, 0)
		binary.BigEndian.PutUint16(pseudo[10:], uint16(len(ip.Payload)))
	case *layers.IPv6:
		p.v6 = true
		p.src, _ = netip.AddrFromSlice(ip.SrcIP)
		p.dst, _ = netip.AddrFromSlice(ip.DstIP)
		p.proto = ip.NextHeader
		if int(ip.Length) != len(ip.Payload) {
			t.Fatalf("packet %d: IPv6 payload length %d, have %d", n, ip.Length, len(ip.Payload))
		}
		pseudo = append(append(append([]byte{}, ip.SrcIP...), ip.DstIP...), 0, 0, 0, 0, 0, 0, 0, byte(ip.NextHeader))
		binary.BigEndian.PutUint32(pseudo[32:], uint32(len(ip.Payload)))
	default:
		t.Fatalf("packet %d: no network layer: %v", n, gp)
	}
	if p.fragment {
		return p
	}
	switch l := gp.TransportLayer().(type) {
	case *layers.TCP:
		p.tcp, p.sport, p.dport, p.payload = l, uint16(l.SrcPort), uint16(l.DstPort), l.Payload
		if fold(sum(append(l.Contents, l.Payload...), sum(pseudo, 0))) != 0xffff {
			t.Fatalf("packet %d: bad TCP checksum", n)
		}
	case *layers.UDP:
		p.sport, p.dport, p.payload = uint16(l.SrcPort), uint16(l.DstPort), l.Payload
		if int(l.Length) != len(l.Contents)+len(l.Payload) {
			t.Fatalf("packet %d: UDP length %d, have %d", n, l.Length, len(l.Contents)+len(l.Payload))
		}
		if fold(sum(append(l.Contents, l.Payload...), sum(pseudo, 0))) != 0xffff {
			t.Fatalf("packet %d: bad UDP checksum", n)
		}
	}
	if l, ok := gp.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		p.icmp = l
		if fold(sum(append(l.Contents, l.Payload...), 0)) != 0xffff {
			t.Fatalf("packet %d: bad ICMP checksum", n)
		}
	}
	return p
}

func sum(b []byte, acc uint32) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

func fold(acc uint32) uint16 {
	for acc > 0xffff {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

// sipMessage is a parsed SIP message.
type sipMessage struct {
	start   string
	headers map[string][]string
	body    string
}

func (m *sipMessage) header(name string) string {
	if v := m.headers[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseSIP splits b into SIP messages, checking each Content-Length.
func parseSIP(t testing.TB, n int, b []byte) []*sipMessage {
	t.Helper()
	var out []*sipMessage
	rest := string(b)
	for rest != "" {
		head, after, ok := strings.Cut(rest, "\r\n\r\n")
		if !ok {
			t.Fatalf("packet %d: SIP message without end of headers: %q", n, rest)
		}
		lines := strings.Split(head, "\r\n")
		m := &sipMessage{start: lines[0], headers: map[string][]string{}}
		for _, l := range lines[1:] {
			name, value, ok := strings.Cut(l, ":")
			if !ok {
				t.Fatalf("packet %d: bad SIP header line %q", n, l)
			}
			m.headers[strings.ToLower(name)] = append(m.headers[strings.ToLower(name)], strings.TrimSpace(value))
		}
		var cl int
		if _, err := fmt.Sscan(m.header("Content-Length"), &cl); err != nil {
			t.Fatalf("packet %d: Content-Length %q: %v", n, m.header("Content-Length"), err)
		}
		if cl > len(after) {
			t.Fatalf("packet %d: Content-Length %d, body has %d bytes", n, cl, len(after))
		}
		m.body, rest = after[:cl], after[cl:]
		for _, h := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
			if m.header(h) == "" {
				t.Fatalf("packet %d: SIP message %q lacks %s", n, m.start, h)
			}
		}
		if !strings.Contains(m.header("Via"), ";branch=z9hG4bK") || !strings.Contains(m.header("From"), ";tag=") {
			t.Fatalf("packet %d: Via branch or From tag missing in %q", n, m.start)
		}
		if !strings.HasPrefix(m.start, "SIP/2.0 ") && m.header("Max-Forwards") == "" {
			t.Fatalf("packet %d: request %q lacks Max-Forwards", n, m.start)
		}
		out = append(out, m)
	}
	return out
}

// sipOf returns the SIP messages of all signalling packets, in order.
func sipOf(t testing.TB, pkts []*pkt) []*sipMessage {
	t.Helper()
	var out []*sipMessage
	for _, p := range pkts {
		if (p.sport == 5060 || p.dport == 5060) && len(p.payload) > 0 && p.icmp == nil {
			out = append(out, parseSIP(t, p.n, p.payload)...)
		}
	}
	return out
}

package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Inner frames that are not IP, as mirrors and overlays carry them.
func arpFrame(tb testing.TB) []byte {
	return ser(tb, eth(layers.EthernetTypeARP), &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: macA, SourceProtAddress: cli4.AsSlice(),
		DstHwAddress: make([]byte, 6), DstProtAddress: srv4.AsSlice(),
	})
}

// stpFrame is an 802.3 frame with an LLC header for spanning tree (SAPs
// 0x42), a configuration BPDU.
func stpFrame() []byte {
	return cat(net.HardwareAddr{0x01, 0x80, 0xc2, 0, 0, 0}, macA, []byte{0, 38, 0x42, 0x42, 0x03}, make([]byte, 35))
}

// lldpFrame is an LLDP frame (EtherType 0x88cc): chassis ID, port ID, TTL
// and end TLVs.
func lldpFrame() []byte {
	return cat(net.HardwareAddr{0x01, 0x80, 0xc2, 0, 0, 0x0e}, macA, []byte{0x88, 0xcc},
		[]byte{0x02, 0x07, 0x04}, macA, []byte{0x04, 0x02, 0x07, '1', 0x06, 0x02, 0, 120, 0, 0})
}

// TestTunnelNonIP checks that a frame that is not IP inside a tunnel the
// decoder opened (ARP, STP, LLDP on a mirror or an overlay; a PPP or
// 802.11 control frame; an encrypted one) makes no flow packet, neither an
// inner one nor one of the carrier datagram the classifier would judge,
// is skipped for what it is (not-ip, encrypted), and counts in the row of
// every tunnel around it, as the tunnel's traffic. Where the tunnel's
// payload cannot be opened or is damaged, the boundary cases pin the
// older rules: tunnel-unsupported, or the carrier datagram stays a UDP
// flow.
func TestTunnelNonIP(t *testing.T) {
	u16 := func(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
	// The frames go from tep1 to tep2, or back when src is 2.
	overUDP := func(src int, sport, dport uint16, inner []byte) []byte {
		s, d := tep1, tep2
		if src == 2 {
			s, d = tep2, tep1
		}
		return ser(t, eth4(), ip4(layers.IPProtocolUDP, s, d), udp(sport, dport), gopacket.Payload(inner))
	}
	overGRE := func(src int, parts ...[]byte) []byte {
		s, d := tep1, tep2
		if src == 2 {
			s, d = tep2, tep1
		}
		return ser(t, eth4(), ip4(layers.IPProtocolGRE, s, d), gopacket.Payload(cat(parts...)))
	}
	arp := arpFrame(t)
	vxlanHdr := []byte{0x08, 0, 0, 0, 0, 0, 123, 0} // I flag, VNI 123
	geneveEth := []byte{0, 0, 0x65, 0x58, 0, 0, 1, 0}
	greTEB := []byte{0, 0, 0x65, 0x58}
	erspan1 := []byte{0, 0, 0x88, 0xbe}
	erspan2 := cat([]byte{0x10, 0, 0x88, 0xbe, 0, 0, 0, 1}, []byte{0x10, 0, 0, 5, 0, 0, 0, 0})
	erspan3 := cat([]byte{0x10, 0, 0x22, 0xeb, 0, 0, 0, 1}, []byte{0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	mac3 := make([]byte, 18)
	dot11Data := cat([]byte{0x08, 0x02, 0, 0}, mac3, []byte{0, 0})
	pptp := func(ppp []byte) []byte {
		return cat([]byte{0x30, 0x01, 0x88, 0x0b}, u16(uint16(len(ppp))), []byte{0, 7, 0, 0, 0, 1}, ppp)
	}
	// A VXLAN datagram inside GRE: both tunnels count the ARP frame.
	gre := []byte{0, 0, 0x08, 0x00}
	vxlanInGRE := ser(t, eth4(), ip4(layers.IPProtocolGRE, tep1, tep2), gopacket.Payload(gre),
		ip4(layers.IPProtocolUDP, cli4, srv4), udp(51000, 4789), gopacket.Payload(cat(vxlanHdr, arp)))
	// IPv6 outer endpoints.
	vxlan6 := ser(t, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolUDP, cli6, srv6), udp(51000, 4789), gopacket.Payload(cat(vxlanHdr, arp)))

	const (
		vxlanRow  = "vxlan 198.51.100.1:51000->198.51.100.2:4789"
		greRow    = "gre 198.51.100.1->198.51.100.2"
		erspanRow = "erspan 198.51.100.1->198.51.100.2"
	)
	cases := []struct {
		name   string
		frames [][]byte
		reason Reason   // every frame's skip reason
		rows   []string // "name packets-out/packets-in"; nil: no row
		// udpFlow: the carrier datagram is a UDP flow packet instead
		// (its inner header is damaged).
		udpFlow bool
	}{
		// Zeek's vxlan.pcap opens with an ARP request and reply in
		// VXLAN (TestEncapsulations); the same here with STP and LLDP.
		{name: "vxlan carrying arp", frames: [][]byte{overUDP(1, 51000, 4789, cat(vxlanHdr, arp)), overUDP(1, 51000, 4789, cat(vxlanHdr, arp))},
			reason: ReasonNotIP, rows: []string{vxlanRow + " 2/0"}},
		{name: "vxlan carrying arp in 802.1q", frames: [][]byte{overUDP(1, 51000, 4789, cat(vxlanHdr, ethHdr(layers.EthernetTypeDot1Q), []byte{0, 10, 0x08, 0x06}, arp[14:]))},
			reason: ReasonNotIP, rows: []string{vxlanRow + " 1/0"}},
		{name: "vxlan carrying stp", frames: [][]byte{overUDP(1, 51000, 4789, cat(vxlanHdr, stpFrame()))},
			reason: ReasonNotIP, rows: []string{vxlanRow + " 1/0"}},
		{name: "vxlan carrying lldp", frames: [][]byte{overUDP(1, 51000, 4789, cat(vxlanHdr, lldpFrame()))},
			reason: ReasonNotIP, rows: []string{vxlanRow + " 1/0"}},
		{name: "vxlan over ipv6 carrying arp", frames: [][]byte{vxlan6},
			reason: ReasonNotIP, rows: []string{"vxlan [2001:db8::1]:51000->[2001:db8::2]:4789 1/0"}},
		{name: "geneve carrying arp", frames: [][]byte{overUDP(1, 51000, 6081, cat(geneveEth, arp))},
			reason: ReasonNotIP, rows: []string{"geneve 198.51.100.1:51000->198.51.100.2:6081 1/0"}},
		{name: "gre-in-udp carrying arp", frames: [][]byte{overUDP(1, 51001, 4754, cat(greTEB, arp))},
			reason: ReasonNotIP, rows: []string{"gre-udp 198.51.100.1:51001->198.51.100.2:4754 1/0"}},
		// GRE rows are keyed by the outer addresses alone: a request and
		// its reply are one tunnel, one packet each way.
		{name: "gre teb carrying arp both ways", frames: [][]byte{overGRE(1, greTEB, arp), overGRE(2, greTEB, arp)},
			reason: ReasonNotIP, rows: []string{greRow + " 1/1"}},
		{name: "gre teb carrying stp", frames: [][]byte{overGRE(1, greTEB, stpFrame())},
			reason: ReasonNotIP, rows: []string{greRow + " 1/0"}},
		{name: "gre carrying an mpls pseudowire carrying arp", frames: [][]byte{overGRE(1, []byte{0, 0, 0x88, 0x47}, mplsLabel(100, true), []byte{0, 0, 0, 0}, arp)},
			reason: ReasonNotIP, rows: []string{greRow + " 1/0"}},
		{name: "erspan i carrying arp", frames: [][]byte{overGRE(1, erspan1, arp)},
			reason: ReasonNotIP, rows: []string{erspanRow + " 1/0"}},
		{name: "erspan ii carrying arp", frames: [][]byte{overGRE(1, erspan2, arp)},
			reason: ReasonNotIP, rows: []string{erspanRow + " 1/0"}},
		{name: "erspan ii carrying lldp", frames: [][]byte{overGRE(1, erspan2, lldpFrame())},
			reason: ReasonNotIP, rows: []string{erspanRow + " 1/0"}},
		{name: "erspan iii carrying arp", frames: [][]byte{overGRE(1, erspan3, arp)},
			reason: ReasonNotIP, rows: []string{erspanRow + " 1/0"}},
		{name: "pptp carrying lcp", frames: [][]byte{overGRE(1, pptp([]byte{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}))},
			reason: ReasonNotIP, rows: []string{"pptp 198.51.100.1->198.51.100.2 1/0"}},
		{name: "pptp carrying mppe", frames: [][]byte{overGRE(1, pptp([]byte{0xff, 0x03, 0x00, 0xfd, 0x90, 0x00, 1, 2}))},
			reason: ReasonEncrypted, rows: []string{"pptp 198.51.100.1->198.51.100.2 1/0"}},
		{name: "aruba carrying a beacon", frames: [][]byte{overGRE(1, []byte{0, 0, 0x82, 0x10}, []byte{0x80, 0, 0, 0}, mac3, []byte{0, 0}, make([]byte, 12))},
			reason: ReasonNotIP, rows: []string{"aruba 198.51.100.1->198.51.100.2 1/0"}},
		{name: "aruba carrying arp in llc/snap", frames: [][]byte{overGRE(1, []byte{0, 0, 0x82, 0x10}, dot11Data, []byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x06}, arp[14:])},
			reason: ReasonNotIP, rows: []string{"aruba 198.51.100.1->198.51.100.2 1/0"}},
		{name: "aruba carrying protected data", frames: [][]byte{overGRE(1, []byte{0, 0, 0x82, 0x10}, []byte{0x08, 0x42, 0, 0}, mac3, []byte{0, 0}, make([]byte, 40))},
			reason: ReasonEncrypted, rows: []string{"aruba 198.51.100.1->198.51.100.2 1/0"}},
		{name: "vxlan inside gre carrying arp", frames: [][]byte{vxlanInGRE},
			reason: ReasonNotIP, rows: []string{"vxlan 10.0.0.1:51000->192.0.2.10:4789 1/0", greRow + " 1/0"}},

		// Boundaries. A GRE protocol the decoder does not follow is a
		// payload it cannot open, not a frame inside an opened tunnel.
		{name: "gre of an unknown protocol", frames: [][]byte{overGRE(1, []byte{0, 0, 0x83, 0x80}, arp)},
			reason: ReasonTunnelUnsupported},
		{name: "erspan iii of a reserved frame type", frames: [][]byte{overGRE(1, cat(erspan3[:18], []byte{1 << 2, 0}), arp)},
			reason: ReasonTunnelUnsupported},
		// A damaged inner frame leaves the carrier datagram as it stands.
		{name: "vxlan whose inner ethernet header is cut", frames: [][]byte{overUDP(1, 51000, 4789, cat(vxlanHdr, arp[:10]))},
			udpFlow: true},
		{name: "vxlan whose inner frame ends where its ip header starts", frames: [][]byte{overUDP(1, 51000, 4789, cat(vxlanHdr, ethHdr(layers.EthernetTypeIPv4)))},
			udpFlow: true},
		{name: "vxlan whose inner 802.1q tag is cut", frames: [][]byte{overUDP(1, 51000, 4789, cat(vxlanHdr, ethHdr(layers.EthernetTypeDot1Q), []byte{0, 10}))},
			udpFlow: true},
		// In an IP-level tunnel the packet is skipped for the damage.
		{name: "gre teb whose inner ethernet header is malformed", frames: [][]byte{overGRE(1, greTEB, arp[:10])},
			reason: ReasonBadLinkHeader},
		{name: "gre teb cut by the snap length inside the inner ethernet header", frames: [][]byte{overGRE(1, greTEB, arp)[:14+20+4+10]},
			reason: ReasonTruncated},
		{name: "gre teb whose inner frame ends where its ip header starts", frames: [][]byte{overGRE(1, greTEB, ethHdr(layers.EthernetTypeIPv4))},
			reason: ReasonTruncated},
		{name: "erspan ii whose mirrored frame is cut by the snap length", frames: [][]byte{overGRE(1, erspan2, arp)[:14+20+16+6]},
			reason: ReasonTruncated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, noFast := range []bool{false, true} {
				d := New(Options{})
				d.noFastPath = noFast
				for i, f := range tc.frames {
					var p Packet
					err := d.Decode(layers.LinkTypeEthernet, f, int64(i+1)*1e9, len(f), &p)
					if tc.udpFlow {
						if err != nil || p.Key.Proto() != flow.ProtoUDP || p.Key.Endpoint(p.Dir.Flip()).Port() != 4789 || p.Tunnel != TunnelNone {
							t.Errorf("fast path off %v, frame %d: err %v, key %v/%d tunnel %v; want the carrier's UDP flow packet",
								noFast, i, err, p.Key.Endpoint(p.Dir.Flip()), p.Key.Proto(), p.Tunnel)
						}
						continue
					}
					checkPacket(t, p, err, skipped(tc.reason))
					if p.Key != (flow.Key{}) || p.Tunnel != TunnelNone {
						t.Errorf("fast path off %v, frame %d: a skipped frame left a flow packet %v", noFast, i, p.Key)
					}
				}
				st := d.Stats()
				n := uint64(len(tc.frames))
				if tc.udpFlow {
					n = 0
				}
				for r := Reason(0); r < NumReasons; r++ {
					want := uint64(0)
					if r == tc.reason {
						want = n
					}
					if st.Skipped[r] != want {
						t.Errorf("fast path off %v: %d skipped as %v, want %d", noFast, st.Skipped[r], r, want)
					}
				}
				if st.Tunneled != 0 {
					t.Errorf("fast path off %v: %d tunnelled flow packets, want 0", noFast, st.Tunneled)
				}
				var rows []string
				for _, s := range d.Tunnels() {
					rows = append(rows, fmt.Sprintf("%s %d/%d", s.Name(), s.PacketsOut, s.PacketsIn))
					if s.First != 1e9 || s.Last != int64(len(tc.frames))*1e9 {
						t.Errorf("%s: first %d last %d, want the first and last frame's", s.Name(), s.First, s.Last)
					}
					var bytes uint64
					for _, f := range tc.frames {
						bytes += uint64(len(f))
					}
					if s.BytesOut+s.BytesIn != bytes {
						t.Errorf("%s: %d+%d bytes, want the frames' %d", s.Name(), s.BytesOut, s.BytesIn, bytes)
					}
				}
				if strings.Join(rows, "\n") != strings.Join(tc.rows, "\n") {
					t.Errorf("fast path off %v: tunnels %q, want %q", noFast, rows, tc.rows)
				}
			}
		})
	}
}

// TestTunnelNonIPAllocs decodes a non-IP frame inside each kind of
// tunnel without allocating, once its tunnel is recorded.
func TestTunnelNonIPAllocs(t *testing.T) {
	arp := arpFrame(t)
	frames := [][]byte{
		ser(t, eth4(), ip4(layers.IPProtocolUDP, tep1, tep2), udp(51000, 4789), gopacket.Payload(cat([]byte{0x08, 0, 0, 0, 0, 0, 123, 0}, arp))),
		ser(t, eth4(), ip4(layers.IPProtocolUDP, tep1, tep2), udp(51000, 6081), gopacket.Payload(cat([]byte{0, 0, 0x65, 0x58, 0, 0, 1, 0}, arp))),
		ser(t, eth4(), ip4(layers.IPProtocolGRE, tep1, tep2), gopacket.Payload(cat([]byte{0, 0, 0x65, 0x58}, arp))),
		ser(t, eth4(), ip4(layers.IPProtocolGRE, tep1, tep2), gopacket.Payload(cat([]byte{0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0, 0, 5, 0, 0, 0, 0}, lldpFrame()))),
	}
	d := New(Options{})
	for i, f := range frames {
		var p Packet
		if err := d.Decode(layers.LinkTypeEthernet, f, 1e9, len(f), &p); !errors.Is(err, ReasonNotIP) {
			t.Fatalf("frame %d: %v, want not-ip", i, err)
		}
		if allocs := testing.AllocsPerRun(50, func() { _ = d.Decode(layers.LinkTypeEthernet, f, 1e9, len(f), &p) }); allocs != 0 {
			t.Errorf("frame %d: %v allocations per packet, want 0", i, allocs)
		}
	}
}

package engine

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ccaudit/auditor/report/parquetout"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// tunnelFrame serializes an Ethernet/IPv4 frame from src to dst whose IP
// payload is the given layers (a UDP header gets its checksum over the
// IPv4 header it follows).
func tunnelFrame(t *testing.T, src, dst string, proto layers.IPProtocol, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto,
		SrcIP: netip.MustParseAddr(src).AsSlice(), DstIP: netip.MustParseAddr(dst).AsSlice()}
	if u, ok := ls[0].(*layers.UDP); ok {
		if err := u.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		append([]gopacket.SerializableLayer{eth, ip}, ls...)...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// TestReplayTunnelNonIP replays ARP frames inside VXLAN, Geneve, GRE
// (Transparent Ethernet Bridging) and ERSPAN II, and one UDP datagram
// inside the same GRE tunnel, as a mirror delivers them. The ARP frames
// make no flow (before, the VXLAN carrier 192.168.56.11:39924 ->
// 192.168.56.12:4789 became a UDP flow judged against the catalog), are
// counted as not-ip, and count in their tunnels' rows of tunnels.parquet
// with the other packets of the tunnel.
func TestReplayTunnelNonIP(t *testing.T) {
	arp := func() gopacket.SerializableLayer {
		b := gopacket.NewSerializeBuffer()
		err := gopacket.SerializeLayers(b, gopacket.SerializeOptions{},
			&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 3}, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: layers.ARPRequest, SourceHwAddress: []byte{2, 0, 0, 0, 0, 3}, SourceProtAddress: []byte{10, 0, 0, 1},
				DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}})
		if err != nil {
			t.Fatal(err)
		}
		return gopacket.Payload(append([]byte(nil), b.Bytes()...))
	}
	udp := func(sport, dport uint16) *layers.UDP {
		return &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	}
	vxlan := gopacket.Payload{0x08, 0, 0, 0, 0, 0, 123, 0}
	geneve := gopacket.Payload{0, 0, 0x65, 0x58, 0, 0, 1, 0}
	teb := gopacket.Payload{0, 0, 0x65, 0x58}
	erspan := gopacket.Payload{0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0, 0, 5, 0, 0, 0, 0}

	// The inner UDP datagram is serialized on its own, with its checksum.
	innerIP := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2}}
	innerUDP := udp(5000, 6000)
	if err := innerUDP.SetNetworkLayerForChecksum(innerIP); err != nil {
		t.Fatal(err)
	}
	ib := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(ib, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 3}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 4}, EthernetType: layers.EthernetTypeIPv4},
		innerIP, innerUDP, gopacket.Payload("abcd")); err != nil {
		t.Fatal(err)
	}
	inner := gopacket.Payload(append([]byte(nil), ib.Bytes()...))

	frames := [][]byte{
		// Zeek's vxlan.pcap frames 1 and 2: an ARP request and its reply,
		// each in its own VXLAN tunnel (the source port is flow entropy).
		tunnelFrame(t, "192.168.56.11", "192.168.56.12", layers.IPProtocolUDP, udp(39924, 4789), vxlan, arp()),
		tunnelFrame(t, "192.168.56.12", "192.168.56.11", layers.IPProtocolUDP, udp(40908, 4789), vxlan, arp()),
		tunnelFrame(t, "192.168.56.11", "192.168.56.12", layers.IPProtocolUDP, udp(51000, 6081), geneve, arp()),
		tunnelFrame(t, "192.168.1.1", "192.168.1.2", layers.IPProtocolGRE, teb, arp()),
		tunnelFrame(t, "192.168.1.1", "192.168.1.2", layers.IPProtocolGRE, erspan, arp()),
		tunnelFrame(t, "192.168.1.1", "192.168.1.2", layers.IPProtocolGRE, teb, inner),
	}
	dir := t.TempDir()
	pcap := filepath.Join(dir, "in.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, time.November, 2, 9, 0, 0, 0, time.UTC)
	for i, b := range frames {
		ci := gopacket.CaptureInfo{Timestamp: start.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "out")
	cfg, notes := replayConfig(out, pcap)
	res, err := Replay(context.Background(), cfg)
	if err != nil {
		t.Fatalf("replay: %v (notes %q)", err, *notes)
	}
	if res.Skipped["not-ip"] != 5 || res.Skipped["tunnel-unsupported"] != 0 {
		t.Errorf("skipped %v, want the 5 ARP frames as not-ip", res.Skipped)
	}

	flows, err := parquetout.ReadFlows(filepath.Join(out, "flows.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 {
		for _, fl := range flows {
			t.Logf("flow %s %s:%d -> %s:%d %s %s verdict %q %q", fl.Proto, fl.SrcIP, fl.SrcPort, fl.DstIP, fl.DstPort, fl.State, fl.History, fl.Verdict, fl.Reason)
		}
		t.Fatalf("%d flows, want only the UDP flow inside the GRE tunnel", len(flows))
	}
	if fl := flows[0]; fl.Proto != "udp" || fl.SrcIP != "10.0.0.1" || fl.SrcPort != 5000 || fl.DstIP != "10.0.0.2" || fl.DstPort != 6000 ||
		fl.PacketsOut != 1 || fl.Tunnel != "gre 192.168.1.1->192.168.1.2" {
		t.Errorf("flow %+v, want 10.0.0.1:5000 -> 10.0.0.2:6000 udp, 1 packet, in gre 192.168.1.1->192.168.1.2", fl)
	}
	findings, err := parquetout.ReadFindings(filepath.Join(out, "findings.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range findings {
		if fd.DstPort == 4789 || fd.DstPort == 6081 || fd.Proto == "gre" {
			t.Errorf("finding on a tunnel's carrier: %+v", fd)
		}
	}

	tunnels, err := parquetout.ReadTunnels(filepath.Join(out, "tunnels.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	// Rows in order of their first packet; every frame counts in its
	// tunnel, the ARP frames like the datagram.
	want := []struct {
		tunnel string
		frames []int
	}{
		{"vxlan 192.168.56.11:39924->192.168.56.12:4789", []int{0}},
		{"vxlan 192.168.56.12:40908->192.168.56.11:4789", []int{1}},
		{"geneve 192.168.56.11:51000->192.168.56.12:6081", []int{2}},
		{"gre 192.168.1.1->192.168.1.2", []int{3, 5}},
		{"erspan 192.168.1.1->192.168.1.2", []int{4}},
	}
	if len(tunnels) != len(want) {
		for _, r := range tunnels {
			t.Logf("tunnel %q %d/%d", r.Tunnel, r.PacketsOut, r.PacketsIn)
		}
		t.Fatalf("%d tunnels rows, want %d", len(tunnels), len(want))
	}
	for i, wt := range want {
		r := tunnels[i]
		var bytes int64
		for _, fi := range wt.frames {
			bytes += int64(len(frames[fi]))
		}
		first := start.Add(time.Duration(wt.frames[0]) * time.Millisecond)
		last := start.Add(time.Duration(wt.frames[len(wt.frames)-1]) * time.Millisecond)
		if r.Tunnel != wt.tunnel || r.PacketsOut != int64(len(wt.frames)) || r.BytesOut != bytes || r.PacketsIn != 0 || r.BytesIn != 0 ||
			!r.FirstSeen.Equal(first) || !r.LastSeen.Equal(last) {
			t.Errorf("row %d: %q %d/%d packets, %d/%d bytes, %v-%v; want %q %d/0 packets, %d/0 bytes, %v-%v", i,
				r.Tunnel, r.PacketsOut, r.PacketsIn, r.BytesOut, r.BytesIn, r.FirstSeen, r.LastSeen,
				wt.tunnel, len(wt.frames), bytes, first, last)
		}
	}
	if res.Outputs["tunnels"] == "" {
		t.Error("the result lists no tunnels output")
	}
}

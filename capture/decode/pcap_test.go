package decode

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/gopacket/gopacket/pcapgo"
)

// captureResult is what decoding a whole capture gave.
type captureResult struct {
	frames    int
	flows     map[flow.Key]bool // distinct TCP and UDP keys, innermost
	outerUDP  map[flow.Key]bool // distinct outer UDP keys of packets taken out of UDP tunnels
	skipped   [NumReasons]int
	truncated int
	flags     map[flow.Key]uint8 // union of TCP flags per flow
}

// decodeCapture reads a pcap with pcapgo directly (the capture source
// package is a separate concern) and decodes every frame.
func decodeCapture(t *testing.T, path string) captureResult {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	res := captureResult{flows: map[flow.Key]bool{}, outerUDP: map[flow.Key]bool{}, flags: map[flow.Key]uint8{}}
	d := New(Options{})
	var p Packet
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", path, res.frames+1, err)
		}
		res.frames++
		err = d.Decode(r.LinkType(), data, ci.Timestamp.UnixNano(), ci.Length, &p)
		var reason Reason
		if errors.As(err, &reason) {
			res.skipped[reason]++
			continue
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", path, res.frames, err)
		}
		if p.Truncated {
			res.truncated++
		}
		if pr := p.Key.Proto(); pr == flow.ProtoTCP || pr == flow.ProtoUDP {
			res.flows[p.Key] = true
			res.flags[p.Key] |= p.TCPFlags
		}
		if p.Tunnel != TunnelNone && p.OuterKey.Proto() == flow.ProtoUDP {
			res.outerUDP[p.OuterKey] = true
		}
	}
	if s := d.Stats(); int(sum(s.Skipped)) != total(res.skipped) {
		t.Errorf("%s: Stats counts %d skips, Decode returned %d", path, sum(s.Skipped), total(res.skipped))
	}
	return res
}

func sum(a [NumReasons]uint64) (n uint64) {
	for _, v := range a {
		n += v
	}
	return n
}

func total(a [NumReasons]int) (n int) {
	for _, v := range a {
		n += v
	}
	return n
}

// TestCaptures checks the flow count of real captures against tshark's
// conversation tables (truth.tsv: ipv4_flows + ipv6_flows, TCP and UDP).
func TestCaptures(t *testing.T) {
	cases := []struct {
		file  string
		flows int // tshark's TCP+UDP conversations
		// outer is the number of tshark conversations that are tunnel
		// carriers: tshark lists the outer VXLAN UDP conversations next
		// to the inner ones, the decoder keys packets by the inner flow
		// and reports the carrier in OuterKey.
		outer   int
		skipped map[Reason]int
		why     string
	}{
		{file: "l2-l3/vlan-qinqinq.pcap", flows: 1},
		{file: "l2-l3/http-vlan-0.pcap", flows: 1},
		{file: "l2-l3/mixed-vlan-mpls.pcap", flows: 3},
		{file: "l2-l3/frag-eth-vlan-ipv6-tcp.pcap", flows: 1, skipped: map[Reason]int{ReasonFragmentPending: 2}},
		{file: "l2-l3/ip_fragmented_garbage.pcap", flows: 2,
			skipped: map[Reason]int{ReasonFragmentPending: 1248, ReasonBadL4Header: 2},
			why:     "4 datagrams of 313 fragments; 2 rebuild into TCP headers with a data offset below 5, which tshark does not count either"},
		{file: "l2-l3/ipv6-http-atomic-frag.pcap", flows: 4},
		{file: "l2-l3/gre-sample.pcap", flows: 5},
		{file: "l2-l3/vxlan.pcap", flows: 4, outer: 9},
		{file: "l2-l3/6in4tunnel.pcap", flows: 7},
		{file: "l2-l3/Teredo.pcap", flows: 9, outer: 3, skipped: map[Reason]int{ReasonTunnelControl: 3},
			why: "Teredo is decapsulated as Zeek does (port 3544, and the relay's port found by its 2001:0::/32 addresses): the three outer UDP flows are its tunnel.log's, their three bubbles tunnel traffic, tshark lists outer and some inner flows"},
		{file: "malformed/truncated-header.pcap", flows: 1},
		{file: "malformed/ip-bogus-header-len.pcap", flows: 0,
			why: "IPv4 total length 0 is read as TCP segmentation offload (as gopacket and tshark do): an ICMP flow, no TCP/UDP one"},
		{file: "malformed/ipv6-bad-version.pcap", flows: 0, skipped: map[Reason]int{ReasonBadIPVersion: 2},
			why: "the two frames with a good version are ICMPv6 neighbour discovery"},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			res := decodeCapture(t, filepath.Join("..", "..", "testdata", "pcaps", tc.file))
			if len(res.flows) != tc.flows || len(res.outerUDP) != tc.outer {
				t.Errorf("%d flows, %d outer UDP flows; want %d and %d (tshark: %d) %s",
					len(res.flows), len(res.outerUDP), tc.flows, tc.outer, tc.flows+tc.outer, tc.why)
			}
			for r := Reason(0); r < NumReasons; r++ {
				if res.skipped[r] != tc.skipped[r] {
					t.Errorf("%d frames skipped as %v, want %d", res.skipped[r], r, tc.skipped[r])
				}
			}
		})
	}
}

func TestTruncatedHeaderCapture(t *testing.T) {
	// Snap length 68 cuts every frame inside the TCP options; the flow must
	// still see the handshake and teardown flags.
	res := decodeCapture(t, filepath.Join("..", "..", "testdata", "pcaps", "malformed", "truncated-header.pcap"))
	if res.frames != 24 || len(res.flows) != 1 {
		t.Fatalf("%d frames %d flows", res.frames, len(res.flows))
	}
	for k, f := range res.flags {
		if f&(flow.FlagSYN|flow.FlagACK|flow.FlagFIN) != flow.FlagSYN|flow.FlagACK|flow.FlagFIN {
			t.Errorf("flow %v-%v flags %#x: want SYN, ACK and FIN seen", k.A(), k.B(), f)
		}
	}
	if res.truncated == 0 {
		t.Error("no packet marked truncated")
	}
}

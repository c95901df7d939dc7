package decode

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// rtpFrame is a 200-byte Ethernet/IPv4/UDP frame, the size of a G.711
// 20 ms RTP packet.
func rtpFrame(tb testing.TB) []byte { return udp4Frame(tb, 200-14-20-8) }

func vlanTCPFrame(tb testing.TB) []byte {
	return ser(tb, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 42, Type: layers.EthernetTypeIPv4},
		ip4(layers.IPProtocolTCP, srv4, cli4), &layers.TCP{SrcPort: 5060, DstPort: 40001, Seq: 7, ACK: true, PSH: true,
			Window: 512, Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: make([]byte, 8)}}}, payload(600))
}

func ipv6UDPFrame(tb testing.TB) []byte {
	return ser(tb, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolUDP, cli6, srv6), udp(40000, 5004), payload(172))
}

func TestDecodeAllocs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"ethernet/ipv4/udp", rtpFrame(t)},
		{"ethernet/vlan/ipv4/tcp", vlanTCPFrame(t)},
		{"ethernet/ipv6/udp", ipv6UDPFrame(t)},
	} {
		d := New(Options{})
		var p Packet
		allocs := testing.AllocsPerRun(1000, func() {
			if err := d.Decode(layers.LinkTypeEthernet, tc.frame, 1, len(tc.frame), &p); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per packet, want 0", tc.name, allocs)
		}
	}
}

func benchDecode(b *testing.B, frame []byte) {
	d := New(Options{})
	var p Packet
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Decode(layers.LinkTypeEthernet, frame, int64(i), len(frame), &p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

func BenchmarkDecode(b *testing.B) {
	b.Run("udp-rtp-200", func(b *testing.B) { benchDecode(b, rtpFrame(b)) })
	b.Run("vlan-tcp", func(b *testing.B) { benchDecode(b, vlanTCPFrame(b)) })
	b.Run("ipv6-udp", func(b *testing.B) { benchDecode(b, ipv6UDPFrame(b)) })
}

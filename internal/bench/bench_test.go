package bench

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/gopacket/gopacket/layers"
)

var (
	srcMAC = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	dstMAC = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

// Every stream is its own UDP flow that the auditor's decoder reads as
// RTP-sized datagrams, and each send advances the RTP sequence number.
func TestRTPFrames(t *testing.T) {
	for _, tc := range []struct {
		streams, frameLen int
	}{{500, 200}, {1, 60}, {3, 1514}} {
		t.Run(fmt.Sprintf("%dx%d", tc.streams, tc.frameLen), func(t *testing.T) {
			f, err := NewRTPFrames(Streams{Count: tc.streams, FrameLen: tc.frameLen, SrcMAC: srcMAC, DstMAC: dstMAC})
			if err != nil {
				t.Fatal(err)
			}
			if f.Len() != tc.streams {
				t.Fatalf("Len = %d", f.Len())
			}
			d := decode.New(decode.Options{})
			var p decode.Packet
			keys := map[flow.Key]bool{}
			for round := range 2 {
				for i := range tc.streams {
					b := f.Next()
					if len(b) != tc.frameLen {
						t.Fatalf("frame %d: %d bytes", i, len(b))
					}
					if err := d.Decode(layers.LinkTypeEthernet, b, 0, len(b), &p); err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					if p.Key.Proto() != 17 || int(p.PayloadLen) != tc.frameLen-42 {
						t.Fatalf("frame %d: proto %d, payload %d", i, p.Key.Proto(), p.PayloadLen)
					}
					keys[p.Key] = true
					if seq := binary.BigEndian.Uint16(b[44:]); seq != uint16(round+1) {
						t.Fatalf("frame %d round %d: RTP sequence %d", i, round, seq)
					}
					if h := b[14:34]; ipChecksum(h) != 0 {
						t.Fatalf("frame %d: bad IPv4 header checksum", i)
					}
				}
			}
			if len(keys) != tc.streams {
				t.Errorf("%d streams gave %d flows", tc.streams, len(keys))
			}
		})
	}
}

func TestNewRTPFramesRejects(t *testing.T) {
	for _, s := range []Streams{
		{Count: -1, SrcMAC: srcMAC, DstMAC: dstMAC},
		{Count: maxStreams + 1, SrcMAC: srcMAC, DstMAC: dstMAC},
		{FrameLen: 59, SrcMAC: srcMAC, DstMAC: dstMAC},
		{FrameLen: 1515, SrcMAC: srcMAC, DstMAC: dstMAC},
		{SrcMAC: srcMAC},
	} {
		if _, err := NewRTPFrames(s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

func TestParseTcpdumpSummary(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     TcpdumpCounts
		ok       bool
	}{
		{"summary", "tcpdump: listening on audb, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n^C\n" +
			"1500000 packets captured\n1500312 packets received by filter\n312 packets dropped by kernel\n",
			TcpdumpCounts{Captured: 1500000, Received: 1500312, Dropped: 312}, true},
		{"singular", "1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n",
			TcpdumpCounts{Captured: 1, Received: 1}, true},
		{"killed", "tcpdump: listening on audb\n", TcpdumpCounts{}, false},
		{"partial", "5 packets captured\n", TcpdumpCounts{Captured: 5}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTcpdumpSummary(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("got %+v, %v; want %+v, ok %v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP auditor_packets_total Packets accounted to flows.
# TYPE auditor_packets_total counter
auditor_packets_total{sensor="b"} 1200
auditor_packets_total_other{sensor="b"} 7
# TYPE auditor_capture_drops_total counter
auditor_capture_drops_total{sensor="b",cause="kernel-drop"} 3
auditor_capture_drops_total{sensor="b",cause="queue-freeze"} 1
`
	got, err := parseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"auditor_packets_total", nil, 1200},
		{"auditor_capture_drops_total", nil, 4},
		{"auditor_capture_drops_total", []string{`cause="kernel-drop"`}, 3},
		{"auditor_missing_total", nil, 0},
	} {
		if v := SumMetric(got, tc.name, tc.labels...); v != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, v, tc.want)
		}
	}
	if _, err := parseMetrics(strings.NewReader("auditor_packets_total{} x\n")); err == nil {
		t.Error("a sample without a number parsed")
	}
}

func ExampleRTPFrames() {
	frames, err := NewRTPFrames(Streams{Count: 500, FrameLen: 200,
		SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}})
	if err != nil {
		fmt.Println(err)
		return
	}
	d := decode.New(decode.Options{})
	var p decode.Packet
	for range 2 {
		b := frames.Next()
		if err := d.Decode(layers.LinkTypeEthernet, b, 0, len(b), &p); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(p.Key.Endpoint(p.Dir), "->", p.Key.Endpoint(p.Dir.Flip()), len(b), "bytes")
	}
	// Output:
	// 10.77.0.1:16384 -> 10.78.0.10:20000 200 bytes
	// 10.77.0.2:16384 -> 10.78.0.10:20002 200 bytes
}

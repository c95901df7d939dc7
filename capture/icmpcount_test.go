package capture

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ccaudit/auditor/capture/source"
)

type sliceSource struct {
	frames [][]byte
	n      int
	fr     source.Frame
}

func (s *sliceSource) Next() (*source.Frame, error) {
	if s.n == len(s.frames) {
		return nil, io.EOF
	}
	d := s.frames[s.n]
	s.n++
	s.fr = source.Frame{Data: d, Time: int64(s.n) * 1e6, WireLen: len(d), CaptureLen: len(d), LinkType: layers.LinkTypeEthernet}
	return &s.fr, nil
}

func ser4(t *testing.T, src, dst net.IP, proto layers.IPProtocol, l ...gopacket.SerializableLayer) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src, DstIP: dst}
	for _, x := range l {
		if u, ok := x.(*layers.UDP); ok {
			if err := u.SetNetworkLayerForChecksum(ip); err != nil {
				t.Fatal(err)
			}
		}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, append([]gopacket.SerializableLayer{eth, ip}, l...)...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// An ICMP error is counted either way: attributed to the flow it quotes
// (ICMPQuoted) or, when no table holds that flow (it ended, or began
// before the capture), as unquoted; with one worker and with several.
func TestICMPErrorsCounted(t *testing.T) {
	client, server, gone := net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}, net.IP{10, 0, 0, 3}
	probe := func(dst net.IP) []byte {
		return ser4(t, client, dst, layers.IPProtocolUDP, &layers.UDP{SrcPort: 40000, DstPort: 5060}, gopacket.Payload("OPTIONS"))
	}
	unreachable := func(from net.IP, quoted []byte) []byte {
		icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort)}
		return ser4(t, from, client, layers.IPProtocolICMPv4, icmp, gopacket.Payload(quoted[14:14+28]))
	}
	frames := [][]byte{probe(server), unreachable(server, probe(server)), unreachable(gone, probe(gone))}
	for _, workers := range []int{1, 2, 4} {
		p, err := New(Config{Workers: workers, Stages: func(int) Stages { return Stages{} }})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(context.Background(), &sliceSource{frames: frames}); err != nil {
			t.Fatal(err)
		}
		st := p.Stats()
		if q, u := st.ICMPQuoted.Load(), st.ICMPUnquoted.Load(); q != 1 || u != 1 {
			t.Errorf("%d workers: %d attributed, %d unquoted; want 1 and 1", workers, q, u)
		}
	}
}

package capture

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ccaudit/auditor/capture/source"
)

// queuedSource is a live source holding frames a kernel ring already
// queued; with endless set it delivers one every 100 µs, a link that never
// goes quiet, for at most five seconds.
type queuedSource struct {
	frames   [][]byte
	endless  bool
	started  time.Time
	deadline time.Time
	n        int
	fr       source.Frame
}

func (s *queuedSource) SetDeadline(t time.Time) { s.deadline = t }

func (s *queuedSource) Next() (*source.Frame, error) {
	if s.started.IsZero() {
		s.started = time.Now()
	}
	if s.n < len(s.frames) || s.endless && time.Since(s.started) < 5*time.Second {
		if s.endless {
			time.Sleep(100 * time.Microsecond)
		}
		data := s.frames[s.n%len(s.frames)]
		s.n++
		s.fr = source.Frame{Data: data, Time: time.Now().UnixNano(), WireLen: len(data), CaptureLen: len(data), LinkType: layers.LinkTypeEthernet}
		return &s.fr, nil
	}
	time.Sleep(time.Until(s.deadline))
	return nil, os.ErrDeadlineExceeded
}

func udpFrames(t *testing.T, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range n {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		udp := &layers.UDP{SrcPort: layers.UDPPort(40000 + i), DstPort: 5060}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload("OPTIONS")); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
	return out
}

// A capture told to stop still reads what its source already holds: the
// frames a kernel ring queued were captured, and the stop must not lose
// them. A source that never goes quiet is cut after drainMax.
func TestRunLiveDrainsOnStop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		endless bool
		want    uint64 // packets; 0: at least the queued ones
		within  time.Duration
	}{
		{name: "frames queued at the stop", want: 50, within: drainIdle + time.Second},
		{name: "a link that never goes quiet", endless: true, within: drainMax + time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(Config{Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // the stop came before the worker read anything
			src := &queuedSource{frames: udpFrames(t, 50), endless: tc.endless}
			start := time.Now()
			if err := p.RunLive(ctx, src, time.Second, func(time.Time) {}); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			p.Flush() // as the live run does after its workers stopped
			got := p.Stats().Packets.Load()
			switch {
			case tc.want != 0 && got != tc.want:
				t.Errorf("%d packets read after the stop, want the %d queued", got, tc.want)
			case tc.want == 0 && got < 50:
				t.Errorf("%d packets read after the stop, want at least the 50 queued", got)
			}
			if took > tc.within {
				t.Errorf("stopping took %v, want under %v", took, tc.within)
			}
			if tc.endless && took < drainMax-50*time.Millisecond {
				t.Errorf("stopped after %v of an endless link, want about drainMax (%v)", took, drainMax)
			}
		})
	}
}

package capture

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
)

// tunnelLines replays a capture and returns "src>dst tunnel" per flow,
// sorted, and the tunnels the decoder recorded.
func tunnelLines(t *testing.T, path string, workers int) ([]string, []string) {
	t.Helper()
	src, err := source.Open([]string{path}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var mu sync.Mutex
	var lines []string
	p, err := New(Config{Workers: workers, Stages: func(int) Stages {
		return Stages{OnFlow: func(f *flow.Flow) {
			l := f.Src().String() + ">" + f.Dst().String()
			if f.Meta != nil && f.Meta.Tunnel != "" {
				l += " " + f.Meta.Tunnel
			}
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
		}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	var tunnels []string
	for _, s := range p.Decoder().Tunnels() {
		tunnels = append(tunnels, s.Name())
	}
	return lines, tunnels
}

// TestFlowTunnel checks that each inner flow carries the name of the
// tunnel its first packet came out of, that the name is the tunnel
// table's (the join key of flows.tunnel and tunnels.parquet), and that the
// workers a flow is sharded to do not change it. In Zeek's AYIYA capture
// the first tunnelled packet is the relay's answer (from port 5072), the
// other flows start on the client's tunnel. The client's heartbeats are
// that tunnel's traffic, not a UDP flow.
func TestFlowTunnel(t *testing.T) {
	path := filepath.Join("decode", "testdata", "encap", "ayiya3.pcap")
	want := []string{
		"[2001:4978:f:4c::1]:128>[2001:4978:f:4c::2]:129 ayiya 216.14.98.22:5072->192.168.3.101:53796",
		"[2001:4978:f:4c::2]:53382>[2001:4860:b002::68]:80 ayiya 192.168.3.101:53859->216.14.98.22:5072",
		"[::]:135>[ff02::1:ff00:2]:136 ayiya 192.168.3.101:53859->216.14.98.22:5072",
		"[fe80::216:cbff:fe9a:4cb9]:131>[ff02::1:ff00:2]:130 ayiya 192.168.3.101:53859->216.14.98.22:5072",
		"[fe80::216:cbff:fe9a:4cb9]:131>[ff02::1:ff9a:4cb9]:130 ayiya 192.168.3.101:53859->216.14.98.22:5072",
		"[fe80::216:cbff:fe9a:4cb9]:131>[ff02::2:f901:d225]:130 ayiya 192.168.3.101:53859->216.14.98.22:5072",
	}
	slices.Sort(want)
	wantTunnels := []string{"ayiya 216.14.98.22:5072->192.168.3.101:53796", "ayiya 192.168.3.101:53859->216.14.98.22:5072"}
	for _, workers := range []int{1, 3} {
		lines, tunnels := tunnelLines(t, path, workers)
		if !slices.Equal(lines, want) {
			t.Errorf("%d workers: flows\n%q\nwant\n%q", workers, lines, want)
		}
		if !slices.Equal(tunnels, wantTunnels) {
			t.Errorf("%d workers: tunnels %q, want %q", workers, tunnels, wantTunnels)
		}
	}
}

package capture

import (
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
)

// TestTunnelIdentity pins which tunnels Zeek tells apart
// (EncapsulatingConn's equality): a UDP tunnel is its outer UDP
// connection, so the two directions of a conversation on different source
// ports are two tunnels; an IP-level tunnel is its unordered address
// pair, whatever the ports of GRE in UDP or the protocol carrying it.
func TestTunnelIdentity(t *testing.T) {
	outer := func(proto uint8, src, dst string) flow.Key {
		k, _ := flow.NewKey(proto, netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst))
		return k
	}
	id := func(kind decode.Tunnel, k flow.Key) *flow.Key {
		var p decode.Packet
		p.Tunnel, p.OuterKey = kind, k
		var scratch flow.Key
		r := tunnelIdentity(&p, &scratch)
		if r == nil {
			return nil
		}
		c := *r
		return &c
	}
	const (
		up     = "192.0.2.1:50000"
		down   = "192.0.2.2:50001"
		upTo   = "192.0.2.2:"
		downTo = "192.0.2.1:"
	)
	for _, tc := range []struct {
		name string
		a, b *flow.Key
		same bool
	}{
		{"VXLAN per-direction source ports", id(decode.TunnelVXLAN, outer(flow.ProtoUDP, up, upTo+"4789")), id(decode.TunnelVXLAN, outer(flow.ProtoUDP, down, downTo+"4789")), false},
		{"VXLAN reply on the same outer flow", id(decode.TunnelVXLAN, outer(flow.ProtoUDP, up, upTo+"4789")), id(decode.TunnelVXLAN, outer(flow.ProtoUDP, upTo+"4789", up)), true},
		{"Geneve per-direction source ports", id(decode.TunnelGeneve, outer(flow.ProtoUDP, up, upTo+"6081")), id(decode.TunnelGeneve, outer(flow.ProtoUDP, down, downTo+"6081")), false},
		{"GTP-U uplink and downlink ports", id(decode.TunnelGTPU, outer(flow.ProtoUDP, up, upTo+"2152")), id(decode.TunnelGTPU, outer(flow.ProtoUDP, upTo+"2152", downTo+"2152")), false},
		{"Teredo per-direction source ports", id(decode.TunnelTeredo, outer(flow.ProtoUDP, up, upTo+"3544")), id(decode.TunnelTeredo, outer(flow.ProtoUDP, down, downTo+"3544")), false},
		{"AYIYA per-direction source ports", id(decode.TunnelAYIYA, outer(flow.ProtoUDP, up, upTo+"5072")), id(decode.TunnelAYIYA, outer(flow.ProtoUDP, down, downTo+"5072")), false},
		{"GRE in UDP per-direction source ports", id(decode.TunnelGREinUDP, outer(flow.ProtoUDP, up, upTo+"4754")), id(decode.TunnelGREinUDP, outer(flow.ProtoUDP, down, downTo+"4754")), true},
		{"GRE either way", id(decode.TunnelGRE, outer(47, "192.0.2.1:0", "192.0.2.2:0")), id(decode.TunnelGRE, outer(47, "192.0.2.2:0", "192.0.2.1:0")), true},
		{"GRE and IP-in-IP between the same hosts", id(decode.TunnelGRE, outer(47, "192.0.2.1:0", "192.0.2.2:0")), id(decode.TunnelIPinIP, outer(4, "192.0.2.1:0", "192.0.2.2:0")), true},
		{"GRE to another host", id(decode.TunnelGRE, outer(47, "192.0.2.1:0", "192.0.2.2:0")), id(decode.TunnelGRE, outer(47, "192.0.2.1:0", "192.0.2.3:0")), false},
		{"ERSPAN, PPTP and Aruba are GRE", id(decode.TunnelERSPAN, outer(47, "192.0.2.1:0", "192.0.2.2:0")), id(decode.TunnelPPTP, outer(47, "192.0.2.2:0", "192.0.2.1:0")), true},
		{"Aruba is GRE", id(decode.TunnelAruba, outer(47, "192.0.2.1:0", "192.0.2.2:0")), id(decode.TunnelGRE, outer(47, "192.0.2.1:0", "192.0.2.2:0")), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.a == nil || tc.b == nil {
				t.Fatal("tunnelled packet without an identity")
			}
			if got := *tc.a == *tc.b; got != tc.same {
				t.Errorf("same tunnel %v, want %v (%v, %v)", got, tc.same, *tc.a, *tc.b)
			}
		})
	}
	var p decode.Packet
	var scratch flow.Key
	if tunnelIdentity(&p, &scratch) != nil {
		t.Error("a packet not tunnelled has a tunnel identity")
	}
}

// TestTunnelChangesInPipeline replays a VXLAN capture whose two
// directions ride different outer source ports through the pipeline, on
// one worker and on several (the batches carry each packet's tunnel): the
// TCP flows reach Zeek's limit of tunnel changes and get X, the DNS flows
// (one change) do not.
func TestTunnelChangesInPipeline(t *testing.T) {
	path := filepath.Join("..", "testdata", "pcaps", "l2-l3", "vxlan.pcap")
	want := []string{
		"10.10.20.4:32860>8.8.8.8:53 SF Dd",
		"10.10.20.4:44437>8.8.8.8:53 SF Dd",
		"10.10.20.4:45226>157.240.224.35:443 SF ShADadXFfRR",
		"10.10.20.4:45228>157.240.224.35:443 SF ShADadXFf",
	}
	for _, workers := range []int{1, 3} {
		src, err := source.Open([]string{path}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var got []string
		p, err := New(Config{Workers: workers, Stages: func(int) Stages {
			return Stages{OnFlow: func(f *flow.Flow) {
				mu.Lock()
				got = append(got, f.Src().String()+">"+f.Dst().String()+" "+f.State()+" "+f.History())
				mu.Unlock()
			}}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(context.Background(), src); err != nil {
			t.Fatal(err)
		}
		src.Close()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%d workers: flows\n%q\nwant\n%q", workers, got, want)
		}
	}
}

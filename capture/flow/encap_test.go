package flow

import (
	"fmt"
	"net/netip"
	"testing"
)

// via sends a step out of tunnel k (nil: not tunnelled).
func (st step) via(k *Key) step { st.tunnel = k; return st }

// udpTunnel is the identity of the outer UDP flow from src to dst.
func udpTunnel(src, dst string) *Key {
	k, _ := NewKey(ProtoUDP, netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst))
	return &k
}

// ipTunnel is the identity of an IP-level tunnel between two hosts.
func ipTunnel(src, dst string) *Key {
	k, _ := NewKey(47, netip.AddrPortFrom(netip.MustParseAddr(src), 0), netip.AddrPortFrom(netip.MustParseAddr(dst), 0))
	k = k.AddrPair()
	return &k
}

var (
	// Two GRE tunnels: the client's packets switch between them.
	greA = ipTunnel("192.0.2.1", "192.0.2.2")
	greB = ipTunnel("192.0.2.1", "192.0.2.3")
	// The same GRE tunnel named from its other end.
	greArev = ipTunnel("192.0.2.2", "192.0.2.1")
	// A VXLAN conversation whose two directions use their own outer
	// source port: two outer UDP flows.
	vxUp   = udpTunnel("192.0.2.1:50000", "192.0.2.2:4789")
	vxDown = udpTunnel("192.0.2.2:50001", "192.0.2.1:4789")
	// The reply of vxUp's conversation on the same outer flow.
	vxUpReply = udpTunnel("192.0.2.2:4789", "192.0.2.1:50000")
)

// alternating is n+1 client datagrams whose tunnel changes n times,
// switching between a and b (nil: not tunnelled), starting with a.
func alternating(n int, a, b *Key) []step {
	steps := make([]step, 0, n+1)
	for i := range n + 1 {
		k := a
		if i%2 == 1 {
			k = b
		}
		steps = append(steps, c(0, 20).via(k))
	}
	return steps
}

// TestTunnelChanges pins Zeek's Connection::CheckEncapsulation: every
// packet whose tunnel differs from the previous packet's is a change
// (none after a tunnel too), the first 5 (Tunnel::max_changes_per_
// connection) are only counted, and the 6th adds X to the history, once,
// before the letters of the packet that made it.
func TestTunnelChanges(t *testing.T) {
	for _, tc := range []struct {
		changes int
		history string
	}{
		{0, "D"}, {1, "D"}, {4, "D"}, {5, "D"}, {6, "DX"}, {7, "DX"}, {20, "DX"},
	} {
		for _, pair := range []struct {
			name string
			a, b *Key
		}{
			{"outer endpoints", greA, greB},
			{"tunnel and none", greA, nil},
			{"none and tunnel", nil, greA},
			{"GRE and VXLAN", greA, vxUp},
		} {
			t.Run(fmt.Sprintf("%s changing %d times", pair.name, tc.changes), func(t *testing.T) {
				out := script(t, ProtoUDP, cli, sips, alternating(tc.changes, pair.a, pair.b))
				if len(out) != 1 {
					t.Fatalf("%d flows, want 1", len(out))
				}
				f := &out[0]
				if f.History() != tc.history {
					t.Errorf("history %q, want %q", f.History(), tc.history)
				}
				if got, want := int(f.encap&^encapOn), min(tc.changes, maxTunnelChanges); got != want {
					t.Errorf("%d changes counted, want %d", got, want)
				}
			})
		}
	}
}

// TestTunnelChangeRules pins which packets are a change and where X goes
// in a TCP conversation.
func TestTunnelChangeRules(t *testing.T) {
	runConnCases(t, []connCase{
		{
			name: "stable GRE tunnel, either end sending: no X",
			steps: []step{
				c(FlagSYN, 0).via(greA), s(FlagSYN|FlagACK, 0).via(greArev), c(FlagACK, 0).via(greA),
				c(psh, 10).via(greA), s(psh, 10).via(greArev), c(fin, 0).via(greA), s(fin, 0).via(greArev), c(FlagACK, 0).via(greA),
			},
			state: StateSF, history: "ShADdFf", origIsCl: true,
		},
		{
			name: "VXLAN answered on the same outer flow: no X",
			steps: []step{
				c(FlagSYN, 0).via(vxUp), s(FlagSYN|FlagACK, 0).via(vxUpReply), c(FlagACK, 0).via(vxUp),
				c(psh, 10).via(vxUp), s(psh, 10).via(vxUpReply), c(fin, 0).via(vxUp), s(fin, 0).via(vxUpReply), c(FlagACK, 0).via(vxUp),
			},
			state: StateSF, history: "ShADdFf", origIsCl: true,
		},
		{
			// Five turns of the conversation: five changes, no X.
			name: "VXLAN with an outer flow per direction, 5 turns",
			steps: []step{
				c(FlagSYN, 0).via(vxUp), s(FlagSYN|FlagACK, 0).via(vxDown), c(FlagACK, 0).via(vxUp),
				c(psh, 10).via(vxUp), s(psh, 10).via(vxDown), c(fin, 0).via(vxUp), s(fin, 0).via(vxDown),
			},
			state: StateSF, history: "ShADdFf", origIsCl: true,
		},
		{
			// The sixth turn is the client's FIN: X comes before its F.
			name: "VXLAN with an outer flow per direction, 6 turns",
			steps: []step{
				c(FlagSYN, 0).via(vxUp), s(FlagSYN|FlagACK, 0).via(vxDown), c(FlagACK, 0).via(vxUp),
				c(psh, 10).via(vxUp), s(psh, 10).via(vxDown), c(FlagACK, 0).via(vxUp),
				s(fin, 0).via(vxDown), c(fin, 0).via(vxUp), s(FlagACK, 0).via(vxDown),
			},
			state: StateSF, history: "ShADdfXFa", origIsCl: true,
		},
		{
			// Only the 6th change counts, not the 6th tunnelled packet.
			name: "stable runs between changes",
			steps: []step{
				c(FlagSYN, 0).via(greA), s(FlagSYN|FlagACK, 0).via(greA), c(FlagACK, 0).via(greA),
				c(psh, 10).via(greB), c(psh, 10).via(greB), c(psh, 10).via(greA), c(psh, 10).via(greB),
				c(psh, 10).via(greA), c(psh, 10).via(greA), c(psh, 10).via(greB), s(psh, 10).via(greB),
				s(fin, 0).via(greA), c(fin, 0).via(greA),
			},
			state: StateSF, history: "ShADdXfF", origIsCl: true,
		},
	})
}

// TestTunnelledPacketsAllocateNothing: a tunnelled flow's packets
// allocate nothing after its first, however often its tunnel changes, and
// a flow never tunnelled keeps encap zero and no Meta, so its packets take
// only the branch that skips the comparison.
func TestTunnelledPacketsAllocateNothing(t *testing.T) {
	tab := NewTable(DefaultConfig(), nil)
	a, b := netip.MustParseAddrPort(cli), netip.MustParseAddrPort(sips)
	ka, da := NewKey(ProtoUDP, a, b)
	kb, db := NewKey(ProtoUDP, b, a)
	var now int64
	tab.PacketTunneled(&Packet{Key: ka, Dir: da, Time: now}, nil, vxUp)
	i := 0
	turn := func() {
		now++
		i++
		tab.PacketTunneled(&Packet{Key: ka, Dir: da, Time: now, PayloadLen: 20}, nil, vxUp)
		tab.PacketTunneled(&Packet{Key: kb, Dir: db, Time: now, PayloadLen: 20}, nil, vxDown)
		if i%3 == 0 {
			tab.PacketTunneled(&Packet{Key: kb, Dir: db, Time: now, PayloadLen: 20}, nil, nil)
		}
	}
	if allocs := testing.AllocsPerRun(1000, turn); allocs != 0 {
		t.Fatalf("%v allocs per turn", allocs)
	}
	f := tab.Lookup(ka)
	if f == nil || f.History() != "DdX" {
		t.Fatalf("flow %v", f)
	}
	if f.Meta == nil || f.Meta.tunnel == nil {
		t.Fatal("tunnelled flow without its tunnel")
	}
	untunnelled, _ := NewKey(ProtoUDP, netip.MustParseAddrPort("10.0.0.9:40000"), b)
	tab.Packet(&Packet{Key: untunnelled, Dir: DirAB, Time: now})
	tab.Packet(&Packet{Key: untunnelled, Dir: DirAB, Time: now})
	if g := tab.Lookup(untunnelled); g.encap != 0 || g.Meta != nil {
		t.Fatalf("untunnelled flow: encap %#x, meta %v", g.encap, g.Meta)
	}
}

package decode

import (
	"net/netip"
	"sort"
	"sync/atomic"

	"github.com/ccaudit/auditor/capture/flow"
)

// TunnelID is the comparable identity of an outer tunnel: its kind and the
// outer flow that carried it, with the direction it is named in.
type TunnelID struct {
	Kind  Tunnel
	Outer flow.Key
	Dir   flow.Dir // the tunnel's originator within Outer
}

// TunnelOf returns the tunnel p was taken out of (Kind TunnelNone when
// none).
func TunnelOf(p *Packet) TunnelID {
	return TunnelID{Kind: p.Tunnel, Outer: p.OuterKey, Dir: p.OuterDir}
}

// String is the tunnel's compact form, the flows' tunnel column: the kind,
// a space, then the outer originator and responder, joined by "->". UDP tunnels give ports ("vxlan 10.0.0.1:51000->10.0.0.2:4789",
// IPv6 in brackets), IP-level tunnels none ("gre 10.0.0.1->10.0.0.2").
func (t TunnelID) String() string {
	if t.Kind == TunnelNone {
		return ""
	}
	src, dst := t.Outer.Endpoint(t.Dir), t.Outer.Endpoint(t.Dir.Flip())
	b := make([]byte, 0, 64)
	b = append(b, t.Kind.String()...)
	b = append(b, ' ')
	b = appendEndpoint(b, src, t.Outer.Proto())
	b = append(b, "->"...)
	b = appendEndpoint(b, dst, t.Outer.Proto())
	return string(b)
}

func appendEndpoint(b []byte, ap netip.AddrPort, proto uint8) []byte {
	if proto != flow.ProtoUDP && proto != flow.ProtoTCP {
		return ap.Addr().AppendTo(b)
	}
	return ap.AppendTo(b)
}

// TunnelNames interns tunnel strings, so the flows of one tunnel share one
// string and a tunnel's name is built once, not per flow. It is bounded:
// past maxNames tunnels it starts over. Not safe for concurrent use: one
// per flow-table worker.
type TunnelNames struct {
	m map[TunnelID]string
}

const maxTunnelNames = 4096

// Name returns the tunnel column value for a flow whose first packet is p:
// empty when p was not tunnelled.
func (n *TunnelNames) Name(p *Packet) string {
	if p.Tunnel == TunnelNone {
		return ""
	}
	id := TunnelOf(p)
	if s, ok := n.m[id]; ok {
		return s
	}
	if n.m == nil || len(n.m) >= maxTunnelNames {
		n.m = make(map[TunnelID]string)
	}
	s := id.String()
	n.m[id] = s
	return s
}

// TunnelStats is one outer tunnel connection: what tunnels.parquet holds
// per row. The originator is the sender of the first tunnelled packet.
type TunnelStats struct {
	Kind        Tunnel
	Outer       flow.Key
	OrigDir     flow.Dir
	First, Last int64 // unix ns
	// Packets and Bytes (wire length) sent by each side inside the tunnel.
	PacketsOut, PacketsIn uint64
	BytesOut, BytesIn     uint64
}

// Src and Dst are the outer originator and responder.
func (s *TunnelStats) Src() netip.AddrPort { return s.Outer.Endpoint(s.OrigDir) }

// Dst is the outer responder.
func (s *TunnelStats) Dst() netip.AddrPort { return s.Outer.Endpoint(s.OrigDir.Flip()) }

// Name is the tunnel column value of the flows the tunnel's first packet
// started.
func (s *TunnelStats) Name() string {
	return TunnelID{Kind: s.Kind, Outer: s.Outer, Dir: s.OrigDir}.String()
}

// tunnelKey identifies a tunnel regardless of direction.
type tunnelKey struct {
	kind  Tunnel
	outer flow.Key
}

// tunnelTable aggregates the tunnels the decoder opened. It is updated
// only for tunnelled packets; a one-entry cache spares the map lookup for
// runs of packets of the same tunnel.
type tunnelTable struct {
	m       map[tunnelKey]*TunnelStats
	lastKey tunnelKey
	last    *TunnelStats
	max     int
	dropped *atomic.Uint64
}

// maxTunnels bounds the table; tunnels beyond it are counted, not kept.
const maxTunnels = 65536

func (t *tunnelTable) add(id *TunnelID, ts int64, wireLen int) *TunnelStats {
	k := tunnelKey{id.Kind, id.Outer}
	s := t.last
	if s == nil || k != t.lastKey {
		s = t.m[k]
		if s == nil {
			if t.m == nil {
				t.m = make(map[tunnelKey]*TunnelStats)
			}
			if len(t.m) >= t.max {
				t.dropped.Add(1)
				return nil
			}
			s = &TunnelStats{Kind: id.Kind, Outer: id.Outer, OrigDir: id.Dir, First: ts}
			t.m[k] = s
		}
		t.lastKey, t.last = k, s
	}
	s.First = min(s.First, ts)
	s.Last = max(s.Last, ts)
	if id.Dir == s.OrigDir {
		s.PacketsOut++
		s.BytesOut += uint64(wireLen)
	} else {
		s.PacketsIn++
		s.BytesIn += uint64(wireLen)
	}
	return s
}

// Tunnels returns the tunnel connections decoded so far, ordered by first
// packet time then outer key, and forgets them: a caller that writes them
// at each rotation gets each tunnel's packets since the last call. Decoding
// goroutine only.
func (d *Decoder) Tunnels() []TunnelStats {
	t := &d.tunnels
	out := make([]TunnelStats, 0, len(t.m))
	for _, s := range t.m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].First != out[j].First {
			return out[i].First < out[j].First
		}
		if c := out[i].Outer.Compare(out[j].Outer); c != 0 {
			return c < 0
		}
		return out[i].Kind < out[j].Kind
	})
	clear(t.m)
	t.last = nil
	return out
}

package names

import (
	"sync/atomic"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

// ServerNamer sets Meta.ServerName on every flow whose responder address a
// DNS answer named. It looks up once, when the flow starts: the answer a
// client acts on precedes its connection, and a name learned later would
// belong to a later connection. It never wants packets, so it costs one
// cache lookup per flow. Place it last in the dissector list, after the
// dissectors that set Meta fields of their own at flow start.
type ServerNamer struct {
	cache *dnsinfo.Cache
	named atomic.Uint64
}

// NewServerNamer returns a ServerNamer reading cache.
func NewServerNamer(cache *dnsinfo.Cache) *ServerNamer { return &ServerNamer{cache: cache} }

// Named is the number of flows that got a name.
func (n *ServerNamer) Named() uint64 { return n.named.Load() }

// Start names the flow and declines its packets. Meta is allocated only
// when a name is found.
func (n *ServerNamer) Start(f *flow.Flow, _ *decode.Packet) bool {
	if n.cache == nil {
		return false
	}
	if name, ok := n.cache.Lookup(f.Src().Addr(), f.Dst().Addr(), f.First); ok {
		f.MetaOrNew().ServerName = name
		n.named.Add(1)
	}
	return false
}

// Packet is never called: Start declines every flow.
func (n *ServerNamer) Packet(*flow.Flow, *decode.Packet, bool) bool { return false }

// End has nothing to release.
func (n *ServerNamer) End(*flow.Flow) {}

package names

import (
	"sync/atomic"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

// ServerNamer sets Meta.ServerName on every flow whose responder address a
// DNS answer named before the flow started: the answer a client acts on
// precedes its connection, and a name learned later would belong to a
// later connection. It looks up when the flow starts, in the cache as the
// last epoch commit left it. An answer from the flow's own epoch is not
// committed yet, so a flow found nameless is looked up again when it ends,
// by then committed; the cache still only accepts answers observed before
// the flow's first packet. Place it last in the dissector list, after the
// dissectors that set Meta fields of their own at flow start.
type ServerNamer struct {
	cache *dnsinfo.Cache
	named atomic.Uint64
}

// NewServerNamer returns a ServerNamer reading cache.
func NewServerNamer(cache *dnsinfo.Cache) *ServerNamer { return &ServerNamer{cache: cache} }

// Named is the number of flows that got a name.
func (n *ServerNamer) Named() uint64 { return n.named.Load() }

// Start names the flow. It asks for the flow (so End comes) only when it
// found no name; Packet then declines at once. Meta is allocated only
// when a name is found.
func (n *ServerNamer) Start(f *flow.Flow, _ *decode.Packet) bool {
	if n.cache == nil {
		return false
	}
	return !n.name(f)
}

func (n *ServerNamer) name(f *flow.Flow) bool {
	name, ok := n.cache.Lookup(f.Src().Addr(), f.Dst().Addr(), f.First)
	if ok {
		f.MetaOrNew().ServerName = name
		n.named.Add(1)
	}
	return ok
}

// Packet declines: the second lookup waits for End.
func (n *ServerNamer) Packet(*flow.Flow, *decode.Packet, bool) bool { return false }

// End looks up again a flow that started nameless.
func (n *ServerNamer) End(f *flow.Flow) {
	if f.Meta == nil || f.Meta.ServerName == "" {
		n.name(f)
	}
}

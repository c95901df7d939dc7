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
// later connection.
//
// It looks up twice. When the flow starts, the cache is as the last epoch
// commit left it, without the answers of the flow's own epoch: the flow
// may find no name, or the name its client resolved for the address
// before the one it acted on. When the flow ends, its epoch is committed,
// and the cache, which keeps when each association began and the one it
// replaced, answers for the flow's first packet as if it had seen every
// answer as it came: that name wins when it is the client's own (exact).
// Otherwise the first lookup's stands, because over a long flow the
// client's entry may have been replaced twice or evicted, leaving only
// another client's answer. So the epoch's length changes no name. Place
// it last in the dissector list, after the dissectors that set Meta fields
// of their own at flow start.
type ServerNamer struct {
	cache *dnsinfo.Cache
	named atomic.Uint64
}

// NewServerNamer returns a ServerNamer reading cache.
func NewServerNamer(cache *dnsinfo.Cache) *ServerNamer { return &ServerNamer{cache: cache} }

// Named is the number of flows that got a name.
func (n *ServerNamer) Named() uint64 { return n.named.Load() }

// Start names the flow and asks for it, so that End comes; Packet then
// declines at once. Meta is allocated only when a name is found.
func (n *ServerNamer) Start(f *flow.Flow, _ *decode.Packet) bool {
	if n.cache == nil {
		return false
	}
	if e, ok := n.cache.LookupEntry(f.Src().Addr(), f.Dst().Addr(), f.First); ok {
		n.set(f, e.Name)
	}
	return true
}

func (n *ServerNamer) set(f *flow.Flow, name string) {
	m := f.MetaOrNew()
	if m.ServerName == "" {
		n.named.Add(1)
	}
	m.ServerName = name
}

// Packet declines: the second lookup waits for End.
func (n *ServerNamer) Packet(*flow.Flow, *decode.Packet, bool) bool { return false }

// End looks the flow up again, with its first epoch committed.
func (n *ServerNamer) End(f *flow.Flow) {
	if n.cache == nil {
		return
	}
	e, ok := n.cache.LookupEntry(f.Src().Addr(), f.Dst().Addr(), f.First)
	if !ok {
		return
	}
	if e.Exact || f.Meta == nil || f.Meta.ServerName == "" {
		n.set(f, e.Name)
	}
}

package parquetout

import (
	"encoding/binary"
	"net/netip"
)

// addrCacheBits sizes addrCache: 4096 slots hold the few hundred hosts of
// a site with room for collisions, in 160 KB.
const addrCacheBits = 12

// addrCache remembers the text of recently formatted addresses in a
// direct-mapped table: a hit costs a hash and a comparison instead of
// netip.Addr.String's formatting and allocation, and hands out the same
// string each time, which the dictionary columns then find at their
// last-value check. A map keyed by the address cost about what formatting
// does; this table does not grow, and a collision only formats again.
type addrCache struct {
	slots [1 << addrCacheBits]struct {
		addr netip.Addr
		text string
	}
}

// text is a.String(), from the cache when a was seen recently.
func (c *addrCache) text(a netip.Addr) string {
	if !a.IsValid() {
		return a.String()
	}
	b := a.As16()
	h := (binary.LittleEndian.Uint64(b[:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(b[8:])) * 0xbf58476d1ce4e5b9
	e := &c.slots[h>>(64-addrCacheBits)]
	if e.text != "" && e.addr == a {
		return e.text
	}
	e.addr, e.text = a, a.String()
	return e.text
}

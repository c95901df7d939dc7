package catalog

import (
	"cmp"
	"net/netip"
	"slices"
)

// u128 is an unsigned 128-bit key. Ports and IPv4/IPv6 addresses all map onto
// it, so one interval structure serves port ranges and CIDRs.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// next returns a+1 and false when a is the maximum (no successor).
func (a u128) next() (u128, bool) {
	if a.lo != ^uint64(0) {
		return u128{a.hi, a.lo + 1}, true
	}
	if a.hi != ^uint64(0) {
		return u128{a.hi + 1, 0}, true
	}
	return a, false
}

func portKey(p uint16) u128 { return u128{lo: uint64(p)} }

// addrKey maps an address onto u128; IPv4 addresses are IPv4-mapped, so
// an IPv4 CIDR and a v4-mapped IPv6 CIDR cover the same keys (callers Unmap
// addresses first, so a mapped address finds the IPv4 entries).
func addrKey(a netip.Addr) u128 {
	b := a.As16()
	return u128{
		hi: uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7]),
		lo: uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 | uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15]),
	}
}

// prefixSpan returns the first and last key of a CIDR.
func prefixSpan(p netip.Prefix) (lo, hi u128) {
	p = p.Masked()
	lo = addrKey(p.Addr())
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	hostBits := 128 - bits
	hi = lo
	switch {
	case hostBits >= 128:
		hi = u128{^uint64(0), ^uint64(0)}
	case hostBits > 64:
		hi.hi |= (1 << (hostBits - 64)) - 1
		hi.lo = ^uint64(0)
	case hostBits == 64:
		hi.lo = ^uint64(0)
	case hostBits > 0:
		hi.lo |= (1 << hostBits) - 1
	}
	return lo, hi
}

// span is an inclusive key interval carrying a payload index.
type span struct {
	lo, hi u128
	id     int
}

// segments splits the key space at every span boundary into elementary
// segments, each labelled with the spans covering all of it. A query is then
// one binary search over the segment starts: O(log n) however the spans
// overlap, at the price of storing each span once per segment it covers.
type segments struct {
	starts []u128
	cover  [][]int // span ids covering segment i, in ascending id order
}

func buildSegments(spans []span) segments {
	if len(spans) == 0 {
		return segments{}
	}
	bounds := make([]u128, 0, 2*len(spans))
	for _, s := range spans {
		bounds = append(bounds, s.lo)
		if n, ok := s.hi.next(); ok {
			bounds = append(bounds, n)
		}
	}
	slices.SortFunc(bounds, u128.cmp)
	bounds = slices.CompactFunc(bounds, func(a, b u128) bool { return a == b })

	// Sweep: spans sorted by start enter the active set at their start and
	// leave once the segment start passes their end.
	byLo := slices.Clone(spans)
	slices.SortFunc(byLo, func(a, b span) int { return a.lo.cmp(b.lo) })
	seg := segments{starts: bounds, cover: make([][]int, len(bounds))}
	var active []span
	next := 0
	for i, b := range bounds {
		for next < len(byLo) && byLo[next].lo.cmp(b) <= 0 {
			active = append(active, byLo[next])
			next++
		}
		active = slices.DeleteFunc(active, func(s span) bool { return s.hi.cmp(b) < 0 })
		if len(active) == 0 {
			continue
		}
		ids := make([]int, len(active))
		for j, s := range active {
			ids[j] = s.id
		}
		slices.Sort(ids)
		seg.cover[i] = slices.Compact(ids)
	}
	return seg
}

// find returns the index of the segment holding k, or -1.
func (s *segments) find(k u128) int {
	lo, hi := 0, len(s.starts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.starts[m].cmp(k) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

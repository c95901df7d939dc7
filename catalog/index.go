package catalog

import (
	"net/netip"
	"slices"
)

// Index answers "which entries cover this transport and port" and "which
// cloud entries cover this address" in O(log n) per query, allocation-free
// when the caller's result slice has capacity. It is immutable and safe for
// concurrent use.
type Index struct {
	entries []*Entry
	named   []*Entry // the entries with FQDN patterns, in order
	tcp     portTable
	udp     portTable
	addrs   addrTable
	dynamic [2][]*Entry // [0] tcp, [1] udp: entries whose ports are negotiated
}

// IndexOption configures NewIndex.
type IndexOption func(*indexConfig)

type indexConfig struct {
	ports func(*Entry) PortSet
}

// WithPorts makes the index use ports(e) instead of e.Ports for each
// entry. Pass (*Inventory).EffectivePorts to build a site's index with its
// overrides and area parameters applied:
//
//	ix := catalog.NewIndex(cat.Entries(), catalog.WithPorts(inv.EffectivePorts))
func WithPorts(ports func(*Entry) PortSet) IndexOption {
	return func(c *indexConfig) { c.ports = ports }
}

type portHit struct {
	entry *Entry
	// mask: bit 0 set when even ports of the segment match, bit 1 odd.
	mask uint8
}

type portTable struct {
	seg  segments
	hits [][]portHit
}

type addrTable struct {
	seg  segments
	hits [][]*Entry
}

func parityMask(p Parity) uint8 {
	switch p {
	case EvenPorts:
		return 1
	case OddPorts:
		return 2
	}
	return 3
}

// NewIndex indexes entries. The order of entries is kept: a lookup returns
// its matches in that order.
func NewIndex(entries []*Entry, opts ...IndexOption) *Index {
	var cfg indexConfig
	for _, o := range opts {
		o(&cfg)
	}
	b := indexBuilder{ix: &Index{entries: slices.Clone(entries)}, ports: cfg.ports}
	for i, e := range b.ix.entries {
		b.add(i, e)
	}
	b.ix.tcp = b.portTable(b.tcpSpans)
	b.ix.udp = b.portTable(b.udpSpans)
	b.ix.addrs = b.addrTable()
	return b.ix
}

// indexBuilder collects the spans of every entry's ports and addresses,
// from which NewIndex builds the segment tables.
type indexBuilder struct {
	ix    *Index
	ports func(*Entry) PortSet // nil: e.Ports
	// recs are the port ranges, by span id: whose they are and which
	// parities they match.
	recs                          []portRec
	tcpSpans, udpSpans, addrSpans []span
}

type portRec struct {
	entry int
	mask  uint8
}

// add records entry i: its names, its port ranges under its transports,
// whether its ports are negotiated, and its address ranges.
func (b *indexBuilder) add(i int, e *Entry) {
	if len(e.FQDNs) > 0 {
		b.ix.named = append(b.ix.named, e)
	}
	ports := e.Ports
	if b.ports != nil {
		ports = b.ports(e)
	}
	b.addPorts(i, e, ports)
	if e.Direction == BothWays && !e.FromPorts.IsZero() && !e.FromPorts.IsAny() {
		// Either side may listen: the stated source ports index too.
		b.addPorts(i, e, e.FromPorts)
	}
	if ports.Dynamic {
		if e.Transport&TCP != 0 {
			b.ix.dynamic[0] = append(b.ix.dynamic[0], e)
		}
		if e.Transport&UDP != 0 {
			b.ix.dynamic[1] = append(b.ix.dynamic[1], e)
		}
	}
	for _, p := range e.CIDRs {
		lo, hi := prefixSpan(p)
		b.addrSpans = append(b.addrSpans, span{lo: lo, hi: hi, id: i})
	}
}

// addPorts records the ranges of ps as entry i's, under each transport
// the entry uses.
func (b *indexBuilder) addPorts(i int, e *Entry, ps PortSet) {
	for _, r := range ps.Ranges {
		s := span{lo: portKey(r.Lo), hi: portKey(r.Hi), id: len(b.recs)}
		b.recs = append(b.recs, portRec{entry: i, mask: parityMask(r.Parity)})
		if e.Transport&TCP != 0 {
			b.tcpSpans = append(b.tcpSpans, s)
		}
		if e.Transport&UDP != 0 {
			b.udpSpans = append(b.udpSpans, s)
		}
	}
}

// portTable builds one transport's segments and, per segment, the
// entries covering it with the parities they match.
func (b *indexBuilder) portTable(spans []span) portTable {
	t := portTable{seg: buildSegments(spans)}
	t.hits = make([][]portHit, len(t.seg.cover))
	for i, ids := range t.seg.cover {
		var hs []portHit
		// ids ascend, and records of one entry are consecutive, so
		// merging with the last hit dedupes an entry whose ranges overlap.
		for _, id := range ids {
			r := b.recs[id]
			if n := len(hs); n > 0 && hs[n-1].entry == b.ix.entries[r.entry] {
				hs[n-1].mask |= r.mask
				continue
			}
			hs = append(hs, portHit{entry: b.ix.entries[r.entry], mask: r.mask})
		}
		t.hits[i] = hs
	}
	return t
}

// addrTable builds the address segments and the entries covering each.
func (b *indexBuilder) addrTable() addrTable {
	t := addrTable{seg: buildSegments(b.addrSpans)}
	t.hits = make([][]*Entry, len(t.seg.cover))
	for i, ids := range t.seg.cover {
		for _, id := range ids {
			t.hits[i] = append(t.hits[i], b.ix.entries[id])
		}
	}
	return t
}

// Len returns the number of indexed entries.
func (ix *Index) Len() int { return len(ix.entries) }

// Lookup appends to dst every entry whose transport matches the IP protocol
// number proto (6 TCP, 17 UDP) and whose ports cover port, and returns the
// extended slice. For BothWays entries the stated FromPorts count too,
// since either side may listen. It does not allocate when dst has room.
// Entries with only dynamic or unspecified ports never match; see Dynamic.
func (ix *Index) Lookup(proto uint8, port uint16, dst []*Entry) []*Entry {
	return ix.LookupVendor("", proto, port, dst)
}

// LookupVendor is Lookup restricted to one vendor ("" for all).
func (ix *Index) LookupVendor(vendor string, proto uint8, port uint16, dst []*Entry) []*Entry {
	var t *portTable
	switch proto {
	case protoTCP:
		t = &ix.tcp
	case protoUDP:
		t = &ix.udp
	default:
		return dst
	}
	i := t.seg.find(portKey(port))
	if i < 0 {
		return dst
	}
	bit := uint8(1) << (port & 1)
	for _, h := range t.hits[i] {
		if h.mask&bit == 0 || (vendor != "" && h.entry.Vendor != vendor) {
			continue
		}
		dst = append(dst, h.entry)
	}
	return dst
}

// Dynamic appends the entries of transport proto whose port is negotiated at
// run time (RTP "Dynamic" in the documents): candidates for any port of a
// flow between their roles once signalling has been seen.
func (ix *Index) Dynamic(proto uint8, dst []*Entry) []*Entry {
	switch proto {
	case protoTCP:
		return append(dst, ix.dynamic[0]...)
	case protoUDP:
		return append(dst, ix.dynamic[1]...)
	}
	return dst
}

// LookupAddr appends to dst every entry with a CIDR containing addr (cloud
// destinations such as the MS Teams media ranges). IPv4-mapped IPv6
// addresses match IPv4 CIDRs. It does not allocate when dst has room.
func (ix *Index) LookupAddr(addr netip.Addr, dst []*Entry) []*Entry {
	if !addr.IsValid() {
		return dst
	}
	i := ix.addrs.seg.find(addrKey(addr.Unmap()))
	if i < 0 {
		return dst
	}
	return append(dst, ix.addrs.hits[i]...)
}

// MatchFQDN appends to dst every entry with an FQDN pattern matching name
// ("*.imagicle.cloud" matches "eu.imagicle.cloud"). Linear in the number
// of entries with FQDN patterns, which are few: every named flow asks.
func (ix *Index) MatchFQDN(name string, dst []*Entry) []*Entry {
	for _, e := range ix.named {
		if e.MatchFQDN(name) {
			dst = append(dst, e)
		}
	}
	return dst
}

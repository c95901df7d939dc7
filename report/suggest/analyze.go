package suggest

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ccaudit/auditor/catalog"
)

// narrowPorts is the widest range whose ports tell a vendor's product
// apart from everything else; wider ranges (a media server's 16384-32767)
// are generic evidence.
const narrowPorts = 1000

// genericPort reports whether p is a port many products use (well-known
// ports, databases, SIP, remote desktop, alternative HTTP): serving it
// says nothing about which vendor's role a host plays.
func genericPort(p uint16) bool {
	if p < 1024 {
		return true
	}
	switch p {
	case 1433, 1434, 1521, 3306, 3389, 5060, 5061, 5432, 8000, 8008, 8080, 8443, 8888:
		return true
	}
	return false
}

// maxPeers bounds the peers kept per host and entry; counts go on.
const maxPeers = 64

type entryInfo struct {
	e      *catalog.Entry
	ports  catalog.PortSet // the entry's ranges but the broad ones
	listen []string        // qualified roles that may listen on ports
	open   []string        // qualified roles that may open the flow
	label  string          // "3952/tcp"
}

type evidence struct {
	flows       int
	peers       map[netip.Addr]int
	peerCount   int
	first, last time.Time
}

func (ev *evidence) add(peer netip.Addr, f *Flow) {
	if ev.flows == 0 || f.First.Before(ev.first) {
		ev.first = f.First
	}
	if f.Last.After(ev.last) {
		ev.last = f.Last
	}
	ev.flows++
	if _, ok := ev.peers[peer]; ok {
		ev.peers[peer]++
		return
	}
	ev.peerCount++
	if len(ev.peers) < maxPeers {
		ev.peers[peer] = 1
	}
}

// unitKey is one piece of evidence: a port, or for a range wider than
// unitSpan the whole range, so the RTP ports of one phone model count once
// and the entries that share a port (several documented flows to the CIC
// server's 5597) count once too.
type unitKey struct {
	proto  uint8
	lo, hi uint16
}

// unitSpan is the widest range whose ports count one by one.
const unitSpan = 16

func (k unitKey) String() string {
	p := portKey{k.proto, k.hi}.String()
	if k.lo != k.hi {
		return strconv.Itoa(int(k.lo)) + "-" + p
	}
	return p
}

// unit is what a host showed on one unitKey: the flows, and the entries
// that cover it.
type unit struct {
	key unitKey
	evidence
	entries []*entryInfo
	// distinctive: the port is not generic and its range is narrow.
	distinctive bool
}

type portKey struct {
	proto uint8
	port  uint16
}

func (k portKey) String() string {
	p := strconv.Itoa(int(k.proto))
	switch k.proto {
	case 6:
		p = "tcp"
	case 17:
		p = "udp"
	}
	return strconv.Itoa(int(k.port)) + "/" + p
}

type host struct {
	addr        netip.Addr
	flows       int
	first, last time.Time
	served      map[unitKey]*unit
	opened      map[unitKey]*unit
	servedPorts map[portKey]int
	usedPorts   map[portKey]int
}

// Config chooses the catalog and vendors.
type Config struct {
	Catalog *catalog.Catalog
	// Vendors are the vendors whose roles may be suggested; empty means
	// every vendor of the catalog.
	Vendors []string
}

// Analyzer accumulates per-host evidence from flows. It is not safe for
// concurrent use.
type Analyzer struct {
	cat      *catalog.Catalog
	vendors  []string
	ix       *catalog.Index
	info     map[*catalog.Entry]*entryInfo
	listenOf map[string][]*entryInfo
	openOf   map[string][]*entryInfo
	hosts    map[netip.Addr]*host
	scratch  []*catalog.Entry
	// names maps a DNS name to the addresses its A and AAAA answers gave,
	// for same_hosts suggestions.
	names map[string]map[netip.Addr]struct{}
	// Unanswered counts flows skipped because the responder never took
	// part: a scan or a blocked port says nothing about roles.
	unanswered int
}

// New prepares an analyzer for the chosen vendors.
func New(cfg Config) (*Analyzer, error) {
	if cfg.Catalog == nil {
		return nil, fmt.Errorf("suggest: no catalog")
	}
	a := &Analyzer{cat: cfg.Catalog, info: make(map[*catalog.Entry]*entryInfo), listenOf: make(map[string][]*entryInfo),
		openOf: make(map[string][]*entryInfo), hosts: make(map[netip.Addr]*host)}
	a.vendors = cfg.Vendors
	if len(a.vendors) == 0 {
		for _, v := range cfg.Catalog.Vendors() {
			a.vendors = append(a.vendors, v.ID)
		}
	}
	var entries []*catalog.Entry
	for _, v := range a.vendors {
		if _, ok := cfg.Catalog.Vendor(v); !ok {
			return nil, fmt.Errorf("suggest: vendor %q is not in the catalog", v)
		}
		for _, e := range cfg.Catalog.EntriesOf(v) {
			in := newEntryInfo(e)
			if len(in.ports.Ranges) == 0 {
				continue // no port a flow can be matched on
			}
			a.info[e] = in
			entries = append(entries, e)
			for _, r := range in.listen {
				a.listenOf[r] = append(a.listenOf[r], in)
			}
			for _, r := range in.open {
				a.openOf[r] = append(a.openOf[r], in)
			}
		}
	}
	a.ix = catalog.NewIndex(entries)
	return a, nil
}

func newEntryInfo(e *catalog.Entry) *entryInfo {
	in := &entryInfo{e: e}
	// Broad ranges are no evidence at all, as in the classifier's
	// port-only mode.
	in.ports.Ranges = e.Ports.Narrow().Ranges
	q := func(rs catalog.Roles) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = catalog.QualifyRole(e.Vendor, r)
		}
		return out
	}
	in.listen, in.open = q(e.To), q(e.From)
	// The From roles listen too, and the To roles open, when the entry
	// allows the flow backward.
	if e.Direction.Fit(false, true).Allowed() {
		for _, r := range q(e.From) {
			if !slices.Contains(in.listen, r) {
				in.listen = append(in.listen, r)
			}
		}
		for _, r := range q(e.To) {
			if !slices.Contains(in.open, r) {
				in.open = append(in.open, r)
			}
		}
	}
	t := "tcp"
	switch e.Transport {
	case catalog.UDP:
		t = "udp"
	case catalog.Both:
		t = "tcp+udp"
	}
	in.label = in.ports.String() + "/" + t
	return in
}

func (a *Analyzer) host(addr netip.Addr) *host {
	h, ok := a.hosts[addr]
	if !ok {
		h = &host{addr: addr, served: make(map[unitKey]*unit), opened: make(map[unitKey]*unit),
			servedPorts: make(map[portKey]int), usedPorts: make(map[portKey]int)}
		a.hosts[addr] = h
	}
	return h
}

func (h *host) seen(f *Flow) {
	if h.flows == 0 || f.First.Before(h.first) {
		h.first = f.First
	}
	if f.Last.After(h.last) {
		h.last = f.Last
	}
	h.flows++
}

func unitOf(m map[unitKey]*unit, k unitKey, in *entryInfo, distinctive bool) *unit {
	u, ok := m[k]
	if !ok {
		u = &unit{key: k, evidence: evidence{peers: make(map[netip.Addr]int)}, distinctive: distinctive}
		m[k] = u
	}
	if !slices.Contains(u.entries, in) {
		u.entries = append(u.entries, in)
	}
	return u
}

// Add takes one flow into account. Flows the responder never answered
// are counted and skipped.
func (a *Analyzer) Add(f Flow) {
	if !f.Answered {
		a.unanswered++
		return
	}
	if f.Proto != 6 && f.Proto != 17 {
		return
	}
	src, dst := a.host(f.Src), a.host(f.Dst)
	src.seen(&f)
	dst.seen(&f)
	k := portKey{f.Proto, f.DstPort}
	dst.servedPorts[k]++
	src.usedPorts[k]++
	a.scratch = a.ix.Lookup(f.Proto, f.DstPort, a.scratch[:0])
	var served, opened []*unit
	for _, e := range a.scratch {
		in := a.info[e]
		i := slices.IndexFunc(in.ports.Ranges, func(r catalog.PortRange) bool { return r.Contains(f.DstPort) })
		if i < 0 {
			continue
		}
		r := in.ports.Ranges[i]
		k := unitKey{f.Proto, f.DstPort, f.DstPort}
		if int(r.Hi)-int(r.Lo)+1 > unitSpan {
			k.lo, k.hi = r.Lo, r.Hi
		}
		distinctive := !genericPort(f.DstPort) && int(r.Hi)-int(r.Lo)+1 <= narrowPorts
		if u := unitOf(dst.served, k, in, distinctive); !slices.Contains(served, u) {
			served = append(served, u)
		}
		if u := unitOf(src.opened, k, in, distinctive); !slices.Contains(opened, u) {
			opened = append(opened, u)
		}
	}
	for _, u := range served {
		u.add(f.Src, &f)
	}
	for _, u := range opened {
		u.add(f.Dst, &f)
	}
}

// Hosts is the number of hosts seen in answered flows.
// AddName records that a DNS A or AAAA answer gave name the address
// addr. A name whose answers give addresses of both families, every one a
// host of the same roles, is suggested as same_hosts.
func (a *Analyzer) AddName(name string, addr netip.Addr) {
	if name == "" || !addr.IsValid() {
		return
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if a.names == nil {
		a.names = make(map[string]map[netip.Addr]struct{})
	}
	set := a.names[name]
	if set == nil {
		set = make(map[netip.Addr]struct{})
		a.names[name] = set
	}
	set[addr.Unmap()] = struct{}{}
}

func (a *Analyzer) Hosts() int { return len(a.hosts) }

// Vendors are the vendors whose roles a may suggest: those of its Config,
// or every vendor of the catalog when none was given. They are the
// vendors to pass to WriteInventory.
func (a *Analyzer) Vendors() []string { return slices.Clone(a.vendors) }

// sortedHosts returns the hosts in address order.
func (a *Analyzer) sortedHosts() []*host {
	hs := slices.Collect(maps.Values(a.hosts))
	slices.SortFunc(hs, func(x, y *host) int { return x.addr.Compare(y.addr) })
	return hs
}

func sortedUnits(m map[unitKey]*unit) []*unit {
	us := slices.Collect(maps.Values(m))
	slices.SortFunc(us, func(x, y *unit) int {
		return cmp.Or(cmp.Compare(x.key.proto, y.key.proto), cmp.Compare(x.key.lo, y.key.lo), cmp.Compare(x.key.hi, y.key.hi))
	})
	return us
}

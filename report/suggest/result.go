package suggest

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ccaudit/auditor/catalog"
)

// Confidence levels of a role guess.
const (
	// High: the host serves (or, for a client role, uses) two or more of
	// the role's distinctive entries.
	High = "high"
	// Medium: one distinctive entry, seen with two or more peers.
	Medium = "medium"
	// Low: only generic ports (SQL, SIP, SMB, a wide media range), but the
	// peers that use them play the roles the entry names on the other
	// side: the host is part of the site, its role is the reviewer's call.
	Low = "low"
)

// EntryEvidence is a port (or documented range) a host serves or uses,
// and the role's catalog entries that cover it.
type EntryEvidence struct {
	Entries []string `json:"entries"`
	Ports   string   `json:"ports"`
	// Side is "serves" (the host answered on the entry's ports) or "uses"
	// (it opened flows to them).
	Side        string    `json:"side"`
	Flows       int       `json:"flows"`
	Peers       int       `json:"peers"`
	PeerSample  []string  `json:"peer_sample,omitempty"`
	First       time.Time `json:"first_seen"`
	Last        time.Time `json:"last_seen"`
	Distinctive bool      `json:"distinctive"`
}

// RoleGuess is one role suggested for a host.
type RoleGuess struct {
	// Role is vendor-qualified: "genesys-pureconnect/cic-server".
	Role       string          `json:"role"`
	Vendor     string          `json:"vendor"`
	Confidence string          `json:"confidence"`
	Evidence   []EntryEvidence `json:"evidence"`
	// AlsoFits names other roles that explain the same entries less
	// well (they listen on more ports the host never served).
	AlsoFits []string `json:"also_fits,omitempty"`
}

// HostReport is a host with at least one suggested role.
type HostReport struct {
	Addr  netip.Addr  `json:"addr"`
	Roles []RoleGuess `json:"roles"`
	Flows int         `json:"flows"`
	First time.Time   `json:"first_seen"`
	Last  time.Time   `json:"last_seen"`
}

// PortCount is a port and how many answered flows used it.
type PortCount struct {
	Port  string `json:"port"`
	Flows int    `json:"flows"`
}

// UnknownHost is a host that fits no role of the chosen vendors.
type UnknownHost struct {
	Addr   netip.Addr  `json:"addr"`
	Flows  int         `json:"flows"`
	Serves []PortCount `json:"serves,omitempty"`
	Uses   []PortCount `json:"uses,omitempty"`
	// Hints are roles whose ports it served, too weakly to suggest
	// (generic ports with no corroborating peer, or a vendor no other
	// host shows).
	Hints []string  `json:"hints,omitempty"`
	First time.Time `json:"first_seen"`
	Last  time.Time `json:"last_seen"`
}

// Ambiguity is a host the evidence does not settle.
type Ambiguity struct {
	Addr netip.Addr `json:"addr"`
	// Kind is "roles" (several roles explain the same entries equally
	// well; none is suggested) or "vendors" (the host serves roles of
	// several vendors; all are suggested, the reviewer confirms).
	Kind    string   `json:"kind"`
	Roles   []string `json:"roles"`
	Entries []string `json:"entries"`
}

// Report is the suggestion.
type Report struct {
	Vendors     []string      `json:"vendors"`
	Hosts       []HostReport  `json:"hosts"`
	Unknown     []UnknownHost `json:"unknown"`
	Ambiguities []Ambiguity   `json:"ambiguities,omitempty"`
	Unanswered  int           `json:"unanswered_flows"`
	// SameHosts are addresses that look like one dual-stack host: one DNS
	// name answered with all of them, IPv4 and IPv6, and each suggested
	// for the same roles.
	SameHosts []SameHost `json:"same_hosts,omitempty"`
}

// SameHost is a same_hosts suggestion: the addresses, and the DNS name
// whose answers tie them.
type SameHost struct {
	Name  string       `json:"name"`
	Addrs []netip.Addr `json:"addrs"`
}

// topPorts is how many ports an unknown host lists.
const topPorts = 5

type guess struct {
	role  string
	cover []*unit
	side  string
	conf  string
	also  []string
}

// Suggest assigns roles to the hosts seen.
//
// Evidence comes in units: a port a host answered on (or opened) that
// catalog entries cover, or the whole documented range for wide ranges. A
// host's served units are explained by as few roles as possible (greedy
// set cover): the role covering most still unexplained units first;
// between roles covering as many, the one the entries name on their
// listening side (a both-way entry's To side; once peers have roles, only
// through an entry that draws the role with one of them), then the one
// whose catalog addresses hold the host, then the one explaining more of
// the host's units generic ones included, then the one explaining more of
// its units on the other side (what it opened), then the one listening on
// the largest share of its entries that the host served. Roles still
// equal tie: the host is reported as ambiguous and gets none of them. A
// host that serves nothing distinctive is explained by the units it opened
// (client roles such as a workstation; last, between equal roles, the one
// the documents draw opening more kinds of flow). Two
// rounds follow for hosts still without a role: a generic unit they serve
// counts when half its peers have a role by then and every such peer
// plays a role its entries name on the opening side (an HTTPS service that
// servers use too is not a workstations' web server). A vendor is
// suggested only when some host shows two of its distinctive units (one
// role with high confidence, or two roles of the vendor), so stray port
// matches in unrelated traffic do not invent a vendor.
func (a *Analyzer) Suggest() *Report {
	rep := &Report{Unanswered: a.unanswered}
	hosts := a.sortedHosts()
	roles := make(map[netip.Addr][]guess)
	amb := make(map[netip.Addr]*Ambiguity)
	distinctive := func(u *unit) bool { return u.distinctive }
	assign := func(h *host, j *peerJudge) {
		gs, am := a.cover(h, h.served, "serves", distinctive, j)
		if len(gs) == 0 && am == nil {
			gs, am = a.cover(h, h.opened, "uses", distinctive, j)
		}
		roles[h.addr], amb[h.addr] = gs, am
	}
	for _, h := range hosts {
		assign(h, a.judge(h, nil, false))
	}
	// Refine with the peers' roles: a host the CIC server opens 8019 on
	// is the workstation side of the both-way SSO entry, not a CIC server.
	// Hosts with less distinctive evidence are judged first, each against
	// the roles its peers hold at that moment (updated in place), until
	// nothing changes: judging every host at once against the previous
	// round oscillates when two hosts serve each other a both-way entry
	// (the workstations' first guess, CIC server, makes the server look
	// like a workstation, which makes them CIC servers again).
	order := slices.Clone(hosts)
	slices.SortStableFunc(order, func(x, y *host) int { return cmp.Compare(x.distinctiveServed(), y.distinctiveServed()) })
	for range 4 {
		changed := false
		for _, h := range order {
			before := roleNames(roles[h.addr])
			assign(h, a.judge(h, roles, false))
			changed = changed || !slices.Equal(before, roleNames(roles[h.addr]))
		}
		if !changed {
			break
		}
	}
	for range 2 {
		prev := maps.Clone(roles)
		for _, h := range hosts {
			if len(roles[h.addr]) > 0 || amb[h.addr] != nil {
				continue
			}
			gs, am := a.cover(h, h.served, "serves", func(*unit) bool { return true }, a.judge(h, prev, true))
			for i := range gs {
				gs[i].conf = Low
			}
			roles[h.addr], amb[h.addr] = gs, am
		}
	}
	// A vendor counts only when some host shows two of its distinctive
	// units: one role with high confidence, or two roles of the vendor
	// (a Sinch server running the Agent Server and the Connection Server).
	present := make(map[string]bool)
	for _, gs := range roles {
		units := make(map[string]int)
		for _, g := range gs {
			v, _ := catalog.SplitRole(g.role)
			for _, u := range g.cover {
				if u.distinctive {
					units[v]++
				}
			}
		}
		for v, n := range units {
			if n >= 2 {
				present[v] = true
			}
		}
	}
	isPresent := func(r string) bool { v, _ := catalog.SplitRole(r); return present[v] }
	for _, h := range hosts {
		var kept []RoleGuess
		var hints []string
		for _, g := range roles[h.addr] {
			if !isPresent(g.role) {
				hints = append(hints, g.role)
				continue
			}
			kept = append(kept, a.roleGuess(h, g))
		}
		am := amb[h.addr]
		if am != nil {
			if slices.ContainsFunc(am.Roles, isPresent) {
				rep.Ambiguities = append(rep.Ambiguities, *am)
			} else {
				hints = append(hints, am.Roles...)
				am = nil
			}
		}
		var vendors []string
		for _, g := range kept {
			if !slices.Contains(vendors, g.Vendor) {
				vendors = append(vendors, g.Vendor)
			}
		}
		if len(vendors) > 1 {
			va := Ambiguity{Addr: h.addr, Kind: "vendors"}
			for _, g := range kept {
				va.Roles = append(va.Roles, g.Role)
				for _, ev := range g.Evidence {
					for _, e := range ev.Entries {
						if !slices.Contains(va.Entries, e) {
							va.Entries = append(va.Entries, e)
						}
					}
				}
			}
			rep.Ambiguities = append(rep.Ambiguities, va)
		}
		if len(kept) > 0 {
			rep.Hosts = append(rep.Hosts, HostReport{Addr: h.addr, Roles: kept, Flows: h.flows, First: h.first, Last: h.last})
			continue
		}
		if am != nil {
			continue // listed under ambiguities
		}
		slices.Sort(hints)
		rep.Unknown = append(rep.Unknown, UnknownHost{Addr: h.addr, Flows: h.flows, Serves: top(h.servedPorts), Uses: top(h.usedPorts),
			Hints: slices.Compact(hints), First: h.first, Last: h.last})
	}
	for v := range present {
		rep.Vendors = append(rep.Vendors, v)
	}
	slices.Sort(rep.Vendors)
	rep.SameHosts = a.sameHosts(rep.Hosts)
	return rep
}

// sameHosts groups the suggested hosts a DNS name ties together: the
// name's answers gave IPv4 and IPv6 addresses, each is a suggested host,
// and all have the same roles. A name whose addresses play different roles
// (a load balancer's pool, a name reused) ties nothing, and an address
// goes in one group at most: the name first in order that ties it.
func (a *Analyzer) sameHosts(hosts []HostReport) []SameHost {
	roles := make(map[netip.Addr]string, len(hosts))
	for _, h := range hosts {
		rs := make([]string, len(h.Roles))
		for i, g := range h.Roles {
			rs[i] = g.Role
		}
		slices.Sort(rs)
		roles[h.Addr] = strings.Join(rs, " ")
	}
	var out []SameHost
	taken := make(map[netip.Addr]bool)
	for _, name := range slices.Sorted(maps.Keys(a.names)) {
		addrs := slices.SortedFunc(maps.Keys(a.names[name]), func(x, y netip.Addr) int { return x.Compare(y) })
		var v4, v6 bool
		ok := len(addrs) >= 2
		for _, ad := range addrs {
			r, suggested := roles[ad]
			if !suggested || taken[ad] || r != roles[addrs[0]] {
				ok = false
				break
			}
			v4, v6 = v4 || ad.Is4(), v6 || ad.Is6()
		}
		if !ok || !v4 || !v6 {
			continue
		}
		for _, ad := range addrs {
			taken[ad] = true
		}
		out = append(out, SameHost{Name: name, Addrs: addrs})
	}
	return out
}

// peerJudge tests roles of one host against its peers' roles (known;
// nil in the first round, when no peer has a role yet).
type peerJudge struct {
	a           *Analyzer
	h           *host
	known       map[netip.Addr][]guess
	corroborate bool
}

// judge returns the test for host h against known. With corroborate, at
// least half a unit's peers must have a role.
func (a *Analyzer) judge(h *host, known map[netip.Addr][]guess, corroborate bool) *peerJudge {
	return &peerJudge{a: a, h: h, known: known, corroborate: corroborate}
}

// pairs reports whether entry in draws the host (role bare) with a peer of
// role y on the flows of u: the peer opened the flow when the host served
// u, so it is on the entry's From side and the host on its To side, or, for
// a both-way entry, the reverse; when the host opened the flow, the other
// way round. With nativeOnly, only the first reading counts (the host on
// the side the entry names for what it did: To when it served, From when
// it opened).
func pairs(in *entryInfo, bare, y string, served, nativeOnly bool) bool {
	hostTo, hostFrom := in.e.To.Has(bare) && in.e.From.Has(y), in.e.From.Has(bare) && in.e.To.Has(y)
	if !served {
		hostTo, hostFrom = hostFrom, hostTo
	}
	// After the swap, hostTo is the flow as opened on the entry's sides:
	// catalog.Direction.Fit's forward.
	w := in.e.Direction.Fit(hostTo, hostFrom)
	return w == catalog.Forward || (!nativeOnly && w.Allowed())
}

// peerFits reports whether one of the roles gs of a peer, implied roles
// included, is drawn with role r (qualified) of the host by one of ins.
func (j *peerJudge) peerFits(gs []guess, ins []*entryInfo, r string, served, nativeOnly bool) bool {
	v, bare := catalog.SplitRole(r)
	return slices.ContainsFunc(gs, func(g guess) bool {
		if pv, _ := catalog.SplitRole(g.role); pv != v {
			return false
		}
		return slices.ContainsFunc(j.a.implied(g.role), func(y string) bool {
			return slices.ContainsFunc(ins, func(in *entryInfo) bool {
				return in.e.Vendor == v && pairs(in, bare, y, served, nativeOnly)
			})
		})
	})
}

// valid: role r may explain unit u of the host: every peer of u with a
// role plays one that an entry of u pairs with r.
func (j *peerJudge) valid(u *unit, r string) bool {
	if j.known == nil {
		return true
	}
	served := j.h.served[u.key] == u
	n := 0
	for peer := range u.peers {
		gs := j.known[peer]
		if len(gs) == 0 {
			continue
		}
		n++
		if !j.peerFits(gs, u.entries, r, served, false) {
			return false
		}
	}
	// Corroboration needs half the peers known: an internet service
	// a few known workstations use is not yet a site server.
	return !j.corroborate || (n > 0 && 2*n >= len(u.peers))
}

// native: entry in names r on the side of what the host did on u (To when
// it served, From when it opened) and, when some peer of u has a role, it
// draws r with one of those roles that way. A port an entry shares with
// others does not make r native through an entry whose other side no peer
// plays: a phone the CIC server sends SIP to on 5060 is not on the
// listening side of the SIP Bridge's soft-phone entry, which covers the
// same port.
func (j *peerJudge) native(u *unit, in *entryInfo, r string) bool {
	served := j.h.served[u.key] == u
	bare := roleName(r)
	if served && !in.e.To.Has(bare) || !served && !in.e.From.Has(bare) {
		return false
	}
	if j.known == nil {
		return true
	}
	anyKnown := false
	for peer := range u.peers {
		gs := j.known[peer]
		if len(gs) == 0 {
			continue
		}
		anyKnown = true
		if j.peerFits(gs, []*entryInfo{in}, r, served, true) {
			return true
		}
	}
	return !anyKnown
}

// implied returns the bare role names a host of the qualified role plays:
// the role and those its vendor's document implies (a Sinch MRS is a
// contact center server).
func (a *Analyzer) implied(role string) []string {
	v, bare := catalog.SplitRole(role)
	out := []string{bare}
	vd, ok := a.cat.Vendor(v)
	if !ok {
		return out
	}
	for i := 0; i < len(out) && i < 16; i++ {
		for _, r := range vd.Implies[out[i]] {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// cover explains the units of m that pass use by roles j finds valid.
func (a *Analyzer) cover(h *host, m map[unitKey]*unit, side string, use func(*unit) bool, j *peerJudge) ([]guess, *Ambiguity) {
	var todo []*unit
	for _, u := range sortedUnits(m) {
		if use(u) {
			todo = append(todo, u)
		}
	}
	rolesOf := func(in *entryInfo) []string {
		if side == "uses" {
			return in.open
		}
		return in.listen
	}
	all := sortedUnits(m)
	// support: how many of the host's units, generic ones included, the
	// role explains.
	support := func(r string) int {
		n := 0
		for _, u := range all {
			if slices.ContainsFunc(u.entries, func(in *entryInfo) bool { return slices.Contains(rolesOf(in), r) }) && j.valid(u, r) {
				n++
			}
		}
		return n
	}
	// otherSide: how many units of the host's other side (what it opened,
	// when it is judged by what it served, and the reverse), generic ones
	// included, the role explains. A phone and a SIP Bridge both answer the
	// CIC server's SIP; the phone also looks up its server (phone-dns) and
	// sends its RTP to a media server, which a SIP Bridge is not drawn doing.
	otherSide := func(r string) int {
		other, otherRoles := h.opened, func(in *entryInfo) []string { return in.open }
		if side == "uses" {
			other, otherRoles = h.served, func(in *entryInfo) []string { return in.listen }
		}
		n := 0
		for _, u := range other {
			if slices.ContainsFunc(u.entries, func(in *entryInfo) bool { return slices.Contains(otherRoles(in), r) }) && j.valid(u, r) {
				n++
			}
		}
		return n
	}
	// inCIDRs: the catalog itself places the host in the role (a vendor's
	// cloud or support addresses).
	inCIDRs := func(r string) int {
		_, bare := catalog.SplitRole(r)
		for _, u := range all {
			for _, in := range u.entries {
				if in.e.To.Has(bare) && slices.ContainsFunc(in.e.CIDRs, func(p netip.Prefix) bool { return p.Contains(h.addr) }) {
					return 1
				}
			}
		}
		return 0
	}
	// prior: for a serving role, the share of the entries it listens on
	// that the host served (an Imagicle voice gateway serves what a
	// CallManager also listens on, but the CallManager would serve more);
	// for a client role, how many kinds of flow the documents draw it
	// opening (a workstation before a dialer server, when the host showed
	// nothing that tells them apart).
	prior := func(r string) float64 {
		if side == "uses" {
			return float64(len(a.openOf[r]))
		}
		n := 0
		for _, in := range a.listenOf[r] {
			if slices.ContainsFunc(all, func(u *unit) bool { return slices.Contains(u.entries, in) }) {
				n++
			}
		}
		return float64(n) / float64(max(1, len(a.listenOf[r])))
	}
	var out []guess
	for len(todo) > 0 {
		cands := make(map[string][]*unit)
		nat := make(map[string]int)
		for _, u := range todo {
			seen := make(map[string]bool)
			natSeen := make(map[string]bool)
			for _, in := range u.entries {
				for _, r := range rolesOf(in) {
					if !j.valid(u, r) {
						continue
					}
					if !seen[r] {
						seen[r] = true
						cands[r] = append(cands[r], u)
					}
					if !natSeen[r] && j.native(u, in, r) {
						natSeen[r] = true
						nat[r]++
					}
				}
			}
		}
		type score struct {
			cover, native, cidr, support, other int
			prior                               float64
		}
		sc := make(map[string]score, len(cands))
		for r, us := range cands {
			sc[r] = score{len(us), nat[r], inCIDRs(r), support(r), otherSide(r), prior(r)}
		}
		if len(cands) == 0 {
			return out, nil
		}
		names := slices.Sorted(maps.Keys(cands))
		slices.SortStableFunc(names, func(x, y string) int {
			sx, sy := sc[x], sc[y]
			return cmp.Or(cmp.Compare(sy.cover, sx.cover), cmp.Compare(sy.native, sx.native), cmp.Compare(sy.cidr, sx.cidr),
				cmp.Compare(sy.support, sx.support), cmp.Compare(sy.other, sx.other), cmp.Compare(sy.prior, sx.prior))
		})
		best := names[0]
		var tied, also []string
		for _, r := range names[1:] {
			switch {
			case sc[r] == sc[best]:
				tied = append(tied, r)
			case sameUnits(cands[r], cands[best]):
				also = append(also, r)
			}
		}
		if len(tied) > 0 {
			am := &Ambiguity{Addr: h.addr, Kind: "roles", Roles: append([]string{best}, tied...)}
			for _, u := range cands[best] {
				for _, in := range u.entries {
					if !slices.Contains(am.Entries, in.e.ID) {
						am.Entries = append(am.Entries, in.e.ID)
					}
				}
			}
			// Roles already found explain the rest; the tie is reported.
			return out, am
		}
		g := guess{role: best, cover: cands[best], side: side, also: also}
		g.conf = confidence(g.cover)
		out = append(out, g)
		todo = slices.DeleteFunc(todo, func(u *unit) bool { return slices.Contains(g.cover, u) })
	}
	return out, nil
}

// roleNames lists the roles of gs, for change detection.
func roleNames(gs []guess) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.role
	}
	return out
}

// distinctiveServed counts the host's distinctive served units: how much
// evidence its own serving gives.
func (h *host) distinctiveServed() int {
	n := 0
	for _, u := range h.served {
		if u.distinctive {
			n++
		}
	}
	return n
}

func roleName(q string) string { _, r := catalog.SplitRole(q); return r }

func sameUnits(x, y []*unit) bool {
	if len(x) != len(y) {
		return false
	}
	for _, u := range x {
		if !slices.Contains(y, u) {
			return false
		}
	}
	return true
}

func confidence(cover []*unit) string {
	distinct, peers := 0, 0
	for _, u := range cover {
		if u.distinctive {
			distinct++
			peers = max(peers, u.peerCount)
		}
	}
	switch {
	case distinct >= 2:
		return High
	case distinct == 1 && peers >= 2:
		return Medium
	}
	return Low
}

func (a *Analyzer) roleGuess(h *host, g guess) RoleGuess {
	v, _ := catalog.SplitRole(g.role)
	rg := RoleGuess{Role: g.role, Vendor: v, Confidence: g.conf, AlsoFits: g.also}
	for _, u := range g.cover {
		ee := EntryEvidence{Ports: u.key.String(), Side: g.side, Flows: u.flows, Peers: u.peerCount,
			First: u.first, Last: u.last, Distinctive: u.distinctive}
		for _, in := range u.entries {
			rs := in.listen
			if g.side == "uses" {
				rs = in.open
			}
			if slices.Contains(rs, g.role) {
				ee.Entries = append(ee.Entries, in.e.ID)
			}
		}
		slices.Sort(ee.Entries)
		peers := slices.SortedFunc(maps.Keys(u.peers), func(x, y netip.Addr) int { return x.Compare(y) })
		for i, p := range peers {
			if i == 3 {
				break
			}
			ee.PeerSample = append(ee.PeerSample, p.String())
		}
		rg.Evidence = append(rg.Evidence, ee)
	}
	slices.SortFunc(rg.Evidence, func(x, y EntryEvidence) int { return cmp.Compare(y.Flows, x.Flows) })
	return rg
}

func top(m map[portKey]int) []PortCount {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(x, y portKey) int {
		if c := cmp.Compare(m[y], m[x]); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(x.proto, y.proto), cmp.Compare(x.port, y.port))
	})
	var out []PortCount
	for i, k := range keys {
		if i == topPorts {
			break
		}
		out = append(out, PortCount{Port: k.String(), Flows: m[k]})
	}
	return out
}

package verdict

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ccaudit/auditor/catalog"
)

// maxHostPairs bounds the host pairs a missing finding lists; the reason
// gives the full counts.
const maxHostPairs = 8

// entryInfo is what the classifier precomputes per entry in scope, so the
// hot path builds no strings.
type entryInfo struct {
	idx int // position in Classifier.entries

	// ports are the entry's ports at this site (overrides and area
	// parameters applied); narrow drops the broad ranges
	// (catalog.PortRange.Broad), which port-only mode does not trust: they
	// would make every flow expected.
	ports, narrow catalog.PortSet
	// fromPorts is set when a one-way entry states the opener's ports.
	fromPorts bool
	// dir says which side may open the flow.
	dir catalog.Direction

	from, to string // roles, comma-separated
	// qfrom and qto are the entry's roles in the site's scope (nil in
	// port-only mode): an entry matches only roles of its own vendor.
	qfrom, qto []catalog.RoleID
	portsLabel string // "5597/tcp"

	expected, portOnly, bothWays, reply, cloud, byName string
	// negotiated: media set up in SIP/SDP that lands in the entry's range.
	negotiated                 string
	otherRoles, wrongDirection string
	// fromPortMiss: the roles fit, the source port is not one of the
	// opener's ports the entry states.
	fromPortMiss string

	// Reasons of the posture findings and notes (posture.go).
	unsignalled, unsignalledPortOnly             string
	plaintext, notTLS, sniMismatch, cloudLiteral string
	outsideTo, outsideFrom                       string
	// tooOld holds the reasons for versions below tlsMin when the
	// entry's document states a TLS version; nil uses the global table.
	tooOld []oldTLS
	tlsMin uint16
	// fromRange: the entry states the From side's ports (FromPorts), so
	// media there must lie in them.
	fromRange bool
	// encryptedInside: the entry's encryption does not begin with a TLS
	// record (see encryptedInsideApps), so the plaintext check cannot
	// judge it.
	encryptedInside bool

	// unobservable is why the entry cannot be seen on the wire; empty
	// when it can.
	unobservable string
	// inScope: required, and both its from and to roles have hosts in
	// the inventory, so a window without a working flow makes it missing.
	inScope bool
	// pairs are the host pairs the entry is required between; needs the
	// hosts that need only one of their pairs working (Peers). A pair
	// works when a flow the entry allows ran between its hosts either
	// way, except for the needs of Peers "any-from", which need a flow
	// from the From side (or either way for a both-way entry).
	pairs []hostPair
	needs []hostNeed
	// peers are the hosts holding a role of both sides (nil with Peers
	// "all").
	peers map[int32]bool
	// track is the idx whose working pairs this entry records: its own,
	// or its OneOf group's leader, which judges the whole group.
	track int
	// alternatives names the group's other entries, for the reason.
	alternatives []string
}

func transportLabel(t catalog.Transport) string {
	switch t {
	case catalog.Both:
		return "tcp+udp"
	case catalog.TCP:
		return "tcp"
	case catalog.UDP:
		return "udp"
	case catalog.ICMP:
		return "icmp"
	}
	return t.String()
}

// portsLabel writes "5597,6234/tcp"; "icmp" for ICMP entries.
func portsLabel(t catalog.Transport, ps catalog.PortSet) string {
	if t == catalog.ICMP {
		return "icmp"
	}
	s := ps.String()
	if s == "" {
		s = "unspecified"
	}
	return s + "/" + transportLabel(t)
}

func newEntryInfo(e *catalog.Entry, idx int, ports catalog.PortSet, media bool) *entryInfo {
	in := &entryInfo{idx: idx, track: idx, ports: ports, from: e.From.String(), to: e.To.String()}
	in.narrow = ports.Narrow()
	in.fromPorts = e.Direction == catalog.OneWay && !e.FromPorts.IsZero() && !e.FromPorts.IsAny() && len(e.FromPorts.Ranges) > 0
	in.dir = e.Direction
	in.portsLabel = portsLabel(e.Transport, ports)
	arrow := "->"
	if e.Direction == catalog.BothWays {
		arrow = "<->"
	}
	flowDesc := fmt.Sprintf("%s: %s %s %s %s", e.Component, in.from, arrow, in.to, in.portsLabel)
	in.expected = flowDesc
	if ports.Dynamic && len(ports.Ranges) > 0 {
		in.expected = flowDesc + " (the document's usual range for negotiated media)"
	}
	in.portOnly = "port-only (no inventory): " + e.Component + " uses " + in.portsLabel
	in.negotiated = flowDesc + " (media negotiated in SIP/SDP signalling, in the documented range)"
	in.bothWays = flowDesc + " (opened by the " + in.to + " side)"
	in.reply = flowDesc + " (responder seen first: no handshake orders this flow)"
	in.cloud = flowDesc + " (destination in the entry's cloud addresses)"
	in.byName = flowDesc + " (destination named by DNS or TLS SNI)"
	in.otherRoles = fmt.Sprintf("%s is catalogued for %s %s %s (%s), not between these hosts' roles", in.portsLabel, in.from, arrow, in.to, e.ID)
	in.wrongDirection = fmt.Sprintf("wrong direction: %s opens this flow to %s %s (%s), not the reverse", in.from, in.to, in.portsLabel, e.ID)
	if in.fromPorts {
		in.fromPortMiss = fmt.Sprintf("%s opens %s to %s only from ports %s (%s): the source port is not one of them",
			in.from, in.portsLabel, in.to, e.FromPorts.String(), e.ID)
	}
	in.posture(e, flowDesc)
	switch {
	case e.Transport == catalog.ICMP:
	case len(ports.Ranges) == 0 && ports.Dynamic && !media:
		in.unobservable = "ports are negotiated in signalling and no SIP/SDP media matcher is configured: the flow cannot be recognised"
	case len(ports.Ranges) == 0 && ports.Dynamic:
	case len(ports.Ranges) == 0:
		in.unobservable = "the document states no port number: the flow cannot be told apart on the wire"
	}
	return in
}

// hostPair is a pair of inventory hosts (Scope host indices), a on the
// entry's From side and b on its To side.
type hostPair struct{ a, b int32 }

func (p hostPair) reversed() hostPair { return hostPair{p.b, p.a} }

// scopeInventory decides whether e can be checked for missing flows at
// this site and lists the host pairs it is required between. A host is
// never required to reach itself, nor an IPv4 host an IPv6 one, and a
// pair with a standby host is excused.
//
// Two hosts that both hold a role of both sides (CIC servers on a
// switchover entry, phones on a SIP entry) are peers: unless the entry
// says Peers "all" (a full mesh the document requires), each peer needs
// one working pair with another peer, not every pair. Standby hosts are
// excused, except where the entry says Peers "any": that flow (the
// switchover with its primary) is what keeps the standby ready. Peers
// "any-from": each to-host (standby hosts excused) needs one working flow
// from any from-host, peers or not.
// Neither rule enumerates the pairs it does not keep, so a site listing
// thousands of phones or desktops one by one stays cheap.
func (in *entryInfo) scopeInventory(e *catalog.Entry, sc *catalog.Scope) {
	if e.Vendor == catalog.SiteVendor || !sc.Required(e) {
		return
	}
	from, to := hostsOf(sc, in.qfrom), hostsOf(sc, in.qto)
	if e.Peers != "all" && e.Peers != "any-from" {
		in.findPeers(sc)
	}
	in.peerNeeds(sc, e.Peers == "any")
	if e.Peers == "any-from" {
		in.anyFromNeeds(sc, from, to)
		in.inScope = len(in.needs) > 0
		return
	}
	in.requiredPairs(sc, from, to)
	in.inScope = len(in.pairs)+len(in.needs) > 0
}

// findPeers marks the hosts holding a role of both sides.
func (in *entryInfo) findPeers(sc *catalog.Scope) {
	for _, r := range in.qfrom {
		if !slices.Contains(in.qto, r) {
			continue
		}
		for _, h := range sc.RoleHosts(r) {
			if in.peers == nil {
				in.peers = make(map[int32]bool)
			}
			in.peers[sc.Canon(h)] = true
		}
	}
}

// peerNeeds gives each peer with a peer of a compatible address family a
// need for one working flow with a peer. Standby hosts are excused,
// unless the entry names its peers explicitly (a switchover between a
// primary and its standby).
func (in *entryInfo) peerNeeds(sc *catalog.Scope, explicit bool) {
	var peerFam familyCount
	for h := range in.peers {
		if explicit || !sc.Standby(h) {
			peerFam.add(familiesOf(sc, h))
		}
	}
	for _, h := range sortedHosts(in.peers) {
		if sc.Standby(h) && !explicit {
			continue
		}
		if peerFam.others(familiesOf(sc, h)) > 0 {
			in.needs = append(in.needs, hostNeed{host: h})
		}
	}
}

// anyFromNeeds gives each to-host (standby hosts excused) a need for one
// working flow from any from-host of a compatible address family.
func (in *entryInfo) anyFromNeeds(sc *catalog.Scope, from, to []int32) {
	var fromFam familyCount
	isFrom := make(map[int32]bool, len(from))
	for _, a := range from {
		if !sc.Standby(a) {
			fromFam.add(familiesOf(sc, a))
			isFrom[a] = true
		}
	}
	for _, b := range to {
		if sc.Standby(b) {
			continue
		}
		n := fromFam.compatible(familiesOf(sc, b))
		if isFrom[b] {
			n-- // not with itself
		}
		if n > 0 {
			in.needs = append(in.needs, hostNeed{host: b})
		}
	}
}

// requiredPairs lists the host pairs the entry is required between: not
// a host with itself, two peers, a standby host, or IPv4 with IPv6; two
// hosts each on both sides need one flow between them, whoever opens it.
func (in *entryInfo) requiredPairs(sc *catalog.Scope, from, to []int32) {
	seen := make(map[hostPair]bool)
	for _, a := range from {
		for _, b := range to {
			if a == b || (in.peers[a] && in.peers[b]) || sc.Standby(a) || sc.Standby(b) {
				continue
			}
			if !compatible(familiesOf(sc, a), familiesOf(sc, b)) {
				continue // no flow runs from IPv4 to IPv6
			}
			p := hostPair{a, b}
			if !seen[p] && !seen[p.reversed()] {
				seen[p] = true
				in.pairs = append(in.pairs, p)
			}
		}
	}
}

// families is the address families a host may use: an IPv4 or IPv6
// address or prefix has one, a host listed by DNS name or a same_hosts
// group spanning both families has both.
type families uint8

const (
	fam4 families = 1 << iota
	fam6
)

// familiesOf returns the families of inventory host h (a Scope.Canon
// host, standing for its whole group).
func familiesOf(sc *catalog.Scope, h int32) families {
	var f families
	for _, m := range sc.Members(h) {
		switch host := sc.Host(m); {
		case host.Name != "":
			f |= fam4 | fam6
		case host.Prefix.Addr().Is4():
			f |= fam4
		default:
			f |= fam6
		}
	}
	return f
}

// compatible reports whether a flow can run between two hosts: not from
// IPv4 to IPv6.
func compatible(a, b families) bool { return a&b != 0 }

// familyCount counts hosts by their families, to tell whether a host has
// a compatible partner among them without pairing every two.
type familyCount [4]int // indexed by families

func (c *familyCount) add(f families) { c[f]++ }

// compatible counts the hosts a flow from or to a host of families f
// could run with.
func (c *familyCount) compatible(f families) int {
	n := 0
	for g := families(1); g < 4; g++ {
		if compatible(f, g) {
			n += c[g]
		}
	}
	return n
}

// others is compatible less the host itself, which is one of the counted
// hosts.
func (c *familyCount) others(f families) int { return c.compatible(f) - 1 }

func sortedHosts(set map[int32]bool) []int32 {
	out := make([]int32, 0, len(set))
	for h := range set {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

// hostNeed is a host that needs one working flow with a peer, or (Peers
// "any-from") one working flow to it.
type hostNeed struct {
	host int32
}

// hostsOf lists the hosts playing any of roles, each same_hosts group
// once, by the host that stands for it (Scope.Canon).
func hostsOf(sc *catalog.Scope, roles []catalog.RoleID) []int32 {
	var out []int32
	seen := make(map[int32]bool)
	for _, r := range roles {
		for _, h := range sc.RoleHosts(r) {
			h = sc.Canon(h)
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	return out
}

// direction asks catalog.Direction.Fit, the one direction rule, with the
// hosts' roles as the sides: the originator (roles src) on the entry's
// From side and the responder (roles dst) on its To side is forward.
// srcRole and dstRole are the originator's and the responder's matching
// roles, whichever way they fit. Each caller decides which ways it
// credits: a flow the ports found takes forward and backward, a
// negotiated media stream any way (signalling set it up), and a flow
// with the responder seen first is asked with the hosts swapped.
func (in *entryInfo) direction(src, dst []catalog.RoleID) (srcRole, dstRole catalog.RoleID, w catalog.Way) {
	if fr, to, ok := in.sides(src, dst); ok {
		return fr, to, in.dir.Fit(true, false)
	}
	fr, to, ok := in.sides(dst, src)
	return to, fr, in.dir.Fit(false, ok)
}

// sides reports whether a host with roles from plays the entry's From side
// towards a host with roles to on its To side, and the first such roles.
func (in *entryInfo) sides(from, to []catalog.RoleID) (fromRole, toRole catalog.RoleID, ok bool) {
	if fromRole, ok = pick(in.qfrom, from); !ok {
		return 0, 0, false
	}
	if toRole, ok = pick(in.qto, to); !ok {
		return 0, 0, false
	}
	return fromRole, toRole, true
}

// pick returns the first host role that is one of the entry's roles.
func pick(entryRoles, hostRoles []catalog.RoleID) (catalog.RoleID, bool) {
	for _, h := range hostRoles {
		for _, e := range entryRoles {
			if e == h {
				return h, true
			}
		}
	}
	return 0, false
}

func joinRoles(rs []string) string { return strings.Join(rs, ",") }

package verdict

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ccaudit/auditor/catalog"
)

// broadPorts is the widest range port-only mode trusts. A range covering
// more than half the port space (Imagicle "UDP >= 1025", "Any TCP/UDP
// port") matches nearly every ephemeral port: without roles to narrow it
// down it would make every flow expected.
const broadPorts = 32768

// maxHostPairs bounds the host pairs a missing finding lists; the reason
// gives the full counts.
const maxHostPairs = 8

// entryInfo is what the classifier precomputes per entry in scope, so the
// hot path builds no strings.
type entryInfo struct {
	idx int // position in Classifier.entries

	// ports are the entry's ports at this site (overrides and area
	// parameters applied); narrow drops ranges wider than broadPorts.
	ports, narrow catalog.PortSet
	// fromPorts is set when a one-way entry states the opener's ports.
	fromPorts bool

	from, to string // roles, comma-separated
	// qfrom and qto are the entry's roles in the site's scope (nil in
	// port-only mode): an entry matches only roles of its own vendor.
	qfrom, qto []catalog.RoleID
	portsLabel string // "5597/tcp"

	expected, portOnly, bothWays, reply, cloud, byName string
	// negotiated: media set up in SIP/SDP that lands in the entry's range.
	negotiated                 string
	otherRoles, wrongDirection string

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
	in.narrow.Dynamic, in.narrow.Unspecified = ports.Dynamic, ports.Unspecified
	for _, r := range ports.Ranges {
		if int(r.Hi)-int(r.Lo)+1 <= broadPorts {
			in.narrow.Ranges = append(in.narrow.Ranges, r)
		}
	}
	in.fromPorts = e.Direction == catalog.OneWay && !e.FromPorts.IsZero() && !e.FromPorts.IsAny() && len(e.FromPorts.Ranges) > 0
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
// this site and lists the host pairs it is required between. A pair with
// a standby host is excused; so is a host with itself, and a pair of an
// IPv4 and an IPv6 host. Peers "any": the pairs of two hosts that both
// hold a role of both sides are not required each; every such host needs
// one working pair with a peer (a primary CIC server and its backup, not
// every CIC server with every other), and a standby host stays one of the
// peers, since that flow keeps it ready. Peers "any-from": each to-host
// needs one working pair with any from-host.
func (in *entryInfo) scopeInventory(e *catalog.Entry, sc *catalog.Scope) {
	if e.Vendor == catalog.SiteVendor || !sc.Required(e) {
		return
	}
	from, to := hostsOf(sc, in.qfrom), hostsOf(sc, in.qto)
	var peers map[int32]bool
	if e.Peers == "any" {
		peers = make(map[int32]bool)
		for _, r := range in.qfrom {
			if slices.Contains(in.qto, r) {
				for _, h := range sc.RoleHosts(r) {
					peers[h] = true
				}
			}
		}
	}
	needOf := make(map[int32]int)
	need := func(h int32, p hostPair) {
		i, ok := needOf[h]
		if !ok {
			i = len(in.needs)
			needOf[h] = i
			in.needs = append(in.needs, hostNeed{host: h})
		}
		if !slices.Contains(in.needs[i].pairs, p) {
			in.needs[i].pairs = append(in.needs[i].pairs, p)
		}
	}
	seen := make(map[hostPair]bool)
	for _, a := range from {
		for _, b := range to {
			if a == b {
				continue
			}
			ha, hb := sc.Host(a), sc.Host(b)
			if ha.Name == "" && hb.Name == "" && ha.Prefix.Addr().Is4() != hb.Prefix.Addr().Is4() {
				continue // no flow runs from IPv4 to IPv6
			}
			p := hostPair{a, b}
			switch {
			case peers[a] && peers[b]:
				need(a, p)
				need(b, p)
			case sc.Standby(a) || sc.Standby(b):
			case e.Peers == "any-from":
				need(b, p)
			case !seen[p] && !seen[p.reversed()]:
				// Two hosts each on both sides need one flow between
				// them, whoever opens it.
				seen[p] = true
				in.pairs = append(in.pairs, p)
			}
		}
	}
	in.inScope = len(in.pairs)+len(in.needs) > 0
}

// hostNeed is a host that needs one of pairs working.
type hostNeed struct {
	host  int32
	pairs []hostPair
}

func hostsOf(sc *catalog.Scope, roles []catalog.RoleID) []int32 {
	var out []int32
	for _, r := range roles {
		for _, h := range sc.RoleHosts(r) {
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	return out
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

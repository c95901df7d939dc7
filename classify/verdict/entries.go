package verdict

import (
	"fmt"
	"strings"

	"github.com/ccaudit/auditor/catalog"
)

// broadPorts is the widest range port-only mode trusts. A range covering
// more than half the port space (Imagicle "UDP >= 1025", "Any TCP/UDP
// port") matches nearly every ephemeral port: without roles to narrow it
// down it would make every flow expected.
const broadPorts = 32768

// maxHostPairs bounds the host pairs a missing finding lists.
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

	from, to   string // roles, comma-separated
	portsLabel string // "5597/tcp"

	expected, portOnly, bothWays, reply, cloud, byName string
	otherRoles, wrongDirection                         string

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
	inScope   bool
	hostPairs []string
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
	in := &entryInfo{idx: idx, ports: ports, from: e.From.String(), to: e.To.String()}
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

// scopeInventory decides whether e can be checked for missing flows at
// this site and lists the host pairs it is expected between.
func (in *entryInfo) scopeInventory(e *catalog.Entry, inv *catalog.Inventory) {
	if !e.Required || e.Vendor == catalog.SiteVendor {
		return
	}
	from, to := hostsOf(inv, e.From), hostsOf(inv, e.To)
	arrow := " -> "
	if e.Direction == catalog.BothWays {
		arrow = " <-> "
	}
	n := 0
	var seen map[[2]catalog.Host]bool
	for _, a := range from {
		for _, b := range to {
			if a == b && (a.Name != "" || a.Prefix.IsSingleIP()) {
				continue // one host talking to itself never crosses the wire
			}
			if a.Name == "" && b.Name == "" && a.Prefix.Addr().Is4() != b.Prefix.Addr().Is4() {
				continue // no flow runs from IPv4 to IPv6
			}
			if e.Direction == catalog.BothWays {
				if seen == nil {
					seen = make(map[[2]catalog.Host]bool)
				}
				if seen[[2]catalog.Host{b, a}] {
					continue
				}
				seen[[2]catalog.Host{a, b}] = true
			}
			n++
			if len(in.hostPairs) < maxHostPairs {
				in.hostPairs = append(in.hostPairs, a.String()+arrow+b.String())
			}
		}
	}
	if n > maxHostPairs {
		in.hostPairs = append(in.hostPairs, fmt.Sprintf("(+%d more pairs)", n-maxHostPairs))
	}
	in.inScope = n > 0
}

func hostsOf(inv *catalog.Inventory, roles catalog.Roles) []catalog.Host {
	var out []catalog.Host
	for _, r := range roles {
		for _, h := range inv.Hosts(r) {
			dup := false
			for _, o := range out {
				if o == h {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, h)
			}
		}
	}
	return out
}

// pick returns the first host role that is one of the entry's roles.
func pick(entryRoles catalog.Roles, hostRoles []string) (string, bool) {
	for _, h := range hostRoles {
		for _, e := range entryRoles {
			if e == h {
				return h, true
			}
		}
	}
	return "", false
}

func joinRoles(rs []string) string { return strings.Join(rs, ",") }

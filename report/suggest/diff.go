package suggest

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ccaudit/auditor/catalog"
)

// Contradiction kinds.
const (
	// NeverServes: the inventory lists the host in a role the documents
	// draw listening, it took part in answered flows, yet it neither served
	// nor opened a flow of any of the role's entries.
	NeverServes = "never-serves"
	// NeverUses: the same for a client role (one the documents never draw
	// on an entry's listening side).
	NeverUses = "never-uses"
	// NotListed: the host is in the inventory, but the traffic suggests a
	// role it is not listed in.
	NotListed = "not-listed"
	// UnlistedHost: a host the inventory does not know serves a role.
	UnlistedHost = "unlisted-host"
	// NotSeen: an inventory host (or no host of a CIDR) in no answered
	// flow: the capture says nothing about it.
	NotSeen = "not-seen"
)

// Contradiction is one place where traffic and a written inventory
// disagree.
type Contradiction struct {
	Kind string `json:"kind"`
	// Host is the inventory host (address or CIDR) or the observed
	// address.
	Host   string `json:"host"`
	Role   string `json:"role,omitempty"`
	Detail string `json:"detail"`
}

// Diff compares the inventory inv (resolved against the analyzer's catalog)
// with the traffic: roles listed that the traffic never shows, and roles
// the traffic shows that are not listed. rep is a's suggestion.
func (a *Analyzer) Diff(inv *catalog.Inventory, rep *Report) ([]Contradiction, error) {
	sc, err := catalog.NewScope(a.cat, inv)
	if err != nil {
		return nil, err
	}
	var out []Contradiction
	// Listed roles, per inventory host, as written (implied roles are the
	// catalog's consequence, not a claim to check).
	type listed struct {
		host  catalog.Host
		roles []string
	}
	var hosts []listed
	for _, key := range inv.RoleNames() {
		q, ok := a.qualify(inv, key)
		if !ok {
			continue // a site role or a vendor not chosen
		}
		for _, h := range inv.Hosts(key) {
			i := slices.IndexFunc(hosts, func(l listed) bool { return l.host == h })
			if i < 0 {
				hosts = append(hosts, listed{host: h})
				i = len(hosts) - 1
			}
			hosts[i].roles = append(hosts[i].roles, q)
		}
	}
	for _, l := range hosts {
		if l.host.Name != "" {
			continue // not resolvable from flows
		}
		var members []*host
		for _, h := range a.hosts {
			if l.host.Prefix.Contains(h.addr) {
				members = append(members, h)
			}
		}
		if len(members) == 0 {
			out = append(out, Contradiction{Kind: NotSeen, Host: l.host.String(), Detail: "in no answered flow of the capture"})
			continue
		}
		for _, role := range l.roles {
			listen, open := a.listenOf[role], a.openOf[role]
			if slices.ContainsFunc(members, func(h *host) bool { return hasAny(h.served, listen) || hasAny(h.opened, open) }) {
				continue
			}
			_, bare := catalog.SplitRole(role)
			c := Contradiction{Kind: NeverServes, Host: l.host.String(), Role: role,
				Detail: fmt.Sprintf("listed as %s but in %d answered flows never served its ports (%s) nor opened its flows", role, flowsOf(members), labels(listen, 6))}
			if !slices.ContainsFunc(listen, func(in *entryInfo) bool { return in.e.To.Has(bare) }) {
				c.Kind = NeverUses
				c.Detail = fmt.Sprintf("listed as %s but in %d answered flows never opened a flow the role opens (%s)", role, flowsOf(members), labels(open, 6))
			}
			out = append(out, c)
		}
	}
	for _, h := range rep.Hosts {
		ids := sc.RolesOf(h.Addr)
		for _, g := range h.Roles {
			if slices.ContainsFunc(ids, func(id catalog.RoleID) bool { return sc.Name(id) == g.Role }) {
				continue
			}
			var ev []string
			for _, e := range g.Evidence {
				ev = append(ev, fmt.Sprintf("%s (%s; %d flows)", e.Ports, strings.Join(e.Entries, ", "), e.Flows))
			}
			c := Contradiction{Kind: NotListed, Host: h.Addr.String(), Role: g.Role,
				Detail: fmt.Sprintf("%s confidence: %s %s", g.Confidence, g.Evidence[0].Side, strings.Join(ev, ", "))}
			if len(ids) == 0 {
				c.Kind = UnlistedHost
			}
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(x, y Contradiction) int { return strings.Compare(x.Kind, y.Kind) })
	return out, nil
}

// qualify returns the vendor-qualified name of an inventory role key among
// the analyzer's vendors, as the scope resolves it.
func (a *Analyzer) qualify(inv *catalog.Inventory, key string) (string, bool) {
	vendor, bare := catalog.SplitRole(key)
	if vendor != "" {
		return key, slices.Contains(a.vendors, vendor)
	}
	for _, v := range inv.Vendors {
		cv, ok := a.cat.Vendor(v)
		if !ok || !slices.Contains(a.vendors, v) {
			continue
		}
		if _, ok := cv.Roles[bare]; ok {
			return catalog.QualifyRole(v, bare), true
		}
	}
	return "", false
}

func hasAny(m map[unitKey]*unit, ins []*entryInfo) bool {
	for _, u := range m {
		for _, in := range u.entries {
			if slices.Contains(ins, in) {
				return true
			}
		}
	}
	return false
}

func labels(ins []*entryInfo, n int) string {
	var out []string
	for _, in := range ins {
		if !slices.Contains(out, in.label) {
			out = append(out, in.label)
		}
	}
	if len(out) > n {
		return strings.Join(out[:n], ", ") + fmt.Sprintf(" and %d more", len(out)-n)
	}
	return strings.Join(out, ", ")
}

func flowsOf(hs []*host) int {
	n := 0
	for _, h := range hs {
		n += h.flows
	}
	return n
}

// Contains reports whether addr is one of the report's suggested hosts.
func (r *Report) Contains(addr netip.Addr) bool {
	return slices.ContainsFunc(r.Hosts, func(h HostReport) bool { return h.Addr == addr })
}

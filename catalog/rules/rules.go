// Package rules turns a vendor catalog and a site inventory into the
// allow-list a firewall team needs: one rule per (entry, from-hosts,
// to-hosts, transport, ports), each citing the entry and the document's
// section and quote, written as a change-request CSV, an nftables ruleset or
// an iptables-restore file.
//
// Which entries are opened follows the verdict classifier's scoping: an
// entry is in scope when its vendor is deployed (and chosen), both its sides
// have hosts at the site, and its conditions hold for the site's declared
// options (catalog.Scope.Required with the entry's own Required flag set
// aside): an entry the deployed variant does not need (Oracle on a Microsoft
// SQL Server site, the Software Only media server's ports on a Packaged
// Server site) is not opened, while an optional feature is, since the
// classifier allows its flows too. Standby hosts get their rules: they must
// be reachable the day they take over.
package rules

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ccaudit/auditor/catalog"
)

// Rule is one allow rule: From hosts may open flows to To hosts over
// Transport to Ports (and from FromPorts when the document states them).
type Rule struct {
	EntryID   string `json:"entry_id"`
	Vendor    string `json:"vendor"`
	Component string `json:"component"`
	// FromRoles and ToRoles are the site roles of the two sides, as
	// reports display them.
	FromRoles []string `json:"from_roles"`
	ToRoles   []string `json:"to_roles"`
	// From and To are addresses and prefixes of one family (Family 4 or
	// 6), sorted; To may instead hold only FQDNs for a cloud entry.
	From   []netip.Prefix `json:"from"`
	To     []netip.Prefix `json:"to,omitempty"`
	FQDNs  []string       `json:"fqdns,omitempty"`
	Family int            `json:"family"`
	// Transport is tcp, udp or icmp: an entry for "TCP/UDP" gives two
	// rules.
	Transport string          `json:"transport"`
	Ports     catalog.PortSet `json:"ports"`
	FromPorts catalog.PortSet `json:"from_ports,omitzero"`
	// Direction is the entry's: "one-way" or "both". A both-way entry
	// gives a rule each way; Reverse marks the one opened by the entry's
	// To side.
	Direction string `json:"direction"`
	Reverse   bool   `json:"reverse,omitempty"`
	Required  bool   `json:"required"`
	// Parity is set when some of Ports are only the even or odd members of
	// a range (Sinch RTP): firewalls cannot say that, so the whole range
	// is opened and the comment says so.
	Parity     bool           `json:"parity,omitempty"`
	Source     catalog.Source `json:"source"`
	Notes      string         `json:"notes,omitempty"`
	Negotiated bool           `json:"negotiated,omitempty"`
}

// Skipped is an entry in scope that no static rule can express.
type Skipped struct {
	EntryID string `json:"entry_id"`
	Reason  string `json:"reason"`
}

// Set is the allow-list of a site.
type Set struct {
	Site    string    `json:"site"`
	Rules   []Rule    `json:"rules"`
	Skipped []Skipped `json:"skipped,omitempty"`
}

// Options narrows the rules.
type Options struct {
	// Vendors limits the catalog entries to these vendors (they must be
	// deployed); empty means every deployed vendor. Site allow rules are
	// always included: they are the site's own statement.
	Vendors []string
}

// Build computes the allow-list of inv against c.
func Build(c *catalog.Catalog, inv *catalog.Inventory, opt Options) (*Set, error) {
	sc, err := catalog.NewScope(c, inv)
	if err != nil {
		return nil, err
	}
	if err := checkVendors(c, inv, opt.Vendors); err != nil {
		return nil, err
	}
	set := &Set{Site: inv.Site}
	for _, e := range chosenEntries(c, inv, opt.Vendors) {
		if Needed(sc, e) {
			set.addEntry(sc, inv, e)
		}
	}
	set.Rules = dedupe(set.Rules)
	return set, nil
}

// checkVendors refuses a chosen vendor the catalog lacks or the site
// does not deploy.
func checkVendors(c *catalog.Catalog, inv *catalog.Inventory, vendors []string) error {
	for _, v := range vendors {
		if _, ok := c.Vendor(v); !ok {
			return fmt.Errorf("vendor %q is not in the catalog", v)
		}
		if !inv.Deploys(v) {
			return fmt.Errorf("vendor %q is not deployed at site %s (vendors: %s)", v, inv.Site, strings.Join(inv.Vendors, ", "))
		}
	}
	return nil
}

// chosenEntries are the catalog entries of the site's vendors (those
// chosen, when some are), then the site's allow rules.
func chosenEntries(c *catalog.Catalog, inv *catalog.Inventory, vendors []string) []*catalog.Entry {
	var entries []*catalog.Entry
	for _, v := range inv.Vendors {
		if len(vendors) > 0 && !slices.Contains(vendors, v) {
			continue
		}
		entries = append(entries, c.EntriesOf(v)...)
	}
	return append(entries, inv.Allowed...)
}

// addEntry adds the rules of one needed entry, or says why it has none
// that a static rule can express.
func (set *Set) addEntry(sc *catalog.Scope, inv *catalog.Inventory, e *catalog.Entry) {
	from, to, ok := sc.EntryRoles(e)
	if !ok {
		return
	}
	fromHosts, fromNames := hostsOf(sc, from)
	toHosts, toNames := hostsOf(sc, to)
	cloud := len(e.CIDRs) > 0 || len(e.FQDNs) > 0
	if len(fromHosts)+len(fromNames) == 0 || (len(toHosts)+len(toNames) == 0 && !cloud) {
		return // a side with no host at this site: nothing to open
	}
	if len(toHosts)+len(toNames) == 0 {
		toHosts = append(toHosts, e.CIDRs...)
	}
	if names := append(slices.Clone(fromNames), toNames...); len(names) > 0 {
		set.Skipped = append(set.Skipped, Skipped{e.ID, "hosts listed by DNS name (" + strings.Join(names, ", ") +
			") are left out: resolve them and list their addresses in the inventory"})
	}
	base, ok := set.baseRule(sc, inv, e, from, to)
	if !ok {
		return
	}
	if len(toHosts) == 0 && len(e.FQDNs) > 0 {
		set.addNamedRules(base, e, fromHosts)
		return
	}
	set.addHostRules(base, e, fromHosts, toHosts)
}

// baseRule is what every rule of e says, hosts aside. An entry whose
// ports no static rule can express is skipped, with the reason.
func (set *Set) baseRule(sc *catalog.Scope, inv *catalog.Inventory, e *catalog.Entry, from, to []catalog.RoleID) (Rule, bool) {
	ports := inv.EffectivePorts(e)
	base := Rule{
		EntryID: e.ID, Vendor: e.Vendor, Component: e.Component,
		FromRoles: display(sc, from), ToRoles: display(sc, to),
		Direction: e.Direction.String(), Required: sc.Required(e),
		Source: e.Source, Notes: e.Notes, Negotiated: ports.Dynamic,
	}
	if e.Transport == catalog.ICMP {
		return base, true
	}
	switch {
	case ports.Unspecified && len(ports.Ranges) == 0:
		set.Skipped = append(set.Skipped, Skipped{e.ID, "the document states no port number; set one with an inventory override"})
		return base, false
	case len(ports.Ranges) == 0:
		set.Skipped = append(set.Skipped, Skipped{e.ID, "ports are negotiated in SIP/SDP and the document states no range: open them with a SIP helper (conntrack) or an inventory override"})
		return base, false
	}
	base.Ports = catalog.PortSet{Ranges: ports.Ranges}
	if !e.FromPorts.IsZero() && !e.FromPorts.IsAny() && len(e.FromPorts.Ranges) > 0 {
		base.FromPorts = catalog.PortSet{Ranges: e.FromPorts.Ranges}
	}
	base.Parity = slices.ContainsFunc(ports.Ranges, func(r catalog.PortRange) bool { return r.Parity != catalog.AllPorts })
	return base, true
}

// addNamedRules adds the rules of an entry whose only destinations are
// named cloud services: a rule a firewall with FQDN objects can take;
// nftables and iptables outputs list it as a comment.
func (set *Set) addNamedRules(base Rule, e *catalog.Entry, fromHosts []netip.Prefix) {
	for _, fam := range []int{4, 6} {
		src := family(fromHosts, fam)
		if len(src) == 0 {
			continue
		}
		r := base
		r.From, r.FQDNs, r.Family = src, e.FQDNs, fam
		set.Rules = append(set.Rules, transports(r, e.Transport)...)
	}
}

// addHostRules adds the rules between two sets of hosts, per address
// family, and for a both-way entry the reverse rules too.
func (set *Set) addHostRules(base Rule, e *catalog.Entry, fromHosts, toHosts []netip.Prefix) {
	for _, fam := range []int{4, 6} {
		src, dst := family(fromHosts, fam), family(toHosts, fam)
		if len(src) == 0 || len(dst) == 0 {
			continue
		}
		r := base
		r.From, r.To, r.Family = src, dst, fam
		set.Rules = append(set.Rules, transports(r, e.Transport)...)
		// The reverse rule is the flow from the To hosts to the From
		// hosts, which the classifier credits only when it is allowed.
		if e.Direction.Fit(false, true).Allowed() {
			rev := r
			rev.From, rev.To, rev.Reverse = dst, src, true
			rev.FromRoles, rev.ToRoles = r.ToRoles, r.FromRoles
			set.Rules = append(set.Rules, transports(rev, e.Transport)...)
		}
	}
}

// dedupe drops a rule that repeats an earlier one of the same entry (the
// reverse of a both-way entry whose two sides are the same hosts) and a
// rule from a single host to itself, which never crosses a firewall.
func dedupe(rs []Rule) []Rule {
	out := rs[:0]
	seen := make(map[string]bool)
	for _, r := range rs {
		if len(r.From) == 1 && len(r.To) == 1 && r.From[0] == r.To[0] && r.From[0].IsSingleIP() {
			continue
		}
		k := strings.Join([]string{r.EntryID, prefixList(r.From), prefixList(r.To), strings.Join(r.FQDNs, " "), r.Transport, r.Ports.String(), r.FromPorts.String()}, "|")
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}

// Needed reports whether e is opened at the site: its conditions on the
// site's options hold. It asks the scope's own Required, with e's Required
// flag set, so the rules follow exactly the classifier's reading of
// conditions and defaults.
func Needed(sc *catalog.Scope, e *catalog.Entry) bool {
	if e.Vendor == catalog.SiteVendor || len(e.RequiredWhen) == 0 {
		return true
	}
	probe := *e
	probe.Required = true
	return sc.Required(&probe)
}

func transports(r Rule, t catalog.Transport) []Rule {
	var out []Rule
	for _, p := range []struct {
		bit  catalog.Transport
		name string
	}{{catalog.TCP, "tcp"}, {catalog.UDP, "udp"}, {catalog.ICMP, "icmp"}} {
		if t&p.bit != 0 {
			r.Transport = p.name
			out = append(out, r)
		}
	}
	return out
}

func display(sc *catalog.Scope, ids []catalog.RoleID) []string {
	var out []string
	for _, id := range ids {
		if len(sc.RoleHosts(id)) > 0 {
			out = append(out, sc.Display(id))
		}
	}
	if len(out) == 0 {
		for _, id := range ids {
			out = append(out, sc.Display(id))
		}
	}
	return out
}

// hostsOf returns the address hosts of roles, sorted and without
// duplicates, and the names of hosts listed by DNS name.
func hostsOf(sc *catalog.Scope, roles []catalog.RoleID) ([]netip.Prefix, []string) {
	var ps []netip.Prefix
	var names []string
	for _, r := range roles {
		for _, h := range sc.RoleHosts(r) {
			host := sc.Host(h)
			if host.Name != "" {
				if !slices.Contains(names, host.Name) {
					names = append(names, host.Name)
				}
				continue
			}
			if !slices.Contains(ps, host.Prefix) {
				ps = append(ps, host.Prefix)
			}
		}
	}
	slices.SortFunc(ps, comparePrefix)
	slices.Sort(names)
	return ps, names
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// family returns the prefixes of one address family, leaving out those
// inside another one of the list: firewalls reject overlapping elements
// of an interval set, and the wider prefix already admits them.
func family(ps []netip.Prefix, fam int) []netip.Prefix {
	var in []netip.Prefix
	for _, p := range ps {
		if p.Addr().Unmap().Is4() == (fam == 4) {
			in = append(in, netip.PrefixFrom(p.Addr().Unmap(), min(p.Bits(), p.Addr().Unmap().BitLen())).Masked())
		}
	}
	var out []netip.Prefix
	for i, p := range in {
		inside := slices.ContainsFunc(in, func(q netip.Prefix) bool {
			return q != p && q.Bits() < p.Bits() && q.Contains(p.Addr())
		}) || slices.Contains(in[:i], p)
		if !inside {
			out = append(out, p)
		}
	}
	return out
}

// Justification is the one-line reason a change request gives for r: the
// entry, what it is for, the document's section and its own words.
func (r *Rule) Justification() string {
	var b strings.Builder
	b.WriteString(r.EntryID)
	b.WriteString(": ")
	b.WriteString(r.Component)
	b.WriteString(" (")
	b.WriteString(strings.Join(r.FromRoles, ","))
	b.WriteString(" -> ")
	b.WriteString(strings.Join(r.ToRoles, ","))
	if r.Reverse {
		b.WriteString(", reverse rule: the entry is both-way")
	}
	b.WriteString(")")
	if r.Source.Document != "" || r.Source.Section != "" {
		b.WriteString("; ")
		b.WriteString(r.Source.String())
	}
	if r.Source.Quote != "" {
		b.WriteString(`: "`)
		b.WriteString(oneLine(r.Source.Quote))
		b.WriteString(`"`)
	}
	if r.Parity {
		b.WriteString("; the document uses only even (RTP) or odd (RTCP) ports of the range: the whole range is opened")
	}
	if !r.FromPorts.IsZero() {
		b.WriteString("; from source ports " + r.FromPorts.String())
	}
	if r.Vendor == catalog.SiteVendor && r.Notes != "" {
		b.WriteString("; site rule: " + oneLine(r.Notes))
	}
	if !r.Required && r.Vendor != catalog.SiteVendor {
		b.WriteString("; optional feature")
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

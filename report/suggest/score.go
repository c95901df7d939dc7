package suggest

import (
	"net/netip"
	"slices"

	"github.com/ccaudit/auditor/catalog"
)

// Score measures a suggestion against an inventory known to be right.
type Score struct {
	// Precision: the share of suggested (host, role) pairs the inventory
	// gives the host, implied roles included, or that the catalog's own
	// addresses place there (a vendor's support data center).
	Precision float64 `json:"precision"`
	// Recall: the share of the inventory's (host, role) pairs, as written,
	// that the suggestion names, counted only where the traffic shows the
	// role: the host served, or for a client role opened, a distinctive
	// port of one of the role's entries.
	Recall    float64  `json:"recall"`
	Suggested int      `json:"suggested"`
	Shown     int      `json:"shown"`
	Misses    []string `json:"misses,omitempty"`
}

// Score compares rep, a's suggestion, with inv.
func (a *Analyzer) Score(rep *Report, inv *catalog.Inventory) (Score, error) {
	sc, err := catalog.NewScope(a.cat, inv)
	if err != nil {
		return Score{}, err
	}
	var s Score
	suggested := make(map[string]bool)
	good := 0
	for _, h := range rep.Hosts {
		for _, g := range h.Roles {
			suggested[h.Addr.String()+" "+g.Role] = true
			s.Suggested++
			if slices.ContainsFunc(sc.RolesOf(h.Addr), func(id catalog.RoleID) bool { return sc.Name(id) == g.Role }) || a.inCatalogCIDRs(h.Addr, g.Role) {
				good++
			} else {
				s.Misses = append(s.Misses, "wrong: "+h.Addr.String()+" "+g.Role)
			}
		}
	}
	found := 0
	for _, h := range a.sortedHosts() {
		for _, key := range inv.RolesOf(h.addr) {
			role, ok := a.qualify(inv, key)
			if !ok || !a.Shows(h.addr, role) {
				continue
			}
			s.Shown++
			if suggested[h.addr.String()+" "+role] {
				found++
			} else {
				s.Misses = append(s.Misses, "missed: "+h.addr.String()+" "+role)
			}
		}
	}
	slices.Sort(s.Misses)
	s.Precision = float64(good) / float64(max(s.Suggested, 1))
	s.Recall = float64(found) / float64(max(s.Shown, 1))
	return s, nil
}

// inCatalogCIDRs: the catalog itself places addr in role.
func (a *Analyzer) inCatalogCIDRs(addr netip.Addr, role string) bool {
	v, bare := catalog.SplitRole(role)
	for _, e := range a.cat.EntriesOf(v) {
		if e.To.Has(bare) && slices.ContainsFunc(e.CIDRs, func(p netip.Prefix) bool { return p.Contains(addr) }) {
			return true
		}
	}
	return false
}

// Shows reports whether the traffic shows addr playing role (qualified):
// it served, or opened, a distinctive port of an entry that names the role
// on that side.
func (a *Analyzer) Shows(addr netip.Addr, role string) bool {
	h, ok := a.hosts[addr.Unmap()]
	if !ok {
		return false
	}
	for _, u := range h.served {
		if u.distinctive && slices.ContainsFunc(u.entries, func(in *entryInfo) bool { return slices.Contains(in.listen, role) }) {
			return true
		}
	}
	for _, u := range h.opened {
		if u.distinctive && slices.ContainsFunc(u.entries, func(in *entryInfo) bool { return slices.Contains(in.open, role) }) {
			return true
		}
	}
	return false
}

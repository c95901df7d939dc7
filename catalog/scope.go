package catalog

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// RoleID numbers a vendor-scoped role ("sinch-contact-center/workstation")
// within one Scope, so that matching a host's roles against an entry's
// compares small integers.
type RoleID uint16

// Scope is an inventory resolved against a catalog: every host's roles are
// vendor-scoped (an unqualified name is given the one deployed vendor that
// has it), implied roles are added, and each entry's roles are numbered in
// the same space. An entry of vendor V only ever matches roles of V; a
// site allow rule names roles of any vendor. A Scope is immutable and safe
// for concurrent use; everything the per-flow lookups need is computed by
// NewScope.
type Scope struct {
	inv     *Inventory
	names   []string // RoleID -> "vendor/role"
	display []string // RoleID -> the name a report shows
	ids     map[string]RoleID
	// resolved maps an inventory role key to its roles, implied ones
	// included.
	resolved  map[string][]RoleID
	seg       [][]RoleID // per inventory address segment, sorted by name
	byName    map[string][]RoleID
	roleHosts [][]int32 // RoleID -> inventory host indices
	standby   []bool    // per inventory host
	// canon maps each inventory host to its same_hosts group's first
	// host (itself when not grouped); group lists the members of each
	// group by its first host.
	canon   []int32
	group   map[int32][]int32
	entries map[*Entry]*entryRoles
	options map[string][]string // "vendor/name" -> values, none when undeclared
}

type entryRoles struct{ from, to []RoleID }

// NewScope resolves inv against c. It fails, listing every problem, when an
// unqualified role is shared by two deployed vendors, or a qualified role,
// a standby host or an option is unknown.
func NewScope(c *Catalog, inv *Inventory) (*Scope, error) {
	d := &doc{name: "inventory"}
	if inv.src != nil {
		d = &doc{name: inv.src.name, file: inv.src.file}
	}
	s := inv.resolve(c, d)
	if err := d.result(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Scope) id(name string) RoleID {
	if id, ok := s.ids[name]; ok {
		return id
	}
	id := RoleID(len(s.names))
	s.ids[name] = id
	s.names = append(s.names, name)
	s.roleHosts = append(s.roleHosts, nil)
	return id
}

// resolve builds the scope, reporting problems through d. Role IDs are
// given out in the order of these steps, which the display names and the
// role lists' order follow.
func (inv *Inventory) resolve(c *Catalog, d *doc) *Scope {
	s := &Scope{
		inv: inv, ids: make(map[string]RoleID), resolved: make(map[string][]RoleID),
		byName: make(map[string][]RoleID), entries: make(map[*Entry]*entryRoles), options: make(map[string][]string),
	}
	var deployed []*Vendor
	for _, vid := range inv.Vendors {
		if v, ok := c.Vendor(vid); ok {
			deployed = append(deployed, v)
		}
	}
	qualified := s.numberVendorRoles(deployed)
	for _, key := range slices.Sorted(maps.Keys(inv.roles)) {
		ids, ok := s.resolveKey(d, key, deployed, qualified)
		if !ok {
			continue
		}
		s.resolved[key] = ids
		for _, h := range inv.roles[key] {
			hid := inv.hostIndex[h]
			for _, id := range ids {
				s.roleHosts[id] = append(s.roleHosts[id], hid)
			}
		}
	}
	s.indexHosts()
	s.displayNames()
	s.resolveOptions(d, deployed)
	s.groupHosts()
	s.standby = make([]bool, len(inv.hostList))
	for _, h := range inv.Standby {
		// A group stands by when one of its addresses does.
		s.standby[s.canon[inv.hostIndex[h]]] = true
	}
	s.numberEntries(c, deployed)
	// Roles first numbered by the allow rules show bare.
	for len(s.display) < len(s.names) {
		_, bare := SplitRole(s.names[len(s.display)])
		s.display = append(s.display, bare)
	}
	return s
}

// numberVendorRoles gives every role of a deployed vendor an ID, so
// entries can be numbered whether or not the site has hosts for them, and
// returns their qualified names.
func (s *Scope) numberVendorRoles(deployed []*Vendor) (qualified []string) {
	for _, v := range deployed {
		for _, r := range slices.Sorted(maps.Keys(v.Roles)) {
			s.id(QualifyRole(v.ID, r))
			qualified = append(qualified, QualifyRole(v.ID, r))
		}
	}
	return qualified
}

// implied appends role of v and every role it implies, transitively.
func (s *Scope) implied(v *Vendor, role string, out []RoleID, depth int) []RoleID {
	id := s.id(QualifyRole(v.ID, role))
	if slices.Contains(out, id) || depth > len(v.Roles) {
		return out
	}
	out = append(out, id)
	for _, r := range v.Implies[role] {
		out = s.implied(v, r, out, depth+1)
	}
	return out
}

// resolveKey returns the scoped roles an inventory role key names: a
// site role, a vendor-qualified role, or a bare name (see resolveBare).
func (s *Scope) resolveKey(d *doc, key string, deployed []*Vendor, qualified []string) ([]RoleID, bool) {
	at := s.inv.roleAt[key]
	vendor, bare := SplitRole(key)
	switch vendor {
	case SiteVendor:
		return []RoleID{s.id(key)}, true
	case "":
		return s.resolveBare(d, key, deployed)
	}
	i := slices.IndexFunc(deployed, func(v *Vendor) bool { return v.ID == vendor })
	if i < 0 {
		d.errorf(at, "role %q: vendor %s is not deployed at the site (vendors: %s)", key, vendor, strings.Join(s.inv.Vendors, ", "))
		return nil, false
	}
	if _, ok := deployed[i].Roles[bare]; !ok {
		d.errorf(at, "role %q: %s has no role %q%s", key, vendor, bare, didYouMean(key, qualified))
		return nil, false
	}
	return s.implied(deployed[i], bare, nil, 0), true
}

// resolveBare resolves a role name without a vendor: the site's own when
// no deployed vendor has it, that vendor's when one has, and an error
// naming the choices when several have (schema 1 had one namespace: the
// host plays the role for each of them).
func (s *Scope) resolveBare(d *doc, key string, deployed []*Vendor) ([]RoleID, bool) {
	var owners []*Vendor
	for _, v := range deployed {
		if _, ok := v.Roles[key]; ok {
			owners = append(owners, v)
		}
	}
	switch {
	case len(owners) == 0:
		// Not a vendor role: the site's own, for its allow rules.
		return []RoleID{s.id(QualifyRole(SiteVendor, key))}, true
	case len(owners) == 1:
		return s.implied(owners[0], key, nil, 0), true
	case s.inv.Schema == 1:
		var ids []RoleID
		for _, v := range owners {
			ids = s.implied(v, key, ids, 0)
		}
		return ids, true
	}
	var alts []string
	for _, v := range owners {
		alts = append(alts, `"`+QualifyRole(v.ID, key)+`"`)
	}
	d.errorf(s.inv.roleAt[key], "role %q is a role of several deployed vendors; did you mean %s?", key, strings.Join(alts, " or "))
	return nil, false
}

// indexHosts sorts each role's hosts and gives every address segment and
// host name its scoped roles.
func (s *Scope) indexHosts() {
	// A host listed under two keys of one role (a role and one that
	// implies it) is one host of it.
	for id, hs := range s.roleHosts {
		slices.Sort(hs)
		s.roleHosts[id] = slices.Compact(hs)
	}
	s.seg = make([][]RoleID, len(s.inv.addrRoles))
	for i, keys := range s.inv.addrRoles {
		s.seg[i] = s.union(keys)
	}
	for name, keys := range s.inv.names {
		s.byName[name] = s.union(keys)
	}
}

// displayNames names each role for reports: without its vendor unless
// another vendor's role of the same name has hosts here.
func (s *Scope) displayNames() {
	bareHosts := make(map[string]int)
	for id, name := range s.names {
		if _, bare := SplitRole(name); len(s.roleHosts[id]) > 0 {
			bareHosts[bare]++
		}
	}
	s.display = make([]string, len(s.names))
	for id, name := range s.names {
		if _, bare := SplitRole(name); bareHosts[bare] <= 1 {
			s.display[id] = bare
		} else {
			s.display[id] = name
		}
	}
}

// resolveOptions starts from the deployed vendors' option defaults and
// applies the site's choices, each checked against the option's values.
func (s *Scope) resolveOptions(d *doc, deployed []*Vendor) {
	for _, v := range deployed {
		for _, o := range v.Options {
			if o.Default != "" {
				s.options[o.Name] = []string{o.Default}
			} else {
				s.options[o.Name] = nil
			}
		}
	}
	inv := s.inv
	for _, name := range slices.Sorted(maps.Keys(inv.Options)) {
		vals := inv.Options[name]
		opt := findOption(deployed, name)
		if opt == nil {
			var names []string
			for n := range s.options {
				names = append(names, n)
			}
			d.errorf(inv.optionAt[name], "option %q is not an option of the deployed vendors%s", name, didYouMean(name, names))
			continue
		}
		ok := true
		for _, val := range vals {
			if !slices.Contains(opt.Values, val) {
				d.errorf(inv.optionAt[name], "option %s: %q is not one of %s", name, val, strings.Join(opt.Values, ", "))
				ok = false
			}
		}
		if ok {
			s.options[name] = vals
		}
	}
}

// findOption returns the deployed vendors' option of that qualified name
// (the last one, should two declare it); nil when none does.
func findOption(deployed []*Vendor, name string) *Option {
	var opt *Option
	for _, v := range deployed {
		for i := range v.Options {
			if v.Options[i].Name == name {
				opt = &v.Options[i]
			}
		}
	}
	return opt
}

// numberEntries gives each entry of the deployed vendors, and each site
// allow rule, its From and To roles in the scope.
func (s *Scope) numberEntries(c *Catalog, deployed []*Vendor) {
	for _, v := range deployed {
		for _, e := range c.EntriesOf(v.ID) {
			er := &entryRoles{}
			for _, r := range e.From {
				er.from = append(er.from, s.id(QualifyRole(v.ID, r)))
			}
			for _, r := range e.To {
				er.to = append(er.to, s.id(QualifyRole(v.ID, r)))
			}
			s.entries[e] = er
		}
	}
	for _, e := range s.inv.Allowed {
		s.entries[e] = &entryRoles{from: s.siteRoles(e.From), to: s.siteRoles(e.To)}
	}
}

// siteRoles resolves an allow rule's roles: a qualified name is that
// role; an unqualified one is every vendor's role of that name, and the
// site's own.
func (s *Scope) siteRoles(names Roles) []RoleID {
	var out []RoleID
	for _, n := range names {
		if vendor, _ := SplitRole(n); vendor != "" {
			out = append(out, s.id(n))
			continue
		}
		for id, q := range s.names {
			if _, bare := SplitRole(q); bare == n && !slices.Contains(out, RoleID(id)) {
				out = append(out, RoleID(id))
			}
		}
		if id := s.id(QualifyRole(SiteVendor, n)); !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func (s *Scope) union(keys []string) []RoleID {
	var out []RoleID
	for _, k := range keys {
		for _, id := range s.resolved[k] {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	slices.SortFunc(out, func(a, b RoleID) int { return strings.Compare(s.names[a], s.names[b]) })
	return out
}

// Inventory returns the inventory the scope resolves.
func (s *Scope) Inventory() *Inventory { return s.inv }

// RolesOf returns the scoped roles of the host at addr, implied roles
// included, sorted by name; nil when the inventory does not know it.
// O(log n); allocation-free. The slice is shared: do not modify.
func (s *Scope) RolesOf(addr netip.Addr) []RoleID {
	if !addr.IsValid() {
		return nil
	}
	i := s.inv.addrs.find(addrKey(addr.Unmap()))
	if i < 0 {
		return nil
	}
	return s.seg[i]
}

// RolesOfName returns the scoped roles of a host the inventory lists by
// DNS name.
func (s *Scope) RolesOfName(name string) []RoleID { return s.byName[normName(name)] }

// EntryRoles returns the scoped roles of e's From and To sides; ok is false
// for an entry of a vendor the site does not deploy.
func (s *Scope) EntryRoles(e *Entry) (from, to []RoleID, ok bool) {
	er, ok := s.entries[e]
	if !ok {
		return nil, nil, false
	}
	return er.from, er.to, true
}

// Name returns the vendor-scoped name of a role.
func (s *Scope) Name(id RoleID) string { return s.names[id] }

// Display returns the name reports show for a role: without its vendor,
// unless two vendors' roles of that name have hosts at the site.
func (s *Scope) Display(id RoleID) string { return s.display[id] }

// HostsOf returns the inventory hosts (indices for Host) covering addr.
// The slice is shared: do not modify.
func (s *Scope) HostsOf(addr netip.Addr) []int32 {
	if !addr.IsValid() {
		return nil
	}
	i := s.inv.addrs.find(addrKey(addr.Unmap()))
	if i < 0 {
		return nil
	}
	return s.inv.addrHosts[i]
}

// HostOfName returns the inventory host listed by DNS name.
func (s *Scope) HostOfName(name string) (int32, bool) {
	h, ok := s.inv.hostIndex[Host{Name: normName(name)}]
	return h, ok
}

// Host returns an inventory host by index.
func (s *Scope) Host(i int32) Host { return s.inv.hostList[i] }

// NumHosts is the number of distinct inventory hosts.
func (s *Scope) NumHosts() int { return len(s.inv.hostList) }

// RoleHosts returns the hosts that play role id, directly or by
// implication.
func (s *Scope) RoleHosts(id RoleID) []int32 { return s.roleHosts[id] }

// Standby reports whether host i, or a host of its same_hosts group, is
// declared on standby.
func (s *Scope) Standby(i int32) bool { return s.standby[s.canon[i]] }

// groupHosts numbers the same_hosts groups by their first host.
func (s *Scope) groupHosts() {
	inv := s.inv
	s.canon = make([]int32, len(inv.hostList))
	for i := range s.canon {
		s.canon[i] = int32(i)
	}
	for _, g := range inv.SameHosts {
		first := inv.hostIndex[g[0]]
		members := make([]int32, 0, len(g))
		for _, h := range g {
			i := inv.hostIndex[h]
			s.canon[i] = first
			members = append(members, i)
		}
		if s.group == nil {
			s.group = make(map[int32][]int32)
		}
		s.group[first] = members
	}
}

// Canon returns the host that stands for host i's same_hosts group: its
// first host, or i itself when it is in none. Pairs of hosts compared
// through Canon treat a dual-stack or multi-homed host as one.
func (s *Scope) Canon(i int32) int32 { return s.canon[i] }

// Members returns the hosts of the group host i stands for (Canon(i) ==
// i): the group's hosts, or i alone.
func (s *Scope) Members(i int32) []int32 {
	if m, ok := s.group[i]; ok {
		return m
	}
	return []int32{i}
}

// HostLabel names host i in reports: its address, prefix or DNS name, or
// those of its whole same_hosts group joined by " & ".
func (s *Scope) HostLabel(i int32) string {
	m, ok := s.group[s.canon[i]]
	if !ok {
		return s.inv.hostList[i].String()
	}
	parts := make([]string, len(m))
	for j, h := range m {
		parts[j] = s.inv.hostList[h].String()
	}
	return strings.Join(parts, " & ")
}

// Option returns the site's values of an option ("vendor/name"): the
// inventory's, else the option's default; none when neither is given.
func (s *Scope) Option(name string) []string { return s.options[name] }

// Required reports whether e is required at this site: e.Required, and
// each of its RequiredWhen conditions holds (one of the site's values of
// the option is among the condition's). A condition on an option the
// site leaves undeclared (and that has no default) holds: the entry then
// competes with the other members of its OneOf group.
func (s *Scope) Required(e *Entry) bool {
	if !e.Required {
		return false
	}
	for name, vals := range e.RequiredWhen {
		site := s.options[name]
		if len(site) > 0 && !slices.ContainsFunc(site, func(v string) bool { return slices.Contains(vals, v) }) {
			return false
		}
	}
	return true
}

// String describes a role list for messages.
func (s *Scope) String(ids []RoleID) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = s.display[id]
	}
	return strings.Join(out, ",")
}

// Warnings returns what an inventory may well mean but often gets wrong:
// an address or network given two roles that the documents do not expect
// on one host (a workstation subnet that contains the SQL server), and a
// host listed twice under one role. Roles one implies of the other, roles
// of one Cohost group, the same role of two vendors (an agent PC running
// both clients) and the site's own roles are not warned about.
func (inv *Inventory) Warnings(c *Catalog) []*Error {
	d := &doc{name: "inventory"}
	if inv.src != nil {
		d = &doc{name: inv.src.name, file: inv.src.file}
	}
	s := inv.resolve(c, &doc{name: d.name})
	keys := slices.Sorted(maps.Keys(inv.roles))
	for i, k1 := range keys {
		inv.warnListedTwice(d, k1)
		for _, k2 := range keys[i+1:] {
			if !s.mayShare(c, k1, k2) {
				inv.warnShared(d, k1, k2)
			}
		}
	}
	return d.errs
}

// warnListedTwice warns of a host listed twice under the role key.
func (inv *Inventory) warnListedTwice(d *doc, key string) {
	for j, h := range inv.roles[key] {
		if slices.Contains(inv.roles[key][:j], h) {
			d.errorf(append(slices.Clone(inv.roleAt[key]), j), "warning: %s is listed twice under %s", h, key)
		}
	}
}

// warnShared warns of each host of k2 that is, or overlaps, a host of k1.
func (inv *Inventory) warnShared(d *doc, k1, k2 string) {
	for _, h1 := range inv.roles[k1] {
		for j, h2 := range inv.roles[k2] {
			overlap := h1 == h2 || (h1.Name == "" && h2.Name == "" && h1.Prefix.Overlaps(h2.Prefix))
			if !overlap {
				continue
			}
			what := "is also"
			if h1 != h2 {
				what = "overlaps " + h1.String() + ","
			}
			d.errorf(append(slices.Clone(inv.roleAt[k2]), j), "warning: %s (%s) %s %s: the documents do not put these roles on one host", h2, k2, what, k1)
		}
	}
}

// mayShare reports whether the roles of two inventory keys may sit on one
// host: one is (or implies) the other, they are one Cohost group's, the
// same role of two vendors, or a site role; or a key did not resolve,
// which Check reports.
func (s *Scope) mayShare(c *Catalog, k1, k2 string) bool {
	ids1, ids2 := s.resolved[k1], s.resolved[k2]
	if len(ids1) == 0 || len(ids2) == 0 {
		return true
	}
	for _, a := range ids1 {
		for _, b := range ids2 {
			na, nb := s.names[a], s.names[b]
			va, ra := SplitRole(na)
			vb, rb := SplitRole(nb)
			if a == b || va == SiteVendor || vb == SiteVendor || (ra == rb && va != vb) || cohosted(c, na, nb) {
				return true
			}
		}
	}
	return false
}

// cohosted reports whether two qualified roles are of one vendor's
// Cohost group.
func cohosted(c *Catalog, a, b string) bool {
	va, ra := SplitRole(a)
	vb, rb := SplitRole(b)
	if va != vb {
		return false
	}
	v, ok := c.Vendor(va)
	if !ok {
		return false
	}
	for _, g := range v.Cohost {
		if slices.Contains(g, ra) && slices.Contains(g, rb) {
			return true
		}
	}
	return false
}

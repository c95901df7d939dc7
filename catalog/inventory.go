package catalog

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	pathpkg "path"
	"slices"
	"strings"
)

// SiteVendor is the vendor name of an inventory's extra allowed flows.
const SiteVendor = "site"

// Inventory describes one site: which vendors run there, which hosts play
// which roles, and how the site departs from the documents' defaults.
type Inventory struct {
	// Schema is the file's schema version (1 or 2); version 2 adds
	// vendor-qualified role names, standby and options.
	Schema  int
	Site    string
	Vendors []string
	// Standby lists hosts that stand by (a backup CIC server): their flows
	// are judged as any other, but no missing finding is raised for a pair
	// of hosts one of which is on standby.
	Standby []Host
	// SameHosts groups hosts listed apart that are one host (a dual-stack
	// or multi-homed server) or one set of hosts (a subnet's IPv4 and
	// IPv6 prefixes): the missing-flow check pairs the group once, and
	// one working flow over any of its addresses serves it.
	SameHosts [][]Host
	// Options sets the site's variants and optional components by
	// "vendor/name" (genesys-pureconnect/database: mssql); a site running
	// several (phone models) lists them. Unset options keep their
	// default, or stay undeclared.
	Options map[string][]string
	// Parameters sets area parameters by "vendor/name" (Sinch MRS stream
	// counts); unset parameters keep their documented defaults.
	Parameters map[string]int
	// Overrides replaces the ports of configurable entries, by entry ID.
	Overrides map[string]PortSet
	// Allowed are the site's extra flows, as entries of vendor "site" with
	// IDs "site/<name>"; index them with the catalog's entries.
	Allowed []*Entry
	// Ignore lists flows the site does not want reported.
	Ignore []IgnoreRule
	// Expect narrows the missing-flow check to the required entries whose
	// ID matches one of these path.Match patterns ("genesys-pureconnect/
	// notifier-*"). Empty means every required entry in scope: a site
	// lists here what a capture of it must show, leaving out flows that
	// happen rarely (nightly jobs, admin consoles).
	Expect []string

	roles     map[string][]Host
	addrs     segments
	addrRoles [][]string
	names     map[string][]string
	// hostList holds every distinct host; addrHosts lists, per address
	// segment, the hosts covering it (indices into hostList).
	hostList  []Host
	addrHosts [][]int32
	hostIndex map[Host]int32

	src        *doc
	roleAt     map[string][]any
	overrideAt map[string][]any
	paramAt    map[string][]any
	vendorAt   []any
	expectAt   [][]any
	optionAt   map[string][]any
	standbyAt  [][]any
	sameAt     [][]any
}

// Host is one inventory host: an address or CIDR, or a DNS name kept for
// resolution later.
type Host struct {
	Prefix netip.Prefix // valid for addresses and CIDRs
	Name   string       // set for DNS names, lower-case without trailing dot
}

func (h Host) String() string {
	if h.Name != "" {
		return h.Name
	}
	if h.Prefix.IsSingleIP() {
		return h.Prefix.Addr().String()
	}
	return h.Prefix.String()
}

// IgnoreRule silences flows between two hosts or networks. A zero From or
// To matches any address, zero Transport any protocol, empty Ports any port.
type IgnoreRule struct {
	From, To  netip.Prefix
	Direction Direction // BothWays also matches To→From
	Transport Transport
	Ports     PortSet
	Reason    string
	// Line is where the rule is in the inventory, for reports.
	Line int
}

// Matches reports whether a flow src→dst with IP protocol proto to port
// dport is silenced by r.
func (r *IgnoreRule) Matches(src, dst netip.Addr, proto uint8, dport uint16) bool {
	if r.Transport != 0 && !r.Transport.Matches(proto) {
		return false
	}
	if !r.Ports.IsZero() && !r.Ports.Contains(dport) {
		return false
	}
	src, dst = src.Unmap(), dst.Unmap()
	fwd := prefixHas(r.From, src) && prefixHas(r.To, dst)
	return r.Direction.Fit(fwd, !fwd && prefixHas(r.From, dst) && prefixHas(r.To, src)).Allowed()
}

func prefixHas(p netip.Prefix, a netip.Addr) bool { return !p.IsValid() || p.Contains(a) }

type rawInventory struct {
	Schema     int                `yaml:"schema"`
	Site       string             `yaml:"site"`
	Vendors    scalars            `yaml:"vendors"`
	Roles      map[string]scalars `yaml:"roles"`
	Parameters map[string]int     `yaml:"parameters"`
	Overrides  []rawOverride      `yaml:"overrides"`
	Allow      []rawAllow         `yaml:"allow"`
	Ignore     []rawIgnore        `yaml:"ignore"`
	Expect     scalars            `yaml:"expect"`
	Standby    scalars            `yaml:"standby"`
	SameHosts  []scalars          `yaml:"same_hosts"`
	Options    map[string]scalars `yaml:"options"`
}

// InventorySchema is the newest inventory schema this package reads;
// schema 1 files are read too.
const InventorySchema = 2

type rawOverride struct {
	Entry string  `yaml:"entry"`
	Ports scalars `yaml:"ports"`
	Notes string  `yaml:"notes"`
}

type rawAllow struct {
	Name      string  `yaml:"name"`
	From      scalars `yaml:"from"`
	To        scalars `yaml:"to"`
	Direction string  `yaml:"direction"`
	Transport string  `yaml:"transport"`
	Ports     scalars `yaml:"ports"`
	App       string  `yaml:"app"`
	Notes     string  `yaml:"notes"`
}

type rawIgnore struct {
	From      string  `yaml:"from"`
	To        string  `yaml:"to"`
	Direction string  `yaml:"direction"`
	Transport string  `yaml:"transport"`
	Ports     scalars `yaml:"ports"`
	Reason    string  `yaml:"reason"`
}

// LoadInventory reads a site inventory file.
func LoadInventory(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	return parseInventory(data, path)
}

// ReadInventory reads a site inventory from r; name is used in errors.
func ReadInventory(r io.Reader, name string) (*Inventory, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read inventory %s: %w", name, err)
	}
	return parseInventory(data, name)
}

func parseInventory(data []byte, name string) (*Inventory, error) {
	inv, d, err := decodeInventory(data, name)
	if err != nil {
		return nil, err
	}
	if err := d.result(); err != nil {
		return nil, err
	}
	return inv, nil
}

// ValidateInventory reads an inventory and checks it against c, returning
// every problem of both steps: unlike ReadInventory followed by Check, a
// broken line does not hide the catalog checks of the rest of the file.
// The inventory is nil when the file cannot be decoded at all.
func ValidateInventory(r io.Reader, name string, c *Catalog) (*Inventory, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read inventory %s: %w", name, err)
	}
	inv, d, err := decodeInventory(data, name)
	if err != nil {
		return nil, err
	}
	errs := d.errs
	if cerr := inv.Check(c); cerr != nil {
		errs = append(slices.Clone(errs), Problems(cerr)...)
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
		return inv, errs
	}
	return inv, nil
}

// decodeInventory decodes and builds an inventory, recording its problems
// in the returned doc; err is set only when nothing could be decoded. The
// steps read the file's sections in turn.
func decodeInventory(data []byte, name string) (*Inventory, *doc, error) {
	var raw rawInventory
	d, err := decodeStrict(data, name, &raw)
	if err != nil {
		return nil, nil, err
	}
	inv := &Inventory{
		Site: raw.Site, Vendors: raw.Vendors, Parameters: raw.Parameters,
		Overrides: make(map[string]PortSet), roles: make(map[string][]Host),
		names: make(map[string][]string), src: d,
		roleAt: make(map[string][]any), overrideAt: make(map[string][]any), paramAt: make(map[string][]any),
		vendorAt: path("vendors"), Schema: raw.Schema, Options: make(map[string][]string),
		optionAt: make(map[string][]any), hostIndex: make(map[Host]int32),
	}
	if inv.Parameters == nil {
		inv.Parameters = make(map[string]int)
	}
	checkInventorySchema(d, &raw)
	inv.readHeader(d, raw.Options)
	inv.readRoles(d, raw.Roles, raw.Schema)
	inv.readStandby(d, raw.Standby)
	inv.readSameHosts(d, raw.SameHosts)
	inv.readOverrides(d, raw.Overrides)
	for i, a := range raw.Allow {
		inv.readAllow(d, name, i, a)
	}
	inv.readExpect(d, raw.Expect)
	for i, r := range raw.Ignore {
		inv.Ignore = append(inv.Ignore, readIgnore(d, i, r))
	}
	return inv, d, nil
}

// checkInventorySchema accepts schema 1 and the current schema. Schema 1
// has one role namespace; the fields of schema 2 would be misread by an
// older reader, so they need the new version.
func checkInventorySchema(d *doc, raw *rawInventory) {
	switch raw.Schema {
	case 1:
		if len(raw.Standby) > 0 {
			d.errorf(path("standby"), "standby needs schema: 2 (schema 2 reads every schema 1 file: change the first line)")
		}
		if len(raw.Options) > 0 {
			d.errorf(path("options"), "options needs schema: 2 (schema 2 reads every schema 1 file: change the first line)")
		}
		if len(raw.SameHosts) > 0 {
			d.errorf(path("same_hosts"), "same_hosts needs schema: 2 (schema 2 reads every schema 1 file: change the first line)")
		}
	case InventorySchema:
	default:
		d.errorf(path("schema"), "schema: got %d, this auditor reads inventory schema 1 and %d", raw.Schema, InventorySchema)
	}
}

// readHeader checks the site's options, name, vendors and parameters.
func (inv *Inventory) readHeader(d *doc, options map[string]scalars) {
	for k, vs := range options {
		inv.optionAt[k] = path("options", keyStep(k))
		if len(vs) == 0 {
			d.errorf(inv.optionAt[k], "option %s: give a value", k)
			continue
		}
		inv.Options[k] = vs
	}
	if inv.Site == "" {
		d.errorf(path(), "site: the site name is required")
	}
	if len(inv.Vendors) == 0 {
		d.errorf(path(), "vendors: list at least one deployed vendor")
	}
	for k := range inv.Parameters {
		inv.paramAt[k] = path("parameters", keyStep(k))
	}
}

// readRoles reads each role's hosts, numbers every distinct host, and
// builds the address index from the roles' prefixes.
func (inv *Inventory) readRoles(d *doc, roles map[string]scalars, schema int) {
	var ix addrIndexBuilder
	for _, role := range slices.Sorted(maps.Keys(roles)) {
		inv.roleAt[role] = path("roles", keyStep(role))
		checkRoleName(d, role, schema)
		for j, h := range roles[role] {
			host, err := parseHost(h)
			if err != nil {
				d.errorf(path("roles", role, j), "role %s: %v", role, err)
				continue
			}
			inv.roles[role] = append(inv.roles[role], host)
			hid := inv.hostID(host)
			if host.Name != "" {
				inv.names[host.Name] = appendUnique(inv.names[host.Name], role)
				continue
			}
			ix.add(host.Prefix, role, hid)
		}
	}
	ix.build(inv)
}

// checkRoleName checks a role name, bare or (schema 2) "vendor/role".
func checkRoleName(d *doc, role string, schema int) {
	vendor, bare := SplitRole(role)
	switch {
	case vendor != "" && schema == 1:
		d.errorf(path("roles", keyStep(role)), "role name %q: vendor-qualified roles need schema: 2 (schema 2 reads every schema 1 file: change the first line)", role)
	case !idPattern.MatchString(bare) || (vendor != "" && !idPattern.MatchString(vendor)):
		d.errorf(path("roles", keyStep(role)), "role name %q: want lower-case letters, digits, '-' and '.', optionally after \"vendor/\"", role)
	}
}

// hostID numbers host the first time a role lists it.
func (inv *Inventory) hostID(host Host) int32 {
	hid, ok := inv.hostIndex[host]
	if !ok {
		hid = int32(len(inv.hostList))
		inv.hostIndex[host] = hid
		inv.hostList = append(inv.hostList, host)
	}
	return hid
}

// addrIndexBuilder collects the roles' address prefixes, each with its
// role and host, for the inventory's address segments.
type addrIndexBuilder struct {
	spans    []span
	spanRole []string
	spanHost []int32
}

func (b *addrIndexBuilder) add(p netip.Prefix, role string, host int32) {
	lo, hi := prefixSpan(p)
	b.spans = append(b.spans, span{lo: lo, hi: hi, id: len(b.spanRole)})
	b.spanRole = append(b.spanRole, role)
	b.spanHost = append(b.spanHost, host)
}

// build cuts the address space into segments and gives each the sorted
// roles and hosts whose prefixes cover it.
func (b *addrIndexBuilder) build(inv *Inventory) {
	inv.addrs = buildSegments(b.spans)
	inv.addrRoles = make([][]string, len(inv.addrs.cover))
	inv.addrHosts = make([][]int32, len(inv.addrs.cover))
	for i, ids := range inv.addrs.cover {
		var rs []string
		var hs []int32
		for _, id := range ids {
			rs = appendUnique(rs, b.spanRole[id])
			if !slices.Contains(hs, b.spanHost[id]) {
				hs = append(hs, b.spanHost[id])
			}
		}
		slices.Sort(rs)
		slices.Sort(hs)
		inv.addrRoles[i] = rs
		inv.addrHosts[i] = hs
	}
}

// readStandby reads the standby hosts, each of which a role must list.
func (inv *Inventory) readStandby(d *doc, standby scalars) {
	for i, h := range standby {
		host, err := parseHost(h)
		at := path("standby", i)
		_, known := inv.hostIndex[host]
		switch {
		case err != nil:
			d.errorf(at, "standby: %v", err)
			continue
		case !known:
			d.errorf(at, "standby: %s is not a host of any role (list it under roles too)", host)
			continue
		}
		inv.Standby = append(inv.Standby, host)
		inv.standbyAt = append(inv.standbyAt, at)
	}
}

// readSameHosts reads the groups of hosts that are one: at least two
// hosts each, every one a host of some role and in one group at most.
func (inv *Inventory) readSameHosts(d *doc, groups []scalars) {
	grouped := make(map[Host]int)
	for i, g := range groups {
		at := path("same_hosts", i)
		if len(g) < 2 {
			d.errorf(at, "same_hosts: a group lists two hosts or more, got %d", len(g))
			continue
		}
		var hosts []Host
		for j, h := range g {
			host, err := parseHost(h)
			hat := path("same_hosts", i, j)
			_, known := inv.hostIndex[host]
			switch {
			case err != nil:
				d.errorf(hat, "same_hosts: %v", err)
				continue
			case !known:
				d.errorf(hat, "same_hosts: %s is not a host of any role (list it under roles too)", host)
				continue
			}
			if k, dup := grouped[host]; dup {
				d.errorf(hat, "same_hosts: %s is already in group %d", host, k+1)
				continue
			}
			grouped[host] = i
			hosts = append(hosts, host)
		}
		if len(hosts) >= 2 {
			inv.SameHosts = append(inv.SameHosts, hosts)
			inv.sameAt = append(inv.sameAt, at)
		}
	}
}

// readOverrides reads the site's port overrides, one per entry.
func (inv *Inventory) readOverrides(d *doc, overrides []rawOverride) {
	for i, o := range overrides {
		at := path("overrides", i)
		if o.Entry == "" {
			d.errorf(at, "override: entry is required")
			continue
		}
		if _, dup := inv.Overrides[o.Entry]; dup {
			d.errorf(append(at, "entry"), "override for %s given twice", o.Entry)
		}
		ps, err := ParsePorts(o.Ports...)
		if err == nil && ps.IsZero() {
			err = fmt.Errorf("ports are required")
		}
		if err != nil {
			d.errorf(append(at, "ports"), "override %s: %v", o.Entry, err)
			continue
		}
		inv.Overrides[o.Entry] = ps
		inv.overrideAt[o.Entry] = append(at, "entry")
	}
}

// readAllow builds the site allow rule allow[i] as an entry of the site
// vendor, citing the inventory file and line as its source.
func (inv *Inventory) readAllow(d *doc, name string, i int, a rawAllow) {
	at := path("allow", i)
	e := &Entry{
		ID: SiteVendor + "/" + a.Name, Vendor: SiteVendor, Component: "site allow rule " + a.Name,
		From: Roles(a.From), To: Roles(a.To), App: strings.ToLower(a.App), Notes: a.Notes,
		Configurable: true, Required: false,
		Source: Source{Document: name, Section: fmt.Sprintf("allow[%d] (line %d)", i, lineOf(d, at))},
	}
	if !idPattern.MatchString(a.Name) {
		d.errorf(append(at, "name"), "allow rule name %q: want lower-case letters, digits, '-' and '.'", a.Name)
	}
	if len(e.From) == 0 || len(e.To) == 0 {
		d.errorf(at, "allow %s: from and to roles are required", a.Name)
	}
	if a.Direction != "" {
		if err := e.Direction.UnmarshalText([]byte(a.Direction)); err != nil {
			d.errorf(append(at, "direction"), "%v", err)
		}
	}
	t, err := ParseTransport(a.Transport)
	if err != nil {
		d.errorf(append(at, "transport"), "allow %s: %v", a.Name, err)
	}
	e.Transport = t
	ps, err := ParsePorts(a.Ports...)
	if err == nil && ps.IsZero() && t != ICMP {
		err = fmt.Errorf("ports are required")
	}
	if err != nil {
		d.errorf(append(at, "ports"), "allow %s: %v", a.Name, err)
	}
	e.Ports = ps
	if slices.ContainsFunc(inv.Allowed, func(o *Entry) bool { return o.ID == e.ID }) {
		d.errorf(append(at, "name"), "allow rule %q given twice", a.Name)
	}
	inv.Allowed = append(inv.Allowed, e)
}

// readExpect reads the entry IDs and patterns the site relies on.
func (inv *Inventory) readExpect(d *doc, expect scalars) {
	for i, p := range expect {
		if _, err := pathpkg.Match(p, ""); err != nil || p == "" {
			d.errorf(path("expect", i), "expect: %q is not an entry ID or pattern", p)
			continue
		}
		inv.Expect = append(inv.Expect, p)
		inv.expectAt = append(inv.expectAt, path("expect", i))
	}
}

// readIgnore builds the ignore rule ignore[i]; it needs a from or a to.
func readIgnore(d *doc, i int, r rawIgnore) IgnoreRule {
	at := path("ignore", i)
	rule := IgnoreRule{Reason: r.Reason, Line: lineOf(d, at)}
	var err error
	if r.From != "" {
		if rule.From, err = parsePrefix(r.From); err != nil {
			d.errorf(append(at, "from"), "ignore: %v", err)
		}
	}
	if r.To != "" {
		if rule.To, err = parsePrefix(r.To); err != nil {
			d.errorf(append(at, "to"), "ignore: %v", err)
		}
	}
	if r.From == "" && r.To == "" {
		d.errorf(at, "ignore: give from, to or both (a host or CIDR)")
	}
	if r.Direction != "" {
		if err := rule.Direction.UnmarshalText([]byte(r.Direction)); err != nil {
			d.errorf(append(at, "direction"), "%v", err)
		}
	}
	if r.Transport != "" {
		if rule.Transport, err = ParseTransport(r.Transport); err != nil {
			d.errorf(append(at, "transport"), "ignore: %v", err)
		}
	}
	if rule.Ports, err = ParsePorts(r.Ports...); err != nil {
		d.errorf(append(at, "ports"), "ignore: %v", err)
	}
	return rule
}

func lineOf(d *doc, at []any) int {
	if n := d.nodeAt(at); n != nil && n.GetToken() != nil && n.GetToken().Position != nil {
		return n.GetToken().Position.Line
	}
	return 0
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func parseHost(s string) (Host, error) {
	s = strings.TrimSpace(s)
	if p, err := parsePrefix(s); err == nil {
		return Host{Prefix: p}, nil
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	if strings.ContainsAny(s, "/:") || !fqdnPattern.MatchString(s) || strings.HasPrefix(s, "*") || strings.Trim(last, "0123456789") == "" {
		return Host{}, fmt.Errorf("%q is not an IP address, CIDR or host name", s)
	}
	return Host{Name: normName(s)}, nil
}

func normName(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }

// Check validates the inventory against a catalog and returns every
// problem as an ErrorList: unknown vendors, overrides of unknown or
// non-configurable entries (Interaction Edge ports cannot be changed),
// unknown parameters, and roles no entry of the deployed vendors (or allow
// rule) uses, which are most often typos.
func (inv *Inventory) Check(c *Catalog) error {
	d := &doc{name: "inventory"}
	if inv.src != nil {
		d = &doc{name: inv.src.name, file: inv.src.file}
	}
	inv.checkVendors(d, c)
	inv.checkOverrides(d, c)
	inv.checkExpect(d, c)
	inv.checkParameters(d, c)
	inv.resolve(c, d)
	inv.checkRolesUsed(d, c)
	return d.result()
}

// checkVendors checks that the catalog has every deployed vendor.
func (inv *Inventory) checkVendors(d *doc, c *Catalog) {
	for i, v := range inv.Vendors {
		if _, ok := c.Vendor(v); !ok {
			var ids []string
			for _, cv := range c.Vendors() {
				ids = append(ids, cv.ID)
			}
			d.errorf(append(slices.Clone(inv.vendorAt), i), "vendor %q is not in the catalog%s", v, didYouMean(v, ids))
		}
	}
}

// checkOverrides checks that each override names a configurable entry of
// a deployed vendor with a port list (an area is set by its parameters).
func (inv *Inventory) checkOverrides(d *doc, c *Catalog) {
	for _, id := range slices.Sorted(maps.Keys(inv.Overrides)) {
		e, ok := c.Entry(id)
		switch {
		case !ok:
			d.errorf(inv.overrideAt[id], "override: no catalog entry %s%s", id, didYouMean(id, entryIDs(c)))
		case !e.Configurable:
			d.errorf(inv.overrideAt[id], "override: %s cannot be changed (%s)", id, e.Source)
		case e.Area != nil:
			d.errorf(inv.overrideAt[id], "override: %s is an area; set its parameters %s and %s instead", id, e.Area.First.Name, e.Area.Count.Name)
		case !slices.Contains(inv.Vendors, e.Vendor):
			d.errorf(inv.overrideAt[id], "override: %s belongs to vendor %s, which the site does not deploy", id, e.Vendor)
		}
	}
}

// checkExpect checks that each expect pattern matches an entry of the
// site's vendors.
func (inv *Inventory) checkExpect(d *doc, c *Catalog) {
	for i, p := range inv.Expect {
		match := func(e *Entry) bool {
			ok, _ := pathpkg.Match(p, e.ID)
			return ok && slices.Contains(inv.Vendors, e.Vendor)
		}
		if !slices.ContainsFunc(c.Entries(), match) {
			d.errorf(inv.expectAt[i], "expect: %q matches no entry of the site's vendors%s", p, didYouMean(p, entryIDs(c)))
		}
	}
}

// checkParameters checks that every parameter the site sets is a vendor's
// and that each deployed area still fits the port space with them.
func (inv *Inventory) checkParameters(d *doc, c *Catalog) {
	for _, name := range slices.Sorted(maps.Keys(inv.Parameters)) {
		if _, ok := c.Parameter(name); !ok {
			var names []string
			for _, v := range c.Vendors() {
				for _, p := range v.Parameters {
					names = append(names, p.Name)
				}
			}
			d.errorf(inv.paramAt[name], "parameter %q is not defined by any vendor%s", name, didYouMean(name, names))
		}
	}
	for _, e := range c.Entries() {
		if e.Area == nil || !slices.Contains(inv.Vendors, e.Vendor) {
			continue
		}
		if _, err := e.Area.Ports(func(name string) (int, bool) { v, ok := inv.Parameters[name]; return v, ok }); err != nil {
			at := inv.paramAt[e.Area.Count.Name]
			if _, ok := inv.Parameters[e.Area.First.Name]; ok {
				at = inv.paramAt[e.Area.First.Name]
			}
			d.errorf(at, "%s: %v", e.ID, err)
		}
	}
}

// checkRolesUsed reports each unqualified or site role that no entry of
// the deployed vendors and no allow rule uses: most often a typo.
func (inv *Inventory) checkRolesUsed(d *doc, c *Catalog) {
	used := make(map[string]bool)
	for _, r := range c.Roles(inv.Vendors...) {
		used[r] = true
	}
	for _, e := range inv.Allowed {
		for _, r := range append(slices.Clone(e.From), e.To...) {
			used[r] = true
			if _, bare := SplitRole(r); bare != r {
				used[bare] = true
			}
		}
	}
	known := slices.Collect(maps.Keys(used))
	for _, role := range slices.Sorted(maps.Keys(inv.roles)) {
		if vendor, _ := SplitRole(role); vendor != "" && vendor != SiteVendor {
			continue // resolve checked it against its vendor's roles
		}
		if _, bare := SplitRole(role); !used[bare] && !used[role] {
			d.errorf(inv.roleAt[role], "role %q is not used by any entry of %s or allow rule%s", role, strings.Join(inv.Vendors, ", "), didYouMean(role, known))
		}
	}
}

// RolesOf returns the roles of the host at addr, sorted; nil when the
// inventory does not know it. O(log n) in the number of inventory
// addresses and CIDRs; allocation-free. The slice is shared: do not modify.
func (inv *Inventory) RolesOf(addr netip.Addr) []string {
	if !addr.IsValid() {
		return nil
	}
	i := inv.addrs.find(addrKey(addr.Unmap()))
	if i < 0 {
		return nil
	}
	return inv.addrRoles[i]
}

// RolesOfName returns the roles given to a DNS name in the inventory (case
// and a trailing dot ignored), for hosts listed by name and resolved later.
func (inv *Inventory) RolesOfName(name string) []string {
	return inv.names[normName(name)]
}

// Hosts returns the hosts listed for role.
func (inv *Inventory) Hosts(role string) []Host { return inv.roles[role] }

// RoleNames returns every role the inventory assigns hosts to, sorted.
func (inv *Inventory) RoleNames() []string { return slices.Sorted(maps.Keys(inv.roles)) }

// Deploys reports whether the site runs vendor.
func (inv *Inventory) Deploys(vendor string) bool {
	return vendor == SiteVendor || slices.Contains(inv.Vendors, vendor)
}

// EffectivePorts returns the ports e uses at this site: the inventory's
// override when there is one, the area computed from the site's
// parameters for area entries, and e.Ports otherwise. Pass it to NewIndex
// with WithPorts to build the site's index.
func (inv *Inventory) EffectivePorts(e *Entry) PortSet {
	if ps, ok := inv.Overrides[e.ID]; ok {
		return ps
	}
	if e.Area != nil {
		ps, err := e.Area.Ports(func(name string) (int, bool) {
			v, ok := inv.Parameters[name]
			return v, ok
		})
		if err == nil {
			return ps
		}
	}
	return e.Ports
}

// Ignored reports whether an ignore rule silences the flow src→dst with IP
// protocol proto to port dport.
func (inv *Inventory) Ignored(src, dst netip.Addr, proto uint8, dport uint16) bool {
	for i := range inv.Ignore {
		if inv.Ignore[i].Matches(src, dst, proto, dport) {
			return true
		}
	}
	return false
}

func entryIDs(c *Catalog) []string {
	out := make([]string, 0, len(c.Entries()))
	for _, e := range c.Entries() {
		out = append(out, e.ID)
	}
	return out
}

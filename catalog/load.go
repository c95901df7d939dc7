package catalog

import (
	"embed"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
)

// SchemaVersion is the catalog and inventory file format this package reads.
// Files say "schema: 1" on their first line; a change that would make an old
// reader misread a file bumps it.
const SchemaVersion = 1

//go:embed data/*.yaml
var vendorFiles embed.FS

// embeddedVendor is one file under data/ as the YAML decoder reads it,
// recorded in vendors_gen.go so that Default need not parse YAML.
type embeddedVendor struct {
	name string // the file name errors give: "catalog/data/<file>"
	raw  rawCatalog
}

// ptr lets vendors_gen.go write the optional fields of the file format.
func ptr[T any](v T) *T { return &v }

// Every command calls Default at start. Parsing the YAML cost it about
// 70 ms of CPU and 12 MB of garbage per run, so the files are decoded at
// generate time instead and TestEmbeddedVendorsGenerated keeps
// vendors_gen.go in step with them. The build tag leaves the generated file
// out, so it can be regenerated even when it no longer compiles.
//
//go:generate go test -tags catalog_regen -run ^TestEmbeddedVendorsGenerated$ -update .

// Default returns a new catalog of the five embedded vendor port maps. Each
// call builds them afresh, so callers may Merge into the result.
func Default() (*Catalog, error) {
	c := New()
	for _, v := range embeddedVendors() {
		// Decoded data has no YAML tree, so problems carry the file name
		// only; the generator reports them with line and column first.
		vc, err := buildCatalog(&doc{name: v.name}, v.raw)
		if err != nil {
			return nil, err
		}
		if err := c.Merge(vc); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// DefaultWith returns the built-in catalog with the user catalog files
// merged in, in order: what every command and the engine judge against. A
// file that does not load, or that clashes with an entry or vendor already
// merged, is an error naming it.
func DefaultWith(files []string) (*Catalog, error) {
	c, err := Default()
	if err != nil {
		return nil, fmt.Errorf("built-in catalog: %w", err)
	}
	for _, path := range files {
		extra, err := LoadFile(path)
		if err != nil {
			return nil, err
		}
		if err := c.Merge(extra); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return c, nil
}

// DefaultFiles returns the embedded vendor files by name, for tools that
// show or copy them.
func DefaultFiles() (map[string][]byte, error) {
	names, err := vendorFiles.ReadDir("data")
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := vendorFiles.ReadFile("data/" + n.Name())
		if err != nil {
			return nil, err
		}
		out[n.Name()] = b
	}
	return out, nil
}

// LoadFile reads a catalog file (one vendor) from path.
func LoadFile(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	return parseCatalog(data, path)
}

// Load reads a catalog file (one vendor) from r; name is used in errors.
// Problems are returned together as an ErrorList of file:line:col errors.
func Load(r io.Reader, name string) (*Catalog, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read catalog %s: %w", name, err)
	}
	return parseCatalog(data, name)
}

// The file format; see README.md for the documented, commented version.
type rawCatalog struct {
	Schema     int        `yaml:"schema"`
	Vendor     rawVendor  `yaml:"vendor"`
	Parameters []rawParam `yaml:"parameters"`
	Entries    []rawEntry `yaml:"entries"`
}

type rawVendor struct {
	ID       string             `yaml:"id"`
	Name     string             `yaml:"name"`
	Document string             `yaml:"document"`
	Title    string             `yaml:"title"`
	Notes    string             `yaml:"notes"`
	Roles    map[string]string  `yaml:"roles"`
	Implies  map[string]scalars `yaml:"implies"`
	Cohost   [][]string         `yaml:"cohost"`
	Options  []rawOption        `yaml:"options"`
	Defaults rawDefaults        `yaml:"defaults"`
}

type rawOption struct {
	Name    string  `yaml:"name"`
	Values  scalars `yaml:"values"`
	Default string  `yaml:"default"`
	Doc     string  `yaml:"doc"`
	Quote   string  `yaml:"quote"`
}

type rawDefaults struct {
	Configurable *bool  `yaml:"configurable"`
	Required     *bool  `yaml:"required"`
	Direction    string `yaml:"direction"`
	Section      string `yaml:"section"`
}

type rawParam struct {
	Name    string `yaml:"name"`
	Default *int   `yaml:"default"`
	Doc     string `yaml:"doc"`
}

type rawArea struct {
	First    string `yaml:"first"`
	Count    string `yaml:"count"`
	PortsPer int    `yaml:"ports_per"`
}

type rawSource struct {
	Document string   `yaml:"document"`
	Section  string   `yaml:"section"`
	Quote    string   `yaml:"quote"`
	Also     []string `yaml:"also"`
}

type rawEntry struct {
	ID           string             `yaml:"id"`
	Component    string             `yaml:"component"`
	From         scalars            `yaml:"from"`
	To           scalars            `yaml:"to"`
	Direction    string             `yaml:"direction"`
	Transport    string             `yaml:"transport"`
	Ports        scalars            `yaml:"ports"`
	FromPorts    scalars            `yaml:"from_ports"`
	Area         *rawArea           `yaml:"area"`
	App          string             `yaml:"app"`
	TLS          string             `yaml:"tls"`
	Configurable *bool              `yaml:"configurable"`
	Required     *bool              `yaml:"required"`
	OneOf        string             `yaml:"one_of"`
	RequiredWhen map[string]scalars `yaml:"required_when"`
	Peers        string             `yaml:"peers"`
	FQDNs        scalars            `yaml:"fqdns"`
	CIDRs        scalars            `yaml:"cidrs"`
	Notes        string             `yaml:"notes"`
	Source       rawSource          `yaml:"source"`
}

var (
	idPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)
	fqdnPattern = regexp.MustCompile(`^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`)
)

func parseCatalog(data []byte, name string) (*Catalog, error) {
	var raw rawCatalog
	d, err := decodeStrict(data, name, &raw)
	if err != nil {
		return nil, err
	}
	return buildCatalog(d, raw)
}

// buildCatalog checks a decoded file and builds its catalog, reporting
// every problem through d.
func buildCatalog(d *doc, raw rawCatalog) (*Catalog, error) {
	if raw.Schema != SchemaVersion {
		d.errorf(path("schema"), "schema: got %d, this auditor reads schema %d", raw.Schema, SchemaVersion)
	}
	v := buildVendor(d, raw.Vendor)
	options := vendorOptions(d, v, raw.Vendor.Options)
	defDir := OneWay
	if raw.Vendor.Defaults.Direction != "" {
		if err := defDir.UnmarshalText([]byte(raw.Vendor.Defaults.Direction)); err != nil {
			d.errorf(path("vendor", "defaults", "direction"), "%v", err)
		}
	}
	params := vendorParameters(d, v, raw.Parameters)

	c := New()
	c.addVendor(v)
	seen := make(map[string]int)
	for i, re := range raw.Entries {
		e := buildEntry(d, v, raw.Vendor.Defaults, defDir, params, options, re, path("entries", i))
		if e == nil {
			continue
		}
		if prev, dup := seen[e.ID]; dup {
			d.errorf(path("entries", i, "id"), "entry id %q already used by entries[%d]", e.ID, prev)
			continue
		}
		seen[e.ID] = i
		c.addEntry(e)
	}
	if len(raw.Entries) == 0 {
		d.errorf(path("entries"), "vendor %q has no entries", v.ID)
	}
	if err := d.result(); err != nil {
		return nil, err
	}
	return c, nil
}

// buildVendor reads the vendor's identity, its roles, the roles each
// implies and the roles that share a host.
func buildVendor(d *doc, rv rawVendor) *Vendor {
	v := &Vendor{
		ID: rv.ID, Name: rv.Name, Document: rv.Document,
		Title: rv.Title, Notes: rv.Notes, Roles: rv.Roles,
	}
	if !idPattern.MatchString(v.ID) {
		d.errorf(path("vendor", "id"), "vendor id %q: want lower-case letters, digits, '-' and '.'", v.ID)
	}
	for role := range v.Roles {
		if !idPattern.MatchString(role) {
			d.errorf(path("vendor", "roles", keyStep(role)), "role name %q: want lower-case letters, digits, '-' and '.'", role)
		}
	}
	vendorImplies(d, v, rv.Implies)
	for i, group := range rv.Cohost {
		for j, r := range group {
			if _, ok := v.Roles[r]; !ok {
				d.errorf(path("vendor", "cohost", i, j), "cohost: role %q is not declared in vendor.roles%s", r, didYouMean(r, slices.Collect(maps.Keys(v.Roles))))
			}
		}
		v.Cohost = append(v.Cohost, slices.Clone(group))
	}
	return v
}

// vendorImplies reads which declared roles each declared role implies.
func vendorImplies(d *doc, v *Vendor, implies map[string]scalars) {
	for _, role := range slices.Sorted(maps.Keys(implies)) {
		at := path("vendor", "implies", keyStep(role))
		if _, ok := v.Roles[role]; !ok {
			d.errorf(at, "implies: role %q is not declared in vendor.roles%s", role, didYouMean(role, slices.Collect(maps.Keys(v.Roles))))
			continue
		}
		for j, r := range implies[role] {
			if _, ok := v.Roles[r]; !ok {
				d.errorf(append(slices.Clone(at), j), "implies: role %q is not declared in vendor.roles%s", r, didYouMean(r, slices.Collect(maps.Keys(v.Roles))))
				continue
			}
			if r == role {
				d.errorf(append(slices.Clone(at), j), "implies: role %q implies itself", r)
				continue
			}
			if v.Implies == nil {
				v.Implies = make(map[string][]string)
			}
			v.Implies[role] = append(v.Implies[role], r)
		}
	}
}

// vendorOptions reads the vendor's deployment options, keyed by their
// qualified name.
func vendorOptions(d *doc, v *Vendor, raw []rawOption) map[string]Option {
	options := make(map[string]Option)
	for i, o := range raw {
		at := path("vendor", "options", i)
		if !idPattern.MatchString(o.Name) {
			d.errorf(append(at, "name"), "option name %q: want lower-case letters, digits, '-' and '.'", o.Name)
		}
		if len(o.Values) < 2 {
			d.errorf(append(at, "values"), "option %q: list at least two values", o.Name)
		}
		if o.Default != "" && !slices.Contains(o.Values, o.Default) {
			d.errorf(append(at, "default"), "option %q: default %q is not one of its values", o.Name, o.Default)
		}
		full := v.ID + "/" + o.Name
		if _, dup := options[full]; dup {
			d.errorf(append(at, "name"), "option %q defined twice", o.Name)
		}
		opt := Option{Name: full, Values: slices.Clone([]string(o.Values)), Default: o.Default, Doc: o.Doc, Quote: o.Quote}
		options[full] = opt
		v.Options = append(v.Options, opt)
	}
	return options
}

// vendorParameters reads the parameters that areas of ports are computed from,
// each with the document's default, keyed by their qualified name.
func vendorParameters(d *doc, v *Vendor, raw []rawParam) map[string]Parameter {
	params := make(map[string]Parameter)
	for i, p := range raw {
		at := path("parameters", i)
		if !idPattern.MatchString(p.Name) {
			d.errorf(append(at, "name"), "parameter name %q: want lower-case letters, digits, '-' and '.'", p.Name)
		}
		if p.Default == nil {
			d.errorf(at, "parameter %q: default is required (the document's default)", p.Name)
			continue
		}
		full := v.ID + "/" + p.Name
		if _, dup := params[full]; dup {
			d.errorf(append(at, "name"), "parameter %q defined twice", p.Name)
		}
		params[full] = Parameter{Name: full, Default: *p.Default, Doc: p.Doc}
		v.Parameters = append(v.Parameters, params[full])
	}
	return params
}

// buildEntry checks one raw entry and builds it, reporting every problem
// through d; nil when the entry has one. The steps read the entry's parts
// in file order: identity and roles, protocol, ports, requirement, cloud
// destinations, source.
func buildEntry(d *doc, v *Vendor, defs rawDefaults, defDir Direction, params map[string]Parameter, options map[string]Option, re rawEntry, at []any) *Entry {
	nerr := len(d.errs)
	b := &entryBuilder{d: d, v: v, re: re, at: at}
	b.identity(defDir)
	b.roles()
	b.protocol()
	b.ports(params)
	if b.e.Transport != ICMP && b.e.Ports.IsZero() && b.e.Area == nil && len(d.errs) == nerr {
		// Only when nothing else is wrong: a bad ports or area field
		// already explains the missing ports.
		d.errorf(b.sub(), "entry %s: ports are required (use unspecified when the document gives none)", b.e.ID)
	}
	b.requirement(defs, options)
	b.destinations()
	b.source(defs)
	if len(d.errs) > nerr {
		return nil
	}
	return b.e
}

// entryBuilder holds one entry while buildEntry's steps fill it in.
type entryBuilder struct {
	d  *doc
	v  *Vendor
	re rawEntry
	at []any // the entry's path in the file
	e  *Entry
}

// sub is the path of a field of the entry.
func (b *entryBuilder) sub(steps ...any) []any { return append(slices.Clone(b.at), steps...) }

// identity names the entry (its ID gets the vendor prefix) and copies the
// fields that need no check.
func (b *entryBuilder) identity(defDir Direction) {
	re, v := b.re, b.v
	id := re.ID
	if rest, ok := strings.CutPrefix(id, v.ID+"/"); ok {
		id = rest
	}
	if !idPattern.MatchString(id) {
		b.d.errorf(b.sub("id"), "entry id %q: want lower-case letters, digits, '-' and '.' (the vendor prefix is added)", re.ID)
	}
	b.e = &Entry{
		ID: v.ID + "/" + id, Vendor: v.ID, Component: re.Component,
		From: Roles(re.From), To: Roles(re.To), App: strings.ToLower(re.App), Notes: strings.TrimSpace(re.Notes),
		Direction: defDir,
		FQDNs:     re.FQDNs,
		Source:    Source{Document: re.Source.Document, Section: re.Source.Section, Quote: re.Source.Quote, Also: re.Source.Also},
	}
	if b.e.Component == "" {
		b.d.errorf(b.sub(), "entry %s: component is required", b.e.ID)
	}
}

// roles checks that each side names roles the vendor declares.
func (b *entryBuilder) roles() {
	e, v := b.e, b.v
	for _, side := range []struct {
		field string
		roles Roles
	}{{"from", e.From}, {"to", e.To}} {
		field, roles := side.field, side.roles
		if len(roles) == 0 {
			b.d.errorf(b.sub(), "entry %s: %s role is required", e.ID, field)
		}
		for j, r := range roles {
			if _, ok := v.Roles[r]; !ok && v.Roles != nil {
				b.d.errorf(b.sub(field, j), "entry %s: role %q is not declared in vendor.roles%s", e.ID, r, didYouMean(r, slices.Collect(maps.Keys(v.Roles))))
			}
		}
	}
}

// protocol reads the direction, transport, TLS requirement and app.
func (b *entryBuilder) protocol() {
	e, re := b.e, b.re
	if re.Direction != "" {
		if err := e.Direction.UnmarshalText([]byte(re.Direction)); err != nil {
			b.d.errorf(b.sub("direction"), "%v", err)
		}
	}
	t, err := ParseTransport(re.Transport)
	if err != nil {
		b.d.errorf(b.sub("transport"), "entry %s: %v", e.ID, err)
	}
	e.Transport = t
	if err := e.TLS.UnmarshalText([]byte(re.TLS)); err != nil {
		b.d.errorf(b.sub("tls"), "%v", err)
	}
	if e.App == "" {
		b.d.errorf(b.sub(), "entry %s: app is required (sip, rtp, tls, https, ...)", e.ID)
	}
}

// ports reads the listening ports (a list, or an area of the vendor's
// parameters) and the opener's ports; ICMP entries have none.
func (b *entryBuilder) ports(params map[string]Parameter) {
	e, re := b.e, b.re
	switch {
	case re.Area != nil && len(re.Ports) > 0:
		b.d.errorf(b.sub("area"), "entry %s: give ports or area, not both", e.ID)
	case re.Area != nil:
		b.area(params)
	default:
		ps, err := ParsePorts(re.Ports...)
		if err != nil {
			b.d.errorf(b.sub("ports"), "entry %s: %v", e.ID, err)
		}
		e.Ports = ps
	}
	if fp, err := ParsePorts(re.FromPorts...); err != nil {
		b.d.errorf(b.sub("from_ports"), "entry %s: %v", e.ID, err)
	} else {
		e.FromPorts = fp
	}
	if e.Transport == ICMP && !e.Ports.IsZero() {
		b.d.errorf(b.sub("ports"), "entry %s: icmp entries have no ports", e.ID)
	}
}

// area resolves an area of ports from the vendor's parameters, at their
// document defaults.
func (b *entryBuilder) area(params map[string]Parameter) {
	e, ra := b.e, b.re.Area
	first, ok1 := params[b.v.ID+"/"+ra.First]
	count, ok2 := params[b.v.ID+"/"+ra.Count]
	if !ok1 {
		b.d.errorf(b.sub("area", "first"), "entry %s: parameter %q is not defined", e.ID, ra.First)
	}
	if !ok2 {
		b.d.errorf(b.sub("area", "count"), "entry %s: parameter %q is not defined", e.ID, ra.Count)
	}
	if ra.PortsPer <= 0 {
		b.d.errorf(b.sub("area", "ports_per"), "entry %s: ports_per must be positive", e.ID)
	}
	if !ok1 || !ok2 || ra.PortsPer <= 0 {
		return
	}
	e.Area = &Area{First: first, Count: count, PortsPer: ra.PortsPer}
	ps, err := e.Area.Ports(nil)
	if err != nil {
		b.d.errorf(b.sub("area"), "entry %s: %v", e.ID, err)
	}
	e.Ports = ps
}

// requirement reads whether and when the flow is required: configurable,
// required, its one_of group, the options it depends on, and its peers.
func (b *entryBuilder) requirement(defs rawDefaults, options map[string]Option) {
	e, re := b.e, b.re
	e.Configurable = boolOr(re.Configurable, defs.Configurable, true)
	e.Required = boolOr(re.Required, defs.Required, true)
	if re.OneOf != "" {
		if !idPattern.MatchString(re.OneOf) {
			b.d.errorf(b.sub("one_of"), "entry %s: one_of %q: want lower-case letters, digits, '-' and '.'", e.ID, re.OneOf)
		}
		e.OneOf = re.OneOf
	}
	b.requiredWhen(options)
	switch re.Peers {
	case "":
	case "any-from":
		e.Peers = re.Peers
	case "any", "all":
		e.Peers = re.Peers
		if !slices.ContainsFunc(e.From, e.To.Has) {
			b.d.errorf(b.sub("peers"), "entry %s: peers applies to a role on both sides; from and to share none", e.ID)
		}
	default:
		b.d.errorf(b.sub("peers"), "entry %s: peers %q: want all, any or any-from", e.ID, re.Peers)
	}
}

// requiredWhen checks each option the entry depends on, and its values,
// against the vendor's options.
func (b *entryBuilder) requiredWhen(options map[string]Option) {
	e, re := b.e, b.re
	for _, name := range slices.Sorted(maps.Keys(re.RequiredWhen)) {
		full := b.v.ID + "/" + name
		opt, ok := options[full]
		if !ok {
			b.d.errorf(b.sub("required_when", keyStep(name)), "entry %s: option %q is not declared in vendor.options", e.ID, name)
			continue
		}
		for j, val := range re.RequiredWhen[name] {
			if !slices.Contains(opt.Values, val) {
				b.d.errorf(b.sub("required_when", keyStep(name), j), "entry %s: %q is not a value of option %s (%s)", e.ID, val, name, strings.Join(opt.Values, ", "))
			}
		}
		if e.RequiredWhen == nil {
			e.RequiredWhen = make(map[string][]string)
		}
		e.RequiredWhen[full] = slices.Clone([]string(re.RequiredWhen[name]))
	}
}

// destinations checks the cloud names and reads the cloud addresses.
func (b *entryBuilder) destinations() {
	e := b.e
	for j, f := range e.FQDNs {
		if !fqdnPattern.MatchString(f) {
			b.d.errorf(b.sub("fqdns", j), "entry %s: %q is not a host name or *.domain wildcard", e.ID, f)
		}
	}
	for j, s := range b.re.CIDRs {
		p, err := parsePrefix(s)
		if err != nil {
			b.d.errorf(b.sub("cidrs", j), "entry %s: %v", e.ID, err)
			continue
		}
		e.CIDRs = append(e.CIDRs, p)
	}
}

// source fills the document and section from the vendor's defaults; an
// entry must cite both.
func (b *entryBuilder) source(defs rawDefaults) {
	e := b.e
	if e.Source.Document == "" {
		e.Source.Document = b.v.Document
	}
	if e.Source.Section == "" {
		e.Source.Section = defs.Section
	}
	if e.Source.Document == "" || e.Source.Section == "" {
		b.d.errorf(b.sub("source"), "entry %s: source needs document and section", e.ID)
	}
}

func boolOr(v, def *bool, fallback bool) bool {
	switch {
	case v != nil:
		return *v
	case def != nil:
		return *def
	}
	return fallback
}

// parsePrefix accepts a CIDR or a bare address (a /32 or /128).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

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
	v := &Vendor{
		ID: raw.Vendor.ID, Name: raw.Vendor.Name, Document: raw.Vendor.Document,
		Title: raw.Vendor.Title, Notes: raw.Vendor.Notes, Roles: raw.Vendor.Roles,
	}
	if !idPattern.MatchString(v.ID) {
		d.errorf(path("vendor", "id"), "vendor id %q: want lower-case letters, digits, '-' and '.'", v.ID)
	}
	for role := range v.Roles {
		if !idPattern.MatchString(role) {
			d.errorf(path("vendor", "roles", keyStep(role)), "role name %q: want lower-case letters, digits, '-' and '.'", role)
		}
	}
	for _, role := range slices.Sorted(maps.Keys(raw.Vendor.Implies)) {
		at := path("vendor", "implies", keyStep(role))
		if _, ok := v.Roles[role]; !ok {
			d.errorf(at, "implies: role %q is not declared in vendor.roles%s", role, didYouMean(role, slices.Collect(maps.Keys(v.Roles))))
			continue
		}
		for j, r := range raw.Vendor.Implies[role] {
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
	for i, group := range raw.Vendor.Cohost {
		for j, r := range group {
			if _, ok := v.Roles[r]; !ok {
				d.errorf(path("vendor", "cohost", i, j), "cohost: role %q is not declared in vendor.roles%s", r, didYouMean(r, slices.Collect(maps.Keys(v.Roles))))
			}
		}
		v.Cohost = append(v.Cohost, slices.Clone(group))
	}
	options := make(map[string]Option)
	for i, o := range raw.Vendor.Options {
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
	defDir := OneWay
	if raw.Vendor.Defaults.Direction != "" {
		if err := defDir.UnmarshalText([]byte(raw.Vendor.Defaults.Direction)); err != nil {
			d.errorf(path("vendor", "defaults", "direction"), "%v", err)
		}
	}

	params := make(map[string]Parameter)
	for i, p := range raw.Parameters {
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

func buildEntry(d *doc, v *Vendor, defs rawDefaults, defDir Direction, params map[string]Parameter, options map[string]Option, re rawEntry, at []any) *Entry {
	nerr := len(d.errs)
	sub := func(steps ...any) []any { return append(slices.Clone(at), steps...) }
	id := re.ID
	if rest, ok := strings.CutPrefix(id, v.ID+"/"); ok {
		id = rest
	}
	if !idPattern.MatchString(id) {
		d.errorf(sub("id"), "entry id %q: want lower-case letters, digits, '-' and '.' (the vendor prefix is added)", re.ID)
	}
	e := &Entry{
		ID: v.ID + "/" + id, Vendor: v.ID, Component: re.Component,
		From: Roles(re.From), To: Roles(re.To), App: strings.ToLower(re.App), Notes: strings.TrimSpace(re.Notes),
		Direction: defDir,
		FQDNs:     re.FQDNs,
		Source:    Source{Document: re.Source.Document, Section: re.Source.Section, Quote: re.Source.Quote, Also: re.Source.Also},
	}
	if e.Component == "" {
		d.errorf(sub(), "entry %s: component is required", e.ID)
	}
	for _, side := range []struct {
		field string
		roles Roles
	}{{"from", e.From}, {"to", e.To}} {
		field, roles := side.field, side.roles
		if len(roles) == 0 {
			d.errorf(sub(), "entry %s: %s role is required", e.ID, field)
		}
		for j, r := range roles {
			if _, ok := v.Roles[r]; !ok && v.Roles != nil {
				d.errorf(sub(field, j), "entry %s: role %q is not declared in vendor.roles%s", e.ID, r, didYouMean(r, slices.Collect(maps.Keys(v.Roles))))
			}
		}
	}
	if re.Direction != "" {
		if err := e.Direction.UnmarshalText([]byte(re.Direction)); err != nil {
			d.errorf(sub("direction"), "%v", err)
		}
	}
	t, err := ParseTransport(re.Transport)
	if err != nil {
		d.errorf(sub("transport"), "entry %s: %v", e.ID, err)
	}
	e.Transport = t
	if err := e.TLS.UnmarshalText([]byte(re.TLS)); err != nil {
		d.errorf(sub("tls"), "%v", err)
	}
	if e.App == "" {
		d.errorf(sub(), "entry %s: app is required (sip, rtp, tls, https, ...)", e.ID)
	}

	switch {
	case re.Area != nil && len(re.Ports) > 0:
		d.errorf(sub("area"), "entry %s: give ports or area, not both", e.ID)
	case re.Area != nil:
		first, ok1 := params[v.ID+"/"+re.Area.First]
		count, ok2 := params[v.ID+"/"+re.Area.Count]
		if !ok1 {
			d.errorf(sub("area", "first"), "entry %s: parameter %q is not defined", e.ID, re.Area.First)
		}
		if !ok2 {
			d.errorf(sub("area", "count"), "entry %s: parameter %q is not defined", e.ID, re.Area.Count)
		}
		if re.Area.PortsPer <= 0 {
			d.errorf(sub("area", "ports_per"), "entry %s: ports_per must be positive", e.ID)
		}
		if ok1 && ok2 && re.Area.PortsPer > 0 {
			e.Area = &Area{First: first, Count: count, PortsPer: re.Area.PortsPer}
			ps, err := e.Area.Ports(nil)
			if err != nil {
				d.errorf(sub("area"), "entry %s: %v", e.ID, err)
			}
			e.Ports = ps
		}
	default:
		ps, err := ParsePorts(re.Ports...)
		if err != nil {
			d.errorf(sub("ports"), "entry %s: %v", e.ID, err)
		}
		e.Ports = ps
	}
	if fp, err := ParsePorts(re.FromPorts...); err != nil {
		d.errorf(sub("from_ports"), "entry %s: %v", e.ID, err)
	} else {
		e.FromPorts = fp
	}
	if e.Transport == ICMP {
		if !e.Ports.IsZero() {
			d.errorf(sub("ports"), "entry %s: icmp entries have no ports", e.ID)
		}
	} else if e.Ports.IsZero() && e.Area == nil && len(d.errs) == nerr {
		d.errorf(sub(), "entry %s: ports are required (use unspecified when the document gives none)", e.ID)
	}

	e.Configurable = boolOr(re.Configurable, defs.Configurable, true)
	e.Required = boolOr(re.Required, defs.Required, true)
	if re.OneOf != "" {
		if !idPattern.MatchString(re.OneOf) {
			d.errorf(sub("one_of"), "entry %s: one_of %q: want lower-case letters, digits, '-' and '.'", e.ID, re.OneOf)
		}
		e.OneOf = re.OneOf
	}
	for _, name := range slices.Sorted(maps.Keys(re.RequiredWhen)) {
		full := v.ID + "/" + name
		opt, ok := options[full]
		if !ok {
			d.errorf(sub("required_when", keyStep(name)), "entry %s: option %q is not declared in vendor.options", e.ID, name)
			continue
		}
		for j, val := range re.RequiredWhen[name] {
			if !slices.Contains(opt.Values, val) {
				d.errorf(sub("required_when", keyStep(name), j), "entry %s: %q is not a value of option %s (%s)", e.ID, val, name, strings.Join(opt.Values, ", "))
			}
		}
		if e.RequiredWhen == nil {
			e.RequiredWhen = make(map[string][]string)
		}
		e.RequiredWhen[full] = slices.Clone([]string(re.RequiredWhen[name]))
	}
	switch re.Peers {
	case "":
	case "any-from":
		e.Peers = re.Peers
	case "any", "all":
		e.Peers = re.Peers
		if !slices.ContainsFunc(e.From, e.To.Has) {
			d.errorf(sub("peers"), "entry %s: peers applies to a role on both sides; from and to share none", e.ID)
		}
	default:
		d.errorf(sub("peers"), "entry %s: peers %q: want all, any or any-from", e.ID, re.Peers)
	}
	for j, f := range e.FQDNs {
		if !fqdnPattern.MatchString(f) {
			d.errorf(sub("fqdns", j), "entry %s: %q is not a host name or *.domain wildcard", e.ID, f)
		}
	}
	for j, s := range re.CIDRs {
		p, err := parsePrefix(s)
		if err != nil {
			d.errorf(sub("cidrs", j), "entry %s: %v", e.ID, err)
			continue
		}
		e.CIDRs = append(e.CIDRs, p)
	}
	if e.Source.Document == "" {
		e.Source.Document = v.Document
	}
	if e.Source.Section == "" {
		e.Source.Section = defs.Section
	}
	if e.Source.Document == "" || e.Source.Section == "" {
		d.errorf(sub("source"), "entry %s: source needs document and section", e.ID)
	}
	if len(d.errs) > nerr {
		return nil
	}
	return e
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

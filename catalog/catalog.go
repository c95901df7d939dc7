package catalog

import (
	"fmt"
	"maps"
	"slices"
)

// Catalog holds vendors and their entries in load order. It is not safe to
// Merge into a Catalog while other goroutines read it; read-only use is safe.
type Catalog struct {
	vendors []*Vendor
	entries []*Entry
	byID    map[string]*Entry
	vendor  map[string]*Vendor
}

// New returns an empty catalog.
func New() *Catalog {
	return &Catalog{byID: make(map[string]*Entry), vendor: make(map[string]*Vendor)}
}

func (c *Catalog) addVendor(v *Vendor) {
	c.vendors = append(c.vendors, v)
	c.vendor[v.ID] = v
}

func (c *Catalog) addEntry(e *Entry) {
	c.entries = append(c.entries, e)
	c.byID[e.ID] = e
}

// Merge adds other's vendors and entries to c. A vendor present in both
// keeps c's description and gains other's roles, parameters and entries, so
// a user catalog can extend a built-in vendor. An entry ID present in both
// is an error: user catalogs add entries, they do not silently replace
// documented ones (a site moves a port with an inventory override instead).
func (c *Catalog) Merge(other *Catalog) error {
	for _, e := range other.entries {
		if _, dup := c.byID[e.ID]; dup {
			return fmt.Errorf("merge catalog: entry %s is defined twice (%s and %s)", e.ID, c.byID[e.ID].Source, e.Source)
		}
	}
	for _, ov := range other.vendors {
		v, ok := c.vendor[ov.ID]
		if !ok {
			cp := *ov
			cp.Roles = maps.Clone(ov.Roles)
			cp.Parameters = slices.Clone(ov.Parameters)
			cp.Implies = maps.Clone(ov.Implies)
			cp.Options = slices.Clone(ov.Options)
			cp.Cohost = slices.Clone(ov.Cohost)
			c.addVendor(&cp)
			continue
		}
		if v.Roles == nil {
			v.Roles = make(map[string]string)
		}
		for r, desc := range ov.Roles {
			if _, ok := v.Roles[r]; !ok {
				v.Roles[r] = desc
			}
		}
		for _, p := range ov.Parameters {
			if !slices.ContainsFunc(v.Parameters, func(q Parameter) bool { return q.Name == p.Name }) {
				v.Parameters = append(v.Parameters, p)
			}
		}
	}
	for _, e := range other.entries {
		c.addEntry(e)
	}
	return nil
}

// Entries returns every entry in load order. The slice is shared: do not
// modify it.
func (c *Catalog) Entries() []*Entry { return c.entries }

// EntriesOf returns the entries of one vendor, in load order.
func (c *Catalog) EntriesOf(vendor string) []*Entry {
	var out []*Entry
	for _, e := range c.entries {
		if e.Vendor == vendor {
			out = append(out, e)
		}
	}
	return out
}

// Entry returns the entry with the given "vendor/name" ID.
func (c *Catalog) Entry(id string) (*Entry, bool) {
	e, ok := c.byID[id]
	return e, ok
}

// Vendors returns the vendors in load order. The slice is shared: do not
// modify it.
func (c *Catalog) Vendors() []*Vendor { return c.vendors }

// Vendor returns the vendor with the given ID.
func (c *Catalog) Vendor(id string) (*Vendor, bool) {
	v, ok := c.vendor[id]
	return v, ok
}

// Parameter returns the site parameter with the given "vendor/name".
func (c *Catalog) Parameter(name string) (Parameter, bool) {
	for _, v := range c.vendors {
		for _, p := range v.Parameters {
			if p.Name == name {
				return p, true
			}
		}
	}
	return Parameter{}, false
}

// Roles returns every role name used by the entries of the given vendors
// (all vendors when none are given), sorted.
func (c *Catalog) Roles(vendors ...string) []string {
	set := make(map[string]struct{})
	for _, e := range c.entries {
		if len(vendors) > 0 && !slices.Contains(vendors, e.Vendor) {
			continue
		}
		for _, r := range e.From {
			set[r] = struct{}{}
		}
		for _, r := range e.To {
			set[r] = struct{}{}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Documents returns the vendor documents the given vendors' entries encode
// (every vendor's when none are given), each once, sorted: what a run's
// verdicts and a report rest on.
func (c *Catalog) Documents(vendors ...string) []string {
	var docs []string
	for _, v := range c.vendors {
		if len(vendors) > 0 && !slices.Contains(vendors, v.ID) {
			continue
		}
		if v.Document != "" && !slices.Contains(docs, v.Document) {
			docs = append(docs, v.Document)
		}
	}
	slices.Sort(docs)
	return docs
}

package catalog

import "slices"

// PortQuery asks which entries cover a destination port.
type PortQuery struct {
	// Proto is the IP protocol number: 6 TCP, 17 UDP. Others match nothing.
	Proto uint8
	Port  uint16
	// Vendor keeps only that vendor's entries ("" for all, SiteVendor for
	// the inventory's allow rules).
	Vendor string
	// Dynamic adds the entries whose port is negotiated at run time (RTP
	// "Dynamic" in the documents): they may cover any port once signalling
	// has been seen, so a reader asking about a media port wants them.
	Dynamic bool
}

// PortMatch is an entry that covers a queried port, with the ports it uses
// at the site (the catalog's, or the inventory's override or area).
type PortMatch struct {
	Entry *Entry
	Ports PortSet
}

// LookupPort returns the entries of c that cover q, in catalog order, then
// (with q.Dynamic) the negotiated-port entries not already listed. With an
// inventory, its allow rules are looked up after the catalog's entries, and
// every entry's ports are the site's (Inventory.EffectivePorts): an
// override moves an entry off its documented port. inv should have passed
// Check against c; nil means the catalog as documented.
//
// It builds an index per call: it answers one question, not a stream of
// flows (NewIndex is for those).
func (c *Catalog) LookupPort(inv *Inventory, q PortQuery) []PortMatch {
	entries := c.Entries()
	ports := func(e *Entry) PortSet { return e.Ports }
	if inv != nil {
		entries = slices.Concat(entries, inv.Allowed)
		ports = inv.EffectivePorts
	}
	ix := NewIndex(entries, WithPorts(ports))
	found := ix.LookupVendor(q.Vendor, q.Proto, q.Port, nil)
	if q.Dynamic {
		for _, e := range ix.Dynamic(q.Proto, nil) {
			if (q.Vendor == "" || e.Vendor == q.Vendor) && !slices.Contains(found, e) {
				found = append(found, e)
			}
		}
	}
	out := make([]PortMatch, len(found))
	for i, e := range found {
		out[i] = PortMatch{Entry: e, Ports: ports(e)}
	}
	return out
}

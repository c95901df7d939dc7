package verdict

import (
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/sipcall"
)

// MediaRange is one port range a vendor document gives for media.
type MediaRange struct {
	Entry *catalog.Entry
	catalog.PortRange
	// From: the range is the entry's From side's ports (FromPorts, the
	// Imagicle server's ">= 5000"), not its To side's.
	From bool
}

// DocumentedMedia are the UDP media ports a set of catalog entries
// documents: the union port-only mode judges negotiated media against,
// and the ranges the compliance report shows. It is one definition for
// both, so that what the report calls a documented media port is what
// the engine does.
type DocumentedMedia struct {
	// Ranges are the media entries' ranges in entry order, each entry's To
	// side first. Broad ranges (Imagicle's ">1024") are kept: they are
	// what the document states for media, however wide.
	Ranges []MediaRange
	// Signalled is the first media entry that leaves its ports to
	// signalling without stating a range (Genesys phone to SIP gateway):
	// without roles any port could be that entry's, so port-only mode
	// judges no media port outside. Nil when there is none.
	Signalled *catalog.Entry
}

// IsMediaEntry reports whether e states where media flows: a UDP entry
// whose app is RTP, RTCP or UDPTL (sipcall.IsMediaApp).
func IsMediaEntry(e *catalog.Entry) bool {
	return e.Transport.Matches(flow.ProtoUDP) && sipcall.IsMediaApp(e.App)
}

// DocumentedMediaPorts collects the documented media ports of entries
// (others are skipped). portsOf reads an entry's To side's ports, with a
// site's overrides and area parameters (catalog.Inventory.EffectivePorts);
// nil reads the catalog's. The From side's ports are the entry's
// FromPorts when it states them (not "any"), and only when its To side
// states a range.
func DocumentedMediaPorts(entries []*catalog.Entry, portsOf func(*catalog.Entry) catalog.PortSet) DocumentedMedia {
	var d DocumentedMedia
	for _, e := range entries {
		if !IsMediaEntry(e) {
			continue
		}
		to := e.Ports
		if portsOf != nil {
			to = portsOf(e)
		}
		if len(to.Ranges) == 0 {
			if to.Dynamic && d.Signalled == nil {
				d.Signalled = e
			}
			continue
		}
		for _, r := range to.Ranges {
			d.Ranges = append(d.Ranges, MediaRange{Entry: e, PortRange: r})
		}
		if !e.FromPorts.IsAny() {
			for _, r := range e.FromPorts.Ranges {
				d.Ranges = append(d.Ranges, MediaRange{Entry: e, PortRange: r, From: true})
			}
		}
	}
	return d
}

// Contains reports whether port lies in one of the ranges, by the
// catalog's membership (an /even or /odd range holds only its even or
// odd ports).
func (d *DocumentedMedia) Contains(port uint16) bool {
	for i := range d.Ranges {
		if d.Ranges[i].Contains(port) {
			return true
		}
	}
	return false
}

package sipcall

import (
	"slices"

	"github.com/ccaudit/auditor/catalog"
)

// maxRangePorts bounds the ports taken from one catalog range: SIP
// listens on a handful of ports, and a wide range (a dynamic media area
// mislabelled as SIP) would make every flow in it a SIP candidate.
const maxRangePorts = 64

// PortsFromCatalog returns DefaultSIPPorts together with the ports of
// every catalog entry whose application is SIP, sorted, without repeats.
func PortsFromCatalog(c *catalog.Catalog) []uint16 {
	ports := DefaultSIPPorts()
	for _, e := range c.Entries() {
		if e.App != "sip" {
			continue
		}
		for _, ps := range e.ServicePorts() {
			for _, r := range ps.Ranges {
				if int(r.Hi)-int(r.Lo) >= maxRangePorts {
					continue
				}
				for p := int(r.Lo); p <= int(r.Hi); p++ {
					if r.Contains(uint16(p)) {
						ports = append(ports, uint16(p))
					}
				}
			}
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

package sipcall

import (
	"slices"
	"testing"

	"github.com/ccaudit/auditor/catalog"
)

func TestPortsFromCatalog(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	ports := PortsFromCatalog(cat)
	for _, p := range []uint16{5058, 5060, 5061, 5062, 5064, 5066, 5070, 6060, 8060} {
		if !slices.Contains(ports, p) {
			t.Errorf("port %d missing from %v", p, ports)
		}
	}
	if !slices.IsSorted(ports) || len(slices.Compact(slices.Clone(ports))) != len(ports) {
		t.Errorf("not sorted and unique: %v", ports)
	}
	tr := NewTracker(Config{SIPPorts: ports})
	if !tr.IsSIPPort(6060) || tr.IsSIPPort(443) {
		t.Error("IsSIPPort disagrees with the list")
	}
}

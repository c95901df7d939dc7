package sipcall

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
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

// SetSIPPorts (a reload) decides for flows that start after it; a flow
// already followed as SIP stays followed, so a call on a port that left
// the set still ends normally.
func TestSetSIPPortsMidCall(t *testing.T) {
	h := newHarness(t, Config{SIPPorts: []uint16{15060}})
	sipFlow := func(dst string) bool {
		h.send(flow.ProtoTCP, "10.0.0.1:40000", dst, h.now+1, []byte("x"))
		key, _ := flow.NewKey(flow.ProtoTCP, netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort(dst))
		sf, _ := stateOf(h.flows[key].f)
		return sf != nil
	}
	if !sipFlow("10.0.0.2:15060") {
		t.Fatal("a flow on a SIP port is not followed as SIP")
	}
	h.tr.SetSIPPorts([]uint16{25060})
	if !sipFlow("10.0.0.2:15060") {
		t.Error("the flow that started on the old port stopped being followed")
	}
	if sipFlow("10.0.0.3:15060") {
		t.Error("a new flow on the removed port is followed as SIP by its port")
	}
	if !sipFlow("10.0.0.3:25060") {
		t.Error("a new flow on the added port is not followed as SIP")
	}
	if got := h.tr.SIPPorts(); !slices.Equal(got, []uint16{25060}) {
		t.Errorf("SIPPorts %v", got)
	}
}

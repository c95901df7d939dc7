package alerts

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
)

// EventOf takes source and destination from the finding, ports and times
// from the flow: a finding about the originator (media outside its range
// on the side that sent first) names the flow's responder as source, with
// the responder's port.
func TestEventOfFlowSides(t *testing.T) {
	caller, callee := netip.MustParseAddrPort("10.0.0.1:5004"), netip.MustParseAddrPort("10.0.0.2:16500")
	var f flow.Flow
	f.Key, f.OrigDir = flow.NewKey(flow.ProtoUDP, caller, callee)
	f.First, f.Last = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano(), time.Date(2026, 1, 2, 3, 5, 5, 0, time.UTC).UnixNano()
	if f.Src() != caller {
		t.Fatalf("flow source %v, want %v", f.Src(), caller)
	}
	g := verdict.Finding{Kind: verdict.KindMediaOutsideRange, Severity: verdict.Medium, Proto: flow.ProtoUDP,
		Src: callee.Addr(), Dst: caller.Addr(), DstPort: caller.Port(), FromRole: "media-server", ToRole: "ip-phone",
		Count: 1, FirstSeen: f.First, LastSeen: f.Last}
	ev := EventOf(&g, &f, verdict.Negotiated, "s1")
	if ev.Src != callee || ev.Dst != caller {
		t.Errorf("about the originator: %v -> %v, want %v -> %v", ev.Src, ev.Dst, callee, caller)
	}
	if ev.Verdict != verdict.Negotiated || ev.CommunityID == "" || ev.FromRole != "media-server" || ev.Sensor != "s1" || !ev.Start.Equal(f.FirstTime()) {
		t.Errorf("event %+v", ev)
	}
	g.Src, g.Dst, g.DstPort, g.FromRole, g.ToRole = caller.Addr(), callee.Addr(), callee.Port(), "ip-phone", "media-server"
	if ev := EventOf(&g, &f, verdict.Negotiated, "s1"); ev.Src != caller || ev.Dst != callee {
		t.Errorf("about the responder: %v -> %v, want %v -> %v", ev.Src, ev.Dst, caller, callee)
	}

	// A window finding has no flow: no source port, no verdict.
	m := verdict.Finding{Kind: verdict.KindMissing, Severity: verdict.High, Dst: callee.Addr(), DstPort: 5061, HostPairs: []string{"a -> b"}}
	ev = EventOf(&m, nil, verdict.Expected, "s1")
	if ev.Src.IsValid() || ev.Dst != netip.AddrPortFrom(callee.Addr(), 5061) || ev.Verdict != verdict.Unclassified || ev.CommunityID != "" || len(ev.HostPairs) != 1 {
		t.Errorf("window finding event %+v", ev)
	}
}

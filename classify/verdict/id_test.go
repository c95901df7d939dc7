package verdict_test

import (
	"net/netip"
	"testing"

	"github.com/ccaudit/auditor/classify/verdict"
)

// Every field findings aggregate by changes the ID; counts and times do not.
func TestFindingID(t *testing.T) {
	base := verdict.Finding{Kind: verdict.KindBlocked, Proto: 6, Src: netip.MustParseAddr("10.0.0.1"),
		Dst: netip.MustParseAddr("10.0.0.2"), DstPort: 1433, Vendor: "genesys-pureconnect", EntryID: "genesys-pureconnect/mssql"}
	id := base.ID()
	if len(id) != 16 {
		t.Fatalf("ID %q, want 16 hex digits", id)
	}
	same := base
	same.Count, same.FirstSeen, same.Reason = 9, 1234, "other words"
	if same.ID() != id {
		t.Errorf("count, time or reason changed the ID")
	}
	for name, mut := range map[string]func(*verdict.Finding){
		"kind":   func(g *verdict.Finding) { g.Kind = verdict.KindUnexpected },
		"proto":  func(g *verdict.Finding) { g.Proto = 17 },
		"src":    func(g *verdict.Finding) { g.Src = netip.MustParseAddr("10.0.0.3") },
		"dst":    func(g *verdict.Finding) { g.Dst = netip.MustParseAddr("10.0.0.3") },
		"port":   func(g *verdict.Finding) { g.DstPort = 1434 },
		"vendor": func(g *verdict.Finding) { g.Vendor = "sinch-contact-center" },
		"entry":  func(g *verdict.Finding) { g.EntryID = "genesys-pureconnect/oracle" },
		"swap":   func(g *verdict.Finding) { g.Src, g.Dst = g.Dst, g.Src },
	} {
		g := base
		mut(&g)
		if g.ID() == id {
			t.Errorf("%s: the ID did not change", name)
		}
	}
	a := verdict.Finding{Kind: verdict.KindDNSFailure, ServerName: "a.example"}
	b := a
	b.ServerName = "b.example"
	if a.ID() == b.ID() {
		t.Errorf("dns-failure findings of two names share an ID")
	}
}

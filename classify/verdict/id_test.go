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

// IDs are joined across capture windows, sensors and auditor versions, so
// they must not change: these are the IDs FNV-1a gives over each field's
// text and a NUL, as they were first written (hash/fnv over
// netip.Addr.String). Key, which the alert feed keys every occurrence by,
// allocates nothing.
func TestFindingIDStable(t *testing.T) {
	for _, tc := range []struct {
		g    verdict.Finding
		want string
	}{
		{verdict.Finding{Kind: verdict.KindBlocked, Proto: 6, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
			DstPort: 1433, Vendor: "genesys-pureconnect", EntryID: "genesys-pureconnect/mssql"}, referenceID},
		{verdict.Finding{Kind: verdict.KindMissing, Vendor: "imagicle", EntryID: "imagicle/ldap"}, referenceMissingID},
		{verdict.Finding{Kind: verdict.KindDNSFailure, Src: netip.MustParseAddr("2001:db8::1"), ServerName: "api.imagicle.com"}, referenceDNSID},
	} {
		if got := tc.g.ID(); got != tc.want {
			t.Errorf("%s finding: ID %s, want %s", tc.g.Kind, got, tc.want)
		}
	}
	g := verdict.Finding{Kind: verdict.KindDNSFailure, Proto: 17, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.53"), DstPort: 53, ServerName: "a.example"}
	if n := testing.AllocsPerRun(100, func() { g.Key() }); n != 0 {
		t.Errorf("Key allocates %v times", n)
	}
}

const (
	referenceID        = "bce90d06e882b769"
	referenceMissingID = "f20f5adb607ffa57"
	referenceDNSID     = "4d394dd420c46a07"
)

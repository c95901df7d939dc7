package verdict_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
)

func TestFindingsAggregateAndMissing(t *testing.T) {
	cat := loadTestCatalog(t)
	inv := loadInventoryText(t, cat, standbyInventory)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
	var r verdict.Result
	observe := func(f *flow.Flow) {
		cl.Classify(f, &r)
		fs.Observe(f, &r)
	}
	// Working flows for most required entries.
	observe(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshake))
	observe(play(t, udp, "10.1.0.5:50000", "10.0.0.10:6235", exchange))
	observe(play(t, udp, "10.3.0.7:5060", "10.0.0.10:5060", exchange))
	observe(play(t, udp, "10.3.0.7:40000", "10.0.0.10:16500", exchange))
	observe(play(t, udp, "10.3.0.7:40000", "10.0.0.10:5006", exchange))
	observe(play(t, udp, "10.3.0.7:40001", "10.0.0.10:5007", exchange))
	observe(icmp(t, "10.0.0.50", "10.0.0.10", 8, 0, true))
	// The database is only ever rejected: blocked, and missing with it.
	observe(play(t, tcp, "10.0.0.10:50000", "10.0.0.20:1433", []pkt{{true, syn, 0}, {false, rstack, 0}}))
	// The same unexpected attempt three times from new source ports: one finding.
	for i := range 3 {
		observe(playAt(t, tcp, fmt.Sprintf("10.1.0.5:%d", 50001+i), "10.3.0.7:23", time.Duration(i)*time.Second, handshake))
	}
	observe(play(t, tcp, "10.0.0.10:50000", "10.1.0.5:7597", handshake)) // wrong direction
	fs.Finish(0)

	type row struct {
		kind     verdict.Kind
		severity verdict.Severity
		entry    string
		count    uint64
	}
	var got []row
	for _, g := range fs.All() {
		got = append(got, row{g.Kind, g.Severity, g.EntryID, g.Count})
	}
	want := []row{
		{verdict.KindBlocked, verdict.High, "acme/db", 1},
		{verdict.KindMissing, verdict.High, "acme/db", 1},
		{verdict.KindMissing, verdict.Medium, "acme/sip", 1},
		{verdict.KindMissing, verdict.Medium, "acme/trunk", 1},
		{verdict.KindUnexpected, verdict.Medium, "", 3},
		{verdict.KindWrongDirection, verdict.Medium, "acme/notifier", 1},
		{verdict.KindUnobservable, verdict.Info, "acme/export", 1},
		{verdict.KindUnobservable, verdict.Info, "acme/gw-media", 1},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n got %v\nwant %v", got, want)
	}
	all := fs.All()
	tel := all[4]
	if tel.Src.String() != "10.1.0.5" || tel.Dst.String() != "10.3.0.7" || tel.DstPort != 23 || tel.Proto != flow.ProtoTCP ||
		tel.FirstSeen != epoch || tel.LastSeen <= epoch+int64(2*time.Second) || tel.FromRole != "agent" || tel.ToRole != "phone" {
		t.Errorf("aggregated unexpected finding: %+v", tel)
	}
	// 10.0.0.11 stands by: no pair with it is required.
	trunk := all[3]
	if !slices.Equal(trunk.HostPairs, []string{"10.0.0.10 -> 203.0.113.1"}) || trunk.Ports != ">=1025/udp" || trunk.Src.IsValid() {
		t.Errorf("missing finding: %+v", trunk)
	}
	if !slices.Equal(all[1].HostPairs, []string{"10.0.0.10 -> 10.0.0.20", "10.0.0.10 -> sql.lab.example"}) {
		t.Errorf("db host pairs %v (want the server pairs with the address and the name)", all[1].HostPairs)
	}
	// Every SIP role is on both sides, so each host needs SIP with one
	// peer: the phones and the server had it, the gateway never did (the
	// standby server is excused), and the finding says how many worked.
	if sip := all[2]; !slices.Equal(sip.HostPairs, []string{"203.0.113.1 <-> any peer"}) ||
		!strings.Contains(sip.Reason, "1 of 3 host pairs never seen working, 2 worked") {
		t.Errorf("sip missing pairs %v, reason %q", sip.HostPairs, sip.Reason)
	}
	c := fs.Counts()
	if c[verdict.Expected] != 7 || c[verdict.Blocked] != 1 || c[verdict.Unexpected] != 4 {
		t.Errorf("counts %v", c)
	}
	if top := fs.Top(verdict.KindUnexpected, 5); len(top) != 1 || top[0].Count != 3 {
		t.Errorf("top unexpected %+v", top)
	}

	// A second window where the database works: missing again only for
	// the trunk, with its count of windows.
	observe(playAt(t, tcp, "10.0.0.10:50000", "10.0.0.20:1433", time.Minute, handshake))
	fs.Finish(epoch + int64(2*time.Minute))
	for _, g := range fs.All() {
		switch {
		case g.Kind == verdict.KindMissing && g.EntryID == "acme/trunk":
			if g.Count != 2 || g.LastSeen != epoch+int64(2*time.Minute) {
				t.Errorf("trunk after two windows: %+v", g)
			}
		case g.Kind == verdict.KindMissing && g.EntryID == "acme/db":
			// The address worked; the host listed by name never did,
			// and one host's traffic does not vouch for another's.
			if g.Count != 2 || !slices.Equal(g.HostPairs, []string{"10.0.0.10 -> sql.lab.example"}) || g.Severity != verdict.High {
				t.Errorf("db after a window where only its address worked: %+v", g)
			}
		}
	}
	// An empty window proves nothing missing.
	n := fs.Len()
	fs.Finish(epoch + int64(3*time.Minute))
	if fs.Len() != n {
		t.Error("an empty window produced findings")
	}
}

func TestExpectNarrowsMissing(t *testing.T) {
	cat := loadTestCatalog(t)
	inv := loadInventoryText(t, cat, standbyInventory)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv, Expect: []string{"acme/db", "acme/cdt-*"}})
	if err != nil {
		t.Fatal(err)
	}
	fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
	var r verdict.Result
	f := play(t, udp, "10.3.0.7:40000", "10.0.0.10:5006", exchange)
	cl.Classify(f, &r)
	fs.Observe(f, &r)
	fs.Finish(0)
	var got []string
	for _, g := range fs.All() {
		got = append(got, string(g.Kind)+" "+g.EntryID)
	}
	if want := []string{"missing acme/cdt-rtcp", "missing acme/db"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestPortOnlyHasNoMissing(t *testing.T) {
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: loadTestCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
	var r verdict.Result
	f := play(t, tcp, "10.1.0.5:50000", "10.0.0.10:5597", []pkt{{true, syn, 0}})
	cl.Classify(f, &r)
	fs.Observe(f, &r)
	fs.Finish(0)
	if all := fs.All(); len(all) != 1 || all[0].Kind != verdict.KindBlocked {
		t.Fatalf("port-only findings %+v, want the blocked attempt only", all)
	}
}

func TestFindingsBound(t *testing.T) {
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: loadTestCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	fs := verdict.NewFindings(cl, verdict.FindingsConfig{MaxFindings: 2})
	var r verdict.Result
	for i := range 5 {
		f := play(t, tcp, "10.1.0.5:50000", fmt.Sprintf("10.0.0.%d:23", 10+i), handshake)
		cl.Classify(f, &r)
		fs.Observe(f, &r)
	}
	if fs.Len() != 2 || fs.Dropped() != 3 || fs.Counts()[verdict.Unexpected] != 5 {
		t.Fatalf("len %d dropped %d counts %v", fs.Len(), fs.Dropped(), fs.Counts())
	}
}

// TestFindingsManySources floods one target with rejected attempts from
// many sources: up to 100 sources keep a row each; past that the target
// has one row without a source, whatever the order the flows came in.
func TestFindingsManySources(t *testing.T) {
	cat := loadTestCatalog(t)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	rejected := []pkt{{true, syn, 0}, {false, rstack, 0}}
	flows := func(sources int) []*flow.Flow {
		var fl []*flow.Flow
		for i := range sources {
			src := fmt.Sprintf("10.9.%d.%d:40000", i/250, i%250+1)
			fl = append(fl, playAt(t, tcp, src, "10.0.0.20:1433", time.Duration(i)*time.Millisecond, rejected))
			// A second attempt from the same source: same row.
			fl = append(fl, playAt(t, tcp, src, "10.0.0.20:1433", time.Second+time.Duration(i)*time.Millisecond, rejected))
		}
		// Another target, untouched by the flood.
		fl = append(fl, play(t, tcp, "10.0.0.10:50000", "10.0.0.21:1433", rejected))
		return fl
	}
	judge := func(fl []*flow.Flow) []verdict.Finding {
		fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
		var r verdict.Result
		for _, f := range fl {
			cl.Classify(f, &r)
			fs.Observe(f, &r)
		}
		return fs.All()
	}

	few := judge(flows(100))
	if len(few) != 101 {
		t.Fatalf("100 sources: %d findings, want one per source and one for the other target", len(few))
	}
	many := flows(250)
	got := judge(many)
	if len(got) != 2 {
		t.Fatalf("250 sources: %d findings, want 2: %+v", len(got), got)
	}
	var flood verdict.Finding
	for _, g := range got {
		if g.Dst.String() == "10.0.0.20" {
			flood = g
		}
	}
	if flood.Src.IsValid() || flood.Count != 500 || flood.Kind != verdict.KindBlocked ||
		!strings.Contains(flood.Reason, "more than 100 sources") || flood.FirstSeen != many[0].First {
		t.Errorf("flood row %+v, want no source, 500 attempts, the first one's time", flood)
	}
	// Reversed, the rows are the same.
	rev := slices.Clone(many)
	slices.Reverse(rev)
	if again := judge(rev); !reflect.DeepEqual(got, again) {
		t.Errorf("the order of the flows changed the findings:\n%+v\n%+v", got, again)
	}
}

// TestSameHostsPairOnce: a dual-stack server and the agents' IPv4 and
// IPv6 prefixes listed as same_hosts make one required pair, which one
// working flow over either family serves. Listed apart, the IPv4 pair is
// missing although the same machines talked over IPv6; a group stands by
// when one of its addresses does.
func TestSameHostsPairOnce(t *testing.T) {
	cat := loadTestCatalog(t)
	const inv = `schema: 2
site: lab
vendors: [acme]
roles:
  agent: [10.1.0.0/24, "2001:db8:1::/64"]
  server: [10.0.0.10, "2001:db8::10"]
  db: [10.0.0.20]
  phone: [10.3.0.0/24]
  gw: [203.0.113.1]
  monitor: [10.0.0.50]
`
	const grouped = inv + "same_hosts:\n  - [10.1.0.0/24, \"2001:db8:1::/64\"]\n  - [10.0.0.10, \"2001:db8::10\"]\n"
	overIPv6 := func(t *testing.T) *flow.Flow {
		return play(t, tcp, "[2001:db8:1::5]:50000", "[2001:db8::10]:5597", handshake)
	}
	for _, tc := range []struct {
		name      string
		inventory string
		flow      func(*testing.T) *flow.Flow
		pairs     []string // the notifier's missing pairs; nil: none missing
		reason    string
	}{
		{"grouped, worked over IPv6", grouped, overIPv6, nil, ""},
		{"apart, worked over IPv6", inv, overIPv6, []string{"10.1.0.0/24 -> 10.0.0.10"}, "(1 of 2 host pairs never seen working, 1 worked)"},
		{"grouped, silent", grouped, nil, []string{"10.1.0.0/24 & 2001:db8:1::/64 -> 10.0.0.10 & 2001:db8::10"}, "(1 of 1 host pairs never seen working, 0 worked)"},
		{"grouped, the server's IPv6 address on standby", grouped + "standby: [\"2001:db8::10\"]\n", nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: loadInventoryText(t, cat, tc.inventory), Expect: []string{"acme/notifier"}})
			if err != nil {
				t.Fatal(err)
			}
			fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
			var r verdict.Result
			// Another flow, so the window is not empty.
			f := play(t, udp, "10.1.0.5:50000", "10.0.0.10:6235", exchange)
			cl.Classify(f, &r)
			fs.Observe(f, &r)
			if tc.flow != nil {
				f := tc.flow(t)
				cl.Classify(f, &r)
				if r.Verdict != verdict.Expected {
					t.Fatalf("the IPv6 notifier flow is %v", r.Verdict)
				}
				fs.Observe(f, &r)
			}
			fs.Finish(0)
			var got []string
			var reason string
			for _, g := range fs.All() {
				if g.Kind == verdict.KindMissing && g.EntryID == "acme/notifier" {
					got, reason = g.HostPairs, g.Reason
				}
			}
			if !slices.Equal(got, tc.pairs) || !strings.Contains(reason, tc.reason) {
				t.Errorf("missing pairs %q (%s), want %q (%s)", got, reason, tc.pairs, tc.reason)
			}
		})
	}
}

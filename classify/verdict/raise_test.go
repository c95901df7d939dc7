package verdict_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/dnsinfo"
	"github.com/ccaudit/auditor/classify/names"
	"github.com/ccaudit/auditor/classify/sipcall"
	"github.com/ccaudit/auditor/classify/verdict"
)

// postureFlows reach every posture path of Classify and Observe.
func postureFlows(t testing.TB) []*flow.Flow {
	return []*flow.Flow{
		withMeta(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshake), tlsMeta("TLS 1.0")),
		play(t, tcp, "10.1.0.5:50001", "10.0.0.10:7597", handshake),
		play(t, tcp, "10.1.0.5:50002", "10.0.0.10:8443", handshake),
		withMeta(play(t, tcp, "10.0.0.10:50000", "192.0.2.7:443", handshake), flow.Meta{App: "tls", TLSVersion: "TLS 1.3", SNI: "files.example.net"}),
		withMeta(play(t, tcp, "10.0.0.10:50001", "192.0.2.7:443", handshake), tlsMeta("TLS 1.3")),
		withMeta(play(t, tcp, "10.1.0.5:50003", "10.3.0.7:23", handshake), flow.Meta{App: "tls", TLSVersion: "TLS 1.0", SNI: "phone.lab"}),
		withMeta(play(t, udp, "10.3.0.7:40000", "10.0.0.10:40004", exchange), rtpMeta("")),
		withMeta(play(t, udp, "10.3.0.7:40000", "10.0.0.10:5006", exchange), rtpMeta("")),
		withMeta(play(t, udp, "10.0.0.10:40002", "10.3.0.7:40000", exchange), rtpMeta("call-1@lab")),
	}
}

func TestPostureFindings(t *testing.T) {
	cat := loadTestCatalog(t)
	inv := loadTestInventory(t, cat)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv, Media: fakeMedia{40002}, TLSInspected: true})
	if err != nil {
		t.Fatal(err)
	}
	fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
	var r verdict.Result
	for _, f := range postureFlows(t) {
		cl.Classify(f, &r)
		fs.Observe(f, &r)
	}
	// The unexpected TLS 1.0 session again from another port: both of its
	// findings count it.
	again := withMeta(playAt(t, tcp, "10.1.0.5:50009", "10.3.0.7:23", time.Second, handshake), flow.Meta{App: "tls", TLSVersion: "TLS 1.0"})
	cl.Classify(again, &r)
	fs.Observe(again, &r)

	type row struct {
		kind     verdict.Kind
		severity verdict.Severity
		entry    string
		where    string
		count    uint64
	}
	var got []row
	byKind := map[verdict.Kind]verdict.Finding{}
	for _, g := range fs.All() {
		got = append(got, row{g.Kind, g.Severity, g.EntryID, netip.AddrPortFrom(g.Dst, g.DstPort).String(), g.Count})
		if _, ok := byKind[g.Kind]; !ok {
			byKind[g.Kind] = g
		}
	}
	want := []row{
		{verdict.KindPlaintextOnTLSPort, verdict.High, "acme/notifier", "10.0.0.10:7597", 1},
		{verdict.KindTLSTooOld, verdict.High, "", "10.3.0.7:23", 2},
		{verdict.KindTLSTooOld, verdict.High, "acme/notifier", "10.0.0.10:7597", 1},
		{verdict.KindMediaOutsideRange, verdict.Medium, "acme/media", "10.0.0.10:40002", 1},
		{verdict.KindNotTLSOnHTTPSPort, verdict.Medium, "acme/admin", "10.0.0.10:8443", 1},
		{verdict.KindUnexpected, verdict.Medium, "", "10.3.0.7:23", 2},
		{verdict.KindUnexpectedMedia, verdict.Medium, "acme/trunk", "10.0.0.10:40004", 1},
		{verdict.KindSNINotInCatalog, verdict.Low, "acme/cloud-api", "192.0.2.7:443", 1},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n got %v\nwant %v", got, want)
	}
	if g := byKind[verdict.KindTLSTooOld]; g.FromRole != "agent" || g.ToRole != "phone" || g.SNI != "phone.lab" || g.Reason != "TLS 1.0 negotiated: below the TLS 1.2 minimum (RFC 8996 deprecates TLS 1.0 and 1.1)" {
		t.Errorf("old TLS on an unexpected flow: %+v", g)
	}
	if g := byKind[verdict.KindSNINotInCatalog]; g.SNI != "files.example.net" || g.Ports != "443/tcp" {
		t.Errorf("SNI finding: %+v", g)
	}
	// The media server's port is the one outside: the finding points at it.
	if g := byKind[verdict.KindMediaOutsideRange]; g.Src.String() != "10.3.0.7" || g.FromRole != "phone" || g.ToRole != "server" || g.CallID != "call-1@lab" {
		t.Errorf("media finding: %+v", g)
	}
	if c := fs.Counts(); c[verdict.Expected] != 6 || c[verdict.Negotiated] != 1 || c[verdict.Unexpected] != 3 {
		t.Errorf("counts %v", c)
	}
}

func TestPostureAllocs(t *testing.T) {
	cat := loadTestCatalog(t)
	inv := loadTestInventory(t, cat)
	for _, inv := range []*catalog.Inventory{inv, nil} {
		cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv, Media: fakeMedia{40002}, TLSInspected: true})
		if err != nil {
			t.Fatal(err)
		}
		fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
		flows := postureFlows(t)
		var r verdict.Result
		for _, f := range flows {
			cl.Classify(f, &r)
			fs.Observe(f, &r)
		}
		allocs := testing.AllocsPerRun(100, func() {
			for _, f := range flows {
				cl.Classify(f, &r)
				fs.Observe(f, &r)
			}
		})
		if allocs != 0 {
			t.Errorf("inventory=%v: %.1f allocations per %d flows, want 0", inv != nil, allocs, len(flows))
		}
	}
}

func testCall(id string, start int64) *sipcall.Call {
	ep := netip.MustParseAddrPort
	return &sipcall.Call{
		CallID: id, Start: start, Answer: start + int64(time.Second), End: start + int64(time.Minute),
		Media: []sipcall.MediaStream{
			{Type: "audio", Proto: "RTP/AVP", CallerRTP: ep("10.3.0.7:40000"), CalleeRTP: ep("10.0.0.10:16500"), Missing: true},
			{Type: "image", Proto: "udptl", CallerRTP: ep("10.3.0.7:40010"), CalleeRTP: ep("10.0.0.10:16510"), OneWay: true,
				Flows: []sipcall.MediaFlow{{App: "udptl", FromCallee: sipcall.DirStats{Packets: 40}}}},
			{Type: "audio", Proto: "RTP/AVP", CallerRTP: ep("10.3.0.7:40020"), CalleeRTP: ep("10.0.0.10:16520"), Packets: 100},
		},
	}
}

func TestCallFindings(t *testing.T) {
	gs := verdict.CallFindings(testCall("c1@lab", epoch))
	if len(gs) != 2 {
		t.Fatalf("%d findings, want one per stream with a problem: %+v", len(gs), gs)
	}
	miss, oneWay := gs[0], gs[1]
	if miss.Kind != verdict.KindMediaMissing || miss.Severity != verdict.Medium || miss.App != "rtp" || miss.Proto != udp ||
		miss.Src.String() != "10.3.0.7" || miss.Dst.String() != "10.0.0.10" || miss.DstPort != 16500 || miss.CallID != "c1@lab" ||
		miss.FirstSeen != epoch+int64(time.Second) || miss.LastSeen != epoch+int64(time.Minute) {
		t.Errorf("media-missing %+v", miss)
	}
	if oneWay.Kind != verdict.KindMediaOneWay || oneWay.Severity != verdict.High || oneWay.App != "udptl" || oneWay.DstPort != 16510 ||
		!strings.Contains(oneWay.Reason, "from the callee only") {
		t.Errorf("media-one-way %+v", oneWay)
	}
	if string(verdict.KindMediaMissing) != sipcall.FindingMediaMissing || string(verdict.KindMediaOneWay) != sipcall.FindingMediaOneWay {
		t.Error("kinds differ from the call tracker's finding names")
	}

	// Raised through Findings: the same endpoints in a later call count
	// as one finding, the first call's ID kept, roles from the inventory.
	cat := loadTestCatalog(t)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: loadTestInventory(t, cat)})
	if err != nil {
		t.Fatal(err)
	}
	fs := verdict.NewFindings(cl, verdict.FindingsConfig{MaxFindings: 3})
	for i, id := range []string{"c1@lab", "c2@lab"} {
		for _, g := range verdict.CallFindings(testCall(id, epoch+int64(i)*int64(time.Hour))) {
			fs.Raise(g)
		}
	}
	all := fs.All()
	if len(all) != 2 {
		t.Fatalf("findings %+v", all)
	}
	g := all[0] // one-way: high
	if g.Kind != verdict.KindMediaOneWay || g.Count != 2 || g.CallID != "c1@lab" || g.FromRole != "phone" || g.ToRole != "server" ||
		g.FirstSeen != epoch+int64(time.Second) || g.LastSeen != epoch+int64(time.Hour+time.Minute) {
		t.Errorf("aggregated call finding %+v", g)
	}
	// With an entry: its ports label; over the bound: dropped.
	fs.Raise(verdict.Finding{Kind: verdict.KindMediaMissing, Severity: verdict.Medium, EntryID: "acme/media", Src: netip.MustParseAddr("10.3.0.8"), Dst: netip.MustParseAddr("10.0.0.11")})
	fs.Raise(verdict.Finding{Kind: verdict.KindMediaMissing, Src: netip.MustParseAddr("10.3.0.9")})
	if fs.Len() != 3 || fs.Dropped() != 1 {
		t.Fatalf("len %d dropped %d", fs.Len(), fs.Dropped())
	}
	for _, g := range fs.All() {
		if g.EntryID == "acme/media" && (g.Ports != "dynamic,16384-32767/udp" || g.Vendor != "acme" || g.Count != 1) {
			t.Errorf("raised with an entry: %+v", g)
		}
	}
}

func TestDNSFailures(t *testing.T) {
	cat := loadTestCatalog(t)
	for _, inv := range []*catalog.Inventory{loadTestInventory(t, cat), nil} {
		cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv})
		if err != nil {
			t.Fatal(err)
		}
		fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
		at := epoch + int64(time.Minute)
		fs.DNSFailures([]dnsinfo.Failure{
			{Name: "wpad.lab.example", Count: 9, NXDomain: 9, Last: at},
			{Name: "eu.acme.cloud", Count: 3, NXDomain: 2, ServFail: 1, Last: at},
			{Name: "acme.cloud", Count: 1, NXDomain: 1}, // the wildcard needs a label more
		}, epoch)
		// The cache's counts are cumulative: a later read replaces them.
		fs.DNSFailures([]dnsinfo.Failure{{Name: "eu.acme.cloud", Count: 4, NXDomain: 3, ServFail: 1, Last: at + 1}}, epoch)
		all := fs.All()
		if len(all) != 1 {
			t.Fatalf("inventory=%v: findings %+v, want the catalog name only", inv != nil, all)
		}
		g := all[0]
		if g.Kind != verdict.KindDNSFailure || g.Severity != verdict.Medium || g.ServerName != "eu.acme.cloud" || g.EntryID != "acme/cloud-api" ||
			g.Count != 4 || g.FirstSeen != at || g.LastSeen != at+1 || g.FromRole != "server" || g.ToRole != "cloud" ||
			g.Reason != "lookups of eu.acme.cloud, a name Cloud API needs (acme/cloud-api), failed: 3 NXDOMAIN, 1 SERVFAIL" {
			t.Errorf("inventory=%v: %+v", inv != nil, g)
		}
	}
}

// TestSSLv2Capture runs a real SSL 2.0 handshake through the TLS dissector
// and the verdict engine: the dissector's labels make the finding.
func TestSSLv2Capture(t *testing.T) {
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: loadTestCatalog(t), TLSInspected: true})
	if err != nil {
		t.Fatal(err)
	}
	fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
	src, err := source.Open([]string{"../../testdata/pcaps/tls/ssl-v2.pcap"}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var r verdict.Result
	pipe, err := capture.New(capture.Config{Table: flow.DefaultConfig(), Dissectors: []capture.Dissector{names.NewTLS(names.TLSConfig{})},
		OnFlow: func(f *flow.Flow) {
			cl.Classify(f, &r)
			fs.Observe(f, &r)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pipe.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	old := fs.Top(verdict.KindTLSTooOld, 5)
	if len(old) != 1 || old[0].Reason != "SSL 2.0 negotiated: below the TLS 1.2 minimum (RFC 8996 deprecates TLS 1.0 and 1.1)" || old[0].Severity != verdict.High {
		t.Fatalf("tls-version-too-old findings %+v", old)
	}
}

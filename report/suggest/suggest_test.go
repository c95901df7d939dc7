package suggest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/catalog/rules"
	"github.com/ccaudit/auditor/report/parquetout"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func defaultCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func flowOf(src, dst string, proto uint8, dport uint16) Flow {
	return Flow{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Proto: proto, SrcPort: 50000, DstPort: dport,
		First: t0, Last: t0.Add(time.Second), Answered: true}
}

// addrsOf picks up to n concrete addresses of a prefix.
func addrsOf(p netip.Prefix, n int) []netip.Addr {
	if p.IsSingleIP() {
		return []netip.Addr{p.Addr()}
	}
	var out []netip.Addr
	a := p.Masked().Addr()
	for range 10 {
		a = a.Next()
	}
	for range n {
		if !p.Contains(a) {
			break
		}
		out = append(out, a)
		a = a.Next()
	}
	return out
}

// siteFlows generates the flows a site that follows its documented port
// maps shows: for every allow rule the catalog and inventory imply (the
// same rules `catalog rules` writes), flows between a few of its hosts on
// its ports, both ways for both-way entries; plus each host's DNS lookups
// and HTTPS to the internet, which fit no vendor role.
func siteFlows(t *testing.T, c *catalog.Catalog, inv *catalog.Inventory, seed uint64) []Flow {
	t.Helper()
	set, err := rules.Build(c, inv, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []Flow
	hosts := make(map[netip.Addr]bool)
	for _, r := range set.Rules {
		if r.Transport == "icmp" || len(r.To) == 0 {
			continue
		}
		if e, _ := c.Entry(r.EntryID); r.Reverse && e != nil && isMedia(e.App) {
			// Media lands on the receiver's ports: a stream the To side
			// opens goes to the From side's own range (another entry),
			// not to the range the To side listens on.
			continue
		}
		proto := uint8(6)
		if r.Transport == "udp" {
			proto = 17
		}
		for _, fp := range r.From {
			for _, src := range addrsOf(fp, 3) {
				for _, tp := range r.To {
					for _, dst := range addrsOf(tp, 2) {
						if src == dst {
							continue
						}
						pr := r.Ports.Ranges[rng.IntN(len(r.Ports.Ranges))]
						port := pr.Lo + uint16(rng.IntN(int(pr.Hi-pr.Lo)+1))
						for range 1 + rng.IntN(3) {
							f := Flow{Src: src, Dst: dst, Proto: proto, SrcPort: uint16(49152 + rng.IntN(16000)), DstPort: port,
								First: t0.Add(time.Duration(rng.IntN(3600)) * time.Second), Answered: true}
							f.Last = f.First.Add(time.Duration(rng.IntN(60)) * time.Second)
							out = append(out, f)
						}
						hosts[src], hosts[dst] = true, true
					}
				}
			}
		}
	}
	for h := range hosts {
		if !h.Is4() || h.IsPrivate() {
			out = append(out, Flow{Src: h, Dst: netip.MustParseAddr("10.255.0.53"), Proto: 17, SrcPort: 40000, DstPort: 53, First: t0, Last: t0, Answered: true})
			out = append(out, Flow{Src: h, Dst: netip.MustParseAddr("192.0.2.80"), Proto: 6, SrcPort: 40001, DstPort: 443, First: t0, Last: t0, Answered: true})
		}
	}
	slices.SortFunc(out, func(x, y Flow) int { return x.First.Compare(y.First) })
	return out
}

// isMedia: media and its NAT traversal, where a stream lands on the
// receiver's own ports.
func isMedia(app string) bool {
	return app == "rtp" || app == "rtcp" || app == "udptl" || app == "stun"
}

// Suggestion on each vendor's example site recovers the roles the
// inventory assigns: precision and recall at least 90%.
func TestRecoverExampleSites(t *testing.T) {
	c := defaultCatalog(t)
	files, err := filepath.Glob("../../catalog/rules/testdata/sites/*.yaml")
	if err != nil || len(files) != 5 {
		t.Fatalf("example sites: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			inv, err := catalog.LoadInventory(f)
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(Config{Catalog: c, Vendors: inv.Vendors})
			if err != nil {
				t.Fatal(err)
			}
			for _, fl := range siteFlows(t, c, inv, 7) {
				a.Add(fl)
			}
			rep := a.Suggest()
			sc, err := a.Score(rep, inv)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: precision %.2f (%d suggested) recall %.2f (%d shown) over %d hosts", inv.Site, sc.Precision, sc.Suggested, sc.Recall, sc.Shown, a.Hosts())
			if sc.Precision < 0.9 || sc.Recall < 0.9 || sc.Shown == 0 {
				t.Errorf("precision %.2f recall %.2f, want >= 0.90 each:\n%s", sc.Precision, sc.Recall, strings.Join(sc.Misses, "\n"))
			}
			// The output is an inventory the auditor accepts.
			var b bytes.Buffer
			if err := WriteInventory(&b, rep, inv.Site, inv.Vendors); err != nil {
				t.Fatal(err)
			}
			checkInventory(t, c, b.String())
		})
	}
}

func checkInventory(t *testing.T, c *catalog.Catalog, yaml string) *catalog.Inventory {
	t.Helper()
	inv, err := catalog.ReadInventory(strings.NewReader(yaml), "suggested.yaml")
	if err != nil {
		t.Fatalf("suggested inventory does not load: %v\n%s", err, yaml)
	}
	if err := inv.Check(c); err != nil {
		t.Fatalf("suggested inventory does not validate: %v\n%s", err, yaml)
	}
	if _, err := catalog.NewScope(c, inv); err != nil {
		t.Fatalf("suggested inventory does not resolve: %v\n%s", err, yaml)
	}
	return inv
}

const testCatalog = `schema: 1
vendor:
  id: acme
  name: Acme
  document: acme.txt
  roles:
    alpha: Alpha server
    beta: Beta server
    gamma: Gamma server
    delta: Delta web server
    client: client PC
entries:
  - id: shared
    component: shared service
    from: client
    to: [alpha, beta]
    transport: tcp
    app: http
    ports: 7101
    source: {section: S}
  - id: gamma-a
    component: gamma A
    from: client
    to: gamma
    transport: tcp
    app: http
    ports: 7201
    source: {section: S}
  - id: gamma-media
    component: gamma media
    from: client
    to: gamma
    transport: udp
    app: rtp
    ports: 7300-7347
    source: {section: S}
  - id: delta-web
    component: delta web
    from: client
    to: delta
    transport: tcp
    app: https
    ports: 443
    source: {section: S}
  - id: gamma-b
    component: gamma B
    from: client
    to: gamma
    transport: tcp
    app: http
    ports: 7202
    source: {section: S}
`

func testAnalyzer(t *testing.T) *Analyzer {
	t.Helper()
	c, err := catalog.Load(strings.NewReader(testCatalog), "acme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Catalog: c})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Two roles that share every port the host serves are reported as an
// ambiguity, and neither is suggested.
func TestAmbiguousRoles(t *testing.T) {
	a := testAnalyzer(t)
	for i := range 3 {
		cl := fmt.Sprintf("10.0.0.%d", 10+i)
		a.Add(flowOf(cl, "10.0.1.1", 6, 7101)) // alpha or beta: a tie
		a.Add(flowOf(cl, "10.0.1.2", 6, 7201)) // gamma: two distinctive ports
		a.Add(flowOf(cl, "10.0.1.2", 6, 7202))
	}
	rep := a.Suggest()
	if rep.Contains(netip.MustParseAddr("10.0.1.1")) {
		t.Errorf("10.0.1.1 suggested despite the tie: %+v", rep.Hosts)
	}
	i := slices.IndexFunc(rep.Ambiguities, func(am Ambiguity) bool { return am.Addr == netip.MustParseAddr("10.0.1.1") })
	if i < 0 || rep.Ambiguities[i].Kind != "roles" || !slices.Equal(rep.Ambiguities[i].Roles, []string{"acme/alpha", "acme/beta"}) {
		t.Fatalf("ambiguities %+v", rep.Ambiguities)
	}
	h := hostOf(rep, "10.0.1.2")
	if h == nil || h.Roles[0].Role != "acme/gamma" || h.Roles[0].Confidence != High {
		t.Fatalf("10.0.1.2: %+v, want acme/gamma high", h)
	}
	var b bytes.Buffer
	if err := WriteInventory(&b, rep, "acme-site", nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "10.0.1.1 is NOT listed: acme/alpha and acme/beta fit it equally") {
		t.Errorf("ambiguity not in the YAML:\n%s", b.String())
	}
}

func hostOf(rep *Report, addr string) *HostReport {
	for i := range rep.Hosts {
		if rep.Hosts[i].Addr == netip.MustParseAddr(addr) {
			return &rep.Hosts[i]
		}
	}
	return nil
}

// A vendor no host fits with high confidence is not suggested: one stray
// distinctive port is a hint on an unknown host, not a role.
func TestVendorNeedsHighConfidence(t *testing.T) {
	a := testAnalyzer(t)
	a.Add(flowOf("10.0.0.10", "10.0.1.2", 6, 7201))
	a.Add(flowOf("10.0.0.11", "10.0.1.2", 6, 7201))
	rep := a.Suggest()
	if len(rep.Hosts) != 0 || len(rep.Vendors) != 0 {
		t.Fatalf("hosts %+v vendors %v: one distinctive port must not make a vendor", rep.Hosts, rep.Vendors)
	}
	i := slices.IndexFunc(rep.Unknown, func(u UnknownHost) bool { return u.Addr == netip.MustParseAddr("10.0.1.2") })
	if i < 0 || !slices.Contains(rep.Unknown[i].Hints, "acme/gamma") || rep.Unknown[i].Serves[0].Port != "7201/tcp" {
		t.Fatalf("unknown %+v", rep.Unknown)
	}
	// A second distinctive port settles it.
	a.Add(flowOf("10.0.0.10", "10.0.1.2", 6, 7202))
	if h := hostOf(a.Suggest(), "10.0.1.2"); h == nil || h.Roles[0].Confidence != High {
		t.Fatalf("after a second port: %+v", h)
	}
}

// Flows the responder never answered are no evidence.
func TestUnansweredIgnored(t *testing.T) {
	a := testAnalyzer(t)
	for _, p := range []uint16{7201, 7202} {
		f := flowOf("10.0.0.10", "10.0.1.2", 6, p)
		f.Answered = false
		a.Add(f)
	}
	rep := a.Suggest()
	if len(rep.Hosts) != 0 || rep.Unanswered != 2 {
		t.Fatalf("hosts %+v unanswered %d", rep.Hosts, rep.Unanswered)
	}
}

func TestFromRowAnswered(t *testing.T) {
	for _, tc := range []struct {
		proto, state string
		in, out      int64
		want         bool
	}{
		{"tcp", "SF", 5, 5, true},
		{"tcp", "S0", 0, 3, false},
		{"tcp", "REJ", 1, 1, false},
		{"tcp", "OTH", 2, 2, false},
		{"tcp", "S1", 1, 1, true},
		{"tcp", "S2", 1, 1, true},
		{"tcp", "S3", 1, 1, true},
		{"tcp", "RSTO", 1, 1, true},
		{"tcp", "RSTR", 1, 1, true},
		{"tcp", "SF", 0, 1, false},
		{"tcp", "S0", 1, 1, false},
		{"tcp", "SH", 1, 1, false},
		{"tcp", "SHR", 1, 1, false},
		{"tcp", "RSTOS0", 1, 1, false},
		{"tcp", "RSTRH", 1, 1, false},
		{"tcp", "", 1, 1, true},
		{"tcp", "", 0, 1, false},
		{"udp", "SF", 1, 1, true},
		{"udp", "S0", 0, 2, false},
		{"udp", "S0", 0, minOneWayUDP, true},
	} {
		r := parquetout.FlowRow{Proto: tc.proto, SrcIP: "10.0.0.1", DstIP: "10.0.0.2", DstPort: 5060, State: tc.state, PacketsIn: tc.in, PacketsOut: tc.out}
		f, ok := FromRow(&r)
		if !ok || f.Answered != tc.want {
			t.Errorf("%+v: answered %v, want %v", tc, f.Answered, tc.want)
		}
	}
	if _, ok := FromRow(&parquetout.FlowRow{Proto: "tcp", SrcIP: "x", DstIP: "10.0.0.2"}); ok {
		t.Error("bad address accepted")
	}
}

// A host serving two vendors' roles keeps both and is reported.
func TestTwoVendors(t *testing.T) {
	c := defaultCatalog(t)
	a, err := New(Config{Catalog: c, Vendors: []string{"genesys-pureconnect", "incontact-wfo"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		cl := fmt.Sprintf("10.0.2.%d", 10+i)
		for _, p := range []uint16{3952, 8018, 5597} {
			a.Add(flowOf(cl, "10.0.1.10", 6, p)) // CIC server
		}
		for _, p := range []uint16{4510, 2020} {
			a.Add(flowOf(cl, "10.0.1.10", 6, p)) // and inContact PREMISES server
		}
	}
	rep := a.Suggest()
	h := hostOf(rep, "10.0.1.10")
	if h == nil || len(h.Roles) != 2 {
		t.Fatalf("10.0.1.10: %+v", h)
	}
	i := slices.IndexFunc(rep.Ambiguities, func(am Ambiguity) bool { return am.Kind == "vendors" })
	if i < 0 || rep.Ambiguities[i].Addr != h.Addr {
		t.Fatalf("no vendors ambiguity: %+v", rep.Ambiguities)
	}
	var b bytes.Buffer
	if err := WriteInventory(&b, rep, "two", nil); err != nil {
		t.Fatal(err)
	}
	inv := checkInventory(t, c, b.String())
	if !slices.Contains(inv.RoleNames(), "incontact-wfo/premises-server") || !slices.Contains(inv.RoleNames(), "genesys-pureconnect/cic-server") {
		t.Errorf("two vendors: roles %v, want vendor-qualified", inv.RoleNames())
	}
}

func TestDiff(t *testing.T) {
	c := defaultCatalog(t)
	site := `schema: 2
site: d
vendors: [genesys-pureconnect]
roles:
  cic-server: [10.0.1.10]
  sql-server: [10.0.1.20]
  workstation: [10.0.2.0/24]
  media-server: [10.0.1.30]
`
	inv, err := catalog.ReadInventory(strings.NewReader(site), "d.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Catalog: c, Vendors: inv.Vendors})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		cl := fmt.Sprintf("10.0.2.%d", 10+i)
		for _, p := range []uint16{3952, 8018, 5597} {
			a.Add(flowOf(cl, "10.0.1.10", 6, p))
			a.Add(flowOf(cl, "10.0.1.99", 6, p)) // a second CIC server nobody listed
		}
		a.Add(flowOf(cl, "10.0.1.20", 6, 443)) // the "SQL server" only serves the agents HTTPS
	}
	cs, err := a.Diff(inv, a.Suggest())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		NeverServes + " 10.0.1.20 genesys-pureconnect/sql-server":  false,
		NotSeen + " 10.0.1.30 ":                                    false,
		UnlistedHost + " 10.0.1.99 genesys-pureconnect/cic-server": false,
		// Generic HTTPS, but only workstations use it: a web server, with
		// low confidence, which the detail says.
		NotListed + " 10.0.1.20 genesys-pureconnect/web-server": false,
	}
	for _, c := range cs {
		if c.Kind == NotListed && c.Role == "genesys-pureconnect/web-server" && !strings.HasPrefix(c.Detail, "low confidence") {
			t.Errorf("web-server on generic HTTPS alone must be low confidence: %+v", c)
		}
		k := c.Kind + " " + c.Host + " " + c.Role
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected contradiction %+v", c)
			continue
		}
		want[k] = true
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("missing contradiction %s (got %+v)", k, cs)
		}
	}
}

// The rules that weigh evidence: generic ports alone make no role; a
// documented range counts once however many of its ports a host uses; a
// generic port counts only when half its peers are known and consistent.
func TestEvidenceRules(t *testing.T) {
	gammaHost := func(a *Analyzer) {
		for i := range 3 {
			cl := fmt.Sprintf("10.0.0.%d", 10+i)
			a.Add(flowOf(cl, "10.0.1.2", 6, 7201))
			a.Add(flowOf(cl, "10.0.1.2", 6, 7202))
		}
	}
	t.Run("generic only", func(t *testing.T) {
		a := testAnalyzer(t)
		gammaHost(a) // makes the vendor present
		for i := range 5 {
			a.Add(flowOf(fmt.Sprintf("10.0.9.%d", i), "10.0.1.3", 6, 443))
		}
		if h := hostOf(a.Suggest(), "10.0.1.3"); h != nil {
			t.Errorf("443 from unknown hosts made %+v", h.Roles)
		}
	})
	t.Run("range counts once", func(t *testing.T) {
		a := testAnalyzer(t)
		gammaHost(a)
		for i := range 5 {
			a.Add(flowOf("10.0.0.10", "10.0.1.4", 17, uint16(7300+2*i)))
			a.Add(flowOf("10.0.0.11", "10.0.1.4", 17, uint16(7300+2*i)))
		}
		h := hostOf(a.Suggest(), "10.0.1.4")
		if h == nil || h.Roles[0].Role != "acme/gamma" || h.Roles[0].Confidence != Medium || len(h.Roles[0].Evidence) != 1 {
			t.Errorf("five ports of one range: %+v, want acme/gamma medium from one unit", h)
		}
	})
	t.Run("corroborated generic", func(t *testing.T) {
		a := testAnalyzer(t)
		gammaHost(a)
		// The known clients of the gamma server use a delta web server...
		for i := range 3 {
			a.Add(flowOf(fmt.Sprintf("10.0.0.%d", 10+i), "10.0.1.5", 6, 443))
		}
		// ...and another HTTPS server mostly unknown hosts use.
		a.Add(flowOf("10.0.0.10", "10.0.1.6", 6, 443))
		for i := range 3 {
			a.Add(flowOf(fmt.Sprintf("10.0.9.%d", i), "10.0.1.6", 6, 443))
		}
		rep := a.Suggest()
		if h := hostOf(rep, "10.0.1.5"); h == nil || h.Roles[0].Role != "acme/delta" || h.Roles[0].Confidence != Low {
			t.Errorf("10.0.1.5: %+v, want acme/delta low", h)
		}
		if h := hostOf(rep, "10.0.1.6"); h != nil {
			t.Errorf("10.0.1.6, one known peer of four: %+v", h.Roles)
		}
	})
}

// TestSameHostsFromDNS: a DNS name answered with an IPv4 and an IPv6
// address that are both suggested for the same roles is one dual-stack
// host; a name tying hosts of different roles, an address no role was
// suggested for, or one family only ties nothing. The written inventory
// lists the group and validates.
func TestSameHostsFromDNS(t *testing.T) {
	c := defaultCatalog(t)
	a, err := New(Config{Catalog: c, Vendors: []string{"genesys-pureconnect"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for _, srv := range []string{"10.0.1.10", "2001:db8::10"} { // the CIC server, dual-stack
			cl := fmt.Sprintf("10.0.2.%d", 10+i)
			if netip.MustParseAddr(srv).Is6() {
				cl = fmt.Sprintf("2001:db8:2::%d", 10+i)
			}
			for _, p := range []uint16{3952, 8018, 5597} {
				a.Add(flowOf(cl, srv, 6, p))
			}
		}
		a.Add(flowOf(fmt.Sprintf("10.0.2.%d", 10+i), "10.0.1.5", 6, 1433)) // the SQL server, IPv4 only
	}
	a.AddName("cic1.example.net.", netip.MustParseAddr("10.0.1.10"))
	a.AddName("CIC1.example.net", netip.MustParseAddr("2001:db8::10"))
	a.AddName("mixed.example.net", netip.MustParseAddr("10.0.1.5"))     // sql-server
	a.AddName("mixed.example.net", netip.MustParseAddr("2001:db8::10")) // cic-server
	a.AddName("v4only.example.net", netip.MustParseAddr("10.0.1.10"))
	a.AddName("v4only.example.net", netip.MustParseAddr("10.0.1.5"))
	a.AddName("stranger.example.net", netip.MustParseAddr("10.0.1.10"))
	a.AddName("stranger.example.net", netip.MustParseAddr("2001:db8::99")) // no role suggested
	rep := a.Suggest()
	want := []SameHost{{Name: "cic1.example.net", Addrs: []netip.Addr{netip.MustParseAddr("10.0.1.10"), netip.MustParseAddr("2001:db8::10")}}}
	if !slices.EqualFunc(rep.SameHosts, want, func(x, y SameHost) bool { return x.Name == y.Name && slices.Equal(x.Addrs, y.Addrs) }) {
		t.Fatalf("same hosts %+v, want %+v", rep.SameHosts, want)
	}
	var b bytes.Buffer
	if err := WriteInventory(&b, rep, "dual", nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "same_hosts:\n  # cic1.example.net\n  - [10.0.1.10, \"2001:db8::10\"]\n") {
		t.Errorf("inventory lacks the group:\n%s", b.String())
	}
	inv := checkInventory(t, c, b.String())
	if len(inv.SameHosts) != 1 || len(inv.SameHosts[0]) != 2 {
		t.Errorf("same_hosts read back %v", inv.SameHosts)
	}
}

// TestReadNamesBesideFlows: ReadParquet reads the dns table written
// beside a flows table (dns.parquet for flows.parquet, dns-<window> for
// flows-<window>) and keeps its A and AAAA answers.
func TestReadNamesBesideFlows(t *testing.T) {
	dir := t.TempDir()
	fw, err := parquetout.Create(filepath.Join(dir, "flows-t1.parquet"), parquetout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(&parquetout.FlowRow{FirstSeen: t0, LastSeen: t0, Proto: "tcp", SrcIP: "10.0.2.1", DstIP: "10.0.1.10", DstPort: 5597, PacketsIn: 1}); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	dw, err := parquetout.CreateDNS(filepath.Join(dir, "dns-t1.parquet"), parquetout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	row := parquetout.DNSRow{Time: t0, Proto: "udp", Service: "dns", ClientIP: "10.0.2.1", ServerIP: "10.0.0.53", Answered: true,
		Answers: []parquetout.DNSAnswerRow{
			{Name: "cic1.example.net", Type: "A", TTL: 60, Data: "10.0.1.10"},
			{Name: "cic1.example.net", Type: "AAAA", TTL: 60, Data: "2001:db8::10"},
			{Name: "alias.example.net", Type: "CNAME", TTL: 60, Data: "cic1.example.net"},
		}}
	if err := dw.Write(&row); err != nil {
		t.Fatal(err)
	}
	if err := dw.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Catalog: defaultCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadParquet(a, []string{filepath.Join(dir, "flows-t1.parquet")})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 1 || st.DNSFiles != 1 || st.DNSAnswers != 2 || len(a.names["cic1.example.net"]) != 2 {
		t.Errorf("stats %+v, names %v", st, a.names)
	}
}

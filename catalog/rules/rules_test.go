package rules

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func defaultCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func buildSite(t *testing.T, yaml string, opt Options) *Set {
	t.Helper()
	c := defaultCatalog(t)
	inv, err := catalog.ReadInventory(strings.NewReader(yaml), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Check(c); err != nil {
		t.Fatal(err)
	}
	s, err := Build(c, inv, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rulesOf(s *Set, id string) []Rule {
	var out []Rule
	for _, r := range s.Rules {
		if r.EntryID == id {
			out = append(out, r)
		}
	}
	return out
}

func pfx(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		if !strings.Contains(s, "/") {
			a := netip.MustParseAddr(s)
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

const genesysBase = `schema: 2
site: t
vendors: [genesys-pureconnect]
roles:
  cic-server: [10.0.0.10, 10.0.0.11]
  sql-server: [10.0.0.5]
  workstation: [10.0.2.0/24]
  media-server: [10.0.0.20]
  ip-phone: [10.0.3.0/24]
`

// The database is an option: a site on Microsoft SQL Server gets no Oracle
// rule and vice versa; undeclared, both are opened (either may be used).
func TestConditionsFollowOptions(t *testing.T) {
	for _, tc := range []struct {
		option        string
		oracle, mssql bool
	}{
		{"", true, true},
		{"options: {genesys-pureconnect/database: mssql}\n", false, true},
		{"options: {genesys-pureconnect/database: oracle}\n", true, false},
	} {
		s := buildSite(t, genesysBase+tc.option, Options{})
		if got := len(rulesOf(s, "genesys-pureconnect/oracle-sql")) > 0; got != tc.oracle {
			t.Errorf("%q: oracle rules %v, want %v", tc.option, got, tc.oracle)
		}
		if got := len(rulesOf(s, "genesys-pureconnect/mssql")) > 0; got != tc.mssql {
			t.Errorf("%q: mssql rules %v, want %v", tc.option, got, tc.mssql)
		}
	}
}

// A one-way entry opens only its From -> To direction; a both-way entry
// opens both, the second marked Reverse with the roles swapped.
func TestDirection(t *testing.T) {
	s := buildSite(t, genesysBase+"options: {genesys-pureconnect/database: mssql}\n", Options{})
	ms := rulesOf(s, "genesys-pureconnect/mssql")
	if len(ms) != 1 {
		t.Fatalf("mssql: %d rules, want 1 (one-way, tcp, IPv4): %+v", len(ms), ms)
	}
	r := ms[0]
	if !slices.Equal(r.To, pfx("10.0.0.5")) || r.Reverse || r.Transport != "tcp" || r.Ports.String() != "1433,1434" {
		t.Errorf("mssql rule %+v", r)
	}
	if !slices.Contains(r.From, pfx("10.0.2.0/24")[0]) || !slices.Contains(r.From, pfx("10.0.0.10")[0]) {
		t.Errorf("mssql from %v: want the workstations and CIC servers", r.From)
	}
	rtp := rulesOf(s, "genesys-pureconnect/media-server-rtp")
	var fwd, rev bool
	for _, r := range rtp {
		if slices.Equal(r.To, pfx("10.0.0.20")) && !r.Reverse {
			fwd = true
		}
		if slices.Equal(r.From, pfx("10.0.0.20")) && r.Reverse {
			rev = true
			if !slices.Contains(r.ToRoles, "ip-phone") {
				t.Errorf("reverse rule's to roles %v: want the entry's from roles", r.ToRoles)
			}
		}
	}
	if !fwd || !rev {
		t.Errorf("media-server-rtp (both-way): forward %v reverse %v, want both: %+v", fwd, rev, rtp)
	}
}

// A rule only exists where both sides have hosts; a both-way entry with the
// same hosts on both sides gives one rule, not two identical ones.
func TestScopeAndDedupe(t *testing.T) {
	s := buildSite(t, genesysBase, Options{})
	if rs := rulesOf(s, "genesys-pureconnect/sip-proxy-web-http"); len(rs) != 0 {
		t.Errorf("no sip-proxy host, yet rules %+v", rs)
	}
	sw := rulesOf(s, "genesys-pureconnect/switchover-notifier-udp")
	if len(sw) != 1 {
		t.Errorf("switchover between the two CIC servers: %d rules, want 1: %+v", len(sw), sw)
	}
}

// Areas come from the site's parameters; ranges with a parity open the
// whole range and say so.
func TestAreaFromParameters(t *testing.T) {
	site := `schema: 2
site: t
vendors: [sinch-contact-center]
parameters: {sinch-contact-center/mrs-max-prompts: 100, sinch-contact-center/mrs-prompt-first-port: 7000}
roles:
  mrs: [10.1.0.20]
  workstation: [10.1.2.0/24]
`
	s := buildSite(t, site, Options{})
	rs := rulesOf(s, "sinch-contact-center/mrs-prompts")
	if len(rs) == 0 || rs[0].Ports.String() != "7000-7200" {
		t.Fatalf("mrs-prompts: %+v, want ports 7000-7200", rs)
	}
	cdt := rulesOf(s, "sinch-contact-center/cdt-rtp")
	if len(cdt) == 0 || !cdt[0].Parity || !strings.Contains(cdt[0].Justification(), "even") {
		t.Errorf("cdt-rtp: %+v, want the parity noted", cdt)
	}
}

// Standby hosts get their rules; site allow rules are included whatever
// --vendor says; --vendor drops the other vendors' entries.
func TestStandbyAllowVendor(t *testing.T) {
	site := `schema: 2
site: t
vendors: [genesys-pureconnect, tegsoft]
roles:
  cic-server: [10.0.0.10, 10.0.0.11]
  genesys-pureconnect/workstation: [10.0.2.0/24]
  tegsoft-server: [10.0.5.10]
  dns: [10.0.0.53]
standby: [10.0.0.11]
allow:
  - {name: dns, from: [genesys-pureconnect/workstation], to: dns, transport: udp, ports: 53, notes: resolver}
`
	s := buildSite(t, site, Options{Vendors: []string{"genesys-pureconnect"}})
	sm := rulesOf(s, "genesys-pureconnect/session-manager")
	if len(sm) != 1 || !slices.Contains(sm[0].To, pfx("10.0.0.11")[0]) {
		t.Errorf("session-manager %+v: want the standby CIC server among the destinations", sm)
	}
	if len(rulesOf(s, "site/dns")) != 1 {
		t.Errorf("site allow rule missing")
	}
	for _, r := range s.Rules {
		if r.Vendor == "tegsoft" {
			t.Fatalf("--vendor genesys-pureconnect, yet %s", r.EntryID)
		}
	}
	if !strings.Contains(rulesOf(s, "site/dns")[0].Justification(), "resolver") {
		t.Error("site rule justification lacks its notes")
	}
}

// Entries with no port number or only negotiated ports are listed as
// skipped, not silently dropped and not opened wide.
func TestSkipped(t *testing.T) {
	s := buildSite(t, genesysBase+"  sip-gateway: [10.0.0.40]\n  sip-proxy: [10.0.0.30]\n", Options{})
	if len(s.Skipped) == 0 {
		t.Fatal("no skipped entry")
	}
	for _, sk := range s.Skipped {
		if len(rulesOf(s, sk.EntryID)) > 0 {
			t.Errorf("%s both skipped and opened", sk.EntryID)
		}
	}
}

// Contained prefixes are dropped from a side: an interval set rejects
// overlapping elements.
func TestFamilyDropsContained(t *testing.T) {
	got := family(pfx("10.0.2.5", "10.0.2.0/24", "10.0.3.1", "2001:db8::1", "10.0.3.1"), 4)
	if !slices.Equal(got, pfx("10.0.2.0/24", "10.0.3.1")) {
		t.Errorf("family = %v", got)
	}
}

func TestMultiportChunks(t *testing.T) {
	var toks []string
	for i := range 16 {
		toks = append(toks, string(rune('a'+i)))
	}
	toks = append(toks, "1:2")
	ch := multiportChunks(toks)
	if len(ch) != 2 || len(ch[0]) != 15 || len(ch[1]) != 2 {
		t.Errorf("chunks %v", ch)
	}
}

func siteFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/sites/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("example sites: %v %v", files, err)
	}
	return files
}

func buildFile(t *testing.T, path string) *Set {
	t.Helper()
	c := defaultCatalog(t)
	inv, err := catalog.LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Check(c); err != nil {
		t.Fatal(err)
	}
	s, err := Build(c, inv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rules) == 0 {
		t.Fatalf("%s: no rules", path)
	}
	return s
}

// Every rule's comment cites its entry and the document's section.
func TestEveryRuleCites(t *testing.T) {
	for _, f := range siteFiles(t) {
		s := buildFile(t, f)
		for _, r := range s.Rules {
			j := r.Justification()
			if !strings.HasPrefix(j, r.EntryID+": ") {
				t.Errorf("%s: justification %q lacks the entry", f, j)
			}
			if r.Vendor != catalog.SiteVendor && (r.Source.Section == "" || !strings.Contains(j, r.Source.Section)) {
				t.Errorf("%s: %s justification lacks the section: %q", f, r.EntryID, j)
			}
			if r.Source.Quote != "" && !strings.Contains(j, oneLine(r.Source.Quote)) {
				t.Errorf("%s: %s justification lacks the quote", f, r.EntryID)
			}
		}
	}
}

func render(t *testing.T, s *Set, format string, o FormatOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "csv":
		err = WriteCSV(&b, s)
	case "nft":
		err = WriteNft(&b, s, o)
	case "iptables":
		err = WriteIptables(&b, s, o, 4)
	case "ip6tables":
		err = WriteIptables(&b, s, o, 6)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	s := buildFile(t, "testdata/sites/genesys-pureconnect.yaml")
	for _, f := range []string{"csv", "nft", "iptables"} {
		got := render(t, s, f, FormatOptions{})
		path := filepath.Join("testdata", "golden", "genesys-pureconnect."+f)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (go test -update to accept)\n%s", f, path, firstDiff(string(want), string(got)))
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+1) + ":\n- " + al[i] + "\n+ " + bl[i]
		}
	}
	return "length differs"
}

// toolUnavailable skips, or fails under AUDITOR_E2E=require.
func toolUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("AUDITOR_E2E") == "require" {
		t.Fatalf("cannot run (AUDITOR_E2E=require): "+format, args...)
	}
	t.Skipf("skipped: "+format+" (AUDITOR_E2E=require makes this a failure)", args...)
}

func needRootTool(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		toolUnavailable(t, "%s not installed", tool)
	}
	if os.Geteuid() != 0 {
		toolUnavailable(t, "%s --check needs root", tool)
	}
	return p
}

// The real tools accept every example site's rules, in both policies and
// hooks.
func TestToolsAccept(t *testing.T) {
	nft := needRootTool(t, "nft")
	ipt := needRootTool(t, "iptables-restore")
	ip6t := needRootTool(t, "ip6tables-restore")
	// The per-vendor example inventories of testdata/inventories, where the
	// repository has them, are checked too.
	shared, _ := filepath.Glob("../../testdata/inventories/*.yaml")
	for _, f := range append(siteFiles(t), shared...) {
		s := buildFile(t, f)
		for _, o := range []FormatOptions{{}, {Policy: PolicyDrop, Hook: HookInput}} {
			for _, c := range []struct{ format, tool string }{{"nft", nft}, {"iptables", ipt}, {"ip6tables", ip6t}} {
				path := filepath.Join(t.TempDir(), "rules."+c.format)
				if err := os.WriteFile(path, render(t, s, c.format, o), 0o644); err != nil {
					t.Fatal(err)
				}
				args := []string{"--test", path}
				if c.format == "nft" {
					args = []string{"-c", "-f", path}
				}
				if out, err := exec.Command(c.tool, args...).CombinedOutput(); err != nil {
					t.Errorf("%s %s (%+v): %v\n%s", c.tool, f, o, err, out)
				}
			}
		}
	}
}

// Cloud destinations: catalog addresses become rules; names only become a
// CSV row with the names and a comment in nft, never an open rule.
func TestCloudDestinations(t *testing.T) {
	s := buildFile(t, "testdata/sites/imagicle-ucx.yaml")
	media := rulesOf(s, "imagicle-ucx/teams-media-udp")
	if len(media) == 0 || !slices.Contains(media[0].To, netip.MustParsePrefix("52.112.0.0/14")) {
		t.Fatalf("teams-media-udp: %+v, want the catalog's Teams addresses", media)
	}
	sig := rulesOf(s, "imagicle-ucx/teams-signaling")
	if len(sig) == 0 || len(sig[0].To) != 0 || !slices.Contains(sig[0].FQDNs, "*.skype.com") {
		t.Fatalf("teams-signaling: %+v, want FQDNs only", sig)
	}
	csvOut := string(render(t, s, "csv", FormatOptions{}))
	if !strings.Contains(csvOut, "*.skype.com") {
		t.Error("csv lacks the FQDN destination")
	}
	nft := string(render(t, s, "nft", FormatOptions{}))
	if !strings.Contains(nft, "# cloud destination named only (*.skype.com") || strings.Contains(nft, "skype.com accept") {
		t.Error("nft must list the named destination as a comment only")
	}
}

// Hosts listed by DNS name cannot be written into address rules: they are
// reported, not silently lost.
func TestNamedHostsSkipped(t *testing.T) {
	s := buildSite(t, genesysBase+"  sip-proxy: [proxy.example.net]\n", Options{})
	found := false
	for _, sk := range s.Skipped {
		if strings.Contains(sk.Reason, "proxy.example.net") {
			found = true
		}
	}
	if !found {
		t.Errorf("skipped %+v: want the named host reported", s.Skipped)
	}
}

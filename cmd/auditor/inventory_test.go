package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/internal/synth"
	"github.com/ccaudit/auditor/report/suggest"
)

// replayTo replays captures into a new output directory.
func replayTo(t *testing.T, inputs ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	args := append([]string{"replay", "--out", out, "--progress", "never"}, inputs...)
	if _, stderr, code := runCLI(t, args...); code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	return out
}

// A generated Genesys capture (internal/synth, the demo's site plan, with
// more sessions than the demo) replayed through the replay pipeline:
// suggestion recovers the roles of testdata/demo-site.yaml, precision and
// recall at least 90% where the traffic shows the role's ports.
func TestInventorySuggestSynth(t *testing.T) {
	opts := synth.DemoOptions()
	opts.Packets = 20000
	opts.Counts[synth.TCP] = 40
	opts.Counts[synth.SIPUDP] = 12
	pcap := filepath.Join(t.TempDir(), "site.pcapng")
	if _, err := synth.WriteFile(pcap, opts); err != nil {
		t.Fatal(err)
	}
	out := replayTo(t, pcap)
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := catalog.LoadInventory("../../testdata/demo-site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	an, err := suggest.New(suggest.Config{Catalog: cat, Vendors: inv.Vendors})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := suggest.ReadParquet(an, []string{filepath.Join(out, "flows.parquet")}); err != nil {
		t.Fatal(err)
	}
	rep := an.Suggest()
	sc, err := an.Score(rep, inv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("synth genesys site: precision %.2f (%d suggested) recall %.2f (%d shown)", sc.Precision, sc.Suggested, sc.Recall, sc.Shown)
	if sc.Precision < 0.9 || sc.Recall < 0.9 || sc.Shown < 5 {
		t.Errorf("precision %.2f recall %.2f over %d shown, want >= 0.90 each:\n%s", sc.Precision, sc.Recall, sc.Shown, strings.Join(sc.Misses, "\n"))
	}

	// The CLI gives the same suggestion from the capture, from the replay
	// output directory, and from a live capture's partitioned layout with
	// a window still being written (no footer yet), and it validates.
	fromPcap, stderr, code := runCLI(t, "inventory", "suggest", "--vendor", "genesys-pureconnect", pcap)
	if code != 0 {
		t.Fatalf("suggest from pcap: exit %d: %s", code, stderr)
	}
	fromOut, _, code := runCLI(t, "inventory", "suggest", "--vendor", "genesys-pureconnect", out)
	if code != 0 || fromOut != fromPcap {
		t.Errorf("suggest from the replay output differs from the capture's (exit %d)", code)
	}
	live := t.TempDir()
	part := filepath.Join(live, "date=2026-11-02", "hour=09")
	if err := os.MkdirAll(part, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, "flows.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(part, "flows-sensor1-000001.parquet"), data, 0o644)
	os.WriteFile(filepath.Join(part, "flows-sensor1-000002.parquet"), []byte("PAR1 unfinished"), 0o644)
	fromLive, stderr, code := runCLI(t, "inventory", "suggest", "--vendor", "genesys-pureconnect", live)
	if code != 0 || fromLive != fromPcap {
		t.Errorf("suggest from the live layout differs (exit %d): %s", code, stderr)
	}
	if !strings.Contains(stderr, "flows-sensor1-000002.parquet") {
		t.Errorf("the unfinished window is not reported: %q", stderr)
	}
	path := filepath.Join(t.TempDir(), "suggested.yaml")
	os.WriteFile(path, []byte(fromPcap), 0o644)
	if stdout, stderr, code := runCLI(t, "catalog", "validate", path); code != 0 {
		t.Errorf("catalog validate rejects the suggestion: %s %s\n%s", stdout, stderr, fromPcap)
	}
}

// The real public captures hold no contact-center equipment: suggestion
// over every vendor invents no role for their hosts.
func TestInventorySuggestPublicCaptures(t *testing.T) {
	dirs, err := filepath.Glob("../../testdata/pcaps/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			continue
		}
		n++
		stdout, stderr, code := runCLI(t, "inventory", "suggest", "--json", d)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", d, code, stderr)
			continue
		}
		var rep suggest.Report
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		for _, h := range rep.Hosts {
			t.Errorf("%s: %s suggested as %+v", d, h.Addr, h.Roles)
		}
		if len(rep.Unknown) == 0 {
			t.Errorf("%s: no host listed at all", d)
		}
	}
	if n < 5 {
		t.Fatalf("only %d capture directories", n)
	}
}

// A damaged capture among readable ones does not fail suggest or diff: the
// readable flows give the same result as without it, stderr names the
// damaged file (each with its reason, then together), exit 0.
func TestInventoryDamagedInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pcap")
	// A pcap header, then a record claiming 2 GiB.
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f}
	if err := os.WriteFile(bad, hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	const demo = "../../testdata/demo.pcapng"
	for _, args := range [][]string{
		{"inventory", "suggest", "--vendor", "genesys-pureconnect"},
		{"inventory", "diff", "../../testdata/demo-site.yaml"},
	} {
		want, _, code := runCLI(t, append(slices.Clone(args), demo)...)
		if code != 0 {
			t.Fatalf("%v on the demo: exit %d", args, code)
		}
		got, stderr, code := runCLI(t, append(slices.Clone(args), demo, bad)...)
		if code != 0 {
			t.Errorf("%v with a damaged capture: exit %d: %s", args, code, stderr)
		}
		if got != want {
			t.Errorf("%v: the damaged capture changed the result:\n%s\nwant\n%s", args, got, want)
		}
		if !strings.Contains(stderr, "auditor inventory: warning: damaged or unreadable input, using the flows that could be read: "+bad) {
			t.Errorf("%v: stderr does not name the damaged file: %q", args, stderr)
		}
	}
	// Nothing readable at all is still an error.
	if _, stderr, code := runCLI(t, "inventory", "suggest", bad); code != 1 {
		t.Errorf("only a damaged capture: exit %d, want 1: %s", code, stderr)
	}
}

// diff on the demo: the inventory's switched-off backup CIC server and the
// IPv6 twins are never seen, the carrier's media gateway never serves a
// SIP gateway's ports; nothing the traffic shows is missing from the
// inventory.
func TestInventoryDiffDemo(t *testing.T) {
	stdout, stderr, code := runCLI(t, "inventory", "diff", "--json", "../../testdata/demo-site.yaml", "../../testdata/demo.pcapng")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := make(map[string]bool)
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var c suggest.Contradiction
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		got[c.Kind+" "+c.Host+" "+c.Role] = true
	}
	for _, want := range []string{
		"not-seen 10.10.1.11 ",
		"never-serves 203.0.113.20 genesys-pureconnect/sip-gateway",
	} {
		if !got[want] {
			t.Errorf("missing %q in\n%s", want, stdout)
		}
	}
	// Every host the traffic shows in a role is in the inventory, in that
	// role, except where the demo stages a host using another vendor's
	// flows (an agent PC of one vendor opening the other's Session
	// Manager): listed under the same role name of another vendor.
	inv, err := catalog.LoadInventory("../../testdata/demo-site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for k := range got {
		f := strings.Fields(k)
		switch f[0] {
		case suggest.UnlistedHost:
			t.Errorf("the demo inventory lists every host the traffic shows in a role, yet %q", k)
		case suggest.NotListed:
			_, bare := catalog.SplitRole(f[2])
			crossVendor := false
			for _, key := range inv.RolesOf(netip.MustParseAddr(f[1])) {
				if _, b := catalog.SplitRole(key); b == bare {
					crossVendor = true
				}
			}
			if !crossVendor {
				t.Errorf("the demo inventory lists every role the traffic shows, yet %q", k)
			}
		}
	}
	// A wrong inventory: the CIC server listed as the SQL server.
	bad := strings.Replace(readFile(t, "../../testdata/demo-site.yaml"), "sql-server: [10.10.1.5]", "sql-server: [10.10.1.10]", 1)
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte(bad), 0o644)
	stdout, _, code = runCLI(t, "inventory", "diff", path, "../../testdata/demo.pcapng")
	if code != 0 || !strings.Contains(stdout, "unlisted-host  10.10.1.5 genesys-pureconnect/sql-server") {
		t.Errorf("exit %d, want the real SQL server reported unlisted:\n%s", code, stdout)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInventoryUsage(t *testing.T) {
	for _, args := range [][]string{
		{"inventory"},
		{"inventory", "nope"},
		{"inventory", "suggest"},
		{"inventory", "suggest", "--vendor", "no-such-vendor", "../../testdata/demo.pcapng"},
		{"inventory", "diff", "../../testdata/demo-site.yaml"},
		{"catalog", "rules"},
		{"catalog", "rules", "--site", "../../testdata/demo-site.yaml", "--format", "pdf"},
		{"catalog", "rules", "--site", "../../testdata/demo-site.yaml", "--policy", "reject"},
	} {
		if _, _, code := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestCatalogRulesCLI(t *testing.T) {
	stdout, stderr, code := runCLI(t, "catalog", "rules", "--site", "../../testdata/demo-site.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "source,destination,protocol,ports,direction,justification\n") {
		t.Errorf("csv header: %q", stdout[:80])
	}
	if !strings.Contains(stdout, "genesys-pureconnect/session-manager: Session Manager") || !strings.Contains(stdout, "site/dns") {
		t.Errorf("csv lacks the session manager or the site's dns rule")
	}
	stdout, _, code = runCLI(t, "catalog", "rules", "--site", "../../testdata/demo-site.yaml", "--vendor", "genesys-pureconnect", "--format", "nft", "--policy", "drop")
	if code != 0 || !strings.Contains(stdout, "policy drop;") || !strings.Contains(stdout, "table inet auditor_rules") {
		t.Errorf("nft: exit %d\n%s", code, stdout)
	}
}

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
	"github.com/ccaudit/auditor/internal/sitegen"
	"github.com/ccaudit/auditor/report/suggest"
)

// genSite generates the capture of an example site into a temporary file.
func genSite(t *testing.T, cat *catalog.Catalog, site string, seed uint64) (*catalog.Inventory, string, *sitegen.Truth) {
	t.Helper()
	inv, err := catalog.LoadInventory(site)
	if err != nil {
		t.Fatal(err)
	}
	pcap := filepath.Join(t.TempDir(), inv.Site+".pcapng")
	truth, err := sitegen.WriteFile(pcap, cat, inv, sitegen.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return inv, pcap, truth
}

// genScore is precision and recall of suggested (host, role) pairs
// against the generator's truth.
type genScore struct {
	precision, recall float64
	suggested, shown  int
	assigned          int
	misses            []string
}

// scoreTruth: a suggested pair is right when the generator gave the host
// the role, or the catalog implies it from one it gave; a pair of the
// truth counts toward recall when the traffic shows the role (the host
// served, or for a client role opened, a distinctive port of one of the
// role's entries: an.Shows).
func scoreTruth(an *suggest.Analyzer, rep *suggest.Report, truth *sitegen.Truth) genScore {
	var s genScore
	got := make(map[string]bool)
	good := 0
	for _, h := range rep.Hosts {
		th, _ := truth.Host(h.Addr)
		for _, g := range h.Roles {
			got[h.Addr.String()+" "+g.Role] = true
			s.suggested++
			if slices.Contains(th.Roles, g.Role) || slices.Contains(th.Implied, g.Role) {
				good++
			} else {
				what := th.Noise
				if what == "" {
					what = strings.Join(th.Roles, ",")
				}
				s.misses = append(s.misses, "wrong: "+h.Addr.String()+" "+g.Role+" (is "+what+")")
			}
		}
	}
	found := 0
	for _, h := range truth.Hosts {
		for _, r := range h.Roles {
			s.assigned++
			if !an.Shows(h.Addr, r) {
				continue
			}
			s.shown++
			if got[h.Addr.String()+" "+r] {
				found++
			} else {
				s.misses = append(s.misses, "missed: "+h.Addr.String()+" "+r)
			}
		}
	}
	s.precision = float64(good) / float64(max(s.suggested, 1))
	s.recall = float64(found) / float64(max(s.shown, 1))
	return s
}

// Suggestion on a generated capture of each vendor's example site,
// replayed through the same path as `auditor inventory suggest CAPTURE`,
// recovers the roles the generator assigned: precision and recall at least
// 90% each over the roles whose ports the traffic shows; the hosts that are
// no contact-center equipment get no role.
func TestInventorySuggestGeneratedSites(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../../catalog/rules/testdata/sites/*.yaml")
	if err != nil || len(files) != 5 {
		t.Fatalf("example sites: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			inv, pcap, truth := genSite(t, cat, f, 22)
			// The command's own path: the capture replayed, every vendor
			// of the catalog tried.
			stdout, stderr, code := runCLI(t, "inventory", "suggest", "--json", pcap)
			if code != 0 {
				t.Fatalf("suggest: exit %d: %s", code, stderr)
			}
			var rep suggest.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatal(err)
			}
			// The same flows, read back for the evidence of what the
			// traffic shows.
			an, err := suggest.New(suggest.Config{Catalog: cat})
			if err != nil {
				t.Fatal(err)
			}
			out := replayTo(t, pcap)
			if _, err := suggest.ReadParquet(an, []string{filepath.Join(out, "flows.parquet")}); err != nil {
				t.Fatal(err)
			}
			sc := scoreTruth(an, &rep, truth)
			t.Logf("%s (%s): %d packets, %d flows, %d hosts; precision %.2f (%d suggested) recall %.2f (%d shown of %d assigned)",
				inv.Vendors[0], inv.Site, truth.Packets, truth.Flows, len(truth.Hosts), sc.precision, sc.suggested, sc.recall, sc.shown, sc.assigned)
			if sc.precision < 0.9 || sc.recall < 0.9 || sc.shown == 0 {
				t.Errorf("precision %.2f recall %.2f over %d shown, want >= 0.90 each:\n%s", sc.precision, sc.recall, sc.shown, strings.Join(sc.misses, "\n"))
			} else if len(sc.misses) > 0 {
				t.Logf("misses:\n%s", strings.Join(sc.misses, "\n"))
			}
			if !slices.Equal(rep.Vendors, inv.Vendors) {
				t.Errorf("vendors suggested %v, want %v", rep.Vendors, inv.Vendors)
			}
			for _, h := range truth.Hosts {
				if h.Noise == "" {
					continue
				}
				for _, s := range rep.Hosts {
					if s.Addr == h.Addr {
						t.Errorf("%s, a %s, suggested as %+v", h.Addr, h.Noise, s.Roles)
					}
				}
			}
		})
	}
}

// inventory diff on a generated Genesys capture: the inventory the capture
// was generated from gives no contradiction; one with a host moved to
// another role gives the contradictions the move implies.
func TestInventoryDiffGeneratedSite(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	const site = "../../catalog/rules/testdata/sites/genesys-pureconnect.yaml"
	_, pcap, truth := genSite(t, cat, site, 22)
	for _, a := range []string{"10.20.1.21", "10.20.1.30", "10.20.1.40"} {
		if _, ok := truth.Host(netip.MustParseAddr(a)); !ok {
			t.Fatalf("the generated capture has no traffic of %s", a)
		}
	}
	stdout, stderr, code := runCLI(t, "inventory", "diff", site, pcap)
	if code != 0 || !strings.HasPrefix(stdout, "no contradiction") {
		t.Errorf("the generating inventory: exit %d, %s\n%s", code, stderr, stdout)
	}
	orig := readFile(t, site)
	tests := []struct {
		name     string
		from, to []string // replacements in the inventory
		want     []string // kind host role
	}{
		{"media server listed as a CIC server",
			[]string{"cic-server: [10.20.1.10, 10.20.1.11]", "media-server: [10.20.1.20, 10.20.1.21]"},
			[]string{"cic-server: [10.20.1.10, 10.20.1.11, 10.20.1.21]", "media-server: [10.20.1.20]"},
			[]string{"not-listed 10.20.1.21 genesys-pureconnect/media-server"}},
		{"SIP proxy and file server swapped",
			[]string{"sip-proxy: [10.20.1.30]", "file-server: [10.20.1.40]"},
			[]string{"sip-proxy: [10.20.1.40]", "file-server: [10.20.1.30]"},
			[]string{
				"never-serves 10.20.1.30 genesys-pureconnect/file-server",
				"never-serves 10.20.1.40 genesys-pureconnect/sip-proxy",
				"not-listed 10.20.1.30 genesys-pureconnect/sip-proxy",
				"not-listed 10.20.1.40 genesys-pureconnect/file-server",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := orig
			for i := range tt.from {
				if !strings.Contains(bad, tt.from[i]) {
					t.Fatalf("%q not in %s", tt.from[i], site)
				}
				bad = strings.Replace(bad, tt.from[i], tt.to[i], 1)
			}
			path := filepath.Join(t.TempDir(), "wrong.yaml")
			if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := runCLI(t, "inventory", "diff", "--json", path, pcap)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
				var c suggest.Contradiction
				if err := json.Unmarshal([]byte(line), &c); err != nil {
					t.Fatalf("%v: %q", err, line)
				}
				got = append(got, c.Kind+" "+c.Host+" "+c.Role)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("contradictions\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

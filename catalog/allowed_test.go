package catalog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const allowedGolden = "testdata/allowed.golden"

// allowedPairs lists every role pair each entry of c allows, one line per
// (vendor, entry, from-role, to-role, transport, ports, direction), sorted.
// A one-way entry allows its From roles to open to its To roles ("->"); a
// both-ways entry allows either side to open ("<->"), so its pair is written
// once with the two roles in name order.
func allowedPairs(c *Catalog) []string {
	seen := make(map[string]bool)
	var out []string
	for _, e := range c.Entries() {
		ports := e.Ports.String()
		if e.Area != nil {
			ports += " (area " + e.Area.First.Name + "," + e.Area.Count.Name + ")"
		}
		if e.Transport == ICMP {
			ports = "-"
		}
		if !e.FromPorts.IsZero() {
			ports += " from_ports=" + e.FromPorts.String()
		}
		for _, from := range e.From {
			for _, to := range e.To {
				a, arrow, b := from, "->", to
				if e.Direction == BothWays {
					arrow = "<->"
					if b < a {
						a, b = b, a
					}
				}
				line := fmt.Sprintf("%s\t%s\t%s %s %s\t%s\t%s\t%s",
					e.Vendor, strings.TrimPrefix(e.ID, e.Vendor+"/"), a, arrow, b, e.Transport, ports, e.Direction)
				if !seen[line] {
					seen[line] = true
					out = append(out, line)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// Every flow the built-in catalog allows is listed in testdata/allowed.golden,
// reviewed against the vendor documents (docs/catalog-review.md). A change to
// an entry's roles, direction, transport or ports changes the list, so a
// widening shows up in review as added lines. go test ./catalog -run
// TestAllowedPairs -update rewrites the file.
func TestAllowedPairs(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString("# vendor\tentry\tfrom -> to (<-> either side opens)\ttransport\tports\tdirection\n")
	for _, l := range allowedPairs(c) {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	got := buf.Bytes()
	if *update {
		if err := os.MkdirAll(filepath.Dir(allowedGolden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(allowedGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(allowedGolden)
	if err != nil {
		t.Fatalf("%v; run go test ./catalog -run TestAllowedPairs -update", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	var msg strings.Builder
	for _, l := range gl {
		if !slices.Contains(wl, l) {
			fmt.Fprintf(&msg, "+ %s (allowed now, not in %s)\n", l, allowedGolden)
		}
	}
	for _, l := range wl {
		if !slices.Contains(gl, l) {
			fmt.Fprintf(&msg, "- %s (in %s, no longer allowed)\n", l, allowedGolden)
		}
	}
	t.Fatalf("the catalog allows other flows than %s; review against the documents, then rerun with -update:\n%s", allowedGolden, msg.String())
}

// The listing itself: a both-ways entry is one symmetric pair, a one-way
// entry keeps its order, and every From x To combination appears.
func TestAllowedPairsShape(t *testing.T) {
	c := New()
	c.addVendor(&Vendor{ID: "v"})
	c.addEntry(&Entry{ID: "v/one", Vendor: "v", From: Roles{"b", "a"}, To: Roles{"c"}, Direction: OneWay, Transport: TCP, Ports: Ports(80)})
	c.addEntry(&Entry{ID: "v/two", Vendor: "v", From: Roles{"z"}, To: Roles{"a", "z"}, Direction: BothWays, Transport: UDP, Ports: Ports(5060)})
	got := allowedPairs(c)
	want := []string{
		"v\tone\ta -> c\ttcp\t80\tone-way",
		"v\tone\tb -> c\ttcp\t80\tone-way",
		"v\ttwo\ta <-> z\tudp\t5060\tboth",
		"v\ttwo\tz <-> z\tudp\t5060\tboth",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("allowedPairs:\n got %q\nwant %q", got, want)
	}
}

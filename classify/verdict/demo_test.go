package verdict_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/verdict"
)

var update = flag.Bool("update", false, "rewrite testdata/demo-findings.golden")

const (
	demoCapture = "../../testdata/demo.pcapng"
	demoSite    = "../../testdata/demo-site.yaml"
)

// replayDemo runs the demo capture through the pipeline and the verdict
// engine, as auditor replay --site does.
// expect nil uses the inventory's expect list.
func replayDemo(t *testing.T, expect []string) *verdict.Findings {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := catalog.LoadInventory(demoSite)
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Check(cat); err != nil {
		t.Fatal(err)
	}
	if expect == nil {
		expect = inv.Expect
	}
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv, Expect: expect})
	if err != nil {
		t.Fatal(err)
	}
	fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
	src, err := source.Open([]string{demoCapture}, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var r verdict.Result
	pipe, err := capture.New(capture.Config{Table: flow.DefaultConfig(), OnFlow: func(f *flow.Flow) {
		cl.Classify(f, &r)
		fs.Observe(f, &r)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pipe.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	fs.Finish(0)
	return fs
}

func formatFindings(fs *verdict.Findings) string {
	var b strings.Builder
	c := fs.Counts()
	for v := verdict.Verdict(0); v < verdict.NumVerdicts; v++ {
		fmt.Fprintf(&b, "%s=%d ", v, c[v])
	}
	b.WriteString("\n")
	for _, g := range fs.All() {
		where := fmt.Sprintf("%s %v -> %v:%d", flow.ProtoName(g.Proto), g.Src, g.Dst, g.DstPort)
		if !g.Dst.IsValid() {
			where = g.Ports + " " + strings.Join(g.HostPairs, "; ")
		}
		fmt.Fprintf(&b, "%-6s %-15s x%d %s [%s] %s -> %s: %s\n", g.Severity, g.Kind, g.Count, where, g.EntryID, g.FromRole, g.ToRole, g.Reason)
	}
	return b.String()
}

// TestDemoGolden is the README quick start: the demo capture against the
// demo inventory.
func TestDemoGolden(t *testing.T) {
	got := formatFindings(replayDemo(t, nil))
	golden := filepath.Join("testdata", "demo-findings.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./classify/verdict -run TestDemoGolden -update)", err)
	}
	if got != string(want) {
		t.Errorf("findings differ from %s (rerun with -update if intended):\n%s", golden, got)
	}
}

// TestDemoProblems checks the demo's intentional problems, whatever the
// golden file says.
func TestDemoProblems(t *testing.T) {
	fs := replayDemo(t, nil)
	byKind := map[verdict.Kind][]verdict.Finding{}
	for _, g := range fs.All() {
		byKind[g.Kind] = append(byKind[g.Kind], g)
	}
	// The telnet session, and a Sinch agent PC opening the Genesys Session
	// Manager: roles are scoped to their vendor.
	var unexpected []string
	for _, g := range byKind[verdict.KindUnexpected] {
		unexpected = append(unexpected, fmt.Sprintf("%d %s %s->%s %s", g.DstPort, g.Vendor, g.FromRole, g.ToRole, g.EntryID))
	}
	slices.Sort(unexpected)
	if want := []string{
		"23  genesys-pureconnect/workstation->ip-phone ",
		"3952 genesys-pureconnect sinch-contact-center/workstation->cic-server genesys-pureconnect/session-manager",
	}; !slices.Equal(unexpected, want) {
		t.Errorf("unexpected findings %q, want %q", unexpected, want)
	}
	blocked := map[string]bool{}
	for _, g := range byKind[verdict.KindBlocked] {
		blocked[fmt.Sprintf("%s %v:%d %s", flow.ProtoName(g.Proto), g.Dst, g.DstPort, g.EntryID)] = true
	}
	for _, want := range []string{
		"tcp 10.10.1.11:3952 genesys-pureconnect/session-manager", // SYN never answered
		"tcp 10.10.1.5:1433 genesys-pureconnect/mssql",            // SYN answered by RST
		"udp 10.10.3.210:5060 genesys-pureconnect/sip",            // ICMP port unreachable
	} {
		if !blocked[want] {
			t.Errorf("no blocked finding %s; have %v", want, blocked)
		}
	}
	if len(blocked) != 3 {
		t.Errorf("blocked %v, want 3", blocked)
	}
	// The backup CIC server stands by: it is missing nothing but the
	// switchover with its primary, which the capture never shows.
	switchover := false
	for _, g := range byKind[verdict.KindMissing] {
		if g.EntryID == "genesys-pureconnect/cic-switchover" {
			switchover = slices.Equal(g.HostPairs, []string{"10.10.1.10 & 2001:db8:10:1::10 <-> any peer", "10.10.1.11 <-> any peer"})
			continue
		}
		for _, p := range g.HostPairs {
			if strings.Contains(p, "10.10.1.11 ") || strings.HasSuffix(p, "10.10.1.11") {
				t.Errorf("%s: pair %q with the standby host", g.EntryID, p)
			}
		}
	}
	if !switchover {
		t.Errorf("missing %+v, want the CIC switchover between the primary and its standby", byKind[verdict.KindMissing])
	}
	if len(byKind[verdict.KindWrongDirection]) != 0 {
		t.Errorf("wrong-direction findings %+v", byKind[verdict.KindWrongDirection])
	}
}

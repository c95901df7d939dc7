package verdict_test

import (
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
)

// mixedFlows covers every path of Classify: expected by port and roles,
// reply-first UDP, cloud, wrong direction, unknown hosts, blocked, ignored,
// ICMP and negotiated media.
func mixedFlows(t testing.TB) []*flow.Flow {
	return []*flow.Flow{
		play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshake),
		play(t, udp, "10.3.0.7:5060", "10.0.0.10:5060", exchange),
		play(t, udp, "10.3.0.7:40000", "10.0.0.10:16500", exchange),
		play(t, udp, "10.0.0.10:6235", "10.1.0.5:50000", exchange),
		withMeta(play(t, tcp, "10.0.0.10:50000", "198.51.100.9:443", handshake), flow.Meta{SNI: "eu.acme.cloud"}),
		play(t, tcp, "10.0.0.10:50000", "10.1.0.5:7597", handshake),
		play(t, tcp, "10.9.9.9:50000", "10.0.0.10:7597", handshake),
		play(t, tcp, "10.0.0.10:50000", "10.0.0.20:1433", []pkt{{true, syn, 0}, {false, rstack, 0}}),
		play(t, tcp, "10.1.0.5:50000", "10.0.0.20:3389", handshake),
		play(t, tcp, "10.1.0.5:50000", "10.3.0.7:23", handshake),
		icmp(t, "10.0.0.50", "10.0.0.10", 8, 0, true),
		play(t, udp, "10.3.0.7:40000", "203.0.113.1:30000", exchange),
	}
}

func benchClassifier(t testing.TB, withInventory bool) *verdict.Classifier {
	cat := loadTestCatalog(t)
	cfg := verdict.Config{Catalog: cat, Media: fakeMedia{30000}}
	if withInventory {
		cfg.Inventory = loadTestInventory(t, cat)
	}
	cl, err := verdict.NewClassifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func TestClassifyAllocs(t *testing.T) {
	for _, inv := range []bool{true, false} {
		cl := benchClassifier(t, inv)
		fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
		flows := mixedFlows(t)
		var r verdict.Result
		for _, f := range flows { // warm up: scratch, role cache, finding keys
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
			t.Errorf("inventory=%v: %.1f allocations per %d flows, want 0", inv, allocs, len(flows))
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	for _, bc := range []struct {
		name string
		inv  bool
	}{{"inventory", true}, {"port-only", false}} {
		b.Run(bc.name, func(b *testing.B) {
			cl := benchClassifier(b, bc.inv)
			flows := mixedFlows(b)
			classifyLoop(b, cl, flows)
		})
	}
}

// BenchmarkClassifyGenesys measures the real catalog: the five embedded
// vendors, the largest index the auditor builds.
func BenchmarkClassifyGenesys(b *testing.B) {
	cl, inv := genesysClassifier(b)
	_ = inv
	flows := []*flow.Flow{
		play(b, tcp, "10.20.1.5:50000", "10.1.0.10:7597", handshake),
		play(b, udp, "10.30.0.7:5060", "10.1.0.10:5060", exchange),
		play(b, tcp, "10.20.1.5:50000", "10.1.0.10:23", handshake),
	}
	classifyLoop(b, cl, flows)
}

// BenchmarkObserve measures accounting judged flows into the window's
// findings, as every ended flow is.
func BenchmarkObserve(b *testing.B) {
	cl := benchClassifier(b, false)
	fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
	flows := mixedFlows(b)
	rs := make([]verdict.Result, len(flows))
	for i, f := range flows {
		cl.Classify(f, &rs[i])
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		fs.Observe(flows[i%len(flows)], &rs[i%len(flows)])
	}
}

// classifyLoop classifies flows in turn for the benchmark's iterations,
// reporting flows/s.
func classifyLoop(b *testing.B, cl *verdict.Classifier, flows []*flow.Flow) {
	var r verdict.Result
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		cl.Classify(flows[i%len(flows)], &r)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}

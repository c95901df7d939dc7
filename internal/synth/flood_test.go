package synth

import (
	"io"
	"net/netip"
	"slices"
	"testing"
)

func TestSYNFloodIsOptIn(t *testing.T) {
	if slices.Contains(Scenarios(), SYNFlood) || !slices.Contains(OptInScenarios(), SYNFlood) {
		t.Fatalf("Scenarios() = %v, OptInScenarios() = %v", Scenarios(), OptInScenarios())
	}
	if s, err := ParseScenario("syn-flood"); err != nil || s != SYNFlood {
		t.Errorf("ParseScenario(syn-flood) = %q, %v", s, err)
	}
	st, err := Generate(io.Discard, Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Instances[SYNFlood]; n != 0 {
		t.Errorf("default mix has %d syn-flood instances", n)
	}
}

// TestSYNFloodScales checks that a flood scaled to a packet count keeps
// every SYN's source distinct across overlapping bursts, so each SYN is a
// flow of its own.
func TestSYNFloodScales(t *testing.T) {
	pkts, st := generate(t, Options{Seed: 5, Packets: 20_000, Scenarios: []Scenario{SYNFlood}})
	if st.Instances[SYNFlood] != 20 || st.Packets != 20_000 {
		t.Fatalf("%d instances, %d packets", st.Instances[SYNFlood], st.Packets)
	}
	sources := map[netip.AddrPort]bool{}
	for _, p := range pkts {
		sources[netip.AddrPortFrom(p.src, p.sport)] = true
	}
	if len(sources) != st.Packets || st.Flows["tcp"] != st.Packets {
		t.Errorf("%d distinct sources, %d flows for %d SYNs", len(sources), st.Flows["tcp"], st.Packets)
	}
}

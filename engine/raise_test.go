package engine

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ccaudit/auditor/classify/verdict"
)

// What a window's end raises: flow findings never (they were raised as the
// flow ended), a missing entry unless the last complete window missed it
// already, a DNS failure only when its name failed again, other window
// findings always.
func TestWindowRaises(t *testing.T) {
	missing := verdict.Finding{Kind: verdict.KindMissing, EntryID: "v/e", Ports: "5597/tcp", HostPairs: []string{"a -> b"}}
	otherMissing := missing
	otherMissing.EntryID = "v/f"
	flowFinding := verdict.Finding{Kind: verdict.KindBlocked, Dst: netip.MustParseAddr("10.0.0.2")}
	dns := func(name string, n uint64) verdict.Finding {
		return verdict.Finding{Kind: verdict.KindDNSFailure, ServerName: name, Count: n}
	}
	unobservable := verdict.Finding{Kind: verdict.KindUnobservable, EntryID: "v/g"}
	known := map[string]bool{missingKey(&missing): true}
	alerted := map[string]uint64{}

	// The first window: "a" failed twice, "b" once.
	got := windowRaises([]verdict.Finding{flowFinding, missing, otherMissing, dns("a.example", 2), dns("b.example", 1), unobservable}, known, alerted)
	if want := []bool{false, false, true, true, true, true}; !slices.Equal(got, want) {
		t.Errorf("first window raises %v, want %v", got, want)
	}
	// The next: the cumulative counts list "a" again with no new failure,
	// "b" with a new one.
	got = windowRaises([]verdict.Finding{dns("a.example", 2), dns("b.example", 3)}, nil, alerted)
	if want := []bool{false, true}; !slices.Equal(got, want) {
		t.Errorf("second window raises %v, want %v", got, want)
	}
}

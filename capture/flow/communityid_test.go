package flow

import (
	"net/netip"
	"testing"
)

// TestCommunityIDAllocs keeps Community ID at one allocation, the string:
// every flow written to Parquet computes one.
func TestCommunityIDAllocs(t *testing.T) {
	src, dst := netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("[2001:db8::2]:5060")
	if n := testing.AllocsPerRun(100, func() { _ = CommunityID(ProtoUDP, src, dst, 0) }); n > 1 {
		t.Errorf("CommunityID: %.1f allocations, want 1", n)
	}
}

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

// TestAppendCommunityIDAllocs keeps AppendCommunityID free of allocations
// when the buffer has room, and its text that of CommunityID.
func TestAppendCommunityIDAllocs(t *testing.T) {
	src, dst := netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("[2001:db8::2]:5060")
	buf := make([]byte, 0, 2*CommunityIDLen)
	if n := testing.AllocsPerRun(100, func() { buf = AppendCommunityID(buf[:0], ProtoUDP, src, dst, 0) }); n > 0 {
		t.Errorf("AppendCommunityID: %.1f allocations, want 0", n)
	}
	buf = AppendCommunityID(append(buf[:0], 'x'), ProtoUDP, src, dst, 0)
	if want := CommunityID(ProtoUDP, src, dst, 0); string(buf) != "x"+want || len(want) != CommunityIDLen {
		t.Errorf("AppendCommunityID appended %q, want %q (%d bytes)", buf, want, CommunityIDLen)
	}
}

func BenchmarkCommunityID(b *testing.B) {
	src, dst := netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5060")
	buf := make([]byte, 0, CommunityIDLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendCommunityID(buf[:0], ProtoUDP, src, dst, 0)
	}
}

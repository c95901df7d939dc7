package catalog

import (
	"slices"
	"testing"
)

// A range wider than half the port space is broad: 32768 ports are
// still narrow, 32769 are not.
func TestBroadPorts(t *testing.T) {
	for _, tc := range []struct {
		r     PortRange
		broad bool
	}{
		{PortRange{Lo: 5060, Hi: 5060}, false},
		{PortRange{Lo: 16384, Hi: 32767}, false},
		{PortRange{Lo: 0, Hi: 32767}, false},
		{PortRange{Lo: 32768, Hi: 65535}, false},
		{PortRange{Lo: 0, Hi: 32768}, true},
		{PortRange{Lo: 32767, Hi: 65535}, true},
		{PortRange{Lo: 1025, Hi: 65535}, true},
		{PortRange{Lo: 0, Hi: 65535}, true},
	} {
		if got := tc.r.Broad(); got != tc.broad {
			t.Errorf("%v (%d ports): broad %v, want %v", tc.r, int(tc.r.Hi)-int(tc.r.Lo)+1, got, tc.broad)
		}
	}
	s := PortSet{Dynamic: true, Unspecified: true, Ranges: []PortRange{{Lo: 1025, Hi: 65535}, {Lo: 16384, Hi: 32767, Parity: EvenPorts}, {Lo: 0, Hi: 65535}}}
	n := s.Narrow()
	if !n.Dynamic || !n.Unspecified || !slices.Equal(n.Ranges, []PortRange{{Lo: 16384, Hi: 32767, Parity: EvenPorts}}) {
		t.Errorf("Narrow(%v) = %+v", s, n)
	}
	if len(s.Ranges) != 3 {
		t.Errorf("Narrow changed its receiver: %v", s)
	}
}

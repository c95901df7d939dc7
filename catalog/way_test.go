package catalog

import "testing"

// The one direction rule: forward wins, the reverse is backward on a
// both-way entry and the wrong way on a one-way one; only forward and
// backward are allowed.
func TestDirectionFit(t *testing.T) {
	for _, tc := range []struct {
		d                Direction
		forward, reverse bool
		want             Way
		allowed          bool
	}{
		{OneWay, true, false, Forward, true},
		{OneWay, true, true, Forward, true},
		{OneWay, false, true, WrongWay, false},
		{OneWay, false, false, NoWay, false},
		{BothWays, true, false, Forward, true},
		{BothWays, true, true, Forward, true},
		{BothWays, false, true, Backward, true},
		{BothWays, false, false, NoWay, false},
	} {
		w := tc.d.Fit(tc.forward, tc.reverse)
		if w != tc.want || w.Allowed() != tc.allowed {
			t.Errorf("%v.Fit(%v, %v) = %d (allowed %v), want %d (allowed %v)", tc.d, tc.forward, tc.reverse, w, w.Allowed(), tc.want, tc.allowed)
		}
	}
}

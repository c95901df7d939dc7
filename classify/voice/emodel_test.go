package voice

import (
	"math"
	"testing"
	"time"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f (±%g)", what, got, want, tol)
	}
}

// The E-model's published reference point: with every parameter at its
// G.107 default, G.711 rates R = 93.2 and MOS 4.41.
func TestReferenceConnection(t *testing.T) {
	r := Rate(Conditions{Codec: CodecByName("PCMA")})
	near(t, "R", r.R, 93.2, 0.05)
	near(t, "MOS", r.MOS, 4.41, 0.005)
}

// r0 is the default connection's R before any codec, loss or delay
// impairment; the cases below subtract their impairment worked by hand.
func r0(t *testing.T) float64 {
	ro, is, no := basicRatings(0)
	return ro - is - delayImpairment(ro, no, 0, 0, 0)
}

func TestLossAndCodecImpairment(t *testing.T) {
	base := r0(t)
	tests := []struct {
		name string
		c    Conditions
		ie   float64 // Ie,eff worked by hand with G.107 eq. 7-29
	}{
		// 95 * 2 / (2/1 + 25.1)
		{"G.711 2% random loss", Conditions{Codec: CodecByName("PCMU"), LossPercent: 2}, 7.0111},
		// 95 * 2 / (2/2 + 25.1): bursty loss hurts more
		{"G.711 2% loss, BurstR 2", Conditions{Codec: CodecByName("PCMU"), LossPercent: 2, BurstR: 2}, 7.2797},
		// BurstR below 1 counts as random loss
		{"G.711 2% loss, BurstR 0.5", Conditions{Codec: CodecByName("PCMU"), LossPercent: 2, BurstR: 0.5}, 7.0111},
		// G.729A: Ie 11, no loss
		{"G.729 clean", Conditions{Codec: CodecByName("g729")}, 11},
		// 11 + (95-11) * 5 / (5 + 19)
		{"G.729 5% loss", Conditions{Codec: CodecByName("G729"), LossPercent: 5}, 11 + 84*5/24.0},
		// Wideband rated with Ie 0 and Bpl 25.1: 95 * 1 / (1 + 25.1)
		{"G.722 1% loss", Conditions{Codec: CodecByName("G722"), LossPercent: 1}, 95 / 26.1},
		{"Opus 1% loss", Conditions{Codec: CodecByName("opus"), LossPercent: 1}, 95 / 26.1},
		// iLBC: G.729A's constants, 11 + 84 * 3 / (3 + 19)
		{"iLBC 3% loss", Conditions{Codec: CodecByName("iLBC"), LossPercent: 3}, 11 + 84*3/22.0},
		// Everything lost: Ie,eff reaches 95
		{"G.711 100% loss", Conditions{Codec: CodecByName("PCMU"), LossPercent: 100}, 95 * 100 / 125.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Rate(tt.c)
			want := math.Max(0, base-tt.ie)
			near(t, "R", r.R, want, 0.001)
			near(t, "MOS", r.MOS, MOS(want), 0.0001)
		})
	}
}

func TestMOSCurve(t *testing.T) {
	for _, tt := range []struct{ r, mos float64 }{
		{-5, 1}, {0, 1}, {100, 4.5}, {120, 4.5},
		{50, 2.575},    // 1 + 1.75 + 50*(-10)*50*7e-6
		{60, 3.1},      // 1 + 2.1 + 0
		{80, 4.024},    // 1 + 2.8 + 80*20*20*7e-6
		{93.2, 4.4094}, // 1 + 3.262 + 93.2*33.2*6.8*7e-6
	} {
		near(t, "MOS", MOS(tt.r), tt.mos, 0.0005)
	}
}

func TestDelayImpairment(t *testing.T) {
	ro, _, no := basicRatings(0)
	// Idd is 0 up to mT = 100 ms and then, for Ta = 300 ms,
	// X = log2(3) = 1.585: 25 * ((1+X^6)^(1/6) - 3*(1+(X/3)^6)^(1/6) + 2).
	idd := delayImpairment(ro, no, 0, 300, 0) - delayImpairment(ro, no, 0, 0, 0)
	near(t, "Idd(300 ms)", idd, 14.7607, 0.001)
	if d := delayImpairment(ro, no, 0, 100, 0) - delayImpairment(ro, no, 0, 0, 0); d != 0 {
		t.Errorf("Idd(100 ms) = %v, want 0", d)
	}
	// Longer delay is always worse.
	prev := Rate(Conditions{Codec: CodecByName("PCMU")}).R
	for ms := 25; ms <= 600; ms += 25 {
		r := Rate(Conditions{Codec: CodecByName("PCMU"), OneWayDelay: time.Duration(ms) * time.Millisecond}).R
		if r > prev+1e-9 {
			t.Fatalf("R rose from %.3f to %.3f at %d ms", prev, r, ms)
		}
		prev = r
	}
	// The classic planning figure: about R 90 at 150 ms, MOS falls
	// below 3.8 around 300 ms.
	r150 := Rate(Conditions{Codec: CodecByName("PCMU"), OneWayDelay: 150 * time.Millisecond})
	near(t, "R(150 ms)", r150.R, 89.5, 0.5)
	r300 := Rate(Conditions{Codec: CodecByName("PCMU"), OneWayDelay: 300 * time.Millisecond})
	if r300.MOS >= 3.8 {
		t.Errorf("MOS(300 ms) = %.2f, want below 3.8", r300.MOS)
	}
}

func TestBurstR(t *testing.T) {
	tests := []struct {
		received, lost, bursts uint64
		want                   float64
	}{
		{100, 0, 0, 1},
		{0, 5, 1, 1},
		// singletons at 2%: p = 2/98, q = 1: 1/(p+q) < 1 counts as 1
		{98, 2, 2, 1},
		// two bursts of 5 in 90 arrivals: p = 2/90, q = 2/10, 1/(p+q) = 4.5
		{90, 10, 2, 4.5},
	}
	for _, tt := range tests {
		near(t, "BurstR", BurstR(tt.received, tt.lost, tt.bursts), tt.want, 1e-9)
	}
}

func TestCodecByName(t *testing.T) {
	if c := CodecByName("speex"); c.Known || c.Ie != 0 || c.Bpl != 25.1 {
		t.Errorf("unknown codec = %+v, want G.711's constants, not known", c)
	}
	if c := CodecByName("pcmu"); !c.Known || c.Name != "PCMU" || c.Wideband {
		t.Errorf("PCMU = %+v", c)
	}
	if c := CodecByName("G722"); !c.Wideband {
		t.Errorf("G722 = %+v, want wideband", c)
	}
}

package voice

import (
	"math"
	"time"
)

// Conditions are the measured inputs of one rating. The zero value
// (besides Codec) is a connection with no loss and no delay.
type Conditions struct {
	Codec Codec

	// LossPercent is the share of packets lost, 0 to 100 (Ppl in G.107).
	LossPercent float64

	// BurstR is G.107's burst ratio: 1 for random loss, above 1 when
	// losses come in bursts. Values below 1 (and 0, unset) count as 1.
	BurstR float64

	// OneWayDelay is the mouth-to-ear delay. It sets G.107's T, Ta and
	// Tr = 2T; 0 keeps G.107's defaults (no delay impairment).
	OneWayDelay time.Duration
}

// Rating is the E-model's result.
type Rating struct {
	R   float64 // transmission rating, clamped to 0..100
	MOS float64 // estimated conversational MOS, 1..4.5
}

// G.107 (06/2015) default values of the parameters a passive tap cannot
// measure, from its Table 1.
const (
	defSLR    = 8.0   // send loudness rating, dB
	defRLR    = 2.0   // receive loudness rating, dB
	defSTMR   = 15.0  // sidetone masking rating, dB
	defLSTR   = 18.0  // listener sidetone rating, dB
	defDs     = 3.0   // D-value of telephone, send side
	defTELR   = 65.0  // talker echo loudness rating, dB
	defWEPL   = 110.0 // weighted echo path loss, dB
	defQdu    = 1.0   // quantizing distortion units
	defNc     = -70.0 // circuit noise referred to the 0 dBr point, dBm0p
	defNfor   = -64.0 // noise floor at the receive side, dBmp
	defPs     = 35.0  // room noise at the send side, dB(A)
	defPr     = 35.0  // room noise at the receive side, dB(A)
	defMT     = 100.0 // Idd: minimum perceivable delay, ms
	defST     = 1.0   // Idd: delay sensitivity
	iePlLimit = 95.0  // the ceiling Ie,eff approaches as loss grows
)

// Rate computes R and MOS with G.107's formulas (clause 7 and Annex B).
func Rate(c Conditions) Rating {
	t := float64(c.OneWayDelay) / float64(time.Millisecond)
	if t < 0 {
		t = 0
	}
	ro, is, no := basicRatings(t)
	r := ro - is - delayImpairment(ro, no, t, t, 2*t) - c.effectiveIe()
	r = math.Max(0, math.Min(100, r))
	return Rating{R: r, MOS: MOS(r)}
}

// effectiveIe is G.107 equation (7-29): the codec impairment raised by
// packet loss, less for robust codecs (high Bpl), more for bursty loss.
func (c Conditions) effectiveIe() float64 {
	ppl := math.Max(0, math.Min(100, c.LossPercent))
	burst := c.BurstR
	if burst < 1 {
		burst = 1
	}
	ie, bpl := c.Codec.Ie, c.Codec.Bpl
	if ppl == 0 {
		return ie
	}
	return ie + (iePlLimit-ie)*ppl/(ppl/burst+bpl)
}

// MOS maps a rating to the estimated conversational MOS (G.107 Annex B,
// equation B-4).
func MOS(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	return 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
}

// basicRatings returns Ro (the basic signal-to-noise ratio), Is (the
// simultaneous impairments) and No (the total noise power) for G.107's
// default loudness, noise and sidetone values and the echo path delay t
// (ms), which enters through STMRo's talker-echo term.
func basicRatings(t float64) (ro, is, no float64) {
	olr := defSLR + defRLR
	nfo := defNfor + defRLR
	pre := defPr + 10*math.Log10(1+math.Pow(10, (10-defLSTR)/10))
	nor := defRLR - 121 + pre + 0.008*(pre-35)*(pre-35)
	nos := defPs - defSLR - defDs - 100 + 0.004*sq(defPs-olr-defDs-14)
	no = 10 * math.Log10(math.Pow(10, defNc/10)+math.Pow(10, nos/10)+math.Pow(10, nor/10)+math.Pow(10, nfo/10))
	ro = 15 - 1.5*(defSLR+no)

	xolr := olr + 0.2*(64+no-defRLR)
	iolr := 20 * (math.Pow(1+math.Pow(xolr/8, 8), 1.0/8) - xolr/8)
	stmro := -10 * math.Log10(math.Pow(10, -defSTMR/10)+math.Exp(-t/4)*math.Pow(10, -defTELR/10))
	ist := 12*math.Pow(1+math.Pow((stmro-13)/6, 8), 1.0/8) -
		28*math.Pow(1+math.Pow((stmro+1)/19.4, 35), 1.0/35) -
		13*math.Pow(1+math.Pow((stmro-3)/33, 13), 1.0/13) + 29
	q := 37 - 15*math.Log10(defQdu)
	g := 1.07 + 0.258*q + 0.0602*q*q
	y := (ro-100)/15 + 46/8.4 - g/9
	z := 46/30.0 - g/40
	iq := 15 * math.Log10(1+math.Pow(10, y)+math.Pow(10, z))
	return ro, iolr + ist + iq, no
}

// delayImpairment is G.107's Id = Idte + Idle + Idd for the mean one-way
// delay of the echo path T, the absolute delay Ta and the round trip of
// the listener echo Tr, all in ms.
func delayImpairment(ro, no, t, ta, tr float64) float64 {
	idte := 0.0
	// Below 1 ms the talker echo is perceived as sidetone (G.107 7.3).
	if t >= 1 {
		terv := defTELR - 40*math.Log10((1+t/10)/(1+t/150)) + 6*math.Exp(-0.3*t*t)
		roe := -1.5 * (no - defRLR)
		re := 80 + 2.5*(terv-14)
		idte = ((roe-re)/2 + math.Sqrt(sq(roe-re)/4+100) - 1) * (1 - math.Exp(-t))
	}
	rle := 10.5 * (defWEPL + 7) * math.Pow(tr+1, -0.25)
	idle := (ro-rle)/2 + math.Sqrt(sq(ro-rle)/4+169)
	idd := 0.0
	if ta > defMT {
		x := math.Log10(ta/defMT) / math.Log10(2)
		e := 6 * defST
		idd = 25 * (math.Pow(1+math.Pow(x, e), 1/e) - 3*math.Pow(1+math.Pow(x/3, e), 1/e) + 2)
	}
	return idte + idle + idd
}

func sq(x float64) float64 { return x * x }

// BurstR estimates G.107's burst ratio from a stream's loss pattern with
// the two-state Markov model of G.107 clause 7.5: p is the probability of
// losing a packet after one that arrived, q of receiving one after a
// loss, and BurstR = 1/(p+q). received counts the packets that arrived,
// lost those that did not, and bursts the runs of consecutive losses.
// It returns 1 when nothing was lost.
func BurstR(received, lost, bursts uint64) float64 {
	if lost == 0 || bursts == 0 || received == 0 {
		return 1
	}
	p := float64(bursts) / float64(received)
	q := float64(bursts) / float64(lost)
	b := 1 / (p + q)
	if b < 1 {
		return 1
	}
	return b
}

package sipcall

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/classify/voice"
)

// r0 is the E-model's rating of a clean G.711 connection with G.107's
// defaults; the cases subtract the loss impairment worked by hand.
var r0 = voice.Rate(voice.Conditions{Codec: voice.CodecByName("PCMU")}).R

// rtpPattern sends n packets of 20 ms PCMU from src to dst, skipping
// those for which lose returns true.
func (h *harness) rtpPattern(src, dst string, t0 int64, n int, ssrc uint32, lose func(i int) bool) {
	for i := range n {
		if lose != nil && lose(i) {
			continue
		}
		h.udp(src, dst, t0+int64(i)*20*ms, rtp(0, uint16(i), uint32(i*160), ssrc, 160))
	}
}

// qualityCall runs one answered PCMU call whose media media sends, and
// returns its record.
func qualityCall(t *testing.T, cfg Config, media func(h *harness, start int64)) *Call {
	t.Helper()
	h := newHarness(t, cfg)
	c := h.newCall("q-1")
	c.invite(t0, sdpBody("10.0.0.1", 4000))
	c.respond(t0+time.Second.Nanoseconds(), 200, sdpBody("10.0.0.2", 6000))
	c.ack(t0 + time.Second.Nanoseconds() + 5*ms)
	start := t0 + 2*time.Second.Nanoseconds()
	media(h, start)
	c.bye(start + 40*time.Second.Nanoseconds())
	h.finish()
	if len(h.calls) != 1 || len(h.calls[0].Media) != 1 {
		t.Fatalf("%d calls", len(h.calls))
	}
	return h.calls[0]
}

func closeTo(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f", what, got, want)
	}
}

func TestVoiceQuality(t *testing.T) {
	tests := []struct {
		name string
		lose func(i int) bool // caller -> callee losses; the other way is clean
		n    int
		// hand-worked: loss percent, BurstR, and the worst 10 s interval's loss
		loss, burst, worst float64
		poor               bool
	}{
		{name: "clean", n: 500, loss: 0, burst: 1, worst: 0},
		// every 25th packet from the 13th: 20 singletons of 500, 4%;
		// p = 20/480, q = 1: 1/(p+q) < 1 counts as random loss
		{name: "random 4%", n: 500, lose: func(i int) bool { return i%25 == 12 }, loss: 4, burst: 1, worst: 4},
		// 10 lost in every 50: 100 of 500 in 10 bursts; p = 10/400,
		// q = 10/100: BurstR = 1/(0.025+0.1) = 8
		{name: "bursty 20%", n: 500, lose: func(i int) bool { return i%50 >= 20 && i%50 < 30 }, loss: 20, burst: 8, worst: 20, poor: true},
		// 30 s: only the middle 10 s (packets 500..999: an interval
		// starts with its first packet) lose every 10th packet: 50 of 1500
		// overall, 50 of 500 in the worst interval
		{name: "one bad interval", n: 1500, lose: func(i int) bool { return i >= 500 && i < 1000 && i%10 == 5 }, loss: 100 * 50 / 1500.0, burst: 1, worst: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := qualityCall(t, Config{}, func(h *harness, start int64) {
				h.rtpPattern("10.0.0.1:4000", "10.0.0.2:6000", start, tt.n, 1, tt.lose)
				h.rtpPattern("10.0.0.2:6000", "10.0.0.1:4000", start, tt.n, 2, nil)
			})
			m := c.Media[0]
			q := m.CallerToCallee
			if !q.Rated || !m.CalleeToCaller.Rated {
				t.Fatalf("not rated: %+v", m)
			}
			closeTo(t, "loss %", q.LossPercent, tt.loss, 1e-9)
			closeTo(t, "BurstR", q.BurstR, tt.burst, 1e-9)
			ieEff := 95 * tt.loss / (tt.loss/tt.burst + 25.1) // G.107 eq. 7-29, G.711 with PLC
			want := voice.MOS(r0 - ieEff)
			closeTo(t, "MOS caller->callee", q.MOS, want, 1e-6)
			closeTo(t, "MOS callee->caller", m.CalleeToCaller.MOS, 4.4094, 5e-5)
			closeTo(t, "stream MOS", m.MOS, want, 1e-6)
			closeTo(t, "call MOS", c.MOS, want, 1e-6)
			closeTo(t, "call R", c.RFactor, r0-ieEff, 1e-6)
			closeTo(t, "worst interval loss", q.WorstLossPercent, tt.worst, 1e-9)
			if tt.worst > tt.loss && q.WorstMOS >= q.MOS {
				t.Errorf("worst interval MOS %.2f not below the stream's %.2f", q.WorstMOS, q.MOS)
			}
			if m.PoorQuality != tt.poor || hasFinding(c, FindingPoorVoiceQuality) != tt.poor {
				t.Errorf("poor %v (findings %v), want %v", m.PoorQuality, c.Findings, tt.poor)
			}
			if tt.poor && !strings.Contains(m.QualityReason, "BurstR 8.0") {
				t.Errorf("reason %q", m.QualityReason)
			}
		})
	}
}

func hasFinding(c *Call, f string) bool {
	for _, x := range c.Findings {
		if x == f {
			return true
		}
	}
	return false
}

func TestPoorMOSThreshold(t *testing.T) {
	lossy := func(h *harness, start int64) {
		h.rtpPattern("10.0.0.1:4000", "10.0.0.2:6000", start, 500, 1, func(i int) bool { return i%25 == 12 })
		h.rtpPattern("10.0.0.2:6000", "10.0.0.1:4000", start, 500, 2, nil)
	}
	// 4% random loss rates 4.06: poor against 4.1, not against 3.6, never
	// when disabled.
	for _, tt := range []struct {
		threshold float64
		poor      bool
	}{{4.1, true}, {0, false}, {-1, false}, {4.0, false}} {
		c := qualityCall(t, Config{PoorMOS: tt.threshold}, lossy)
		if got := hasFinding(c, FindingPoorVoiceQuality); got != tt.poor {
			t.Errorf("threshold %v: poor %v, want %v (MOS %.3f)", tt.threshold, got, tt.poor, c.MOS)
		}
	}
}

// rtcpSR builds a sender report with the given NTP time and no report
// block; rtcpRR a receiver report with one block.
func rtcpSR(ssrc uint32, ntpSec, ntpFrac uint32) []byte {
	b := make([]byte, 28)
	b[0], b[1] = 0x80, 200
	binary.BigEndian.PutUint16(b[2:], 6)
	binary.BigEndian.PutUint32(b[4:], ssrc)
	binary.BigEndian.PutUint32(b[8:], ntpSec)
	binary.BigEndian.PutUint32(b[12:], ntpFrac)
	return b
}

func rtcpRR(ssrc, about uint32, fraction uint8, cum int32, jitter, lsr, dlsr uint32) []byte {
	b := make([]byte, 32)
	b[0], b[1] = 0x81, 201
	binary.BigEndian.PutUint16(b[2:], 7)
	binary.BigEndian.PutUint32(b[4:], ssrc)
	binary.BigEndian.PutUint32(b[8:], about)
	binary.BigEndian.PutUint32(b[12:], uint32(cum)&0xffffff)
	b[12] = fraction
	binary.BigEndian.PutUint32(b[20:], jitter)
	binary.BigEndian.PutUint32(b[24:], lsr)
	binary.BigEndian.PutUint32(b[28:], dlsr)
	return b
}

// The round trip comes from the capture times of an SR and the RR that
// names it (LSR), less the receiver's hold time (DLSR), and sets the
// E-model's one-way delay to half of it.
func TestRTCPRoundTripAndReports(t *testing.T) {
	c := qualityCall(t, Config{}, func(h *harness, start int64) {
		h.rtpPattern("10.0.0.1:4000", "10.0.0.2:6000", start, 500, 1, nil)
		h.rtpPattern("10.0.0.2:6000", "10.0.0.1:4000", start, 500, 2, nil)
		// SR from the caller at start+1 s, NTP 0x00012345.80000000:
		// its middle 32 bits are 0x23458000.
		sr := start + time.Second.Nanoseconds()
		h.udp("10.0.0.1:4001", "10.0.0.2:6001", sr, rtcpSR(1, 0x00012345, 0x80000000))
		// The callee's RR 1.3 s later held it 1 s (65536 units): RTT 300 ms.
		// It reports 25/256 lost, 7 cumulative, jitter 80 units (10 ms at 8 kHz),
		// and a cumulative loss that is negative (duplicates): -2 in a later one.
		h.udp("10.0.0.2:6001", "10.0.0.1:4001", sr+1300*ms, rtcpRR(2, 1, 25, 7, 80, 0x23458000, 65536))
		h.udp("10.0.0.2:6001", "10.0.0.1:4001", sr+2300*ms, rtcpRR(2, 1, 3, -2, 40, 0x99999999, 65536))
	})
	m := c.Media[0]
	q := m.CallerToCallee
	closeTo(t, "RTT ms", q.RTTMillis, 300, 1e-6)
	if !q.DelayFromRTT || q.RTCPReports != 2 {
		t.Errorf("delay from RTT %v, reports %d", q.DelayFromRTT, q.RTCPReports)
	}
	closeTo(t, "RTCP loss %", q.RTCPLossPercent, 100*25/256.0, 1e-9)
	closeTo(t, "RTCP jitter ms", q.RTCPJitterMillis, 10, 1e-9)
	if q.RTCPLost != 7 {
		t.Errorf("RTCP cumulative lost %d, want 7 (the highest)", q.RTCPLost)
	}
	// The callee sent no SR, so the caller's reports (none) give nothing.
	if m.CalleeToCaller.RTCPReports != 0 {
		t.Errorf("callee->caller reports %d", m.CalleeToCaller.RTCPReports)
	}
	want := voice.Rate(voice.Conditions{Codec: voice.CodecByName("PCMU"), OneWayDelay: 150 * time.Millisecond})
	closeTo(t, "MOS with delay", q.MOS, want.MOS, 1e-9)
	if q.MOS >= 4.4 {
		t.Errorf("delay did not lower the MOS: %.3f", q.MOS)
	}
}

// A report block that names no SR this tap saw measures nothing.
func TestRTCPUnmatchedLSR(t *testing.T) {
	var mf mediaFlow
	mf.rtcpPacket(rtcpRR(2, 1, 0, 0, 0, 0x1234, 10), 5e9, 1)
	if r := mf.dir[1].reports; r.rttN != 0 || r.blocks != 1 {
		t.Errorf("reports %+v", r)
	}
	// A truncated compound packet stops the walk without a panic.
	mf.rtcpPacket(rtcpSR(1, 1, 1)[:20], 5e9, 0)
}

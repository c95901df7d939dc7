package sipcall

import (
	"math"
	"testing"
)

func TestSequenceLoss(t *testing.T) {
	seqs := func(from, n int, skip ...int) []uint16 {
		var out []uint16
		for i := range n {
			s := from + i
			drop := false
			for _, k := range skip {
				drop = drop || k == s
			}
			if !drop {
				out = append(out, uint16(s))
			}
		}
		return out
	}
	tests := []struct {
		name     string
		seq      []uint16
		expected uint64
		lost     int64
	}{
		{"in order", seqs(100, 50), 50, 0},
		{"gaps", seqs(100, 50, 110, 111, 140), 50, 3},
		{"wrap", seqs(65530, 20), 20, 0},
		{"wrap with loss", seqs(65530, 20, 65535, 65536), 20, 2},
		{"duplicate", []uint16{1, 2, 2, 3}, 3, -1},
		{"reordered", []uint16{1, 3, 2, 4}, 4, 0},
		// RFC 3550 A.1: the packet that announced the jump is not counted.
		{"restart after a jump", []uint16{1, 2, 3, 40000, 40001, 40002}, 3 + 2, 0},
		{"one stray jump is ignored", []uint16{1, 2, 40000, 3, 4}, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s streamStats
			for i, q := range tt.seq {
				s.rtpPacket(rtp(0, q, uint32(i*160), 7, 0), t0+int64(i)*20*ms, 8000)
			}
			if s.expected() != tt.expected || s.lost() != tt.lost {
				t.Errorf("expected %d lost %d, want %d %d", s.expected(), s.lost(), tt.expected, tt.lost)
			}
		})
	}
}

func TestSSRCChange(t *testing.T) {
	var s streamStats
	for i := range 10 {
		s.rtpPacket(rtp(0, uint16(i), 0, 1, 0), t0, 8000)
	}
	for i := range 10 {
		if i != 4 {
			s.rtpPacket(rtp(0, uint16(5000+i), 0, 2, 0), t0, 8000)
		}
	}
	if s.ssrcChanges != 1 || s.expected() != 20 || s.lost() != 1 || s.ssrc != 2 {
		t.Errorf("changes %d expected %d lost %d ssrc %d", s.ssrcChanges, s.expected(), s.lost(), s.ssrc)
	}
}

// TestJitter checks RFC 3550 A.8 against closed forms: a steady stream has
// none, and one whose transit alternates by D converges to D.
func TestJitter(t *testing.T) {
	for _, tt := range []struct {
		name  string
		delay func(i int) int64 // arrival delay of packet i, ns
		want  float64           // ms
	}{
		{"steady", func(int) int64 { return 0 }, 0},
		{"alternating 1 ms", func(i int) int64 { return int64(i%2) * ms }, 1},
		{"alternating 5 ms", func(i int) int64 { return int64(i%2) * 5 * ms }, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s streamStats
			for i := range 500 {
				s.rtpPacket(rtp(0, uint16(i), uint32(i*160), 1, 0), t0+int64(i)*20*ms+tt.delay(i), 8000)
			}
			if got := s.jitterMillis(); math.Abs(got-tt.want) > 0.01 {
				t.Errorf("jitter %.4f ms, want %.4f", got, tt.want)
			}
		})
	}
}

// TestJitterSteps follows RFC 3550 A.8 packet by packet on an 8 kHz stream
// sent every 20 ms (160 timestamp units) whose arrival delay varies. Worked
// by hand: D is the change in transit between consecutive packets in
// timestamp units (1 ms = 8 units), and J += (|D| - J)/16:
//
//	packet  delay  transit  |D|  J
//	0       0 ms   0        -    0
//	1       2 ms   16       16   0 + 16/16             = 1
//	2       0 ms   0        16   1 + 15/16             = 1.9375
//	3       4 ms   32       32   1.9375 + 30.0625/16   = 3.81640625
//	4       1 ms   8        24   3.81640625 + 20.18359375/16 = 5.077880859375
//	5       1 ms   8        0    5.077880859375 - 5.077880859375/16 = 4.7605133056640625
//
// The values are exact in binary floating point, so they are compared
// exactly; a different gain (1/4, 1/8) or a signed D changes every step.
func TestJitterSteps(t *testing.T) {
	delays := []int64{0, 2 * ms, 0, 4 * ms, 1 * ms, 1 * ms}
	want := []float64{0, 1, 1.9375, 3.81640625, 5.077880859375, 4.7605133056640625}
	var s streamStats
	for i, d := range delays {
		s.rtpPacket(rtp(0, uint16(i), uint32(i*160), 1, 0), t0+int64(i)*20*ms+d, 8000)
		if s.jitter != want[i] {
			t.Errorf("after packet %d: jitter %v timestamp units, want %v", i, s.jitter, want[i])
		}
	}
	// In milliseconds: units at 8 kHz are 1/8 ms.
	if got, want := s.jitterMillis(), 4.7605133056640625/8; got != want {
		t.Errorf("jitter %v ms, want %v", got, want)
	}
}

func TestLooks(t *testing.T) {
	sr := []byte{0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	sdes := []byte{0x81, 202, 0, 1, 0, 0, 0, 1}
	compound := append(append([]byte{}, sr...), sdes...)
	for _, tt := range []struct {
		name      string
		b         []byte
		rtp, rtcp bool
	}{
		{"rtp", rtp(0, 1, 1, 1, 160), true, false},
		{"rtp dynamic", rtp(96|0x80, 1, 1, 1, 20), true, false},
		{"rtcp sr", sr, false, true},
		{"rtcp compound", compound, false, true},
		{"rtcp with srtcp trailer", append(append([]byte{}, compound...), make([]byte, 14)...), false, true},
		{"rtcp bad length", []byte{0x80, 201, 0, 9, 0, 0, 0, 1}, false, false},
		{"rtp pt in rtcp range", rtp(72, 1, 1, 1, 20), false, false},
		{"version 1", []byte{0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, false, false},
		{"short", []byte{0x80, 0}, false, false},
		{"sip", []byte("INVITE sip:a@b SIP/2.0\r\n"), false, false},
	} {
		if looksRTP(tt.b) != tt.rtp || looksRTCP(tt.b) != tt.rtcp {
			t.Errorf("%s: rtp %v rtcp %v, want %v %v", tt.name, looksRTP(tt.b), looksRTCP(tt.b), tt.rtp, tt.rtcp)
		}
	}
}

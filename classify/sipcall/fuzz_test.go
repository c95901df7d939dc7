package sipcall

import (
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
)

// FuzzDissector feeds random payloads, split into packets, to a UDP SIP
// flow, a TCP SIP flow and a media flow. Nothing may panic, and once the
// flows end and the tracker flushes, no state may be left.
func FuzzDissector(f *testing.F) {
	inv := sipMsg("INVITE sip:bob@example.com SIP/2.0", "fz", "ft", "", 1, "INVITE", sdpBody("10.0.0.1", 4000))
	ok := sipMsg("SIP/2.0 200 OK", "fz", "ft", "tt", 1, "INVITE", sdpBody("10.0.0.2", 6000))
	f.Add(append(append([]byte{}, inv...), ok...), uint8(3))
	f.Add(rtp(0, 1, 160, 7, 40), uint8(1))
	f.Add([]byte("GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: sip\r\n\r\n\x81\x05hello"), uint8(2))
	f.Add([]byte{0x80, 200, 0, 1, 0, 0, 0, 1}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, parts uint8) {
		h := newHarness(t, Config{MaxCalls: 4, MaxExpectations: 16, MaxMessage: 4096})
		n := int(parts%8) + 1
		step := len(data)/n + 1
		for i := 0; i < len(data); i += step {
			seg := data[i:min(i+step, len(data))]
			ts := t0 + int64(i)*ms
			h.udp("10.0.0.1:5060", "10.0.0.2:5060", ts, seg)
			h.send(flow.ProtoTCP, "10.0.0.1:40000", "10.0.0.2:5060", ts, seg)
			h.send(flow.ProtoTCP, "10.0.0.1:40001", "10.0.0.2:8080", ts, seg)
			h.udp("10.0.0.1:4000", "10.0.0.2:6000", ts, seg)
		}
		h.finish()
		if calls, exp := h.tr.Active(); calls != 0 || exp != 0 {
			t.Fatalf("%d calls, %d expectations left", calls, exp)
		}
		if h.d.followed != 0 {
			t.Fatalf("per-flow state left: %d followed", h.d.followed)
		}
	})
}

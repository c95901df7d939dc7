package sipcall

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
)

// TestLimitCounters hits each bound of the tracker and sees its counter
// move by exactly what was refused or dropped, and no other limit
// counter move.
func TestLimitCounters(t *testing.T) {
	type counts struct{ refused, streams, oversized uint64 }
	read := func(h *harness) counts {
		st := h.tr.Stats()
		return counts{st.CallsDropped.Load(), st.StreamsDropped.Load(), st.MessagesOversized.Load()}
	}
	t.Run("calls past MaxCalls", func(t *testing.T) {
		h := newHarness(t, Config{MaxCalls: 2})
		for i := range 5 {
			h.newCall(fmt.Sprint("call-", i)).invite(t0+int64(i)*ms, "")
		}
		if got := read(h); got != (counts{refused: 3}) {
			t.Errorf("counters %+v, want 3 calls refused", got)
		}
	})
	t.Run("streams past the per-call bound", func(t *testing.T) {
		// SDP keeps at most sdp.MaxMedia m= lines, so a call passes its
		// stream bound through re-offers that move every stream: 40 m=
		// lines, then the same 40 at new ports, are 80 streams.
		h := newHarness(t, Config{})
		offer := func(base int) string {
			var extra []string
			for i := 1; i < 40; i++ {
				extra = append(extra, fmt.Sprintf("m=audio %d RTP/AVP 0", base+2*i))
			}
			return sdpBody("10.0.0.1", base, extra...)
		}
		c := h.newCall("many-streams")
		c.invite(t0, offer(4000))
		c.respond(t0+ms, 200, sdpBody("10.0.0.2", 8000))
		c.ack(t0 + 2*ms)
		h.udp(c.caller, c.callee, t0+3*ms, sipMsg("INVITE sip:bob@example.com SIP/2.0", c.id, "ft", "tt", 3, "INVITE", offer(20000)))
		if got := read(h); got != (counts{streams: 80 - maxStreamsPerCall}) {
			t.Errorf("counters %+v, want %d streams dropped", got, 80-maxStreamsPerCall)
		}
		h.finish()
		if len(h.calls) != 1 || h.calls[0].StreamsDropped != 80-maxStreamsPerCall {
			t.Errorf("call record: %d calls, streams dropped %d", len(h.calls), h.calls[0].StreamsDropped)
		}
	})
	t.Run("messages past MaxMessage", func(t *testing.T) {
		h := newHarness(t, Config{MaxMessage: 4096})
		big := sipMsg("INVITE sip:bob@example.com SIP/2.0", "big", "ft", "", 1, "INVITE", "",
			"X-Padding: "+strings.Repeat("x", 6000))
		small := sipMsg("OPTIONS sip:bob@example.com SIP/2.0", "small", "ft", "", 1, "OPTIONS", "")
		a, b := "10.0.0.1:40000", "10.0.0.2:5060"
		h.send(flow.ProtoTCP, a, b, t0, small)
		for i := 0; i < len(big); i += 1000 {
			h.send(flow.ProtoTCP, a, b, t0+int64(i+1)*ms, big[i:min(i+1000, len(big))])
		}
		if got := read(h); got != (counts{oversized: 1}) {
			t.Errorf("counters %+v, want 1 oversized message", got)
		}
		if h.tr.Stats().FramingErrors.Load() < 1 {
			t.Error("an oversized message is a framing error too")
		}
	})
}

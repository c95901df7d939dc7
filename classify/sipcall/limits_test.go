package sipcall

import (
	"fmt"
	"slices"
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
		// 16, not 80-maxStreamsPerCall: the bound itself is pinned.
		if got := read(h); got != (counts{streams: 16}) {
			t.Errorf("counters %+v, want 16 streams dropped", got)
		}
		h.finish()
		if len(h.calls) != 1 {
			t.Fatalf("%d calls", len(h.calls))
		}
		if h.calls[0].StreamsDropped != 16 {
			t.Errorf("call record: streams dropped %d, want 16", h.calls[0].StreamsDropped)
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

// mediaLines returns an SDP body with n m= lines in all: the first
// disabled of them have port 0 (RFC 3264 section 8.2: a removed stream
// keeps its m= line), the rest are audio at ports from base up.
func mediaLines(addr string, base, n, disabled int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n", addr, addr)
	for i := range n {
		port := base + 2*i
		if i < disabled {
			port = 0
		}
		fmt.Fprintf(&b, "m=audio %d RTP/AVP 0\r\n", port)
	}
	return b.String()
}

// TestStreamsDroppedBySDPBound: m= lines past what the SDP parser keeps
// are streams the tracker never follows, so they count as dropped, in the
// call record and the tracker's counter, once per position however many
// SDPs of the call repeat them.
func TestStreamsDroppedBySDPBound(t *testing.T) {
	cases := []struct {
		name             string
		lines, disabled  int
		wantDropped      int
		wantMedia        int
		reofferSameLines bool
	}{
		{name: "64 m= lines", lines: 64, wantDropped: 0, wantMedia: 64},
		{name: "65 m= lines", lines: 65, wantDropped: 1, wantMedia: 64},
		{name: "80 m= lines", lines: 80, wantDropped: 16, wantMedia: 64},
		{name: "80 m= lines re-offered", lines: 80, wantDropped: 16, wantMedia: 64, reofferSameLines: true},
		// A long call's SDP grows by one m= line per stream ever added;
		// with 60 of 70 removed the call is far below its own stream
		// bound, and still the last 6 lines are never parsed.
		{name: "70 m= lines, 60 removed", lines: 70, disabled: 60, wantDropped: 6, wantMedia: 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			c := h.newCall("wide-sdp")
			c.invite(t0, mediaLines("10.0.0.1", 4000, tc.lines, tc.disabled))
			c.respond(t0+ms, 200, mediaLines("10.0.0.2", 8000, tc.lines, tc.disabled))
			c.ack(t0 + 2*ms)
			if tc.reofferSameLines {
				body := mediaLines("10.0.0.1", 4000, tc.lines, tc.disabled)
				h.udp(c.caller, c.callee, t0+3*ms, sipMsg("INVITE sip:bob@example.com SIP/2.0", c.id, "ft", "tt", 3, "INVITE", body))
			}
			if got := h.tr.Stats().StreamsDropped.Load(); got != uint64(tc.wantDropped) {
				t.Errorf("Stats.StreamsDropped %d, want %d", got, tc.wantDropped)
			}
			h.finish()
			if len(h.calls) != 1 {
				t.Fatalf("%d calls", len(h.calls))
			}
			if r := h.calls[0]; r.StreamsDropped != tc.wantDropped || len(r.Media) != tc.wantMedia {
				t.Errorf("call record: streams dropped %d, media %d; want %d, %d", r.StreamsDropped, len(r.Media), tc.wantDropped, tc.wantMedia)
			}
		})
	}
}

// TestStreamDroppedOnce: a stream past the per-call bound is one dropped
// stream however many SDPs describe it: the answer that moves the other
// side of it, and a session refresh repeating offer and answer, add
// nothing; moving it again is a new stream, dropped again.
func TestStreamDroppedOnce(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.newCall("dropped-once")
	reinvite := func(ts int64, cseq, callerBase, calleeBase int) {
		h.udp(c.caller, c.callee, ts, sipMsg("INVITE sip:bob@example.com SIP/2.0", c.id, "ft", "tt", cseq, "INVITE", mediaLines("10.0.0.1", callerBase, 40, 0)))
		h.udp(c.callee, c.caller, ts+ms, sipMsg("SIP/2.0 200 OK", c.id, "ft", "tt", cseq, "INVITE", mediaLines("10.0.0.2", calleeBase, 40, 0)))
	}
	dropped := func(step string, want uint64) {
		t.Helper()
		if got := h.tr.Stats().StreamsDropped.Load(); got != want {
			t.Errorf("%s: %d streams dropped, want %d", step, got, want)
		}
	}
	c.invite(t0, mediaLines("10.0.0.1", 4000, 40, 0))
	c.respond(t0+ms, 200, mediaLines("10.0.0.2", 8000, 40, 0))
	c.ack(t0 + 2*ms)
	dropped("40 streams answered", 0)
	// Both sides move every stream: 24 new streams fit, 16 do not.
	reinvite(t0+10*ms, 3, 20000, 24000)
	dropped("both sides moved", 16)
	// A session refresh repeats both SDPs.
	reinvite(t0+20*ms, 4, 20000, 24000)
	dropped("refresh", 16)
	// The caller moves every stream again: none of the 40 fits now.
	reinvite(t0+30*ms, 5, 30000, 24000)
	dropped("caller moved again", 56)
	h.finish()
	if len(h.calls) != 1 || h.calls[0].StreamsDropped != 56 {
		t.Errorf("call record: %d calls, want 1 with 56 streams dropped", len(h.calls))
	}
}

// sdpStreams is an SDP from addr with one m= line per port, of the given
// media type (audio where types has no entry).
func sdpStreams(addr string, ports []int, types map[int]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n", addr, addr)
	for i, p := range ports {
		typ := types[i]
		if typ == "" {
			typ = "audio"
		}
		fmt.Fprintf(&b, "m=%s %d RTP/AVP 0\r\n", typ, p)
	}
	return b.String()
}

// portsFrom returns n ports from base, 2 apart.
func portsFrom(base, n int) []int {
	ports := make([]int, n)
	for i := range ports {
		ports[i] = base + 2*i
	}
	return ports
}

// TestDroppedStreamIdentity: a refused stream is the same stream again
// only with the same media type at the same address; and a position where
// a stream is kept forgets the stream refused there before, so refusing a
// stream at that address again counts.
func TestDroppedStreamIdentity(t *testing.T) {
	t.Run("type", func(t *testing.T) {
		h := newHarness(t, Config{})
		c := h.newCall("dropped-type")
		c.invite(t0, sdpStreams("10.0.0.1", portsFrom(4000, 40), nil))
		c.respond(t0+ms, 200, sdpStreams("10.0.0.2", portsFrom(8000, 40), nil))
		c.ack(t0 + 2*ms)
		// The caller moves every stream: 24 fit, positions 24-39 do not.
		moved := portsFrom(20000, 40)
		h.udp(c.caller, c.callee, t0+10*ms, sipMsg("INVITE sip:bob@example.com SIP/2.0", c.id, "ft", "tt", 3, "INVITE", sdpStreams("10.0.0.1", moved, nil)))
		if got := h.tr.Stats().StreamsDropped.Load(); got != 16 {
			t.Fatalf("%d dropped after the move, want 16", got)
		}
		// The same SDP with the last stream as video: a new stream there.
		h.udp(c.caller, c.callee, t0+20*ms, sipMsg("INVITE sip:bob@example.com SIP/2.0", c.id, "ft", "tt", 4, "INVITE", sdpStreams("10.0.0.1", moved, map[int]string{39: "video"})))
		if got := h.tr.Stats().StreamsDropped.Load(); got != 17 {
			t.Errorf("%d dropped after audio became video at the same address, want 17", got)
		}
	})
	t.Run("kept forgets", func(t *testing.T) {
		h := newHarness(t, Config{})
		c := h.newCall("dropped-kept")
		initial, answer := portsFrom(4000, 40), portsFrom(8000, 40)
		c.invite(t0, sdpStreams("10.0.0.1", initial, nil))
		c.respond(t0+ms, 200, sdpStreams("10.0.0.2", answer, nil))
		c.ack(t0 + 2*ms)
		offer := func(ts int64, cseq int, ports []int) {
			h.udp(c.caller, c.callee, ts, sipMsg("INVITE sip:bob@example.com SIP/2.0", c.id, "ft", "tt", cseq, "INVITE", sdpStreams("10.0.0.1", ports, nil)))
		}
		reply := func(ts int64, cseq, code int, ports []int) {
			body := ""
			if ports != nil {
				body = sdpStreams("10.0.0.2", ports, nil)
			}
			h.udp(c.callee, c.caller, ts, sipMsg(fmt.Sprintf("SIP/2.0 %d X", code), c.id, "ft", "tt", cseq, "INVITE", body))
		}
		dropped := func(step string, want uint64) {
			t.Helper()
			if got := h.tr.Stats().StreamsDropped.Load(); got != want {
				t.Errorf("%s: %d streams dropped, want %d", step, got, want)
			}
		}
		// The caller moves every stream: 24 new ones fit, positions 24-39
		// are refused. The callee refuses the offer, which undoes the 24
		// new streams: the call has 40 again.
		moved := portsFrom(20000, 40)
		offer(t0+10*ms, 3, moved)
		dropped("first move", 16)
		reply(t0+11*ms, 3, 488, nil)
		// Positions 24-39 move where they were refused: 16 new streams,
		// kept now, and the callee answers them at its old ports.
		offer(t0+20*ms, 4, append(slices.Clone(initial[:24]), moved[24:]...))
		reply(t0+21*ms, 4, 200, answer)
		dropped("positions 24-39 kept", 16)
		// Positions 0-7 move: the call reaches its 64 streams.
		offer(t0+30*ms, 5, append(slices.Clone(portsFrom(40000, 8)), append(slices.Clone(initial[8:24]), moved[24:]...)...))
		reply(t0+31*ms, 5, 200, answer)
		dropped("call full", 16)
		// The callee moves positions 24-39: new streams, refused. What was
		// refused there before belonged to the streams kept since.
		h.udp(c.callee, c.caller, t0+40*ms, sipMsg("INVITE sip:alice@example.com SIP/2.0", c.id, "tt", "ft", 1, "INVITE",
			sdpStreams("10.0.0.2", append(slices.Clone(answer[:24]), portsFrom(50000, 16)...), nil)))
		dropped("callee moved 24-39", 32)
	})
}

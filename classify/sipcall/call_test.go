package sipcall

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
)

const t0 = int64(1_700_000_000) * 1e9

func TestFindings(t *testing.T) {
	tests := []struct {
		name      string
		media     func(h *harness)
		findings  []string
		negotiate bool
	}{
		{name: "both ways", media: func(h *harness) {
			h.rtpRun("10.0.0.1:4000", "10.0.0.2:6000", t0+2*int64(time.Second), 50, 1)
			h.rtpRun("10.0.0.2:6000", "10.0.0.1:4000", t0+2*int64(time.Second), 50, 2)
		}},
		{name: "one way", media: func(h *harness) {
			h.rtpRun("10.0.0.2:6000", "10.0.0.1:4000", t0+2*int64(time.Second), 50, 2)
		}, findings: []string{FindingMediaOneWay}},
		{name: "missing", media: func(h *harness) {}, findings: []string{FindingMediaMissing}},
		{name: "symmetric RTP behind NAT", media: func(h *harness) {
			// The caller's packets leave a NAT from another port; the
			// callee's endpoint alone identifies the flow.
			h.rtpRun("192.0.2.9:31000", "10.0.0.2:6000", t0+2*int64(time.Second), 50, 1)
			h.rtpRun("10.0.0.2:6000", "192.0.2.9:31000", t0+2*int64(time.Second), 50, 2)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			c := h.newCall("call-1")
			c.invite(t0, sdpBody("10.0.0.1", 4000))
			c.respond(t0+10*ms, 180, "")
			c.respond(t0+time.Second.Nanoseconds(), 200, sdpBody("10.0.0.2", 6000))
			c.ack(t0 + time.Second.Nanoseconds() + 5*ms)
			tt.media(h)
			c.bye(t0 + 10*time.Second.Nanoseconds())
			h.finish()
			if len(h.calls) != 1 {
				t.Fatalf("%d calls", len(h.calls))
			}
			got := h.calls[0]
			if !slices.Equal(got.Findings, tt.findings) {
				t.Errorf("findings %v, want %v", got.Findings, tt.findings)
			}
			if got.CallerUA != "PhoneA" || got.CalleeUA != "PBX" || got.FinalStatus != 200 || got.EndReason != EndBye {
				t.Errorf("call %+v", got)
			}
			if !slices.Equal(got.Codecs, []string{"PCMU", "telephone-event"}) {
				t.Errorf("codecs %v", got.Codecs)
			}
			for _, m := range got.Media {
				for _, f := range m.Flows {
					if f.Callee.String() != "10.0.0.2:6000" {
						t.Errorf("flow callee end %v", f.Callee)
					}
				}
			}
		})
	}
}

func TestMatchMediaAndLabels(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.newCall("call-2")
	c.invite(t0, sdpBody("10.0.0.1", 4000, "a=rtcp:4100"))
	c.respond(t0+ms, 200, sdpBody("10.0.0.2", 6000, "a=rtcp-mux"))
	h.rtpRun("10.0.0.1:4000", "10.0.0.2:6000", t0+2*ms, 10, 1)
	// RTCP to the caller's a=rtcp port; the callee muxes.
	rr := []byte{0x80, 201, 0, 1, 0, 0, 0, 9}
	h.udp("10.0.0.2:6000", "10.0.0.1:4100", t0+3*ms, rr)
	// Media nobody negotiated, recognised by content.
	h.rtpRun("10.9.9.9:7000", "10.8.8.8:7002", t0, 10, 3)
	h.endFlows()

	for _, tc := range []struct {
		a, b, app, callID string
	}{
		{"10.0.0.1:4000", "10.0.0.2:6000", "rtp", "call-2"},
		{"10.0.0.2:6000", "10.0.0.1:4100", "rtcp", "call-2"},
		{"10.9.9.9:7000", "10.8.8.8:7002", "rtp", ""},
		{"10.0.0.1:5060", "10.0.0.2:5060", "sip", "call-2"},
	} {
		f := h.flowOf(tc.a, tc.b)
		if f == nil || f.Meta == nil {
			t.Fatalf("%s-%s: no flow or no label", tc.a, tc.b)
		}
		if f.Meta.App != tc.app || f.Meta.CallID != tc.callID {
			t.Errorf("%s-%s: %q %q, want %q %q", tc.a, tc.b, f.Meta.App, f.Meta.CallID, tc.app, tc.callID)
		}
		id, ok := h.tr.MatchMedia(f)
		if IsMediaApp(tc.app) && (ok != (tc.callID != "") || id != tc.callID) {
			t.Errorf("%s-%s: MatchMedia %q %v", tc.a, tc.b, id, ok)
		}
		if LooksLikeMedia(f) != (IsMediaApp(tc.app) && tc.callID == "") {
			t.Errorf("%s-%s: LooksLikeMedia %v", tc.a, tc.b, LooksLikeMedia(f))
		}
	}
	// A flow the dissector never saw is matched through the expectations
	// while the call is up.
	k, _ := flow.NewKey(flow.ProtoUDP, mustAP("10.0.0.7:9"), mustAP("10.0.0.1:4000"))
	if id, ok := h.tr.MatchMedia(&flow.Flow{Key: k}); !ok || id != "call-2" {
		t.Errorf("unseen flow: %q %v", id, ok)
	}
	h.tr.Flush()
	if id, ok := h.tr.MatchMedia(&flow.Flow{Key: k}); ok {
		t.Errorf("after the call ended: %q %v", id, ok)
	}
}

func TestReinviteMovesMedia(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.newCall("call-3")
	c.invite(t0, sdpBody("10.0.0.1", 4000))
	c.respond(t0+ms, 200, sdpBody("10.0.0.2", 6000))
	c.ack(t0 + 2*ms)
	h.rtpRun("10.0.0.1:4000", "10.0.0.2:6000", t0+3*ms, 10, 1)
	h.rtpRun("10.0.0.2:6000", "10.0.0.1:4000", t0+3*ms, 10, 2)
	// The callee moves its media to another server.
	at := t0 + time.Second.Nanoseconds()
	h.udp(c.callee, c.caller, at, sipMsg("INVITE sip:alice@example.com SIP/2.0", "call-3", "tt", "ft", 7, "INVITE", sdpBody("10.0.0.3", 8000)))
	h.udp(c.caller, c.callee, at+ms, sipMsg("SIP/2.0 200 OK", "call-3", "tt", "ft", 7, "INVITE", sdpBody("10.0.0.1", 4000)))
	h.rtpRun("10.0.0.1:4000", "10.0.0.3:8000", at+2*ms, 10, 3)
	h.rtpRun("10.0.0.3:8000", "10.0.0.1:4000", at+2*ms, 10, 4)

	// The old callee endpoint is no longer expected.
	k, _ := flow.NewKey(flow.ProtoUDP, mustAP("10.0.0.2:6000"), mustAP("10.0.0.5:1"))
	if _, ok := h.tr.MatchMedia(&flow.Flow{Key: k}); ok {
		t.Error("old endpoint still expected after the re-INVITE")
	}
	c.bye(at + time.Second.Nanoseconds())
	h.finish()
	got := h.calls[0]
	if len(got.Media) != 2 || got.Reinvites != 1 || got.Findings != nil {
		t.Fatalf("media %+v reinvites %d findings %v", got.Media, got.Reinvites, got.Findings)
	}
	if got.Media[1].CalleeRTP.String() != "10.0.0.3:8000" || got.Media[1].Packets != 20 || got.Media[0].Packets != 20 {
		t.Errorf("streams %+v", got.Media)
	}
}

func TestCallEnds(t *testing.T) {
	sec := time.Second.Nanoseconds()
	t.Run("timeout without final response", func(t *testing.T) {
		h := newHarness(t, Config{SetupTimeout: time.Minute})
		h.newCall("lost").invite(t0, sdpBody("10.0.0.1", 4000))
		h.newCall("later").invite(t0+2*60*sec, "")
		if len(h.calls) != 1 || h.calls[0].CallID != "lost" || h.calls[0].EndReason != EndTimeout {
			t.Fatalf("calls %+v", h.calls)
		}
		if calls, exp := h.tr.Active(); calls != 1 || exp != 0 {
			t.Errorf("active %d calls %d expectations", calls, exp)
		}
	})
	t.Run("emitted after BYE grace once media ended", func(t *testing.T) {
		h := newHarness(t, Config{ByeGrace: time.Second})
		c := h.newCall("c")
		c.invite(t0, sdpBody("10.0.0.1", 4000))
		c.respond(t0+ms, 200, sdpBody("10.0.0.2", 6000))
		h.rtpRun("10.0.0.1:4000", "10.0.0.2:6000", t0+2*ms, 5, 1)
		c.bye(t0 + sec)
		h.newCall("other").invite(t0+3*sec, "")
		if len(h.calls) != 0 {
			t.Fatal("emitted while a media flow of the call was still open")
		}
		h.endFlows()
		if len(h.calls) != 1 || h.calls[0].Media[0].Packets != 5 {
			t.Fatalf("calls %+v", h.calls)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		h := newHarness(t, Config{})
		c := h.newCall("x")
		c.invite(t0, sdpBody("10.0.0.1", 4000))
		h.udp(c.caller, c.callee, t0+sec, sipMsg("CANCEL sip:bob@example.com SIP/2.0", "x", "ft", "", 1, "CANCEL", ""))
		c.respond(t0+sec+ms, 487, "")
		h.finish()
		if got := h.calls[0]; got.EndReason != EndCancelled || got.FinalStatus != 487 || got.Findings != nil {
			t.Errorf("%+v", got)
		}
	})
}

func TestBounds(t *testing.T) {
	h := newHarness(t, Config{MaxCalls: 2, MaxExpectations: 3})
	for i, id := range []string{"a", "b", "c"} {
		h.newCall(id).invite(t0+int64(i)*ms, sdpBody("10.0.0.1", 4000+2*i))
	}
	st := h.tr.Stats()
	if st.CallsDropped.Load() != 1 || st.ExpectationsDropped.Load() != 1 {
		t.Errorf("dropped %d calls, %d expectations", st.CallsDropped.Load(), st.ExpectationsDropped.Load())
	}
	if calls, exp := h.tr.Active(); calls != 2 || exp != 3 {
		t.Errorf("active %d calls, %d expectations", calls, exp)
	}
}

// TestNotSIP: text protocols that resemble SIP are not labelled SIP, on
// a SIP port or off it.
func TestNotSIP(t *testing.T) {
	for _, tc := range []struct{ port, payload string }{
		{"1900", "NOTIFY * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\n\r\n"},
		{"5060", "M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\n\r\n"},
		{"5060", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"5060", "INVITE sip:x@y SIP/2.0\r\n\x00\x01garbage"},
	} {
		h := newHarness(t, Config{})
		h.udp("10.0.0.1:40000", "10.0.0.2:"+tc.port, t0, []byte(tc.payload))
		h.endFlows()
		if f := h.ended[0]; f.Meta != nil && f.Meta.App == "sip" {
			t.Errorf("%q on %s labelled sip", tc.payload, tc.port)
		}
	}
}

func TestCompactForm(t *testing.T) {
	h := newHarness(t, Config{})
	body := sdpBody("10.0.0.1", 4000)
	msg := "INVITE sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/UDP 10.0.0.1:5080;branch=z9hG4bK1\r\n" +
		"f: <sip:alice@example.com>;tag=1\r\nt: <sip:bob@example.com>\r\ni: compact-1\r\nCSeq: 1 INVITE\r\n" +
		"c: application/sdp\r\nl: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	h.udp("10.0.0.1:5080", "10.0.0.2:5080", t0, []byte(msg))
	h.finish()
	if len(h.calls) != 1 || h.calls[0].CallID != "compact-1" || len(h.calls[0].Media) != 1 {
		t.Fatalf("calls %+v", h.calls)
	}
}

func TestTCPFraming(t *testing.T) {
	h := newHarness(t, Config{})
	inv := sipMsg("INVITE sip:bob@example.com SIP/2.0", "tcp-1", "ft", "", 1, "INVITE", sdpBody("10.0.0.1", 4000))
	trying := sipMsg("SIP/2.0 100 Trying", "tcp-1", "ft", "", 1, "INVITE", "")
	ok := sipMsg("SIP/2.0 200 OK", "tcp-1", "ft", "tt", 1, "INVITE", sdpBody("10.0.0.2", 6000))
	// A SIP port on neither side: found by content. One message across
	// three segments, then two messages in one segment.
	a, b := "10.0.0.1:41000", "10.0.0.2:15060"
	h.send(flow.ProtoTCP, a, b, t0, inv[:10])
	h.send(flow.ProtoTCP, a, b, t0+ms, inv[10:200])
	h.send(flow.ProtoTCP, a, b, t0+2*ms, inv[200:])
	h.send(flow.ProtoTCP, b, a, t0+3*ms, append(append([]byte{}, trying...), ok...))
	h.finish()
	if len(h.calls) != 1 {
		t.Fatalf("%d calls", len(h.calls))
	}
	c := h.calls[0]
	if c.Transport != "tcp" || c.FinalStatus != 200 || c.Media[0].CalleeRTP.String() != "10.0.0.2:6000" {
		t.Errorf("%+v", c)
	}
	if n := h.tr.Stats().Messages.Load(); n != 3 {
		t.Errorf("%d messages parsed, want 3", n)
	}
}

func TestIPv6Expectations(t *testing.T) {
	h := newHarness(t, Config{})
	inv := sipMsg("INVITE sip:bob@example.com SIP/2.0", "v6", "ft", "", 1, "INVITE", sdpBody("2001:db8::1", 4000))
	resp := sipMsg("SIP/2.0 200 OK", "v6", "ft", "tt", 1, "INVITE", sdpBody("2001:db8::2", 6000))
	h.udp("[2001:db8::1]:5060", "[2001:db8::2]:5060", t0, inv)
	h.udp("[2001:db8::2]:5060", "[2001:db8::1]:5060", t0+ms, resp)
	h.rtpRun("[2001:db8::2]:6000", "[2001:db8::1]:4000", t0+2*ms, 5, 9)
	h.finish()
	f := h.flowOf("[2001:db8::2]:6000", "[2001:db8::1]:4000")
	if f == nil || f.Meta == nil || f.Meta.CallID != "v6" || f.Meta.App != "rtp" {
		t.Fatalf("IPv6 media flow %+v", f)
	}
}

// A flow that starts like RTP but never proves it (its SSRC changes with
// every packet) is followed until its first commit, however many packets
// come before it: the commit decides whether it is a call's media, so the
// outcome does not depend on the epoch's length. On negotiated ports it is
// matched, followed to its end, and its call is emitted after the BYE; on
// ports nobody negotiated it is let go after mediaProbes packets.
func TestUnprovenMediaWaitsForItsCommit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		src, dst   string
		negotiated bool
	}{
		{"negotiated ports", "10.0.0.1:4000", "10.0.0.2:6000", true},
		{"other ports", "10.0.0.1:4100", "10.0.0.7:6100", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			c := h.newCall("unproven")
			c.invite(t0, sdpBody("10.0.0.1", 4000))
			c.respond(t0+ms, 200, sdpBody("10.0.0.2", 6000))
			c.ack(t0 + 2*ms)

			// Driven by hand: no commit between the packets, as within an
			// epoch.
			key, dir := flow.NewKey(flow.ProtoUDP, mustAP(tc.src), mustAP(tc.dst))
			f := &flow.Flow{Key: key, OrigDir: dir, First: t0 + 3*ms}
			n := 0
			packet := func() bool {
				p := &decode.Packet{Payload: rtp(0, uint16(n*977), uint32(n*160), uint32(1000+n), 160)}
				p.Key, p.Dir, p.Time, p.PayloadLen, p.Ordinal = key, dir, t0+int64(3+n*20)*ms, 172, uint64(100+n)
				f.Last = p.Time
				n++
				if n == 1 && !h.d.Start(f, p) {
					t.Fatal("a flow that starts like RTP was not followed")
				}
				return h.d.Packet(f, p, true)
			}
			for range 2 * mediaProbes {
				if !packet() {
					t.Fatalf("let go after %d packets, before its first commit", n)
				}
			}
			h.tr.Commit(f.Last)
			if got := h.tr.Stats().MediaNegotiated.Load(); got != map[bool]uint64{true: 1}[tc.negotiated] {
				t.Fatalf("%d flows matched by the commit", got)
			}
			if wanted := packet(); wanted != tc.negotiated {
				t.Fatalf("followed after its commit: %v", wanted)
			}
			if tc.negotiated {
				h.d.End(f)
				h.tr.Commit(f.Last)
			}
			c.bye(f.Last + time.Second.Nanoseconds())
			h.tr.Advance(f.Last + 10*time.Second.Nanoseconds())
			if len(h.calls) != 1 {
				t.Fatalf("%d calls emitted after BYE and the grace period", len(h.calls))
			}
			var packets uint64
			for _, m := range h.calls[0].Media {
				packets += m.Packets
			}
			if want := map[bool]uint64{true: uint64(n)}[tc.negotiated]; packets != want {
				t.Errorf("call media counted %d packets, want %d", packets, want)
			}
		})
	}
}

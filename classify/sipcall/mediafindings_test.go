package sipcall

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
)

// Endpoints of the scripted calls: each party's RTP address in its SDP.
const (
	mfCallerRTP = "10.0.0.1:4000"
	mfCalleeRTP = "10.0.0.2:6000"
)

const mfSec = int64(time.Second)

// mfCallerOffer sends an in-dialog INVITE (a re-INVITE) from the caller
// with body, the callee's 200 answering it with answer, and the ACK.
func mfCallerOffer(c *call, ts int64, cseq int, body, answer string) {
	c.h.udp(c.caller, c.callee, ts, sipMsg("INVITE sip:bob@example.com SIP/2.0", c.id, "ft", "tt", cseq, "INVITE", body))
	c.h.udp(c.callee, c.caller, ts+ms, sipMsg("SIP/2.0 200 OK", c.id, "ft", "tt", cseq, "INVITE", answer))
	c.h.udp(c.caller, c.callee, ts+2*ms, sipMsg("ACK sip:bob@example.com SIP/2.0", c.id, "ft", "tt", cseq, "ACK", ""))
}

// mfCalleeOffer is mfCallerOffer the other way: the callee re-INVITEs.
func mfCalleeOffer(c *call, ts int64, cseq int, body, answer string) {
	c.h.udp(c.callee, c.caller, ts, sipMsg("INVITE sip:alice@example.com SIP/2.0", c.id, "tt", "ft", cseq, "INVITE", body))
	c.h.udp(c.caller, c.callee, ts+ms, sipMsg("SIP/2.0 200 OK", c.id, "tt", "ft", cseq, "INVITE", answer))
	c.h.udp(c.callee, c.caller, ts+2*ms, sipMsg("ACK sip:alice@example.com SIP/2.0", c.id, "tt", "ft", cseq, "ACK", ""))
}

// mfEndFlow ends one UDP flow, as the flow table does when it expires, so
// that a test decides the order in which flows reach their stream.
func mfEndFlow(h *harness, a, b string) {
	h.t.Helper()
	k, _ := flow.NewKey(flow.ProtoUDP, mustAP(a), mustAP(b))
	hf := h.flows[k]
	if hf == nil {
		h.t.Fatalf("no flow %s-%s", a, b)
	}
	h.d.End(hf.f)
	h.ended = append(h.ended, hf.f)
	delete(h.flows, k)
	h.tr.Commit(h.now)
}

func mfCaller(h *harness, at int64, n int) { h.rtpRun(mfCallerRTP, mfCalleeRTP, at, n, 1) }
func mfCallee(h *harness, at int64, n int) { h.rtpRun(mfCalleeRTP, mfCallerRTP, at, n, 2) }

// mfAnswered sets up a call answered at t0+1s: the caller's offer is
// offer, the callee's answer answer.
func mfAnswered(c *call, offer, answer string) {
	c.invite(t0, offer)
	c.respond(t0+10*ms, 180, "")
	c.respond(t0+mfSec, 200, answer)
	c.ack(t0 + mfSec + 5*ms)
}

// TestMediaFindingRules pins when media-missing and media-one-way are
// raised: only on answered calls (RFC 3261: a call rejected or cancelled
// after early media, RFC 3960, owes no media), only on streams both sides
// still offer (neither disabled nor inactive), and one-way only when every
// SDP of the stream said sendrecv (RFC 3264 sections 5.1 and 8.4: a
// sendonly/recvonly stream, a call on hold, carries media one way by
// design). Each case names the mutation of Tracker.emit or
// stream.negotiated it fails under.
func TestMediaFindingRules(t *testing.T) {
	sendrecv := func(addr string, port int) string { return sdpBody(addr, port, "a=sendrecv") }
	sendonly := func(addr string, port int) string { return sdpBody(addr, port, "a=sendonly") }
	recvonly := func(addr string, port int) string { return sdpBody(addr, port, "a=recvonly") }
	inactive := func(addr string, port int) string { return sdpBody(addr, port, "a=inactive") }
	tests := []struct {
		name     string
		script   func(h *harness, c *call) // after the call's INVITE and before its end
		findings []string
		status   int
		end      EndReason
		dirs     [2]string // the stream's caller and callee direction at the end
		missing  bool
		oneWay   bool
	}{
		// The contrasts: a sendrecv call with media one way, and an
		// answered call without media.
		{name: "sendrecv, caller silent", script: func(h *harness, c *call) {
			mfAnswered(c, sendrecv("10.0.0.1", 4000), sendrecv("10.0.0.2", 6000))
			mfCallee(h, t0+2*mfSec, 50)
		}, findings: []string{FindingMediaOneWay}, status: 200, end: EndBye, dirs: [2]string{"sendrecv", "sendrecv"}, oneWay: true},
		{name: "sendrecv, callee silent", script: func(h *harness, c *call) {
			mfAnswered(c, sendrecv("10.0.0.1", 4000), sendrecv("10.0.0.2", 6000))
			mfCaller(h, t0+2*mfSec, 50)
		}, findings: []string{FindingMediaOneWay}, status: 200, end: EndBye, dirs: [2]string{"sendrecv", "sendrecv"}, oneWay: true},
		{name: "answered, no media", script: func(h *harness, c *call) {
			mfAnswered(c, sendrecv("10.0.0.1", 4000), sendrecv("10.0.0.2", 6000))
		}, findings: []string{FindingMediaMissing}, status: 200, end: EndBye, dirs: [2]string{"sendrecv", "sendrecv"}, missing: true},

		// Hold (RFC 3264 section 8.4). Killed by dropping !s.nonSendRecv:
		// the caller holds at once with a=sendonly, the callee answers
		// a=recvonly, and only the holder's music flows.
		{name: "caller holds with sendonly", script: func(h *harness, c *call) {
			mfAnswered(c, sendrecv("10.0.0.1", 4000), sendrecv("10.0.0.2", 6000))
			mfCallerOffer(c, t0+mfSec+10*ms, 2, sendonly("10.0.0.1", 4000), recvonly("10.0.0.2", 6000))
			mfCaller(h, t0+2*mfSec, 50)
		}, status: 200, end: EndBye, dirs: [2]string{"sendonly", "recvonly"}},
		// The same from the callee's side (a contact-center agent
		// holding a customer): only the callee sends.
		{name: "callee holds with sendonly", script: func(h *harness, c *call) {
			mfAnswered(c, sendrecv("10.0.0.1", 4000), sendrecv("10.0.0.2", 6000))
			mfCalleeOffer(c, t0+mfSec+10*ms, 5, sendonly("10.0.0.2", 6000), recvonly("10.0.0.1", 4000))
			mfCallee(h, t0+2*mfSec, 50)
		}, status: 200, end: EndBye, dirs: [2]string{"recvonly", "sendonly"}},
		// A stream that was one-way from its offer (an announcement):
		// sendonly offer, recvonly answer.
		{name: "sendonly from the offer", script: func(h *harness, c *call) {
			mfAnswered(c, sendonly("10.0.0.1", 4000), recvonly("10.0.0.2", 6000))
			mfCaller(h, t0+2*mfSec, 50)
		}, status: 200, end: EndBye, dirs: [2]string{"sendonly", "recvonly"}},
		// Held and resumed: the stream ends sendrecv, but the counts
		// cover the whole call and cannot tell the held part, so one
		// direction's silence is not blamed on the network.
		{name: "held then resumed", script: func(h *harness, c *call) {
			mfAnswered(c, sendrecv("10.0.0.1", 4000), sendrecv("10.0.0.2", 6000))
			mfCallerOffer(c, t0+mfSec+10*ms, 2, sendonly("10.0.0.1", 4000), recvonly("10.0.0.2", 6000))
			mfCaller(h, t0+2*mfSec, 50)
			mfCallerOffer(c, t0+4*mfSec, 3, sendrecv("10.0.0.1", 4000), sendrecv("10.0.0.2", 6000))
			mfCaller(h, t0+5*mfSec, 50)
		}, status: 200, end: EndBye, dirs: [2]string{"sendrecv", "sendrecv"}},
		// Hold with a=inactive, never resumed, no media at all: the
		// stream is not negotiated any more. Killed by dropping
		// sd.dir == sdp.DirInactive from stream.negotiated (media-missing).
		{name: "held inactive, no media", script: func(h *harness, c *call) {
			mfAnswered(c, sendrecv("10.0.0.1", 4000), sendrecv("10.0.0.2", 6000))
			mfCallerOffer(c, t0+mfSec+10*ms, 2, inactive("10.0.0.1", 4000), inactive("10.0.0.2", 6000))
		}, status: 200, end: EndBye, dirs: [2]string{"inactive", "inactive"}},
		// The RFC 2543 hold (c=0.0.0.0) keeps the stream and makes the
		// holder's side inactive.
		{name: "held with c=0.0.0.0, no media", script: func(h *harness, c *call) {
			mfAnswered(c, sendrecv("10.0.0.1", 4000), sendrecv("10.0.0.2", 6000))
			mfCallerOffer(c, t0+mfSec+10*ms, 2, sdpBody("0.0.0.0", 4000), sendrecv("10.0.0.2", 6000))
		}, status: 200, end: EndBye, dirs: [2]string{"inactive", "sendrecv"}},
		// ... and counts as a hold once resumed, like a=sendonly. Killed
		// by not setting nonSendRecv on the hold address.
		{name: "held with c=0.0.0.0, resumed", script: func(h *harness, c *call) {
			mfAnswered(c, sendrecv("10.0.0.1", 4000), sendrecv("10.0.0.2", 6000))
			mfCallerOffer(c, t0+mfSec+10*ms, 2, sdpBody("0.0.0.0", 4000), sendrecv("10.0.0.2", 6000))
			mfCallee(h, t0+2*mfSec, 50)
			mfCallerOffer(c, t0+4*mfSec, 3, sendrecv("10.0.0.1", 4000), sendrecv("10.0.0.2", 6000))
			mfCallee(h, t0+5*mfSec, 50)
		}, status: 200, end: EndBye, dirs: [2]string{"sendrecv", "sendrecv"}},

		// Early media (a 183 with SDP) and no answer. Killed by
		// (answered || true): the 183 makes the stream negotiated on
		// both sides.
		{name: "183 with SDP, ringback, 486", script: func(h *harness, c *call) {
			c.invite(t0, sendrecv("10.0.0.1", 4000))
			c.respond(t0+10*ms, 183, sendrecv("10.0.0.2", 6000))
			mfCallee(h, t0+20*ms, 100)
			c.respond(t0+3*mfSec, 486, "")
		}, status: 486, end: EndRejected, dirs: [2]string{"sendrecv", "sendrecv"}},
		{name: "183 with SDP, no media, 603", script: func(h *harness, c *call) {
			c.invite(t0, sendrecv("10.0.0.1", 4000))
			c.respond(t0+10*ms, 183, sendrecv("10.0.0.2", 6000))
			c.respond(t0+3*mfSec, 603, "")
		}, status: 603, end: EndRejected, dirs: [2]string{"sendrecv", "sendrecv"}},
		{name: "183 with SDP, ringback, CANCEL", script: func(h *harness, c *call) {
			c.invite(t0, sendrecv("10.0.0.1", 4000))
			c.respond(t0+10*ms, 183, sendrecv("10.0.0.2", 6000))
			mfCallee(h, t0+20*ms, 100)
			h.udp(c.caller, c.callee, t0+3*mfSec, sipMsg("CANCEL sip:bob@example.com SIP/2.0", c.id, "ft", "", 1, "CANCEL", ""))
			c.respond(t0+3*mfSec+ms, 487, "")
		}, status: 487, end: EndCancelled, dirs: [2]string{"sendrecv", "sendrecv"}},
		// Answered after early media: the ringback is the stream's media
		// too, so a caller who never sends is one-way.
		{name: "183 ringback, then 200, caller silent", script: func(h *harness, c *call) {
			c.invite(t0, sendrecv("10.0.0.1", 4000))
			c.respond(t0+10*ms, 183, sendrecv("10.0.0.2", 6000))
			mfCallee(h, t0+20*ms, 100)
			c.respond(t0+3*mfSec, 200, sendrecv("10.0.0.2", 6000))
			c.ack(t0 + 3*mfSec + 5*ms)
		}, findings: []string{FindingMediaOneWay}, status: 200, end: EndBye, dirs: [2]string{"sendrecv", "sendrecv"}, oneWay: true},
		// A rejected call without SDP in any response negotiated nothing.
		{name: "486 without early media", script: func(h *harness, c *call) {
			c.invite(t0, sendrecv("10.0.0.1", 4000))
			c.respond(t0+3*mfSec, 486, "")
		}, status: 486, end: EndRejected, dirs: [2]string{"sendrecv", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			c := h.newCall("mf")
			tt.script(h, c)
			if tt.end == EndBye {
				h.udp(c.caller, c.callee, t0+10*mfSec, sipMsg("BYE sip:bob@example.com SIP/2.0", c.id, "ft", "tt", 9, "BYE", ""))
				h.udp(c.callee, c.caller, t0+10*mfSec+ms, sipMsg("SIP/2.0 200 OK", c.id, "ft", "tt", 9, "BYE", ""))
			}
			h.finish()
			if len(h.calls) != 1 || len(h.calls[0].Media) != 1 {
				t.Fatalf("%d calls, want 1 with one stream: %+v", len(h.calls), h.calls)
			}
			got := h.calls[0]
			m := got.Media[0]
			if !slices.Equal(got.Findings, tt.findings) {
				t.Errorf("findings %v, want %v (caller sent %d, callee %d packets)", got.Findings, tt.findings,
					sentBy(m, true), sentBy(m, false))
			}
			if m.Missing != tt.missing || m.OneWay != tt.oneWay {
				t.Errorf("stream missing %v one-way %v, want %v %v", m.Missing, m.OneWay, tt.missing, tt.oneWay)
			}
			if got.FinalStatus != tt.status || got.EndReason != tt.end {
				t.Errorf("final status %d end %q, want %d %q", got.FinalStatus, got.EndReason, tt.status, tt.end)
			}
			if d := [2]string{m.CallerDirection, m.CalleeDirection}; d != tt.dirs {
				t.Errorf("directions %v, want %v", d, tt.dirs)
			}
		})
	}
}

// sentBy sums what the caller (or the callee) sent over a stream's flows.
func sentBy(m MediaStream, caller bool) uint64 {
	var n uint64
	for _, f := range m.Flows {
		if caller {
			n += f.FromCaller.Packets
		} else {
			n += f.FromCallee.Packets
		}
	}
	return n
}

// TestMediaFindingsCountDroppedFlows: a stream keeps maxFlowsPerStream
// flows in its record and counts the rest in FlowsDropped, but every
// flow's packets are in the totals the findings are judged on. Here the
// caller's media comes from 16 ports (a media server moving ports), ended
// first so that they are the flows kept, and the callee's only flow is
// the one past the bound: the call is not one-way. The case also pins
// what makes the FlowsDropped test in Tracker.emit's superseded-offer
// skip redundant: a stream with dropped flows has maxFlowsPerStream kept
// ones.
func TestMediaFindingsCountDroppedFlows(t *testing.T) {
	for _, tc := range []struct {
		name     string
		callee   int // packets the callee sends, on the flow past the bound
		findings []string
	}{
		{name: "callee media on the dropped flow", callee: 30},
		{name: "callee silent", callee: 0, findings: []string{FindingMediaOneWay}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			c := h.newCall("drops")
			mfAnswered(c, sdpBody("10.0.0.1", 4000), sdpBody("10.0.0.2", 6000))
			const kept, perFlow, dropped = maxFlowsPerStream, 5, 1
			for i := range kept {
				src := fmt.Sprintf("10.0.0.1:%d", 4100+2*i)
				h.rtpRun(src, mfCalleeRTP, t0+2*mfSec+int64(i)*mfSec/10, perFlow, uint32(10+i))
				mfEndFlow(h, src, mfCalleeRTP)
			}
			if tc.callee > 0 {
				mfCallee(h, t0+5*mfSec, tc.callee)
				mfEndFlow(h, mfCalleeRTP, mfCallerRTP)
			} else {
				// Another caller flow past the bound.
				h.rtpRun("10.0.0.1:4900", mfCalleeRTP, t0+5*mfSec, perFlow, 99)
				mfEndFlow(h, "10.0.0.1:4900", mfCalleeRTP)
			}
			c.bye(t0 + 10*mfSec)
			h.finish()
			if len(h.calls) != 1 || len(h.calls[0].Media) != 1 {
				t.Fatalf("calls %+v", h.calls)
			}
			got := h.calls[0]
			m := got.Media[0]
			if len(m.Flows) != kept || m.FlowsDropped != dropped {
				t.Errorf("%d flows kept, %d dropped; want %d, %d", len(m.Flows), m.FlowsDropped, kept, dropped)
			}
			wantPackets := uint64(kept*perFlow + tc.callee)
			if tc.callee == 0 {
				wantPackets += perFlow
			}
			if m.Packets != wantPackets {
				t.Errorf("stream packets %d, want %d (dropped flows in the totals)", m.Packets, wantPackets)
			}
			if sentBy(m, false) != 0 {
				t.Errorf("a kept flow carries the callee's media: %+v", m.Flows)
			}
			if !slices.Equal(got.Findings, tc.findings) {
				t.Errorf("findings %v, want %v", got.Findings, tc.findings)
			}
		})
	}
}

// TestPoorMOSAtThreshold: poor-voice-quality is raised when the MOS is
// strictly below Config.PoorMOS (docs/voice-quality.md: "falls below"; G.107
// Annex B puts R 70, MOS 3.6, inside "satisfied"), so a stream rated
// exactly at the threshold is not poor and one a hair below it is. Killed
// by < -> <= in stream.rate.
func TestPoorMOSAtThreshold(t *testing.T) {
	clean := func(h *harness, start int64) {
		h.rtpPattern(mfCallerRTP, mfCalleeRTP, start, 500, 1, nil)
		h.rtpPattern(mfCalleeRTP, mfCallerRTP, start, 500, 2, nil)
	}
	// The rating of this exact call, with the finding off.
	mos := qualityCall(t, Config{PoorMOS: -1}, clean).Media[0].MOS
	closeTo(t, "clean G.711 MOS", mos, 4.4094, 5e-5)
	for _, tc := range []struct {
		name      string
		threshold float64
		poor      bool
	}{
		{"threshold at the MOS", mos, false},
		{"threshold just above the MOS", math.Nextafter(mos, 5), true},
		{"threshold just below the MOS", math.Nextafter(mos, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := qualityCall(t, Config{PoorMOS: tc.threshold}, clean)
			m := c.Media[0]
			if m.MOS != mos {
				t.Fatalf("MOS %v, want %v: the rating is not deterministic", m.MOS, mos)
			}
			var want []string
			if tc.poor {
				want = []string{FindingPoorVoiceQuality}
			}
			if m.PoorQuality != tc.poor || !slices.Equal(c.Findings, want) {
				t.Errorf("poor %v findings %v, want %v %v", m.PoorQuality, c.Findings, tc.poor, want)
			}
			if (m.QualityReason != "") != tc.poor {
				t.Errorf("reason %q", m.QualityReason)
			}
		})
	}
}

// TestEarlyMediaFromElsewhere: the callee's 183 answers the offer from one
// address (an announcement server, a forked leg) and its 200 from another
// (the phone). The first stream carried early media only (RFC 3960), which
// no finding judges; the second answers the same offer, so it keeps the
// caller's side and is judged like any answered stream. Killed by judging
// early streams (the ringback alone is one-way), and by starting the
// answered stream without the caller's side (never negotiated, so no
// finding at all).
func TestEarlyMediaFromElsewhere(t *testing.T) {
	for _, tc := range []struct {
		name       string
		noRingback bool
		media      func(h *harness)
		findings   []string
		missing    bool
		oneWay     bool
	}{
		{name: "media both ways after the answer", media: func(h *harness) {
			mfCaller(h, t0+3*mfSec, 50)
			mfCallee(h, t0+3*mfSec, 50)
		}},
		// The early stream without media is not media-missing either.
		{name: "no ringback, media both ways after the answer", noRingback: true, media: func(h *harness) {
			mfCaller(h, t0+3*mfSec, 50)
			mfCallee(h, t0+3*mfSec, 50)
		}},
		{name: "no media after the answer", media: func(h *harness) {}, findings: []string{FindingMediaMissing}, missing: true},
		{name: "caller silent after the answer", media: func(h *harness) {
			mfCallee(h, t0+3*mfSec, 50)
		}, findings: []string{FindingMediaOneWay}, oneWay: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			c := h.newCall("early")
			c.invite(t0, sdpBody("10.0.0.1", 4000))
			c.respond(t0+10*ms, 183, sdpBody("10.0.0.3", 8000))
			ringback := 50
			if tc.noRingback {
				ringback = 0
			}
			h.rtpRun("10.0.0.3:8000", mfCallerRTP, t0+20*ms, ringback, 7)
			c.respond(t0+2*mfSec, 200, sdpBody("10.0.0.2", 6000))
			c.ack(t0 + 2*mfSec + ms)
			tc.media(h)
			c.bye(t0 + 10*mfSec)
			h.finish()
			if len(h.calls) != 1 || len(h.calls[0].Media) != 2 {
				t.Fatalf("calls %+v, want one with two streams", h.calls)
			}
			got := h.calls[0]
			early, answered := got.Media[0], got.Media[1]
			if early.CalleeRTP != mustAP("10.0.0.3:8000") || early.Packets != uint64(ringback) || early.Missing || early.OneWay {
				t.Errorf("early stream: callee %v, %d packets, missing %v, one-way %v; want 10.0.0.3:8000, %d, no finding",
					early.CalleeRTP, early.Packets, early.Missing, early.OneWay, ringback)
			}
			if answered.CallerRTP != mustAP(mfCallerRTP) || answered.CalleeRTP != mustAP(mfCalleeRTP) ||
				answered.CallerDirection != "sendrecv" || answered.CalleeDirection != "sendrecv" {
				t.Errorf("answered stream %v %s <-> %v %s, want both sides sendrecv", answered.CallerRTP,
					answered.CallerDirection, answered.CalleeRTP, answered.CalleeDirection)
			}
			if answered.Missing != tc.missing || answered.OneWay != tc.oneWay {
				t.Errorf("answered stream missing %v one-way %v, want %v %v", answered.Missing, answered.OneWay, tc.missing, tc.oneWay)
			}
			if !slices.Equal(got.Findings, tc.findings) {
				t.Errorf("findings %v, want %v", got.Findings, tc.findings)
			}
		})
	}
}

// TestEarlyStreamMoves: more ways a stream ends before the answer. A
// caller's UPDATE (RFC 3311) moving its address during early media makes
// the first stream early: its one-way ringback is not judged (killed by
// marking only streams the answer moved as early). And a stream the
// answer moved keeps the direction of the caller's offer: a sendonly
// offer still stands even when the 200 says sendrecv (killed by starting
// the moved stream as sendrecv). A refused UPDATE restores the first
// stream, which is then the answered one and judged (killed by leaving it
// marked early).
func TestEarlyStreamMoves(t *testing.T) {
	for _, tc := range []struct {
		name     string
		script   func(h *harness, c *call)
		streams  int
		findings []string
	}{
		{name: "caller UPDATE during early media", script: func(h *harness, c *call) {
			c.invite(t0, sdpBody("10.0.0.1", 4000))
			c.respond(t0+10*ms, 183, sdpBody("10.0.0.2", 6000))
			mfCallee(h, t0+20*ms, 50)
			h.udp(c.caller, c.callee, t0+2*mfSec, sipMsg("UPDATE sip:bob@example.com SIP/2.0", c.id, "ft", "tt", 2, "UPDATE", sdpBody("10.0.0.1", 4002)))
			h.udp(c.callee, c.caller, t0+2*mfSec+ms, sipMsg("SIP/2.0 200 OK", c.id, "ft", "tt", 2, "UPDATE", sdpBody("10.0.0.2", 6000)))
			c.respond(t0+3*mfSec, 200, sdpBody("10.0.0.2", 6000))
			c.ack(t0 + 3*mfSec + ms)
			h.rtpRun("10.0.0.1:4002", mfCalleeRTP, t0+4*mfSec, 50, 3)
			h.rtpRun(mfCalleeRTP, "10.0.0.1:4002", t0+4*mfSec, 50, 4)
		}, streams: 2},
		{name: "caller UPDATE refused, then silence", script: func(h *harness, c *call) {
			c.invite(t0, sdpBody("10.0.0.1", 4000))
			c.respond(t0+10*ms, 183, sdpBody("10.0.0.2", 6000))
			h.udp(c.caller, c.callee, t0+2*mfSec, sipMsg("UPDATE sip:bob@example.com SIP/2.0", c.id, "ft", "tt", 2, "UPDATE", sdpBody("10.0.0.1", 4002)))
			h.udp(c.callee, c.caller, t0+2*mfSec+ms, sipMsg("SIP/2.0 488 Not Acceptable Here", c.id, "ft", "tt", 2, "UPDATE", ""))
			c.respond(t0+3*mfSec, 200, sdpBody("10.0.0.2", 6000))
			c.ack(t0 + 3*mfSec + ms)
		}, streams: 1, findings: []string{FindingMediaMissing}},
		{name: "sendonly offer, answered sendrecv from elsewhere", script: func(h *harness, c *call) {
			c.invite(t0, sdpBody("10.0.0.1", 4000, "a=sendonly"))
			c.respond(t0+10*ms, 183, sdpBody("10.0.0.3", 8000, "a=recvonly"))
			c.respond(t0+2*mfSec, 200, sdpBody("10.0.0.2", 6000))
			c.ack(t0 + 2*mfSec + ms)
			mfCaller(h, t0+3*mfSec, 50)
		}, streams: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			c := h.newCall("moves")
			tc.script(h, c)
			c.bye(t0 + 10*mfSec)
			h.finish()
			if len(h.calls) != 1 || len(h.calls[0].Media) != tc.streams {
				t.Fatalf("calls %+v, want one with %d streams", h.calls, tc.streams)
			}
			got := h.calls[0]
			if !slices.Equal(got.Findings, tc.findings) {
				t.Errorf("findings %v, want %v", got.Findings, tc.findings)
			}
			m := got.Media[tc.streams-1]
			if m.CallerRTP == (netip.AddrPort{}) || m.CalleeRTP == (netip.AddrPort{}) || (m.Packets == 0) != (tc.findings != nil) {
				t.Errorf("answered stream %+v: want both sides, and media unless it is missing", m)
			}
		})
	}
}

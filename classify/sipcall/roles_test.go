package sipcall

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
)

// TestMediaFlowRoles checks which end of a media flow is the caller's.
// flow.Key orders endpoints by address, so the cases put the caller at the
// higher address too, and match the flow by endpoint A alone, by endpoint
// B alone (the other end behind NAT), and by both.
func TestMediaFlowRoles(t *testing.T) {
	tests := []struct {
		name           string
		caller, callee string // signalling
		callerSDP      string // caller's media address in its SDP
		calleeSDP      string
		callerEnd      string // where the caller's media really comes from
		calleeEnd      string
	}{
		{name: "caller lower, both ends match", caller: "10.0.0.1:5060", callee: "10.0.0.2:5060",
			callerSDP: "10.0.0.1:4000", calleeSDP: "10.0.0.2:6000", callerEnd: "10.0.0.1:4000", calleeEnd: "10.0.0.2:6000"},
		{name: "caller higher, both ends match", caller: "10.0.0.9:5060", callee: "10.0.0.2:5060",
			callerSDP: "10.0.0.9:4000", calleeSDP: "10.0.0.2:6000", callerEnd: "10.0.0.9:4000", calleeEnd: "10.0.0.2:6000"},
		// Only the callee's end (endpoint B) matches: the caller's media
		// leaves a NAT at a lower address.
		{name: "caller NAT lower, only B matches", caller: "10.0.0.9:5060", callee: "10.0.0.5:5060",
			callerSDP: "10.0.0.9:4000", calleeSDP: "10.0.0.5:6000", callerEnd: "10.0.0.1:31000", calleeEnd: "10.0.0.5:6000"},
		// Only the caller's end (endpoint B) matches: the callee is behind
		// a NAT at a lower address.
		{name: "callee NAT lower, only B matches", caller: "10.0.0.9:5060", callee: "10.0.0.5:5060",
			callerSDP: "10.0.0.9:4000", calleeSDP: "10.0.0.5:6000", callerEnd: "10.0.0.9:4000", calleeEnd: "10.0.0.1:32000"},
		// Only endpoint A matches, on either side.
		{name: "caller NAT higher, only A matches", caller: "10.0.0.1:5060", callee: "10.0.0.5:5060",
			callerSDP: "10.0.0.1:4000", calleeSDP: "10.0.0.5:6000", callerEnd: "10.0.0.9:31000", calleeEnd: "10.0.0.5:6000"},
		{name: "callee NAT higher, only A matches", caller: "10.0.0.5:5060", callee: "10.0.0.1:5060",
			callerSDP: "10.0.0.5:4000", calleeSDP: "10.0.0.1:6000", callerEnd: "10.0.0.5:4000", calleeEnd: "10.0.0.9:32000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			c := &call{h: h, id: "roles", caller: tt.caller, callee: tt.callee}
			cs, ce := mustAP(tt.callerSDP), mustAP(tt.calleeSDP)
			c.invite(t0, sdpBody(cs.Addr().String(), int(cs.Port())))
			c.respond(t0+time.Second.Nanoseconds(), 200, sdpBody(ce.Addr().String(), int(ce.Port())))
			c.ack(t0 + time.Second.Nanoseconds() + 5*ms)
			start := t0 + 2*time.Second.Nanoseconds()
			h.rtpRun(tt.callerEnd, tt.calleeEnd, start, 50, 1)
			h.rtpRun(tt.calleeEnd, tt.callerEnd, start+5*ms, 30, 2)
			c.bye(t0 + 10*time.Second.Nanoseconds())
			h.finish()
			if len(h.calls) != 1 || len(h.calls[0].Media) != 1 {
				t.Fatalf("calls %+v", h.calls)
			}
			m := h.calls[0].Media[0]
			if len(m.Flows) != 1 {
				t.Fatalf("%d media flows, want 1: %+v", len(m.Flows), m.Flows)
			}
			f := m.Flows[0]
			if f.Caller != mustAP(tt.callerEnd) || f.Callee != mustAP(tt.calleeEnd) {
				t.Errorf("caller end %v, callee end %v; want %s, %s", f.Caller, f.Callee, tt.callerEnd, tt.calleeEnd)
			}
			if f.FromCaller.Packets != 50 || f.FromCallee.Packets != 30 || f.FromCaller.SSRC != 1 || f.FromCallee.SSRC != 2 {
				t.Errorf("from caller %d packets (SSRC %d), from callee %d (SSRC %d); want 50 (1) and 30 (2)",
					f.FromCaller.Packets, f.FromCaller.SSRC, f.FromCallee.Packets, f.FromCallee.SSRC)
			}
		})
	}
}

// TestMatchTieBreak: when each endpoint of a flow is expected by a
// different call, the call that negotiated the pair wins, else the newer
// one, whichever endpoint (A or B) that call expects.
func TestMatchTieBreak(t *testing.T) {
	const (
		p = "10.0.0.2:6000" // endpoint A of the probed flow
		q = "10.0.0.9:4000" // endpoint B
		r = "10.0.0.5:7000" // elsewhere
		s = "10.0.0.6:7000"
	)
	type offer struct{ id, callerMedia, calleeMedia string }
	tests := []struct {
		name   string
		offers []offer // in order: the later call is the newer
		want   string
	}{
		// call-old negotiated p<->q; call-new then took one endpoint
		// with another peer. The pair still belongs to call-old.
		{"pair expected at A, newer at B", []offer{{"call-old", p, q}, {"call-new", r, q}}, "call-old"},
		{"pair expected at B, newer at A", []offer{{"call-old", q, p}, {"call-new", p, r}}, "call-old"},
		// Neither call negotiated the pair: the newer wins.
		{"newer at B", []offer{{"call-old", p, r}, {"call-new", s, q}}, "call-new"},
		{"newer at A", []offer{{"call-old", q, r}, {"call-new", p, s}}, "call-new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			for i, o := range tt.offers {
				c := &call{h: h, id: o.id, caller: "10.1.0.1:5060", callee: "10.1.0.2:5060"}
				cm, ce := mustAP(o.callerMedia), mustAP(o.calleeMedia)
				ts := t0 + int64(i)*time.Second.Nanoseconds()
				c.invite(ts, sdpBody(cm.Addr().String(), int(cm.Port())))
				c.respond(ts+10*ms, 200, sdpBody(ce.Addr().String(), int(ce.Port())))
				c.ack(ts + 20*ms)
			}
			k, _ := flow.NewKey(flow.ProtoUDP, netip.MustParseAddrPort(q), netip.MustParseAddrPort(p))
			if k.A() != mustAP(p) {
				t.Fatalf("endpoint A is %v, the test assumes %s", k.A(), p)
			}
			if id, ok := h.tr.MatchMedia(&flow.Flow{Key: k}); !ok || id != tt.want {
				t.Errorf("matched %q (%v), want %q", id, ok, tt.want)
			}
		})
	}
}

package sipcall

import "testing"

// TestSkimmedMessages pins the skimming of messages outside INVITE
// dialogs: on a flow already confirmed as SIP, one of no call is only
// counted as skimmed, and one whose Call-ID is a call's, even a call whose
// INVITE is in the same epoch, is parsed at the commit and applied as if
// parsed on arrival.
func TestSkimmedMessages(t *testing.T) {
	h := newHarness(t, Config{})
	side, pbx := "10.0.0.2:5062", "10.0.0.1:5060"
	// The flow's first message is parsed: it confirms the flow.
	h.udp(side, pbx, t0, sipMsg("OPTIONS sip:pbx@example.com SIP/2.0", "ka-1", "k1", "", 1, "OPTIONS", ""))
	if n := h.tr.Stats().Messages.Load(); n != 1 {
		t.Fatalf("%d messages parsed, want the OPTIONS", n)
	}

	c := h.newCall("c1")
	h.batch = true
	c.invite(t0+ms, sdpBody("10.0.0.1", 4000))
	// The callee's INFO, on the other flow, names its User-Agent before
	// its 200 names a Server: the call keeps the first.
	h.udp(side, pbx, t0+2*ms, sipMsg("INFO sip:alice@example.com SIP/2.0", "c1", "tt", "ft", 1, "INFO", "", "User-Agent: PhoneB"))
	h.tr.Commit(t0 + 2*ms)
	h.batch = false
	c.respond(t0+3*ms, 200, sdpBody("10.0.0.2", 6000))
	h.udp(side, pbx, t0+4*ms, sipMsg("REGISTER sip:pbx@example.com SIP/2.0", "reg-1", "r1", "", 7, "REGISTER", ""))
	h.udp(pbx, side, t0+5*ms, sipMsg("SIP/2.0 401 Unauthorized", "reg-1", "r1", "x", 7, "REGISTER", ""))
	c.bye(t0 + 6*ms)
	h.finish()

	if len(h.calls) != 1 {
		t.Fatalf("%d calls", len(h.calls))
	}
	if got := h.calls[0].CalleeUA; got != "PhoneB" {
		t.Errorf("callee UA %q, want the INFO's", got)
	}
	st := h.tr.Stats()
	if n := st.Skimmed.Load(); n != 2 {
		t.Errorf("%d messages skimmed, want the REGISTER and its 401", n)
	}
	// OPTIONS, INVITE, INFO (at the commit), 200, BYE, 200.
	if n := st.Messages.Load(); n != 6 {
		t.Errorf("%d messages parsed, want 6", n)
	}
	if f := h.flowOf(side, pbx); f == nil || f.Meta == nil || f.Meta.App != "sip" {
		t.Errorf("the skimming flow is not labelled sip: %+v", f)
	}
}

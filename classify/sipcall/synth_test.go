package sipcall

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ccaudit/auditor/internal/synth"
)

// generate writes a synthetic capture of the given scenarios to a temp
// file and returns its path and the generator's counts.
func generate(t *testing.T, counts map[synth.Scenario]int) (string, synth.Stats) {
	t.Helper()
	opts := synth.Options{Seed: 7, CallDuration: 4 * time.Second, Format: synth.PCAP, Counts: counts}
	for s := range counts {
		opts.Scenarios = append(opts.Scenarios, s)
	}
	path := filepath.Join(t.TempDir(), "calls.pcap")
	st, err := synth.WriteFile(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return path, st
}

// TestSynthScenarios replays each SIP scenario of the generator and checks
// the call records and that all of its media was matched to signalling.
func TestSynthScenarios(t *testing.T) {
	tests := []struct {
		scenario synth.Scenario
		final    int // 0: any 4xx
		reason   EndReason
		check    func(t *testing.T, c *Call)
	}{
		{scenario: synth.SIPUDP, final: 200, reason: EndBye},
		{scenario: synth.SIPTCP, final: 200, reason: EndBye, check: transport("tcp")},
		{scenario: synth.SIPTCPCoalesced, final: 200, reason: EndBye, check: transport("tcp")},
		{scenario: synth.SIPFragmented, final: 200, reason: EndBye},
		{scenario: synth.SIPReinvite, final: 200, reason: EndBye, check: func(t *testing.T, c *Call) {
			if len(c.Media) != 2 || c.Reinvites != 1 {
				t.Errorf("re-INVITE: %d streams, %d re-INVITEs; want 2 and 1", len(c.Media), c.Reinvites)
			}
			for _, m := range c.Media {
				if m.Packets == 0 {
					t.Errorf("stream %v-%v saw no packets", m.CallerRTP, m.CalleeRTP)
				}
			}
		}},
		{scenario: synth.SIPHold, final: 200, reason: EndBye, check: func(t *testing.T, c *Call) {
			if len(c.Media) != 1 || c.Reinvites != 2 {
				t.Errorf("hold: %d streams, %d re-INVITEs; want 1 and 2", len(c.Media), c.Reinvites)
			}
		}},
		{scenario: synth.SIPT38, final: 200, reason: EndBye, check: func(t *testing.T, c *Call) {
			var image *MediaStream
			for i := range c.Media {
				if c.Media[i].Type == "image" {
					image = &c.Media[i]
				}
			}
			if image == nil || image.Proto != "udptl" || len(image.Flows) == 0 || image.Flows[0].App != "udptl" {
				t.Fatalf("T.38: no udptl stream with flows in %+v", c.Media)
			}
			if image.Flows[0].FromCaller.Packets == 0 || image.Flows[0].FromCallee.Packets == 0 {
				t.Errorf("udptl flow %+v", image.Flows[0])
			}
		}},
		{scenario: synth.SIPIPv6, final: 200, reason: EndBye, check: func(t *testing.T, c *Call) {
			if !c.Caller.Addr().Is6() || !c.Media[0].CallerRTP.Addr().Is6() || len(c.Media[0].Flows) == 0 {
				t.Errorf("IPv6 call %v media %+v", c.Caller, c.Media)
			}
		}},
		{scenario: synth.SIPEarlyMedia, final: 200, reason: EndBye},
		{scenario: synth.SIPCancel, final: 487, reason: EndCancelled},
		{scenario: synth.SIPFailure, reason: EndRejected},
	}
	for _, tt := range tests {
		t.Run(string(tt.scenario), func(t *testing.T) {
			path, st := generate(t, map[synth.Scenario]int{tt.scenario: 3})
			r := replay(t, Config{}, path)
			if len(r.calls) != st.Calls {
				t.Fatalf("%d calls, generator wrote %d", len(r.calls), st.Calls)
			}
			for _, c := range r.calls {
				if c.EndReason != tt.reason || tt.final != 0 && c.FinalStatus != tt.final ||
					tt.final == 0 && (c.FinalStatus < 400 || c.FinalStatus > 499) {
					t.Errorf("%s: final %d reason %s", c.CallID, c.FinalStatus, c.EndReason)
				}
				if c.Findings != nil {
					t.Errorf("%s: findings %v on a clean call", c.CallID, c.Findings)
				}
				if c.CallerUA == "" || c.CalleeUA == "" || c.From == "" || c.To == "" {
					t.Errorf("%s: missing party details %+v", c.CallID, c)
				}
				if c.FinalStatus == 200 {
					if len(c.Codecs) == 0 || c.Answer == 0 {
						t.Errorf("%s: codecs %v answer %d", c.CallID, c.Codecs, c.Answer)
					}
					for _, m := range c.Media {
						if m.Lost != 0 {
							t.Errorf("%s: stream lost %d packets on a lossless capture", c.CallID, m.Lost)
						}
					}
				}
				if tt.check != nil {
					tt.check(t, c)
				}
			}
			// Every flow is signalling or negotiated media. The generator
			// counts an RTCP flow per party even when the call ends before
			// the first report (5 s interval) or rtcp-mux puts it on the
			// RTP 5-tuple, so only RTP and UDPTL counts must be equal.
			for _, f := range r.flows {
				if f.meta.App != "sip" && !f.negotiated {
					t.Errorf("flow %v (%q) is neither SIP nor negotiated media", f.key, f.meta.App)
				}
			}
			if got := r.negotiated("rtp"); got != st.Flows["rtp"] {
				t.Errorf("%d negotiated RTP flows, generator wrote %d", got, st.Flows["rtp"])
			}
			if got := r.negotiated("udptl"); got != st.Flows["udptl"] {
				t.Errorf("%d negotiated UDPTL flows, generator wrote %d", got, st.Flows["udptl"])
			}
			if got := r.negotiated("rtcp"); got > st.Flows["rtcp"] {
				t.Errorf("%d negotiated RTCP flows, generator wrote %d", got, st.Flows["rtcp"])
			}
			if n := r.tracker.Stats().MediaUnexpected.Load(); n != 0 {
				t.Errorf("%d media flows without signalling", n)
			}
		})
	}
}

func transport(want string) func(*testing.T, *Call) {
	return func(t *testing.T, c *Call) {
		if c.Transport != want {
			t.Errorf("%s: transport %s, want %s", c.CallID, c.Transport, want)
		}
	}
}

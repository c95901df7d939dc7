package verdict_test

import (
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
)

// TestFailedAttemptNeedsASilentResponder pins the conn_state lines of the
// classifier: a connection whose SYN-ACK the capture missed is not a
// blocked attempt, whether Zeek calls it OTH (the responder sent data), S0
// (it only ACKed the SYN), SH or RSTOS0 (the originator closed), nor is
// one whose originator acknowledged after its SYN (only its direction was
// captured); a SYN nothing answered is.
func TestFailedAttemptNeedsASilentResponder(t *testing.T) {
	cat := loadTestCatalog(t)
	inv := loadTestInventory(t, cat)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	ack, psh := flow.FlagACK, flow.FlagPSH|flow.FlagACK
	tests := []struct {
		name    string
		pkts    []pkt
		state   flow.ConnState
		blocked bool
	}{
		{"SYN-ACK not captured, both sides send", []pkt{{true, syn, 0}, {true, ack, 0}, {true, psh, 100}, {false, psh, 50}}, flow.StateOTH, false},
		{"SYN answered only by an ACK", []pkt{{true, syn, 0}, {false, ack, 0}}, flow.StateS0, false},
		{"SYN never answered", []pkt{{true, syn, 0}, {true, syn, 0}}, flow.StateS0, true},
		{"SYN rejected", []pkt{{true, syn, 0}, {false, rstack, 0}}, flow.StateREJ, true},
		{"SYN then FIN, no answer", []pkt{{true, syn, 0}, {true, flow.FlagFIN, 0}}, flow.StateSH, true},
		// A stack giving up on a connect sends nothing: a RST after the
		// SYN answers the SYN-ACK the capture missed.
		{"SYN then own RST", []pkt{{true, syn, 0}, {true, flow.FlagRST, 0}}, flow.StateRSTOS0, false},
		// The SYN-ACK was not captured but the responder answered
		// afterwards: Zeek's SH (the originator closed, the responder
		// stayed PARTIAL) and RSTOS0 are no failed attempts then.
		{"SYN-ACK not captured, originator closes", []pkt{{true, syn, 0}, {true, ack, 0}, {true, psh, 100}, {false, psh, 500}, {true, ack, 0}, {true, finack, 0}, {false, ack, 0}}, flow.StateSH, false},
		{"SYN answered by a bare ACK, originator closes", []pkt{{true, syn, 0}, {false, ack, 0}, {true, ack, 0}, {true, psh, 10}, {false, ack, 0}, {true, finack, 0}}, flow.StateSH, false},
		{"SYN answered by a bare ACK, originator resets", []pkt{{true, syn, 0}, {false, ack, 0}, {true, flow.FlagRST, 0}}, flow.StateRSTOS0, false},
		// A sensor that sees only the originator: its ACKs after the SYN
		// prove the SYN-ACK reached it.
		{"one direction captured", []pkt{{true, syn, 0}, {true, ack, 0}, {true, psh, 100}, {true, psh, 100}}, flow.StateS0, false},
		{"one direction captured, closed", []pkt{{true, syn, 0}, {true, ack, 0}, {true, psh, 100}, {true, finack, 0}}, flow.StateSH, false},
		{"one direction captured, reset with ACK", []pkt{{true, syn, 0}, {true, rstack, 0}}, flow.StateRSTOS0, false},
	}
	var r verdict.Result
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := play(t, tcp, "10.1.0.5:50000", "10.0.0.11:7597", tt.pkts)
			if f.ConnState() != tt.state {
				t.Fatalf("state %s, want %s", f.ConnState(), tt.state)
			}
			cl.Classify(f, &r)
			if got := r.Verdict == verdict.Blocked; got != tt.blocked {
				t.Errorf("verdict %v (%s), want blocked=%v", r.Verdict, r.Reason, tt.blocked)
			}
		})
	}
}

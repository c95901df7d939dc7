package verdict_test

import (
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
)

// TestFailedAttemptNeedsASilentResponder pins the conn_state lines of the
// classifier: a connection whose SYN-ACK the capture missed is not a
// blocked attempt, whether Zeek calls it OTH (the responder sent data) or
// S0 (it only ACKed the SYN); a SYN nothing answered is.
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
		{"SYN then FIN, no answer", []pkt{{true, syn, 0}, {true, flow.FlagFIN | flow.FlagACK, 0}}, flow.StateSH, true},
		{"SYN then own RST", []pkt{{true, syn, 0}, {true, flow.FlagRST, 0}}, flow.StateRSTOS0, true},
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

package compliance

import (
	"testing"

	"github.com/ccaudit/auditor/classify/sipcall"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/parquetout"
)

// A UDP flow is media for the report when the SIP dissector labelled it
// media or the verdict engine found it negotiated; the report has no list
// of media labels of its own.
func TestIsMediaFlow(t *testing.T) {
	for _, app := range []string{"rtp", "rtcp", "udptl", "srtp", "sip", "dns", ""} {
		if got, want := isMediaFlow(&parquetout.FlowRow{Proto: "udp", App: app}), sipcall.IsMediaApp(app); got != want {
			t.Errorf("udp %q: media %v, want %v", app, got, want)
		}
		if isMediaFlow(&parquetout.FlowRow{Proto: "tcp", App: app, Verdict: verdict.Negotiated.String()}) {
			t.Errorf("tcp %q counted as media", app)
		}
	}
	if !isMediaFlow(&parquetout.FlowRow{Proto: "udp", Verdict: verdict.Negotiated.String()}) {
		t.Error("negotiated udp flow not media")
	}
	if isMediaFlow(&parquetout.FlowRow{Proto: "udp", Verdict: verdict.Expected.String()}) {
		t.Error("expected unlabelled udp flow counted as media")
	}
}

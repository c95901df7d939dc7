package verdict_test

import (
	"net/netip"
	"testing"

	"github.com/ccaudit/auditor/classify/sipcall"
	"github.com/ccaudit/auditor/classify/verdict"
)

// A stream rated below the threshold becomes one medium finding carrying
// the tracker's reason; a stream that is also one-way reports the one-way
// finding (its cause) instead.
func TestCallFindingsPoorVoiceQuality(t *testing.T) {
	poor := sipcall.MediaStream{Type: "audio", Proto: "RTP/AVP",
		CallerRTP: netip.MustParseAddrPort("10.0.0.1:4000"), CalleeRTP: netip.MustParseAddrPort("10.0.0.2:6000"),
		PoorQuality: true, MOS: 2.1, QualityReason: "estimated MOS 2.10 (R 40) below 3.60: PCMU, 12.0% loss"}
	c := &sipcall.Call{CallID: "c1", Answer: 10, End: 20, Media: []sipcall.MediaStream{poor}}
	got := verdict.CallFindings(c)
	if len(got) != 1 {
		t.Fatalf("%d findings", len(got))
	}
	g := got[0]
	if g.Kind != verdict.KindPoorVoiceQuality || g.Severity != verdict.Medium || g.Reason != poor.QualityReason ||
		g.Src != poor.CallerRTP.Addr() || g.DstPort != 6000 || g.CallID != "c1" {
		t.Errorf("finding %+v", g)
	}
	oneWay := poor
	oneWay.OneWay = true
	c.Media = []sipcall.MediaStream{oneWay}
	if got := verdict.CallFindings(c); len(got) != 1 || got[0].Kind != verdict.KindMediaOneWay {
		t.Errorf("one-way and poor: %+v", got)
	}
	fine := poor
	fine.PoorQuality = false
	c.Media = []sipcall.MediaStream{fine}
	if got := verdict.CallFindings(c); len(got) != 0 {
		t.Errorf("good call: %+v", got)
	}
}

package parquetout

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ccaudit/auditor/classify/sipcall"
)

func TestCallsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.parquet")
	w, err := CreateCalls(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &sipcall.Call{CallID: "a@b", From: "sip:1@x", To: "sip:2@y",
		Caller: netip.MustParseAddrPort("10.0.0.1:5060"), Callee: netip.MustParseAddrPort("10.0.0.2:5060"),
		Transport: "udp", Start: 1_000_000_000, End: 5_000_000_000, FinalStatus: 486, EndReason: sipcall.EndRejected,
		Media: []sipcall.MediaStream{{Type: "audio", Proto: "RTP/AVP", CallerRTP: netip.MustParseAddrPort("10.0.0.1:16384"), Packets: 10, Missing: true}}}
	var row CallRow
	FromCall(c, &row)
	if err := w.Write(&row); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadCalls(path)
	if err != nil {
		t.Fatal(err)
	}
	got := rows[0]
	if len(rows) != 1 || got.CallID != "a@b" || !got.Answer.IsZero() || got.Start.UnixNano() != 1_000_000_000 ||
		len(got.Media) != 1 || got.Media[0].CallerRTP != "10.0.0.1:16384" || !got.Media[0].Missing || got.FinalStatus != 486 {
		t.Fatalf("read back %+v", rows)
	}
}

func TestCallsQualityRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.parquet")
	w, err := CreateCalls(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rated := sipcall.Quality{Rated: true, Expected: 500, Lost: 100, LossPercent: 20, BurstR: 8, RFactor: 24.4, MOS: 1.39,
		WorstLossPercent: 30, WorstMOS: 1.2, RTCPReports: 3, RTCPLossPercent: 9.8, RTCPLost: 7, RTCPJitterMillis: 10,
		RTTMillis: 300, DelayFromRTT: true}
	c := &sipcall.Call{CallID: "q@b", MOS: 1.39, RFactor: 24.4,
		Media: []sipcall.MediaStream{{Type: "audio", Proto: "RTP/AVP", PoorQuality: true, MOS: 1.39,
			CallerToCallee: rated, CalleeToCaller: sipcall.Quality{Rated: true, Expected: 500, MOS: 4.41, RFactor: 93.2}}},
	}
	unrated := &sipcall.Call{CallID: "none@b", Media: []sipcall.MediaStream{{Type: "audio", Proto: "RTP/AVP", Missing: true}}}
	for _, call := range []*sipcall.Call{c, unrated} {
		var row CallRow
		FromCall(call, &row)
		if err := w.Write(&row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadCalls(path)
	if err != nil {
		t.Fatal(err)
	}
	got, none := rows[0], rows[1]
	if got.MOS == nil || *got.MOS != 1.39 || got.RFactor == nil || *got.RFactor != 24.4 {
		t.Fatalf("call rating %v %v", got.MOS, got.RFactor)
	}
	m := got.Media[0]
	q := m.CallerToCallee
	if !m.PoorQuality || q == nil || q.BurstR != 8 || q.WorstMOS != 1.2 || q.RTCPLost != 7 || q.RTTMillis == nil || *q.RTTMillis != 300 {
		t.Fatalf("caller->callee %+v", q)
	}
	if r := m.CalleeToCaller; r == nil || r.RTTMillis != nil || r.MOS != 4.41 {
		t.Fatalf("callee->caller %+v (no round trip must read NULL)", r)
	}
	if none.MOS != nil || none.Media[0].CallerToCallee != nil || none.Media[0].CalleeToCaller != nil {
		t.Fatalf("unrated call %+v", none)
	}
}

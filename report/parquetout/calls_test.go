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

package compliance_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/report/compliance"
	"github.com/ccaudit/auditor/report/parquetout"
)

// TestSIPLimitsInCaptureSection: the SIP tracker's limit counters that
// flows files record are summed over the files into the capture section,
// in every format; files without them leave it out.
func TestSIPLimitsInCaptureSection(t *testing.T) {
	dir := t.TempDir()
	part := filepath.Join(dir, "date=2026-11-02", "hour=09")
	md := func(refused, streams, oversized string) map[string]string {
		return map[string]string{parquetout.MetaSIPCallsRefused: refused, parquetout.MetaSIPStreamsDropped: streams,
			parquetout.MetaSIPMessagesOversized: oversized}
	}
	flows := testFlows()
	writeTable(t, filepath.Join(part, "flows-a-000001.parquet"), parquetout.SchemaVersion, flows[:2], md("3", "0", "1"))
	writeTable(t, filepath.Join(part, "flows-b-000001.parquet"), parquetout.SchemaVersion, flows[2:4], md("4", "2", "0"))
	writeTable(t, filepath.Join(part, "flows-c-000001.parquet"), parquetout.SchemaVersion, flows[4:6], nil)
	r := build(t, dir, options(t, "limits"))
	if got := r.Capture.SIPLimits; got == nil || *got != (compliance.SIPLimits{CallsRefused: 7, StreamsDropped: 2, MessagesOversized: 1}) {
		t.Fatalf("capture SIP limits %+v, want 7 refused, 2 streams, 1 oversized", got)
	}
	want := "SIP tracker limits: 7 calls refused (concurrent-call cap), 2 media streams dropped (per-call and per-SDP caps), 1 oversized SIP messages dropped"
	for _, f := range []compliance.Format{compliance.Markdown, compliance.HTML} {
		if out := render(t, r, f); !bytes.Contains(out, []byte(want)) {
			t.Errorf("format %v does not state the limits", f)
		}
	}
	if out := render(t, r, compliance.JSON); !bytes.Contains(out, []byte(`"sip_limits":{"calls_refused":7,"streams_dropped":2,"messages_oversized":1}`)) &&
		!strings.Contains(strings.Join(strings.Fields(string(out)), ""), `"sip_limits":{"calls_refused":7,"streams_dropped":2,"messages_oversized":1}`) {
		t.Error("JSON does not carry the limits")
	}

	none := t.TempDir()
	writeTable(t, filepath.Join(none, "flows.parquet"), parquetout.SchemaVersion, flows, nil)
	if r := build(t, none, options(t, "none")); r.Capture.SIPLimits != nil || r.Capture.SIPLimitsText() != "" {
		t.Errorf("limits from files that recorded none: %+v", r.Capture.SIPLimits)
	}
}

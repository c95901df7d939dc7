package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/engine"
	"github.com/ccaudit/auditor/internal/wiretest"
	"github.com/ccaudit/auditor/report/parquetout"
)

// oversizedSIPPcap writes a SIP-over-TCP connection carrying one INVITE
// larger than the tracker's 64 KiB message bound.
func oversizedSIPPcap(t *testing.T, path string) {
	t.Helper()
	invite := []byte("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1:40000;branch=z9hG4bK1\r\n" +
		"From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: big@host\r\nCSeq: 1 INVITE\r\n" +
		"X-Padding: " + strings.Repeat("x", 70_000) + "\r\nContent-Length: 0\r\n\r\n")
	writeExchange(t, path, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), true,
		netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:5060"), invite)
}

// writeExchange writes a capture of one conversation (wiretest.Exchange).
func writeExchange(t *testing.T, path string, start time.Time, tcp bool, client, server netip.AddrPort, msgs ...[]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := wiretest.NewWriter(f, start)
	if err == nil {
		err = w.Exchange(tcp, client, server, msgs...)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// wideSDPPcap writes a SIP call over UDP whose INVITE and 200 OK each
// offer 80 audio streams: 16 more m= lines than the SDP parser keeps, so
// 16 streams of the call are dropped.
func wideSDPPcap(t *testing.T, path string) {
	t.Helper()
	caller, callee := netip.MustParseAddrPort("10.0.1.1:5060"), netip.MustParseAddrPort("10.0.1.2:5060")
	body := func(addr netip.Addr, base int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n", addr, addr)
		for i := range 80 {
			fmt.Fprintf(&b, "m=audio %d RTP/AVP 0\r\n", base+2*i)
		}
		return b.String()
	}
	msg := func(first, toTag string, cseq int, method, sdp string) string {
		to := "<sip:bob@example.com>"
		if toTag != "" {
			to += ";tag=" + toTag
		}
		m := first + "\r\nVia: SIP/2.0/UDP 10.0.1.1:5060;branch=z9hG4bKwide" + method + "\r\n" +
			"From: <sip:alice@example.com>;tag=a1\r\nTo: " + to + "\r\nCall-ID: wide-sdp@host\r\n" +
			fmt.Sprintf("CSeq: %d %s\r\n", cseq, method)
		if sdp != "" {
			m += "Content-Type: application/sdp\r\n"
		}
		return m + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(sdp), sdp)
	}
	writeExchange(t, path, time.Date(2026, 11, 2, 9, 0, 1, 0, time.UTC), false, caller, callee,
		[]byte(msg("INVITE sip:bob@example.com SIP/2.0", "", 1, "INVITE", body(caller.Addr(), 20000))),
		[]byte(msg("SIP/2.0 200 OK", "b1", 1, "INVITE", body(callee.Addr(), 30000))),
		[]byte(msg("ACK sip:bob@example.com SIP/2.0", "b1", 1, "ACK", "")), nil,
		[]byte(msg("BYE sip:bob@example.com SIP/2.0", "b1", 2, "BYE", "")),
		[]byte(msg("SIP/2.0 200 OK", "b1", 2, "BYE", "")))
}

// TestSIPLimitsReported: a SIP message past the size bound and the media
// streams of an SDP past the parser's bound are counted in the summary,
// --json, calls.parquet, the flows file's metadata, the compliance
// report's capture section and the Prometheus metrics.
func TestSIPLimitsReported(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "big-invite.pcap")
	oversizedSIPPcap(t, pcap)
	wide := filepath.Join(dir, "wide-sdp.pcap")
	wideSDPPcap(t, wide)

	stdout, stderr, code := runCLI(t, "replay", "--json", "--progress", "never", "--out", filepath.Join(dir, "json"), pcap, wide)
	if code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	var sum struct {
		Parsers struct {
			SIPLimits map[string]uint64 `json:"sip_limits"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if want := map[string]uint64{"calls_refused": 0, "streams_dropped": 16, "messages_oversized": 1}; !maps.Equal(sum.Parsers.SIPLimits, want) {
		t.Errorf("--json sip_limits %v, want %v", sum.Parsers.SIPLimits, want)
	}
	calls, err := parquetout.ReadCalls(filepath.Join(dir, "json", "calls.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0].CallID != "wide-sdp@host" || calls[0].StreamsDropped != 16 || len(calls[0].Media) != 64 {
		for _, c := range calls {
			t.Logf("call %s: streams dropped %d, %d media", c.CallID, c.StreamsDropped, len(c.Media))
		}
		t.Errorf("calls.parquet: want the one wide-sdp call with 64 media and 16 streams dropped")
	}
	md, err := parquetout.ReadMetadata(filepath.Join(dir, "json", "flows.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if md[parquetout.MetaSIPMessagesOversized] != "1" || md[parquetout.MetaSIPCallsRefused] != "0" || md[parquetout.MetaSIPStreamsDropped] != "16" {
		t.Errorf("flows metadata %v", md)
	}
	report := filepath.Join(dir, "report.json")
	if _, stderr, code := runCLI(t, "report", "--in", filepath.Join(dir, "json"), "--format", "json", "--out", report); code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	var rep struct {
		Capture struct {
			SIPLimits map[string]int64 `json:"sip_limits"`
		} `json:"capture"`
	}
	if b, err := os.ReadFile(report); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	if want := map[string]int64{"calls_refused": 0, "streams_dropped": 16, "messages_oversized": 1}; !maps.Equal(rep.Capture.SIPLimits, want) {
		t.Errorf("report capture sip_limits %v, want %v", rep.Capture.SIPLimits, want)
	}
	stdout, _, code = runCLI(t, "replay", "--progress", "never", "--out", filepath.Join(dir, "text"), pcap, wide)
	if code != exitOK || !strings.Contains(stdout, "sip limits 0 calls refused (concurrent-call cap), 16 streams dropped (per-call and per-SDP caps), 1 oversized messages dropped") {
		t.Errorf("summary does not state the SIP limits:\n%s", stdout)
	}

	// The metrics read the same counters from a running auditor.
	aud, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	fw, err := parquetout.Create(filepath.Join(dir, "metrics-flows.parquet"), parquetout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Abort()
	sink := engine.NewFlowSink(fw, "")
	cfg := capture.Config{Table: flow.DefaultConfig()}
	aud.Configure(&cfg, sink)
	pipe, err := capture.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// With a DNS query and its answer from the hostile capture.
	dnsPcap := filepath.Join(dir, "hostile.pcap")
	hostilePcap(t, dnsPcap)
	src, err := source.Open([]string{pcap, wide, dnsPcap}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := pipe.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	sink.Drain()
	got := gather(t, newRegistry(&metricsSource{counters: func() engine.PipelineCounters { return engine.SumPipelines(pipe) }, aud: aud, sensor: "m"}))
	for name, want := range map[string]float64{
		`auditor_sip_limit_drops_total{reason=calls_refused}`:      0,
		`auditor_sip_limit_drops_total{reason=streams_dropped}`:    16,
		`auditor_sip_limit_drops_total{reason=messages_oversized}`: 1,
		`auditor_dns_transactions_total{result=answered}`:          1,
		`auditor_dns_transactions_total{result=unanswered}`:        0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("metric %s = %v (present %v), want %v", name, v, ok, want)
		}
	}
}

package engine

import (
	"context"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/alerts"
)

type recordSink struct {
	mu   sync.Mutex
	recs []alerts.Record
}

func (m *recordSink) Name() string { return "records" }
func (m *recordSink) Write(_ context.Context, b []alerts.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, b...)
	return nil
}
func (m *recordSink) Close() error { return nil }

// A flow may raise a tls-version-too-old finding beside its verdict's own
// (Classifier.TooOld): the findings table, the raised counters and the
// alert feed all get both, whether or not the verdict raised one, and an
// ignored flow raises neither.
func TestSecondFindingRaisedEverywhere(t *testing.T) {
	const workstation, proxy = "10.10.2.168:50000", "10.10.1.30:50000"
	const telnet, sipTLS = "10.10.3.185:23", "203.0.113.10:5061"
	for _, tc := range []struct {
		name string
		src  string
		dst  string
		tls  string
		want []verdict.Kind // raised, alerted and in the findings table
	}{
		{"unexpected TLS 1.0", workstation, telnet, "TLS 1.0", []verdict.Kind{verdict.KindUnexpected, verdict.KindTLSTooOld}},
		{"unexpected TLS 1.2", workstation, telnet, "TLS 1.2", []verdict.Kind{verdict.KindUnexpected}},
		{"expected TLS 1.0", proxy, sipTLS, "TLS 1.0", []verdict.Kind{verdict.KindTLSTooOld}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aud, err := New(Config{Site: demoSite})
			if err != nil {
				t.Fatal(err)
			}
			records := &recordSink{}
			aud.SetFeed(alerts.New([]alerts.Sink{records}, alerts.FeedOptions{}))
			dir := t.TempDir()
			if err := aud.OpenCalls(filepath.Join(dir, "calls.parquet")); err != nil {
				t.Fatal(err)
			}
			sink := NewFlowSink(newWriter(t, filepath.Join(dir, "flows.parquet")), "")
			var cfg capture.Config
			aud.Configure(&cfg, sink)
			key, d := flow.NewKey(flow.ProtoTCP, netip.MustParseAddrPort(tc.src), netip.MustParseAddrPort(tc.dst))
			t0 := int64(1_700_000_000_000_000_000)
			cfg.Stages(0).OnFlow(&flow.Flow{Key: key, OrigDir: d, First: t0, Last: t0 + 1e6,
				Orig: flow.Side{Packets: 5, Bytes: 500, Payload: 200}, Resp: flow.Side{Packets: 5, Bytes: 500, Payload: 200},
				Meta: &flow.Meta{App: "tls", TLSVersion: tc.tls}})
			sink.Drain()
			res, err := aud.Finish(filepath.Join(dir, "findings.parquet"), 10)
			if err != nil {
				t.Fatal(err)
			}
			aud.CloseFeed()
			alerted := map[verdict.Kind]int{}
			for _, r := range records.recs {
				if r.Kind != verdict.KindMissing { // the demo site's entries this flow is not
					alerted[r.Kind]++
				}
			}
			raised := aud.FindingsRaised()
			for _, k := range tc.want {
				if res.Findings[string(k)] != 1 || raised[k] != 1 || alerted[k] != 1 {
					t.Errorf("%s: %d in the findings table, %d raised, %d alerted; want 1 each",
						k, res.Findings[string(k)], raised[k], alerted[k])
				}
			}
			if n := len(tc.want); len(alerted) != n {
				t.Errorf("alerted %v, want only %v", alerted, tc.want)
			}
		})
	}
}

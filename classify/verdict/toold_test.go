package verdict_test

import (
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
)

// TooOld is the one rule for the tls-version-too-old finding a flow raises
// beside its verdict: below TLS 1.2, not on an ignored flow, not when the
// verdict's own finding is already about the version. Findings.Observe
// records exactly what it returns.
func TestTooOldBesideTheVerdict(t *testing.T) {
	cat := loadTestCatalog(t)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: loadTestInventory(t, cat)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		src, dst   string
		tls        string
		want       bool
		verdictWas verdict.Verdict
	}{
		{"unknown originator on TLS 1.0", "10.9.9.9:50000", "10.0.0.10:7597", "TLS 1.0", true, verdict.Unexpected},
		{"unknown originator on TLS 1.2", "10.9.9.9:50000", "10.0.0.10:7597", "TLS 1.2", false, verdict.Unexpected},
		{"ignored flow on TLS 1.0", "10.1.0.5:50000", "10.0.0.20:3389", "TLS 1.0", false, verdict.Ignored},
		// The entry's own TLS rule raised it as the verdict's finding.
		{"expected flow on TLS 1.0", "10.1.0.5:50000", "10.0.0.10:7597", "TLS 1.0", false, verdict.Expected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := withMeta(play(t, tcp, tc.src, tc.dst, handshake), flow.Meta{App: "tls", TLSVersion: tc.tls})
			var r verdict.Result
			cl.Classify(f, &r)
			if r.Verdict != tc.verdictWas {
				t.Fatalf("verdict %v, want %v", r.Verdict, tc.verdictWas)
			}
			g, ok := cl.TooOld(f, &r)
			if ok != tc.want {
				t.Fatalf("TooOld %v, want %v", ok, tc.want)
			}
			if raises := cl.RaisesTooOld(f, &r); raises != ok {
				t.Fatalf("RaisesTooOld %v, TooOld %v", raises, ok)
			}
			fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
			fs.Observe(f, &r)
			var recorded []verdict.Finding
			for _, h := range fs.All() {
				if h.Kind == verdict.KindTLSTooOld && h.EntryID == "" {
					recorded = append(recorded, h)
				}
			}
			if !ok {
				if len(recorded) != 0 {
					t.Errorf("Observe recorded %+v, TooOld none", recorded)
				}
				return
			}
			if g.Severity != verdict.High || g.Src != f.Src().Addr() || g.Dst != f.Dst().Addr() || g.DstPort != f.Dst().Port() {
				t.Errorf("finding %+v", g)
			}
			if len(recorded) != 1 || recorded[0].ID() != g.ID() || recorded[0].Reason != g.Reason {
				t.Errorf("Observe recorded %+v, TooOld %+v", recorded, g)
			}
		})
	}
}

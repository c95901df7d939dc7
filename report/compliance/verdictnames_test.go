package compliance

import (
	"slices"
	"testing"

	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/parquetout"
)

// The report reads verdicts, kinds and severities by the verdict
// package's own names: every verdict parses back, every kind the glossary
// explains has its place in the order, and a severity name ranks as the
// verdict engine's severity_rank does.
func TestVerdictNames(t *testing.T) {
	for v := range verdict.NumVerdicts {
		got, ok := flowVerdict(v.String())
		if !ok || got != v {
			t.Errorf("flowVerdict(%q) = %v %v", v.String(), got, ok)
		}
		if !slices.Contains(verdictOrder, v.String()) {
			t.Errorf("verdict %q not in verdictOrder", v)
		}
	}
	for _, name := range []string{"", "unjudged", "allowed"} {
		if _, ok := flowVerdict(name); ok {
			t.Errorf("flowVerdict(%q) judged", name)
		}
	}
	for k := range kindMeanings {
		if !slices.Contains(kindOrder, string(k)) {
			t.Errorf("kind %q not in kindOrder", k)
		}
	}
	for sv := verdict.Info; sv <= verdict.Critical; sv++ {
		if got := legacySeverityRank(sv.String()); got != int32(sv) {
			t.Errorf("legacySeverityRank(%q) = %d, want %d", sv, got, sv)
		}
		if got := severityRankOf(sv.String(), 0); got != int32(sv) {
			t.Errorf("severityRankOf(%q, 0) = %d, want %d", sv, got, sv)
		}
	}
	for _, name := range []string{"", "severe"} {
		if got := legacySeverityRank(name); got != int32(verdict.Medium) {
			t.Errorf("legacySeverityRank(%q) = %d, want medium", name, got)
		}
	}
}

// Each flow verdict lands in its own column of the vendor's row and of
// the entry's status.
func TestFlowVerdictColumns(t *testing.T) {
	b := NewBuilder(Options{})
	var rows []parquetout.FlowRow
	for v, n := range map[verdict.Verdict]int{verdict.Expected: 1, verdict.Negotiated: 2, verdict.Blocked: 3, verdict.Unexpected: 4, verdict.Ignored: 5, verdict.Unclassified: 6} {
		for range n {
			rows = append(rows, parquetout.FlowRow{Proto: "tcp", SrcIP: "10.0.0.1", DstIP: "10.0.0.2", DstPort: 80, Verdict: v.String(), Vendor: "v", EntryID: "v/e"})
		}
	}
	b.AddFlows(File{}, rows)
	r := b.Report()
	var vv *VendorVerdict
	for i := range r.Sites {
		for j := range r.Sites[i].Vendors {
			if r.Sites[i].Vendors[j].Vendor == "v" {
				vv = &r.Sites[i].Vendors[j]
			}
		}
	}
	if vv == nil {
		t.Fatalf("no vendor row: %+v", r.Sites)
	}
	if vv.Expected != 1 || vv.Negotiated != 2 || vv.Blocked != 3 || vv.Unexpected != 4 {
		t.Errorf("vendor row %+v", *vv)
	}
	if len(r.Entries) != 1 || r.Entries[0].Seen != 3 || r.Entries[0].Blocked != 3 || r.Entries[0].Unexpected != 4 {
		t.Errorf("entries %+v", r.Entries)
	}
}

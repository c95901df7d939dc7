package parquetout

import (
	"path/filepath"
	"testing"

	"github.com/ccaudit/auditor/classify/verdict"
)

// severity_rank orders what severity only names: every severity, info's 0
// included, is written and read back with its rank.
func TestSeverityRank(t *testing.T) {
	path := filepath.Join(t.TempDir(), "findings.parquet")
	w, err := CreateFindings(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sevs := []verdict.Severity{verdict.Medium, verdict.High, verdict.Info, verdict.Critical, verdict.Low}
	for _, s := range sevs {
		row := FindingRowOf(&verdict.Finding{Kind: verdict.KindBlocked, Severity: s, Reason: "r"}, "")
		if err := w.Write(&row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadFindings(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int32{"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
	for i, r := range rows {
		if r.Severity != sevs[i].String() || r.SeverityRank != want[r.Severity] {
			t.Errorf("row %d: severity %s rank %d, want rank %d", i, r.Severity, r.SeverityRank, want[r.Severity])
		}
	}
}

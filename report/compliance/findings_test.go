package compliance_test

import (
	"slices"
	"testing"

	"github.com/ccaudit/auditor/report/compliance"
	"github.com/ccaudit/auditor/report/parquetout"
)

func findingsFile(name string) compliance.File {
	return compliance.File{Path: name, Table: compliance.FindingsTable}
}

// dnsFailure is a finding row as the verdict engine writes it; id empty
// makes it a row of a file written before finding_id and severity_rank.
func dnsFailure(server, id string, count int64) parquetout.FindingRow {
	r := parquetout.FindingRow{Kind: "dns-failure", Severity: "low", SeverityRank: 1, Proto: "udp",
		SrcIP: "10.10.2.7", DstIP: "10.10.1.6", DstPort: 53, ServerName: server,
		Reason: "the name did not resolve", Count: count, FirstSeen: at(9, 0), LastSeen: at(9, 5), FindingID: id}
	if id == "" {
		r.SeverityRank = 0
	}
	return r
}

func findingCounts(r *compliance.Report) map[string]int64 {
	out := map[string]int64{}
	for _, g := range r.Findings {
		out[g.Key] += g.Count
	}
	return out
}

// Findings merge by the engine's finding_id; rows of older files, which
// have none, merge by kind, protocol, hosts, port and entry, into the
// finding of the same fields a newer file names by id, whichever file is
// read first.
func TestReportFindingKey(t *testing.T) {
	t.Run("the id keeps findings apart the fields join", func(t *testing.T) {
		// dns-failure findings of two names: one host pair and port, two
		// findings to the engine.
		b := compliance.NewBuilder(compliance.Options{})
		b.AddFindings(findingsFile("findings-a.parquet"), []parquetout.FindingRow{
			dnsFailure("a.example", "00000000000000a1", 1), dnsFailure("b.example", "00000000000000b2", 2)})
		b.AddFindings(findingsFile("findings-b.parquet"), []parquetout.FindingRow{dnsFailure("a.example", "00000000000000a1", 4)})
		got := findingCounts(b.Report())
		want := map[string]int64{"00000000000000a1": 5, "00000000000000b2": 2}
		if len(got) != len(want) || got["00000000000000a1"] != 5 || got["00000000000000b2"] != 2 {
			t.Errorf("findings %v, want %v", got, want)
		}
	})
	legacy := "dns-failure|udp|10.10.2.7|10.10.1.6|53|"
	for _, order := range []string{"old file first", "new file first"} {
		t.Run(order, func(t *testing.T) {
			b := compliance.NewBuilder(compliance.Options{})
			files := [][]parquetout.FindingRow{{dnsFailure("a.example", "", 3)}, {dnsFailure("a.example", "00000000000000a1", 4)}}
			if order == "new file first" {
				slices.Reverse(files)
			}
			for i, rows := range files {
				b.AddFindings(findingsFile("findings-"+string(rune('a'+i))+".parquet"), rows)
			}
			r := b.Report()
			if len(r.Findings) != 1 {
				t.Fatalf("findings %+v, want one", r.Findings)
			}
			if g := r.Findings[0]; g.Key != "00000000000000a1" || g.FindingID != g.Key || g.Count != 7 || g.SeverityRank != 1 {
				t.Errorf("finding %+v, want key and id 00000000000000a1, count 7, severity rank 1", g)
			}
		})
	}
	t.Run("a previous report keyed without ids", func(t *testing.T) {
		prev := &compliance.Report{Findings: []compliance.Finding{{Key: legacy, Kind: "dns-failure", Severity: "low", Proto: "udp",
			Src: "10.10.2.7", Dst: "10.10.1.6", DstPort: 53, Count: 1}}}
		b2 := compliance.NewBuilder(compliance.Options{Previous: prev})
		b2.AddFindings(findingsFile("findings.parquet"), []parquetout.FindingRow{dnsFailure("a.example", "00000000000000a1", 1)})
		c := b2.Report().Changes
		if !c.Compared || len(c.New) != 0 || len(c.Resolved) != 0 {
			t.Errorf("changes %+v: the same finding under its old key is neither new nor resolved", c)
		}
		if got := compliance.FindingKey(&parquetout.FindingRow{Kind: "dns-failure", Proto: "udp", SrcIP: "10.10.2.7", DstIP: "10.10.1.6", DstPort: 53}); got != legacy {
			t.Errorf("FindingKey of a row without id %q, want %q", got, legacy)
		}
	})
}

// The report orders and counts findings by the engine's severity_rank,
// not by the severity's name; a file written before the column (rank 0
// beside a name other than info) is ranked by the name.
func TestReportSeverityRank(t *testing.T) {
	row := func(kind, sev string, rank int32, port int32, id string) parquetout.FindingRow {
		return parquetout.FindingRow{Kind: kind, Severity: sev, SeverityRank: rank, Proto: "tcp", SrcIP: "10.0.0.7", DstIP: "10.0.0.9",
			DstPort: port, Reason: "r", Count: 1, FirstSeen: at(9, 0), LastSeen: at(9, 0), FindingID: id}
	}
	b := compliance.NewBuilder(compliance.Options{})
	b.AddFindings(findingsFile("findings.parquet"), []parquetout.FindingRow{
		row("unexpected", "high", 3, 23, "0000000000000017"),
		// A severity name a newer engine added, above high: its rank says so.
		row("unexpected", "severe", 4, 24, "0000000000000018"),
		// An older file: no rank column.
		row("unexpected", "medium", 0, 25, ""),
		row("unexpected", "low", 1, 26, "000000000000001a"),
		// Merged: the higher rank's severity and reason win.
		row("unexpected", "low", 1, 27, "000000000000001b"),
		row("unexpected", "critical", 4, 27, "000000000000001b"),
	})
	r := b.Report()
	var got, ranks []int32
	for _, g := range r.Findings {
		got, ranks = append(got, g.DstPort), append(ranks, g.SeverityRank)
	}
	if want := []int32{27, 24, 23, 25, 26}; !slices.Equal(got, want) {
		t.Errorf("findings by port %v (ranks %v), want %v", got, ranks, want)
	}
	if want := []int32{4, 4, 3, 2, 1}; !slices.Equal(ranks, want) {
		t.Errorf("ranks %v, want %v", ranks, want)
	}
	if g := r.Findings[0]; g.Severity != "critical" || g.Count != 2 {
		t.Errorf("merged finding %+v, want critical, count 2", g)
	}

	// Info (rank 0) findings are listed but leave the site compliant.
	b = compliance.NewBuilder(compliance.Options{})
	b.AddFindings(findingsFile("findings.parquet"), []parquetout.FindingRow{
		{Kind: "unobservable", Severity: "info", EntryID: "v/e", Vendor: "v", Reason: "r", Count: 1, FirstSeen: at(9, 0), LastSeen: at(9, 59), FindingID: "00000000000000ff"},
	})
	if r := b.Report(); !r.Compliant {
		t.Errorf("an info finding made the report non-compliant: %+v", r.Sites)
	}
}

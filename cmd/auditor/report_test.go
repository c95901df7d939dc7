package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/report/parquetout"
)

var updateReport = flag.Bool("update-report", false, "rewrite testdata/report/*.golden")

// writeReportInput writes a replay-style output directory: a blocked and
// an expected flow, an unexpected one from the day before, and their
// findings.
func writeReportInput(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	flow := func(at time.Time, src, dst string, port int32, state, verdict, entry string) parquetout.FlowRow {
		r := parquetout.FlowRow{FirstSeen: at, LastSeen: at.Add(time.Second), Proto: "tcp", SrcIP: src, SrcPort: 50000,
			DstIP: dst, DstPort: port, PacketsOut: 3, BytesOut: 180, State: state, History: "S", EndReason: "idle", Verdict: verdict, EntryID: entry}
		if entry != "" {
			r.Vendor = "genesys-pureconnect"
		}
		return r
	}
	fw, err := parquetout.Create(filepath.Join(dir, "flows.parquet"), parquetout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Abort()
	for _, r := range []parquetout.FlowRow{
		flow(t0, "10.10.2.50", "10.10.1.10", 3952, "SF", "expected", "genesys-pureconnect/session-manager"),
		flow(t0.Add(time.Minute), "10.10.2.153", "10.10.1.11", 3952, "S0", "blocked", "genesys-pureconnect/session-manager"),
		flow(t0.Add(-12*time.Hour), "10.10.2.156", "10.10.3.113", 23, "SF", "unexpected", ""),
	} {
		if err := fw.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	gw, err := parquetout.CreateFindings(filepath.Join(dir, "findings.parquet"), parquetout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Abort()
	for _, g := range []parquetout.FindingRow{
		{Kind: "blocked", Severity: "high", Proto: "tcp", SrcIP: "10.10.2.153", DstIP: "10.10.1.11", DstPort: 3952, Vendor: "genesys-pureconnect",
			EntryID: "genesys-pureconnect/session-manager", Reason: "tcp SYN never answered (S0): dropped on the way or host down",
			Count: 1, FirstSeen: t0.Add(time.Minute), LastSeen: t0.Add(time.Minute)},
		{Kind: "unexpected", Severity: "medium", Proto: "tcp", SrcIP: "10.10.2.156", DstIP: "10.10.3.113", DstPort: 23,
			Reason: "no catalog entry allows this port between these hosts' roles", Count: 1, FirstSeen: t0.Add(-12 * time.Hour), LastSeen: t0.Add(-12 * time.Hour)},
	} {
		if err := gw.Write(&g); err != nil {
			t.Fatal(err)
		}
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

var (
	generatedLine = regexp.MustCompile(`generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)
	toolVersion   = regexp.MustCompile(`Made by auditor [^·]+·`)
)

func TestReportCommand(t *testing.T) {
	in := writeReportInput(t)
	out := t.TempDir()
	md, js := filepath.Join(out, "night.md"), filepath.Join(out, "night.json")
	args := []string{"report", "--in", in, "--from", "2026-11-02", "--to", "2026-11-02", "--site", "testdata/report/site.yaml",
		"--previous", filepath.Join(out, "none.json"), "--out", md, "--out", js}
	if _, errOut, code := runAuditor(t, args...); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	norm := strings.ReplaceAll(generatedLine.ReplaceAllString(string(got), "generated TIME"), in, "DIR")
	norm = toolVersion.ReplaceAllString(norm, "Made by auditor VERSION ·")
	norm = strings.ReplaceAll(norm, filepath.Join(out, "none.json"), "PREV")
	golden := filepath.Join("testdata", "report", "night.md.golden")
	if *updateReport {
		if err := os.WriteFile(golden, []byte(norm), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if want, err := os.ReadFile(golden); err != nil {
		t.Fatalf("%v (run with -update-report)", err)
	} else if norm != string(want) {
		t.Errorf("report differs from %s:\n%s", golden, norm)
	}

	// The next night compares with this one: the blocked finding persists,
	// nothing is new.
	var first struct {
		Findings []struct{ Key string } `json:"findings"`
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &first); err != nil || len(first.Findings) != 1 {
		t.Fatalf("json report: %v, %d findings, want 1 (the unexpected flow is from the day before)", err, len(first.Findings))
	}
	stdout, errOut, code := runAuditor(t, "report", "--in", in, "--from", "2026-11-02", "--to", "2026-11-02", "--site", "testdata/report/site.yaml",
		"--previous", js, "--format", "md", "--out", "-")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, "Changes since the previous report: 0 new, 0 resolved.") {
		t.Errorf("second night:\n%s", stdout)
	}
	// Without a window the day before is in, and the unexpected flow with
	// it: against the first night it is new.
	stdout, _, code = runAuditor(t, "report", "--in", in, "--previous", js, "--format", "json", "--out", "-")
	if code != exitOK || !strings.Contains(stdout, `"new": [`+"\n"+`      {`) {
		t.Errorf("open window: exit %d\n%s", code, stdout)
	}
}

func TestReportUsage(t *testing.T) {
	in := writeReportInput(t)
	out := filepath.Join(t.TempDir(), "r.html")
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no in", []string{"--out", out}, exitUsage, "--in DIR is required"},
		{"no out", []string{"--in", in}, exitUsage, "--out FILE is required"},
		{"bad from", []string{"--in", in, "--from", "2026-13-45", "--out", out}, exitUsage, "--from"},
		{"from after to", []string{"--in", in, "--from", "2026-11-03", "--to", "2026-11-02", "--out", out}, exitUsage, "is not before"},
		{"bad format", []string{"--in", in, "--format", "pdf", "--out", out}, exitUsage, "want html, md or json"},
		{"format with two outs", []string{"--in", in, "--format", "md", "--out", out, "--out", out + ".json"}, exitUsage, "one --out"},
		{"unknown extension", []string{"--in", in, "--out", "report.txt"}, exitUsage, "extension"},
		{"positional", []string{"--in", in, "--out", out, "extra"}, exitUsage, "unexpected argument"},
		{"missing dir", []string{"--in", filepath.Join(in, "nope"), "--out", out}, exitFailure, "nope"},
		{"empty dir", []string{"--in", t.TempDir(), "--out", out}, exitFailure, "no flows, findings or calls"},
		{"bad previous", []string{"--in", in, "--previous", "testdata/report/site.yaml", "--out", out}, exitFailure, "previous report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runAuditor(t, append([]string{"report"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, tt.code, tt.msg)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed run left a report behind")
	}
}

func TestReportParseWindow(t *testing.T) {
	now := time.Date(2026, 11, 3, 2, 15, 0, 0, time.UTC)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		from, to         string
		wantFrom, wantTo time.Time
	}{
		{"yesterday", "yesterday", day(2), day(3)},
		{"2026-11-01", "2026-11-02", day(1), day(3)},
		{"2026-11-02T09:00:00Z", "2026-11-02T12:00:00+01:00", day(2).Add(9 * time.Hour), day(2).Add(11 * time.Hour)},
		{"", "today", time.Time{}, day(4)},
	}
	for _, tt := range tests {
		w, err := parseWindow(tt.from, tt.to, now)
		if err != nil || !w.From.Equal(tt.wantFrom) || !w.To.Equal(tt.wantTo) {
			t.Errorf("%q..%q: %v..%v (%v), want %v..%v", tt.from, tt.to, w.From, w.To, err, tt.wantFrom, tt.wantTo)
		}
	}
	// 10:00+01:00 is 09:00Z: an empty window.
	if _, err := parseWindow("2026-11-02T09:00:00Z", "2026-11-02T10:00:00+01:00", now); err == nil {
		t.Error("empty window accepted")
	}
}

package compliance_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/report/compliance"
	"github.com/ccaudit/auditor/report/parquetout"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func options(t *testing.T, input string) compliance.Options {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := catalog.LoadInventory("testdata/site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return compliance.Options{
		Window:  compliance.Window{From: day, To: day.AddDate(0, 0, 1)},
		Catalog: cat, Sites: []*catalog.Inventory{inv}, Input: input,
		GeneratedAt: time.Date(2026, 11, 3, 2, 0, 0, 0, time.UTC),
	}
}

func build(t *testing.T, dir string, opts compliance.Options) *compliance.Report {
	t.Helper()
	b := compliance.NewBuilder(opts)
	if err := compliance.Load(dir, b); err != nil {
		t.Fatal(err)
	}
	return b.Report()
}

func render(t *testing.T, r *compliance.Report, f compliance.Format) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Write(&buf, f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Report -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -run Report -update rewrites it); got:\n%s", path, got)
	}
}

// previousOf is the flat report as last night's: without the SMB finding
// (so it is new tonight) and with an SSH finding fixed since (resolved).
func previousOf(t *testing.T, r *compliance.Report) *compliance.Report {
	data, err := r.EncodeJSON()
	if err != nil {
		t.Fatal(err)
	}
	prev, err := compliance.DecodeJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	prev.GeneratedAt = prev.GeneratedAt.AddDate(0, 0, -1)
	prev.Findings = slices.DeleteFunc(prev.Findings, func(g compliance.Finding) bool { return g.DstPort == 445 })
	prev.Findings = append(prev.Findings, compliance.Finding{Key: "unexpected|tcp|10.10.2.7|10.10.3.9|22|", Kind: "unexpected",
		Severity: "medium", Site: "test-contact-center", Proto: "tcp", Src: "10.10.2.7", Dst: "10.10.3.9", DstPort: 22,
		Reason: "no catalog entry allows this port between these hosts' roles", Count: 3})
	return prev
}

func TestReportGolden(t *testing.T) {
	flat := build(t, writeFlat(t), options(t, "flat"))
	hiveOpts := options(t, "hive")
	hiveOpts.Previous = previousOf(t, flat)
	hive := build(t, writeHive(t), hiveOpts)

	for _, tc := range []struct {
		name string
		r    *compliance.Report
	}{{"flat", flat}, {"hive", hive}} {
		t.Run(tc.name, func(t *testing.T) {
			checkReport(t, tc.r)
			checkGolden(t, tc.name+".md.golden", render(t, tc.r, compliance.Markdown))
			checkGolden(t, tc.name+".json.golden", render(t, tc.r, compliance.JSON))
		})
	}

	// Both layouts hold the same rows: the same findings and verdicts.
	keys := func(r *compliance.Report) []string {
		var ks []string
		for _, g := range r.Findings {
			ks = append(ks, g.Key)
		}
		return ks
	}
	if !slices.Equal(keys(flat), keys(hive)) {
		t.Errorf("findings differ between layouts:\nflat %v\nhive %v", keys(flat), keys(hive))
	}
	if !slices.Equal(flat.Verdicts, hive.Verdicts) {
		t.Errorf("verdicts differ between layouts: flat %v hive %v", flat.Verdicts, hive.Verdicts)
	}
	if !hive.Changes.Compared || len(hive.Changes.New) != 1 || hive.Changes.New[0].DstPort != 445 ||
		len(hive.Changes.Resolved) != 1 || hive.Changes.Resolved[0].DstPort != 22 {
		t.Errorf("changes: %+v", hive.Changes)
	}
	if flat.Changes.Compared {
		t.Errorf("flat report compared without a previous report: %+v", flat.Changes)
	}
	if flat.Capture.LossRecorded || !hive.Capture.LossRecorded || hive.Capture.Dropped == 0 {
		t.Errorf("capture loss: flat %+v hive %+v", flat.Capture, hive.Capture)
	}
}

// checkReport checks what the generated data must show, so the goldens
// are not the only guard.
func checkReport(t *testing.T, r *compliance.Report) {
	t.Helper()
	if r.Compliant || len(r.Sites) != 1 || r.Sites[0].Compliant {
		t.Errorf("a site with blocked and missing flows reported compliant: %+v", r.Sites)
	}
	var kinds []string
	for _, c := range r.FindingsByKind {
		kinds = append(kinds, c.Name)
	}
	if want := []string{"blocked", "missing", "wrong-direction", "unexpected", "media-missing", "media-one-way", "poor-voice-quality",
		"media-outside-documented-range", "plaintext-on-tls-port", "unobservable"}; !slices.Equal(kinds, want) {
		t.Errorf("finding kinds %v, want %v", kinds, want)
	}
	for _, g := range r.Findings {
		if g.DstPort == 2323 {
			t.Errorf("finding of the day before reported: %+v", g)
		}
	}
	if r.Capture.Flows != int64(len(testFlows())-1) {
		t.Errorf("flows in window %d, want all but yesterday's %d", r.Capture.Flows, len(testFlows())-1)
	}
	status := map[string]string{}
	for _, e := range r.Entries {
		status[e.ID] = e.Status
	}
	for id, want := range map[string]string{
		"genesys-pureconnect/phone-dns":         "missing",
		"genesys-pureconnect/mssql":             "missing",
		"genesys-pureconnect/session-manager":   "partly-blocked",
		"genesys-pureconnect/notifier-tls":      "seen",
		"genesys-pureconnect/phone-gateway-rtp": "unobservable",
	} {
		if status[id] != want {
			t.Errorf("entry %s: status %q, want %q", id, status[id], want)
		}
	}
	if r.TLS.Plaintext != 1 {
		t.Errorf("plaintext flows %d, want 1 (the mid-stream one proves nothing)", r.TLS.Plaintext)
	}
	weak := 0
	for _, v := range r.TLS.Versions {
		if v.Weak {
			weak++
		}
	}
	if weak != 1 {
		t.Errorf("weak TLS versions %+v, want TLS 1.0 only", r.TLS.Versions)
	}
	if r.Calls == nil || r.Calls.Total != 5 || r.Calls.Failed != 1 || r.Media.OutOfRange != 1 || r.Media.OneWay != 1 || r.Media.Missing != 1 {
		t.Errorf("calls %+v media %+v", r.Calls, r.Media)
	}
	// The chart's red is what the findings count: one endpoint out of its
	// range; the other side of that stream, outside every range, is grey.
	var red, grey int64
	for _, b := range r.Media.Ports {
		red += b.OutOfRange
		grey += b.Unconstrained
	}
	if red != r.Media.OutOfRange || grey != 1 {
		t.Errorf("chart: %d endpoints out of range (findings say %d), %d unconstrained (want 1)", red, r.Media.OutOfRange, grey)
	}
	if len(r.TopTalkers) == 0 || r.TopTalkers[0].Host != "10.10.2.156" || r.TopTalkers[0].Flows != 3 {
		t.Errorf("top talkers %+v", r.TopTalkers)
	}
}

func TestReportWindowByRowTime(t *testing.T) {
	dir := writeFlat(t)
	opts := options(t, "flat")
	opts.Window = compliance.Window{From: at(10, 0), To: at(11, 0)}
	r := build(t, dir, opts)
	for _, g := range r.Findings {
		if g.LastSeen.Before(opts.Window.From) {
			t.Errorf("finding before the window: %+v", g)
		}
	}
	if r.Calls.Total != 3 {
		t.Errorf("calls in 10:00-11:00: %d, want 3", r.Calls.Total)
	}
	// The hive layout skips whole partitions outside the window.
	r = build(t, writeHive(t), opts)
	if r.Capture.FilesSkipped == 0 {
		t.Errorf("no partition skipped for a one-hour window: %+v", r.Capture)
	}
}

func TestReportWithoutInventory(t *testing.T) {
	r := build(t, writeFlat(t), compliance.Options{Input: "flat"})
	if len(r.Sites) != 1 || r.Sites[0].Site != compliance.NoSite || r.TLS.Judged {
		t.Fatalf("sites %+v, tls judged %v", r.Sites, r.TLS.Judged)
	}
	if !strings.Contains(string(render(t, r, compliance.Markdown)), "not judged (no catalog)") {
		t.Error("markdown does not say TLS policy was not judged")
	}
}

func TestReportDamagedFile(t *testing.T) {
	dir := writeHive(t)
	bad := filepath.Join(dir, "date=2026-11-02", "hour=09", "flows-sensor-c-0001.parquet")
	if err := os.WriteFile(bad, []byte("PAR1 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := build(t, dir, options(t, "hive"))
	if len(r.Capture.Errors) != 1 || !strings.Contains(r.Capture.Errors[0], "flows-sensor-c-0001.parquet") {
		t.Fatalf("errors %v, want one naming the damaged file", r.Capture.Errors)
	}
	if r.Capture.Flows != int64(len(testFlows())-1) {
		t.Errorf("flows %d: the other files must still be read", r.Capture.Flows)
	}
	if err := compliance.Load(t.TempDir(), compliance.NewBuilder(compliance.Options{})); err == nil {
		t.Error("an empty directory loaded without error")
	}
}

func TestReportPreviousSchema(t *testing.T) {
	if _, err := compliance.DecodeJSON([]byte(`{"schema":"other/1"}`)); err == nil {
		t.Error("a JSON of another schema was accepted as a previous report")
	}
	path := filepath.Join(t.TempDir(), "prev.json")
	if err := os.WriteFile(path, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := compliance.ReadPrevious(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated previous report: %v", err)
	}
}

// TestReportHTMLEscapes checks that the HTML references nothing outside
// itself and that names from the capture (SNI, reasons, sensor names)
// cannot inject markup.
func TestReportHTMLEscapes(t *testing.T) {
	r := build(t, writeFlat(t), options(t, "flat"))
	clean := string(render(t, r, compliance.HTML))
	// Self-contained: nothing that makes a browser fetch or run anything.
	for _, bad := range []string{"<script", "<link", "<img", " src=", " href=", "@import", "url(", "<iframe"} {
		if strings.Contains(clean, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	r.Input = "<script>alert(1)</script>"
	r.Findings[0].Reason = `"><img src=x onerror=alert(1)>`
	out := string(render(t, r, compliance.HTML))
	for _, bad := range []string{"<script", "<img"} {
		if strings.Contains(out, bad) {
			t.Errorf("HTML contains %q from the data", bad)
		}
	}
	if !strings.Contains(out, "&lt;script&gt;") {
		t.Error("input name not escaped as text")
	}
}

// TestReportHTMLChromium renders the HTML report in headless Chromium: it
// must load with no console message (no script error, no blocked resource)
// and produce a screenshot.
func TestReportHTMLChromium(t *testing.T) {
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("headless Chromium not installed (/usr/bin/chromium: Debian package chromium); the HTML report is not rendered")
	}
	dir := t.TempDir()
	flat := build(t, writeFlat(t), options(t, "flat"))
	hiveOpts := options(t, "hive")
	hiveOpts.Previous = previousOf(t, flat)
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, render(t, build(t, writeHive(t), hiveOpts), compliance.HTML), 0o644); err != nil {
		t.Fatal(err)
	}

	// The console check must be able to fail: a page with a script error
	// has to be caught.
	broken := filepath.Join(dir, "broken.html")
	if err := os.WriteFile(broken, []byte("<!DOCTYPE html><title>x</title><script>noSuchFunction()</script>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, console := runChromium(t, chromium, broken, ""); len(console) == 0 {
		t.Fatal("Chromium reported no console error for a page with a script error: the check is blind")
	}

	shot := filepath.Join(dir, "report.png")
	dom, console := runChromium(t, chromium, page, shot)
	if len(console) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(console, "\n"))
	}
	for _, want := range []string{"NOT COMPLIANT", "<svg", "Findings over time", "Media ports against documented ranges",
		"Voice quality", "nearly all users dissatisfied", "Glossary", "<details><summary>2 more</summary>",
		"20261102T090000Z-40874d8390167f7b.pcapng"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if len(png) < 24 || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || string(png[12:16]) != "IHDR" {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	if w, h := binary.BigEndian.Uint32(png[16:20]), binary.BigEndian.Uint32(png[20:24]); w < 800 || h < 600 {
		t.Errorf("screenshot %dx%d", w, h)
	}
	if out := os.Getenv("AUDITOR_REPORT_SCREENSHOT"); out != "" {
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runChromium loads page headless; it returns the DOM after load (or
// nothing when taking a screenshot) and the console lines Chromium logged.
func runChromium(t *testing.T, chromium, page, screenshot string) (dom string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0", "--window-size=1280,1800"}
	if screenshot != "" {
		args = append(args, "--screenshot="+screenshot, "--hide-scrollbars")
	} else {
		args = append(args, "--dump-dom")
	}
	cmd := exec.CommandContext(ctx, chromium, append(args, "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", page, err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			console = append(console, line)
		}
	}
	if screenshot != "" {
		// --screenshot does not dump the DOM: load it once more for the
		// console check of the DOM run.
		var more []string
		dom, more = runChromium(t, chromium, page, "")
		console = append(console, more...)
	}
	return stdout.String() + dom, console
}

// A Builder takes rows as Load reads them from Parquet files; Report
// answers whether the site was compliant.
func ExampleBuilder() {
	b := compliance.NewBuilder(compliance.Options{Input: "auditor-out"})
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	b.AddFlows(compliance.File{Path: "flows.parquet", Table: compliance.FlowsTable}, []parquetout.FlowRow{
		{FirstSeen: start, LastSeen: start, Proto: "tcp", SrcIP: "10.0.0.7", DstIP: "10.0.0.10", DstPort: 3952, Verdict: "expected", Vendor: "genesys-pureconnect"},
	})
	b.AddFindings(compliance.File{Path: "findings.parquet", Table: compliance.FindingsTable}, []parquetout.FindingRow{
		{Kind: "unexpected", Severity: "medium", Proto: "tcp", SrcIP: "10.0.0.7", DstIP: "10.0.0.9", DstPort: 23, Count: 2, FirstSeen: start, LastSeen: start},
	})
	r := b.Report()
	fmt.Println(r.VerdictText())
	for _, s := range r.Sites {
		fmt.Printf("%s: %d flows, issues: %s\n", s.Site, s.Flows, s.Issues[0].Name)
	}
	fmt.Println(r.Findings[0].Flow())
	// Output:
	// NOT COMPLIANT
	// all hosts: 1 flows, issues: unexpected
	// tcp 10.0.0.7 -> 10.0.0.9:23
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/internal/synth"
	"github.com/ccaudit/auditor/report/parquetout"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), streams{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}, args)
	return out.String(), errb.String(), code
}

func TestReplayExitCodes(t *testing.T) {
	dir := t.TempDir()
	png := filepath.Join(dir, "picture.png")
	os.WriteFile(png, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0o644)
	txt := filepath.Join(dir, "notes.txt")
	os.WriteFile(txt, []byte("not a capture\n"), 0o644)
	tests := []struct {
		name    string
		args    []string
		code    int
		message string
	}{
		{"no arguments", []string{"replay"}, exitUsage, "no capture file"},
		{"unknown flag", []string{"replay", "--nope", "x.pcap"}, exitUsage, "flag provided but not defined"},
		{"bad timeout", []string{"replay", "--timeouts", "tcp=soon", "x.pcap"}, exitUsage, "not a positive duration"},
		{"missing path", []string{"replay", "--out", dir, filepath.Join(dir, "missing.pcap")}, exitFailure, "missing.pcap"},
		{"a PNG", []string{"replay", "--out", dir, png}, exitFailure, "no packets could be read"},
		{"a text file", []string{"replay", "--out", dir, txt}, exitFailure, "no packets could be read"},
		{"help", []string{"replay", "--help"}, exitOK, "Usage: auditor replay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout+stderr, tt.message) {
				t.Errorf("output does not mention %q:\n%s%s", tt.message, stdout, stderr)
			}
		})
	}
}

// A damaged file still yields the flows read before the damage, names the
// file, packet and offset on stderr, and exits 3 (partial): the outputs
// are there, but a script must not take them for the whole capture.
func TestReplayDamagedFileKeepsEarlierPackets(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := runCLI(t, "replay", "--json", "--out", out,
		"../../testdata/pcaps/malformed/tls_DER-incomplete-header.pcap")
	if code != exitPartial {
		t.Fatalf("exit %d, want %d: %s", code, exitPartial, stderr)
	}
	if !strings.Contains(stderr, "tls_DER-incomplete-header.pcap: packet 7 at offset 5035") {
		t.Errorf("stderr does not name the damage:\n%s", stderr)
	}
	var sum replaySummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, stdout)
	}
	if sum.Frames != 6 || sum.Flows != 1 || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0], "packet 7 at offset 5035") {
		t.Fatalf("summary %+v", sum)
	}
	rows, err := parquetout.ReadFlows(filepath.Join(out, "flows.parquet"))
	if err != nil || len(rows) != 1 {
		t.Fatalf("flows.parquet: %d rows, %v", len(rows), err)
	}
}

// Several files and a directory merge into one run; skipped frames are
// counted by reason.
func TestReplayDirectoryOfMixedFormats(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := runCLI(t, "replay", "--json", "--out", out, "../../testdata/pcaps/formats")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum replaySummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Files != 12 || sum.Frames != 107 {
		t.Errorf("files %d frames %d, want 12 files and the 107 frames tshark reads", sum.Files, sum.Frames)
	}
	// Every frame is either in a flow or counted as skipped, never lost.
	var skipped uint64
	for _, n := range sum.Skipped {
		skipped += n
	}
	if sum.Packets+skipped < sum.Frames {
		t.Errorf("%d frames, %d in flows, %d skipped: frames unaccounted for", sum.Frames, sum.Packets, skipped)
	}
}

// TestReplayDemoGolden replays the README's demo capture and compares the
// flows.parquet it writes, read back with parquet-go, with a golden dump,
// with one worker and with three: sharding must not change a single row.
func TestReplayDemoGolden(t *testing.T) {
	for _, workers := range []string{"1", "3"} {
		t.Run("workers="+workers, func(t *testing.T) { replayDemoGolden(t, workers) })
	}
}

func replayDemoGolden(t *testing.T, workers string) {
	out := t.TempDir()
	stdout, stderr, code := runCLI(t, "replay", "--workers", workers, "--site", "../../testdata/demo-site.yaml", "--out", out, "../../testdata/demo.pcapng")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "flows.parquet") {
		t.Errorf("summary does not name the output:\n%s", stdout)
	}
	path := filepath.Join(out, "flows.parquet")
	meta, err := parquetout.ReadMetadata(path)
	if err != nil || meta[parquetout.MetaSchema] != parquetout.SchemaVersion {
		t.Fatalf("metadata %v, %v", meta, err)
	}
	rows, err := parquetout.ReadFlows(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = fmt.Sprintf("%s %s %s:%d > %s:%d out=%d/%d in=%d/%d %s %s vlan=%d %s %s | %s %s %s %s->%s app=%s sni=%s name=%s ja4=%s call=%s",
			r.FirstSeen.UTC().Format("15:04:05.000000"), r.Proto, r.SrcIP, r.SrcPort, r.DstIP, r.DstPort,
			r.PacketsOut, r.BytesOut, r.PacketsIn, r.BytesIn, r.State, r.History, r.VLAN, r.CommunityID, r.EndReason,
			r.Verdict, r.ClassifiedBy, r.EntryID, r.FromRole, r.ToRole, r.App, r.SNI, r.ServerName, r.JA4, r.CallID)
	}
	sort.Strings(lines)
	got := strings.Join(lines, "\n") + "\n"
	golden := "testdata/replay/demo-flows.golden"
	if *update && workers == "1" {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/auditor -run DemoGolden -update)", err)
	}
	if got != string(want) {
		t.Errorf("flows differ from %s (rerun with -update if the change is intended)\n%s", golden, firstDiff(string(want), got))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, w, g)
		}
	}
	return ""
}

// The demo's intentional problems come out of findings.parquet as exactly
// these rows: two unexpected flows (one across vendors), three blocked
// attempts, and the required host pairs never seen working.
func TestReplayDemoFindings(t *testing.T) {
	out := t.TempDir()
	if _, stderr, code := runCLI(t, "replay", "--site", "../../testdata/demo-site.yaml", "--out", out, "../../testdata/demo.pcapng"); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows, err := parquetout.ReadFindings(filepath.Join(out, "findings.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	missing := map[string]string{}
	for _, r := range rows {
		if r.Kind == "missing" {
			missing[r.EntryID] = r.HostPairs
			continue
		}
		got = append(got, fmt.Sprintf("%s %s %s %s>%s:%d %s %s->%s count=%d %s", r.Kind, r.Severity, r.Proto, r.SrcIP, r.DstIP, r.DstPort,
			r.EntryID, r.FromRole, r.ToRole, r.Count, r.HostPairs))
	}
	sort.Strings(got)
	// Both vendors have a workstation role with hosts here, so reports
	// name the vendor; a Sinch agent PC gets no Genesys port.
	want := []string{
		"blocked high tcp 10.10.2.181>10.10.1.11:3952 genesys-pureconnect/session-manager genesys-pureconnect/workstation->cic-server count=1 ",
		"blocked high tcp 10.10.2.201>10.10.1.5:1433 genesys-pureconnect/mssql genesys-pureconnect/workstation->sql-server count=1 ",
		"blocked high udp 10.10.1.10>10.10.3.210:5060 genesys-pureconnect/sip cic-server->ip-phone count=1 ",
		"unexpected medium tcp 10.10.2.168>10.10.3.185:23  genesys-pureconnect/workstation->ip-phone count=1 ",
		"unexpected medium tcp 10.10.5.29>10.10.1.10:3952 genesys-pureconnect/session-manager sinch-contact-center/workstation->cic-server count=1 ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings.parquet rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Missing is judged per host pair: the primary CIC server and its
	// standby never switch over, and the second media server never opens
	// Notifier to the primary although the first does. The standby is
	// excused from every other pair.
	if got := missing["genesys-pureconnect/cic-switchover"]; got != "10.10.1.10 & 2001:db8:10:1::10 <-> any peer; 10.10.1.11 <-> any peer" {
		t.Errorf("cic-switchover missing pairs %q", got)
	}
	if got := missing["genesys-pureconnect/notifier-tls"]; !strings.Contains(got, "10.10.1.21 -> 10.10.1.10 & 2001:db8:10:1::10") {
		t.Errorf("notifier-tls missing pairs %q, want the second media server's", got)
	}
	for id, pairs := range missing {
		if id == "genesys-pureconnect/cic-switchover" {
			continue
		}
		for _, p := range strings.Split(pairs, "; ") {
			if strings.HasPrefix(p, "10.10.1.11 ") || strings.HasSuffix(p, " 10.10.1.11") {
				t.Errorf("%s: pair %q with the standby CIC server", id, p)
			}
		}
	}
}

// A capture built with the generator exercises every finding kind the
// verdict engine raises, and findings.parquet holds exactly one row of each.
func TestReplayEveryFindingKind(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "kinds.pcapng")
	var scenarios []synth.Scenario
	for _, name := range []string{"tcp", "syn-unanswered", "syn-rst", "udp-unreachable", "unexpected", "wrong-direction"} {
		s, err := synth.ParseScenario(name)
		if err != nil {
			t.Fatal(err)
		}
		scenarios = append(scenarios, s)
	}
	writeCapture(t, capture, synth.Options{Seed: 1, Scenarios: scenarios})
	out := filepath.Join(dir, "out")
	if _, stderr, code := runCLI(t, "replay", "--site", "../../testdata/demo-site.yaml", "--out", out, capture); code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	rows, err := parquetout.ReadFindings(filepath.Join(out, "findings.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string][]string{}
	for _, r := range rows {
		kinds[r.Kind] = append(kinds[r.Kind], fmt.Sprintf("%s %s>%s:%d %s", r.Proto, r.SrcIP, r.DstIP, r.DstPort, r.EntryID))
	}
	for _, k := range []string{"unexpected", "wrong-direction", "blocked", "missing"} {
		if len(kinds[k]) == 0 {
			t.Errorf("no %s finding; findings: %v", k, kinds)
		}
	}
	if got := kinds["wrong-direction"]; len(got) != 1 || got[0] != "tcp 10.10.1.5>10.10.1.10:1433 genesys-pureconnect/mssql" {
		t.Errorf("wrong-direction findings %v, want the SQL server opening 1433 on the CIC server", got)
	}
	if got := len(kinds["blocked"]); got != 3 {
		t.Errorf("%d blocked findings, want the unanswered SYN, the RST and the ICMP unreachable: %v", got, kinds["blocked"])
	}
}

// --alerts sends every finding as an ECS event: the demo's flow findings as
// they happen, its missing entry when the window closes.
func TestReplayAlertsFile(t *testing.T) {
	dir := t.TempDir()
	alertsPath := filepath.Join(dir, "alerts.ndjson")
	if _, stderr, code := runCLI(t, "replay", "--site", "../../testdata/demo-site.yaml", "--alerts", alertsPath,
		"--out", dir, "../../testdata/demo.pcapng"); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev struct {
			Event struct{ Kind, Action string }
			Rule  struct{ ID string }
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, line)
		}
		if ev.Event.Kind != "alert" {
			t.Errorf("event.kind %q", ev.Event.Kind)
		}
		actions[ev.Event.Action]++
	}
	// One missing alert per entry with silent host pairs, as in
	// findings.parquet.
	rows, err := parquetout.ReadFindings(filepath.Join(dir, "findings.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, r := range rows {
		if r.Kind == "missing" {
			missing++
		}
	}
	if actions["blocked"] != 3 || actions["unexpected"] != 2 || missing < 2 || actions["missing"] != missing {
		t.Errorf("alert actions %v, want 3 blocked, 2 unexpected, %d missing (at least 2)", actions, missing)
	}
}

func TestReplayBadAlertDestIsUsageError(t *testing.T) {
	if _, stderr, code := runCLI(t, "replay", "--alerts", "syslog+tcp://", "x.pcap"); code != exitUsage {
		t.Fatalf("exit %d, want usage error: %s", code, stderr)
	}
}

// A capture of headers only (here the demo cut to 70 bytes a frame, as
// "tcpdump -s 70" writes it) shows TCP connections exchanging data whose
// first bytes it did not keep. That is no evidence of plaintext: the
// findings must be the demo's own, without TLS posture findings.
func TestReplaySnapLengthCutIsNotPlaintext(t *testing.T) {
	dir := t.TempDir()
	cut := filepath.Join(dir, "demo-snap70.pcap")
	src, err := source.Open([]string{"../../testdata/demo.pcapng"}, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	f, err := os.Create(cut)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(70, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for {
		fr, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data := fr.Data[:min(len(fr.Data), 70)]
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, fr.Time), CaptureLength: len(data), Length: fr.WireLen}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if _, stderr, code := runCLI(t, "replay", "--site", "../../testdata/demo-site.yaml", "--out", out, cut); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows, err := parquetout.ReadFindings(filepath.Join(out, "findings.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		switch r.Kind {
		case "plaintext-on-tls-port", "not-tls-on-https-port":
			t.Errorf("%s %s>%s:%d: the payload was cut by the snap length, not seen", r.Kind, r.SrcIP, r.DstIP, r.DstPort)
		}
	}
}

// TestFindingsTableCellsBounded: a missing entry's host pairs and a long
// role list are cut in the summary's table, with a line saying so, and
// a short cell is left whole.
func TestFindingsTableCellsBounded(t *testing.T) {
	long := strings.Repeat("ip-phone,", 20)
	sum := &replaySummary{Site: "s", Verdicts: map[string]uint64{}, Findings: map[string]uint64{"missing": 1},
		TopFindings: []findingLine{
			{Kind: "missing", Severity: "medium", Ports: "5060/udp", Hosts: "any " + long + " -> 10.0.0.1", EntryID: "v/e", FromRole: long, ToRole: "media-server", Count: 1, Reason: "r"},
			{Kind: "unexpected", Severity: "medium", Proto: "tcp", Src: "10.0.0.2", Dst: "10.0.0.3", DstPort: 23, FromRole: "workstation", ToRole: "ip-phone", Count: 1, Reason: "r"},
		}}
	var b strings.Builder
	writeVerdicts(&b, sum)
	out := b.String()
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, long) {
			t.Errorf("a long cell was not cut: %q", line)
		}
	}
	if !strings.Contains(out, "5060/udp any ip-phone,") || !strings.Contains(out, "...") || !strings.Contains(out, "cells cut at 72 characters") {
		t.Errorf("the cut cell or its note is missing:\n%s", out)
	}
	if !strings.Contains(out, "tcp 10.0.0.2 -> 10.0.0.3:23") || !strings.Contains(out, "workstation -> ip-phone") {
		t.Errorf("a short cell was changed:\n%s", out)
	}
}

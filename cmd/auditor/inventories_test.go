package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/internal/synth"
	"github.com/ccaudit/auditor/report/parquetout"
)

// A capture of the site internal/synth simulates, replayed against the
// worked Genesys example of docs/inventory.md: media credited to the
// phones' declared model, the standby's flows still judged, and missing
// findings only for what the declared variant needs.
func TestReplayGenesysExampleInventory(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "site.pcapng")
	writeCapture(t, capture, synth.Options{Seed: 7,
		Scenarios: []synth.Scenario{synth.SIPUDP, synth.TCP, synth.SYNUnanswered, synth.Unexpected}})
	out := filepath.Join(dir, "out")
	if _, stderr, code := runCLI(t, "replay", "--site", "../../testdata/inventories/genesys-pureconnect.yaml", "--out", out, capture); code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	flows, err := parquetout.ReadFlows(filepath.Join(out, "flows.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	negotiated := 0
	for _, f := range flows {
		if f.Verdict != "negotiated" {
			continue
		}
		negotiated++
		phone := strings.HasPrefix(f.SrcIP, "10.10.3.") || strings.HasPrefix(f.DstIP, "10.10.3.")
		if phone && f.EntryID != "genesys-pureconnect/phone-rtp-polycom-vvx1500" && f.EntryID != "genesys-pureconnect/media-server-rtp" {
			t.Errorf("phone media %s:%d > %s:%d credited to %q", f.SrcIP, f.SrcPort, f.DstIP, f.DstPort, f.EntryID)
		}
		if f.EntryID == "" {
			t.Errorf("negotiated media %s > %s:%d without an entry", f.SrcIP, f.DstIP, f.DstPort)
		}
	}
	if negotiated == 0 {
		t.Fatal("no negotiated media in the capture")
	}
	rows, err := parquetout.ReadFindings(filepath.Join(out, "findings.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		switch r.Kind {
		case "missing":
			got = append(got, fmt.Sprintf("missing %s %s", r.EntryID, r.HostPairs))
		default:
			got = append(got, fmt.Sprintf("%s %s %s>%s:%d %s", r.Kind, r.Proto, r.SrcIP, r.DstIP, r.DstPort, r.EntryID))
		}
	}
	sort.Strings(got)
	t.Logf("findings:\n%s", strings.Join(got, "\n"))
	for _, want := range []string{
		// The standby's flows are judged: the SYN to it is blocked.
		"blocked tcp 10.10.2.",
		// The switchover with the standby is still required.
		"missing genesys-pureconnect/cic-switchover 10.10.1.10 <-> any peer; 10.10.1.11 <-> any peer",
		"unexpected tcp 10.10.2.",
	} {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, want)
		}
		if !found {
			t.Errorf("no finding %q", want)
		}
	}
	for _, g := range got {
		if strings.Contains(g, "oracle") || strings.Contains(g, "phone-rtp-audiocodes") || strings.Contains(g, "phone-rtp-sip") {
			t.Errorf("finding for a variant the site does not run: %s", g)
		}
	}
}

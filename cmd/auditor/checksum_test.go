package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/report/parquetout"
)

// TestReplayCountsBadChecksums replays one packet with a bad TCP checksum
// (a capture from Zeek's test suite): the summary counts it, and its flow
// records it as C without counting it towards the state, as Zeek does.
func TestReplayCountsBadChecksums(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := runCLI(t, "replay", "--json", "--out", out,
		"../../capture/decode/testdata/chksums/ip4-tcp-bad-chksum.pcap")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum replaySummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, stdout)
	}
	if sum.BadChecksums != 1 {
		t.Errorf("bad_checksums %d, want 1", sum.BadChecksums)
	}
	rows, err := parquetout.ReadFlows(filepath.Join(out, "flows.parquet"))
	if err != nil || len(rows) != 1 {
		t.Fatalf("flows.parquet: %d rows, %v", len(rows), err)
	}
	if r := rows[0]; r.History != "C" || r.State != "OTH" || r.PacketsOut != 1 {
		t.Errorf("flow %s %q packets %d, want OTH \"C\" 1", r.State, r.History, r.PacketsOut)
	}

	var text strings.Builder
	if err := printSummary(&text, &sum, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "checksums  1 packets bad") {
		t.Errorf("summary lacks the bad checksum line:\n%s", text.String())
	}
}

package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/report/parquetout"
)

// TestReplayCountsBadChecksums replays one packet with a bad TCP checksum
// and one UDP datagram with a bad checksum over its payload (captures from
// Zeek's test suite; the UDP sum is finished on a pipeline worker): the
// summary counts them, and each flow records C without counting the packet
// towards its state, as Zeek does.
func TestReplayCountsBadChecksums(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := runCLI(t, "replay", "--json", "--out", out,
		"../../capture/decode/testdata/chksums/ip4-tcp-bad-chksum.pcap",
		"../../capture/decode/testdata/chksums/ip4-udp-bad-chksum.pcap")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum replaySummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, stdout)
	}
	if sum.BadChecksums != 2 {
		t.Errorf("bad_checksums %d, want 2", sum.BadChecksums)
	}
	rows, err := parquetout.ReadFlows(filepath.Join(out, "flows.parquet"))
	if err != nil || len(rows) != 2 {
		t.Fatalf("flows.parquet: %d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if r.History != "C" || r.State != "OTH" || r.PacketsOut != 1 {
			t.Errorf("%s flow %s %q packets %d, want OTH \"C\" 1", r.Proto, r.State, r.History, r.PacketsOut)
		}
	}

	var text strings.Builder
	if err := printSummary(&text, &sum, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "checksums  2 packets bad") {
		t.Errorf("summary lacks the bad checksum line:\n%s", text.String())
	}
}

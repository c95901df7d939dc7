package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// The summary and --json count TLS that started after a cleartext
// hand-over: an IMAP STARTTLS and an HTTP CONNECT through a proxy, each
// upgraded (captures of classify/names/testdata, sources in SOURCES.md).
func TestReplayCountsTLSUpgrades(t *testing.T) {
	inputs := []string{"../../classify/names/testdata/imap-starttls.pcap", "../../classify/names/testdata/http_connect.pcap"}
	out := filepath.Join(t.TempDir(), "out")
	stdout, stderr, code := runCLI(t, append([]string{"replay", "--json", "--out", out}, inputs...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum replaySummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if p := sum.Parsers; p == nil || p.TLSUpgradeCandidates != 2 || p.TLSUpgrades != 2 || p.TunnelsNotTLS != 0 {
		t.Errorf("parsers %+v, want 2 upgrade candidates, both upgraded, no tunnel without TLS", sum.Parsers)
	}
	stdout, _, code = runCLI(t, append([]string{"replay", "--out", out}, inputs...)...)
	if code != exitOK || !strings.Contains(stdout, "tls after  2 of 2 cleartext starts upgraded") {
		t.Errorf("summary lacks the TLS upgrade line:\n%s", stdout)
	}
}

//go:build linux

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/ccaudit/auditor/internal/netnstest"
	"github.com/ccaudit/auditor/report/parquetout"
)

// TestCaptureEvidence captures the test pair's traffic live with
// --evidence and checks that every finding a flow raised names a pcapng
// file of its window (the window's start time before the finding ID)
// holding packets, with each engine: AF_PACKET hands over every frame,
// the eBPF engine what its ring buffer carries.
func TestCaptureEvidence(t *testing.T) {
	for _, tc := range []struct{ engine, workers string }{{"afpacket", "2"}, {"ebpf", "1"}} {
		engine := tc.engine
		t.Run(engine, func(t *testing.T) {
			pair := netnstest.NewPair(t)
			out, ev := t.TempDir(), t.TempDir()
			logs, stop := startCapture(t, pair, "--engine", engine, "--workers", tc.workers, "--out", out, "--sensor", "ev",
				"--evidence", ev, "--evidence-max-bytes", "10000000")
			if _, err := pair.Traffic(); err != nil {
				stop()
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond)
			if code := stop(); code != exitOK {
				t.Fatalf("exit %d:\n%s", code, logs)
			}
			if engine == "ebpf" && regexp.MustCompile(`eBPF engine unavailable`).MatchString(logs.String()) {
				t.Skip("eBPF not available here")
			}
			files, _ := filepath.Glob(filepath.Join(out, "date=*", "hour=*", "findings-*.parquet"))
			name := regexp.MustCompile(`^\d{8}T\d{6}Z-[0-9a-f]{16}\.pcapng$`)
			var flowFindings int
			for _, f := range files {
				rows, err := parquetout.ReadFindings(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range rows {
					t.Logf("finding %s %s %s -> %s:%d evidence %q (%d packets)", g.Kind, g.Proto, g.SrcIP, g.DstIP, g.DstPort, g.EvidenceFile, g.EvidencePackets)
					if g.DstIP == "" {
						continue
					}
					flowFindings++
					if !name.MatchString(g.EvidenceFile) || g.EvidencePackets == 0 {
						t.Errorf("finding %s %s -> %s:%d: evidence %q with %d packets", g.Kind, g.SrcIP, g.DstIP, g.DstPort, g.EvidenceFile, g.EvidencePackets)
						continue
					}
					if _, pkts := readEvidence(t, filepath.Join(ev, g.EvidenceFile)); len(pkts) != int(g.EvidencePackets) {
						t.Errorf("%s: %d packets, the finding says %d", g.EvidenceFile, len(pkts), g.EvidencePackets)
					}
				}
			}
			if flowFindings == 0 {
				entries, _ := os.ReadDir(ev)
				t.Fatalf("no finding raised by a flow; evidence dir has %d files\n%s", len(entries), logs)
			}
		})
	}
}

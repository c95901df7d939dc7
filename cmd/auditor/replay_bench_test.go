package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/internal/synth"
)

// BenchmarkReplay replays a generated contact-center capture (about 67%
// RTP, SIP with SDP, TLS, DNS, VLAN and IPv6) end to end: read, decode,
// track flows, write flows.parquet. The capture size defaults to 300,000
// packets to keep `go test -bench` short; AUDITOR_BENCH_PACKETS=2900000
// gives the 2.9 M-packet capture.
func BenchmarkReplay(b *testing.B) {
	packets := 300_000
	if s := os.Getenv("AUDITOR_BENCH_PACKETS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("AUDITOR_BENCH_PACKETS: %v", err)
		}
		packets = n
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "bench.pcapng")
	opts := synth.Options{Seed: 1, Packets: packets}
	st, err := synth.WriteFile(path, opts)
	if err != nil {
		b.Fatal(err)
	}
	info, _ := os.Stat(path)

	s := streams{Stdout: io.Discard, Stderr: io.Discard}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			o := replayOptions{out: filepath.Join(dir, "out"), progress: "never", workers: workers}
			b.SetBytes(info.Size())
			b.ReportAllocs()
			var frames uint64
			for i := 0; i < b.N; i++ {
				sum, err := replay(context.Background(), s, []string{path}, o, flow.DefaultConfig())
				if err != nil {
					b.Fatal(err)
				}
				frames += sum.Frames
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "pkts/s")
			b.ReportMetric(float64(st.Packets), "pkts/op")
		})
	}
}

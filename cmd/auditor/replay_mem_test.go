package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/internal/synth"
)

// TestBenchSYNFloodMemoryBounded replays a SYN flood with random sources
// (200 000 half-open flows, none idle long enough to expire) with a small
// --max-flows: the table must evict instead of growing, and the live heap
// must stay under a fixed bound, well under what the flood takes with the
// default bound.
func TestBenchSYNFloodMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and replays 200 000 packets twice")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "flood.pcapng")
	writeCapture(t, path, synth.Options{Seed: 1, Packets: 200_000, Scenarios: []synth.Scenario{synth.SYNFlood}})

	replayPeak := func(maxFlows string) (replaySummary, uint64) {
		stop := sampleLiveHeap()
		stdout, stderr, code := runCLI(t, "replay", "--max-flows", maxFlows, "--json", "--progress", "never", "--out", filepath.Join(dir, "out"+maxFlows), path)
		peak := stop()
		if code != exitOK {
			t.Fatalf("replay --max-flows %s: exit %d: %s", maxFlows, code, stderr)
		}
		var sum replaySummary
		if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
			t.Fatal(err)
		}
		return sum, peak
	}
	bounded, peak := replayPeak("10000")
	if bounded.Flows != 200_000 || bounded.FlowsEvicted < 190_000 {
		t.Errorf("%d flows, %d evicted; want 200000 flows, all but the last 10000 evicted", bounded.Flows, bounded.FlowsEvicted)
	}
	unbounded, unboundedPeak := replayPeak("1000000")
	if unbounded.FlowsEvicted != 0 {
		t.Errorf("%d flows evicted without a tight bound", unbounded.FlowsEvicted)
	}
	t.Logf("live heap peak: %.1f MiB with --max-flows 10000, %.1f MiB unbounded", float64(peak)/(1<<20), float64(unboundedPeak)/(1<<20))
	// What the heap holds at the peak: 10 000 flows take under 4 MiB
	// (capture/flow measures about 365 bytes per flow); the findings, one
	// row per target once a target shows more than 100 sources; the
	// Parquet writers' column buffers and their 1 MiB zstd windows;
	// catalogs, batches in flight and dissector state a few MiB. None of
	// these grows with the flood (62 MiB measured), and 96 MiB leaves a
	// margin for the collector sampling between allocations. The flood's
	// 190 000 extra flows would take 66 MiB more in the table alone.
	const limit = 96 << 20
	if peak > limit {
		t.Errorf("live heap peaked at %.1f MiB with --max-flows 10000, want under %d MiB", float64(peak)/(1<<20), limit>>20)
	}
	if peak+40<<20 > unboundedPeak {
		t.Errorf("bounded run peaked at %.1f MiB, unbounded at %.1f MiB: the bound saves less than the flows' 40+ MiB",
			float64(peak)/(1<<20), float64(unboundedPeak)/(1<<20))
	}
}

// sampleLiveHeap collects garbage and reads the heap every few
// milliseconds until stopped, and returns the largest live heap seen.
func sampleLiveHeap() (stop func() uint64) {
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		var peak uint64
		var m runtime.MemStats
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.GC()
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}

func writeCapture(t testing.TB, path string, opts synth.Options) synth.Stats {
	t.Helper()
	st, err := synth.WriteFile(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// rtpCapture writes calls and nothing else, so almost every packet is RTP
// (plus RTCP every 5 s and the SIP of each call); longer calls add RTP
// packets and no flows.
func rtpCapture(t testing.TB, path string, call time.Duration) synth.Stats {
	return writeCapture(t, path, synth.Options{Seed: 7, Scenarios: []synth.Scenario{synth.SIPUDP},
		Counts: map[synth.Scenario]int{synth.SIPUDP: 20}, CallDuration: call})
}

// replayMallocs replays path in process and counts the heap allocations.
func replayMallocs(t testing.TB, path, out string) (mallocs, packets uint64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	o := replayOptions{out: out, progress: "never", workers: 1}
	sum, err := replay(context.Background(), streams{Stdout: io.Discard, Stderr: io.Discard}, []string{path}, o, flow.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs, sum.Packets
}

// TestBenchRTPSteadyStateAllocs checks that the whole pipeline (read,
// decode, flow table, SIP/RTP, TLS and DNS dissectors, verdicts, Parquet)
// allocates nothing per RTP packet once a call is up: the same 20 calls
// replayed at two call lengths differ by tens of thousands of RTP packets
// and must not differ in allocations by more than a few per call.
func TestBenchRTPSteadyStateAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("replays two captures")
	}
	dir := t.TempDir()
	short, long := filepath.Join(dir, "short.pcapng"), filepath.Join(dir, "long.pcapng")
	rtpCapture(t, short, 10*time.Second)
	st := rtpCapture(t, long, 40*time.Second)
	if share := float64(st.RTPPackets) / float64(st.Packets); share < 0.98 {
		t.Fatalf("RTP share %.3f: not an RTP capture", share)
	}
	m1, p1 := replayMallocs(t, short, filepath.Join(dir, "out1"))
	m2, p2 := replayMallocs(t, long, filepath.Join(dir, "out2"))
	perPacket := (float64(m2) - float64(m1)) / float64(p2-p1)
	t.Logf("%d packets: %d allocations; %d packets: %d; %.4f allocations per added packet", p1, m1, p2, m2, perPacket)
	// RTCP every 5 s (a few per call and minute, each may allocate a
	// report) is the only traffic that grows with the calls besides RTP.
	if perPacket > 0.01 {
		t.Errorf("%.4f allocations per added RTP packet, want none (at most 0.01 for RTCP)", perPacket)
	}
}

// BenchmarkBenchRTPPipeline replays an RTP capture end to end and reports
// heap allocations per packet for the whole pipeline. They include each
// replay's setup (about 330 000 allocations: catalogs, Parquet writers),
// spread over 120 000 packets; TestBenchRTPSteadyStateAllocs isolates the
// per-packet part, which is zero.
func BenchmarkBenchRTPPipeline(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "rtp.pcapng")
	rtpCapture(b, path, 60*time.Second)
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size())
	var mallocs, packets uint64
	for b.Loop() {
		m, p := replayMallocs(b, path, filepath.Join(dir, "out"))
		mallocs += m
		packets += p
	}
	b.ReportMetric(float64(mallocs)/float64(packets), "allocs/pkt")
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "pkts/s")
}

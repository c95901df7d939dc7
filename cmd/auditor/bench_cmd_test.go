package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/synth"
)

func TestBenchUsageErrors(t *testing.T) {
	tests := []struct {
		args    []string
		message string
	}{
		{[]string{"bench", "--runs", "0"}, "--runs must be between 1 and 100"},
		{[]string{"bench", "--peers", "wireshark"}, `unknown peer "wireshark"`},
		{[]string{"bench", "--packets", "0"}, "--packets must be positive"},
		{[]string{"bench", "--workers", "0"}, "--workers must be between 1 and 256"},
		{[]string{"bench", "capture.pcap"}, `unexpected argument "capture.pcap"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[1:], " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.message) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tt.message)
			}
		})
	}
}

func TestBenchSelectPeers(t *testing.T) {
	tests := []struct {
		flag []string
		want string
	}{
		{nil, "tshark-conv,tshark-voip,ndpi,heplify"},
		{[]string{"none"}, ""},
		{[]string{"all"}, "tshark-conv,tshark-voip,tshark-fields,ndpi,heplify"},
		{[]string{"ndpi", "tshark-fields", "ndpi"}, "ndpi,tshark-fields"},
	}
	for _, tt := range tests {
		peers, err := selectPeers(tt.flag)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range peers {
			names = append(names, p.name)
		}
		if got := strings.Join(names, ","); got != tt.want {
			t.Errorf("--peers %v: %q, want %q", tt.flag, got, tt.want)
		}
	}
}

// auditorBinary builds the auditor for the tests that measure it as a
// child process, as the bench command does with itself.
func auditorBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the auditor")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the auditor with")
	}
	bin := filepath.Join(t.TempDir(), "auditor")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build auditor: %v\n%s", err, out)
	}
	return bin
}

// TestBenchPeersNotInstalled runs the command with an empty PATH: the
// auditor is measured, every peer is reported as not installed, and the
// command succeeds.
func TestBenchPeersNotInstalled(t *testing.T) {
	bin := auditorBinary(t)
	t.Setenv("PATH", t.TempDir())
	dir := t.TempDir()
	stdout, stderr, code := runCLI(t, "bench", "--auditor", bin, "--packets", "50000", "--runs", "2", "--dir", dir, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res benchResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	c := res.Capture
	if !c.Generated || c.Path != filepath.Join(dir, "bench.pcapng") || c.Packets < 45_000 || c.Packets > 55_000 || c.Flows == 0 {
		t.Errorf("capture %+v", c)
	}
	if len(res.Tools) != 5 {
		t.Fatalf("%d tools, want the auditor and four default peers", len(res.Tools))
	}
	a := res.Tools[0]
	if a.Name != "auditor" || a.Status != statusOK || len(a.WallSeconds) != 2 || a.MedianWall <= 0 || a.MedianCPU <= 0 ||
		a.PacketsPerSecond <= 0 || a.RatioToAuditor != 1 || a.Command[0] != bin {
		t.Errorf("auditor %+v", a)
	}
	if runtime.GOOS == "linux" && (a.PeakRSS < 1<<20 || a.PeakRSS > 4<<30) {
		t.Errorf("auditor peak RSS %d bytes", a.PeakRSS)
	}
	for _, p := range res.Tools[1:] {
		if p.Status != statusNotInstalled || p.Install == "" || p.MedianWall != 0 {
			t.Errorf("peer %+v, want not installed", p)
		}
	}
	if len(res.Published) != 5 || res.Published[1].Tool != "heplify" || res.Published[1].WallSeconds != 7.4 || res.Published[1].Note != publishedNote {
		t.Errorf("published %+v", res.Published)
	}

	// The text form, on the kept capture: not generated again.
	stdout, stderr, code = runCLI(t, "bench", "--auditor", bin, "--capture", c.Path, "--runs", "1", "--peers", "ndpi")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"capture  " + c.Path, "auditor ", "ndpi ", "not installed (apt-get install libndpi-bin)",
		"published, not measured here", "heplify     SIP and RTCP only             7.40 s", "replay --progress never --json"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "generated") || strings.Contains(stderr, "generating") {
		t.Errorf("--capture of an existing file generated it again:\n%s\n%s", stdout, stderr)
	}
}

// TestBenchPeerOutcomes runs stand-in peers: one that works, whose output
// lands in the work directory, and one that fails, which is reported
// without failing the command.
func TestBenchPeerOutcomes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stand-in peers are shell scripts")
	}
	bin := auditorBinary(t)
	tools := t.TempDir()
	script := func(name, body string) {
		if err := os.WriteFile(filepath.Join(tools, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script("tshark", `echo "conversations of $4"`)
	script("ndpiReader", `echo "ndpiReader: $2: no such capture" >&2; exit 3`)
	t.Setenv("PATH", tools)
	dir := t.TempDir()
	profiles := filepath.Join(dir, "profiles")
	stdout, stderr, code := runCLI(t, "bench", "--auditor", bin, "--packets", "5000", "--runs", "2", "--dir", dir,
		"--peers", "tshark-conv,ndpi", "--lock", filepath.Join(dir, "lock"), "--profile", profiles, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res benchResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	// --profile kept a CPU and an allocation profile of one more replay:
	// gzip-compressed pprof protobufs.
	if len(res.Profiles) != 2 {
		t.Errorf("profiles %v, want CPU and allocations", res.Profiles)
	}
	for _, p := range res.Profiles {
		if b, err := os.ReadFile(p); err != nil || len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b || filepath.Dir(p) != profiles {
			t.Errorf("profile %s: %d bytes, %v", p, len(b), err)
		}
	}
	conv, ndpi := res.Tools[1], res.Tools[2]
	if conv.Status != statusOK || len(conv.WallSeconds) != 2 || conv.RatioToAuditor <= 0 || conv.PacketsPerSecond <= 0 {
		t.Errorf("tshark-conv %+v", conv)
	}
	if out, err := os.ReadFile(filepath.Join(dir, "tshark-conv.out")); err != nil || string(out) != "conversations of "+res.Capture.Path+"\n" {
		t.Errorf("tshark-conv output %q, %v", out, err)
	}
	if ndpi.Status != statusFailed || !strings.Contains(ndpi.Error, "exit status 3: ndpiReader: "+res.Capture.Path+": no such capture") || len(ndpi.WallSeconds) != 0 {
		t.Errorf("ndpi %+v", ndpi)
	}
}

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
	sum, err := replay(context.Background(), streams{stdout: io.Discard, stderr: io.Discard}, []string{path}, o, flow.DefaultConfig())
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

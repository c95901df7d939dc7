package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ccaudit/auditor/internal/synth"
	"github.com/ccaudit/auditor/report/parquetout"
)

// udpFrame is one Ethernet/IPv4/UDP frame from 10.0.0.1:40000 to
// 10.0.0.2:5060.
func udpFrame(t *testing.T) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(10, 0, 0, 1), DstIP: net.IPv4(10, 0, 0, 2)}
	udp := &layers.UDP{SrcPort: 40000, DstPort: 5060}
	udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload("ping")); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A packet whose timestamp jumps back by days joins its flow without
// making first_seen later than itself, and the jump is counted and
// reported.
func TestReplayTimestampsBackwards(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jump.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriterNanos(f)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	frame := udpFrame(t)
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{base, base.Add(time.Second), base.Add(-72 * time.Hour), base.Add(2 * time.Second)} {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(frame), Length: len(frame)}, frame)
	}
	f.Close()
	out := filepath.Join(dir, "out")
	stdout, stderr, code := runCLI(t, "replay", "--json", "--out", out, path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum replaySummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.TimeBackwards != 1 || !strings.Contains(stderr, "1 packets are timestamped") {
		t.Errorf("backwards %d, stderr %q", sum.TimeBackwards, stderr)
	}
	rows, err := parquetout.ReadFlows(filepath.Join(out, "flows.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var packets int64
	for _, r := range rows {
		packets += r.PacketsOut + r.PacketsIn
	}
	// The late packet joined its flow (it is not idle: its time is
	// before the flow's last), which now starts at that packet.
	if len(rows) != 1 || !rows[0].FirstSeen.Equal(base.Add(-72*time.Hour)) || !rows[0].LastSeen.Equal(base.Add(2*time.Second)) {
		t.Errorf("flows %+v, want one from %v to %v", rows, base.Add(-72*time.Hour), base.Add(2*time.Second))
	}
	if packets != 4 {
		t.Errorf("%d packets in flows, want 4", packets)
	}
}

// With a flow table too small for the traffic, an unanswered connection
// whose SYN retries come after it was evicted is still one blocked flow:
// --max-flows changes the evictions, not the blocked count.
func TestReplayEvictionDoesNotRecountBlocked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mix.pcapng")
	if _, err := synth.WriteFile(path, synth.Options{Seed: 11, Scenarios: []synth.Scenario{synth.SYNUnanswered, synth.TCP, synth.DNS},
		Counts: map[synth.Scenario]int{synth.SYNUnanswered: 30, synth.TCP: 300, synth.DNS: 300}}); err != nil {
		t.Fatal(err)
	}
	blocked := func(maxFlows string) (uint64, uint64) {
		stdout, stderr, code := runCLI(t, "replay", "--json", "--workers", "1", "--max-flows", maxFlows, "--site", "../../testdata/demo-site.yaml",
			"--out", filepath.Join(dir, "out-"+maxFlows), path)
		if code != exitOK {
			t.Fatalf("--max-flows %s: exit %d: %s", maxFlows, code, stderr)
		}
		var sum replaySummary
		if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
			t.Fatal(err)
		}
		return sum.Verdicts["blocked"], sum.FlowsEvicted
	}
	want, _ := blocked("1000000")
	got, evicted := blocked("64")
	if evicted == 0 {
		t.Fatal("no flow evicted with --max-flows 64: the test does not exercise eviction")
	}
	if got != want || want == 0 {
		t.Errorf("blocked flows: %d with --max-flows 64 (%d evicted), %d with room for all", got, evicted, want)
	}
}

package main

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ccaudit/auditor/report/parquetout"
)

// TestReplayTunnels replays Zeek's GRE-in-UDP capture: the two inner flows
// carry their tunnel, and tunnels.parquet holds the four outer UDP
// connections Zeek logs, joined to the flows by the tunnel column.
func TestReplayTunnels(t *testing.T) {
	out := t.TempDir()
	_, stderr, code := runCLI(t, "replay", "--json", "--out", out,
		"../../capture/decode/testdata/encap/gre-over-udp-4754.pcap")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	flows, err := parquetout.ReadFlows(filepath.Join(out, "flows.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	tunnels, err := parquetout.ReadTunnels(filepath.Join(out, "tunnels.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tunnels) != 4 {
		t.Fatalf("%d tunnels, want 4: %+v", len(tunnels), tunnels)
	}
	byName := map[string]parquetout.TunnelRow{}
	for _, tn := range tunnels {
		if tn.Kind != "gre-udp" || tn.Proto != "udp" || tn.SrcIP != "192.168.0.107" || tn.DstPort != 4754 {
			t.Errorf("tunnel %+v", tn)
		}
		byName[tn.Tunnel] = tn
	}
	want := map[string]string{
		"udp 172.17.0.2 51714": "gre-udp 192.168.0.107:50343->192.168.5.1:4754",
		"tcp 172.17.0.2 36518": "gre-udp 192.168.0.107:40987->192.168.5.1:4754",
	}
	if len(flows) != len(want) {
		t.Fatalf("%d flows, want %d", len(flows), len(want))
	}
	for _, f := range flows {
		key := f.Proto + " " + f.SrcIP + " " + strconv.Itoa(int(f.SrcPort))
		if f.Tunnel != want[key] {
			t.Errorf("flow %s: tunnel %q, want %q", key, f.Tunnel, want[key])
		}
		if _, ok := byName[f.Tunnel]; !ok {
			t.Errorf("flow %s: tunnel %q has no tunnels.parquet row", key, f.Tunnel)
		}
	}
}

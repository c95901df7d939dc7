package parquetout

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
)

// TestTunnelsRoundTrip writes two tunnels and reads them back: the row
// names the outer originator (the tunnel's first sender, here the key's B
// endpoint), its ports, and the same tunnel string the inner flows carry.
func TestTunnelsRoundTrip(t *testing.T) {
	vx, dir := flow.NewKey(flow.ProtoUDP, mustAddrPort("198.51.100.2:51000"), mustAddrPort("198.51.100.1:4789"))
	gre, _ := flow.NewKey(47, mustAddrPort("[2001:db8::1]:0"), mustAddrPort("[2001:db8::2]:0"))
	stats := []decode.TunnelStats{
		{Kind: decode.TunnelVXLAN, Outer: vx, OrigDir: dir, First: t0, Last: t0 + 5_000,
			PacketsOut: 3, BytesOut: 300, PacketsIn: 2, BytesIn: 250},
		{Kind: decode.TunnelGRE, Outer: gre, OrigDir: flow.DirAB, First: t0 + 1_000, Last: t0 + 1_000,
			PacketsOut: 1, BytesOut: 100},
	}
	path := filepath.Join(t.TempDir(), "tunnels.parquet")
	w, err := CreateTunnels(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var row TunnelRow
	for i := range stats {
		FromTunnel(&stats[i], &row)
		if i == 0 {
			row.Sensor = "s1"
		}
		if err := w.Write(&row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTunnels(path)
	if err != nil {
		t.Fatal(err)
	}
	ts := func(ns int64) time.Time { return time.Unix(0, ns).UTC().Truncate(time.Microsecond) }
	want := []TunnelRow{
		{FirstSeen: ts(t0), LastSeen: ts(t0 + 5_000), Kind: "vxlan", Proto: "udp",
			SrcIP: "198.51.100.2", SrcPort: 51000, DstIP: "198.51.100.1", DstPort: 4789,
			PacketsOut: 3, BytesOut: 300, PacketsIn: 2, BytesIn: 250,
			Tunnel: "vxlan 198.51.100.2:51000->198.51.100.1:4789", Sensor: "s1"},
		{FirstSeen: ts(t0 + 1_000), LastSeen: ts(t0 + 1_000), Kind: "gre", Proto: "47",
			SrcIP: "2001:db8::1", DstIP: "2001:db8::2", PacketsOut: 1, BytesOut: 100,
			Tunnel: "gre 2001:db8::1->2001:db8::2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back:\n got %+v\nwant %+v", got, want)
	}
}

// TestFromFlowTunnel carries the flow's tunnel into the row, and clears it
// for a flow without one.
func TestFromFlowTunnel(t *testing.T) {
	rows := flowsOf(t, flow.ProtoUDP, &flow.Meta{Tunnel: "geneve 10.0.0.1:1->10.0.0.2:6081"},
		packet{at: t0, src: "192.0.2.1:5000", dst: "192.0.2.2:53", payload: 30})
	if len(rows) != 1 || rows[0].Tunnel != "geneve 10.0.0.1:1->10.0.0.2:6081" {
		t.Fatalf("rows %+v, want the flow's tunnel", rows)
	}
	row := rows[0]
	var bare flow.Flow
	FromFlow(&bare, &row)
	if row.Tunnel != "" {
		t.Errorf("tunnel %q survived FromFlow of a flow without one", row.Tunnel)
	}
}

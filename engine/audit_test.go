package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/parquetout"
)

// demoSite is the inventory of testdata/demo.pcapng: it requires phone DNS
// lookups, so a window without them has missing findings.
const demoSite = "../testdata/demo-site.yaml"

// testFlow returns the i-th of a set of distinct UDP flows from a
// workstation of the demo site to an outside host.
func testFlow(i int) *flow.Flow {
	src := netip.AddrPortFrom(netip.MustParseAddr("10.10.2.7"), uint16(20000+i%40000))
	dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i / 40000)}), 9999)
	key, dir := flow.NewKey(flow.ProtoUDP, src, dst)
	t := int64(1_700_000_000_000_000_000) + int64(i)*1_000_000
	return &flow.Flow{Key: key, OrigDir: dir, First: t, Last: t + 1000,
		Orig: flow.Side{Packets: 1, Bytes: 100, Payload: 58}}
}

func newWriter(t *testing.T, path string) *parquetout.Writer {
	t.Helper()
	w, err := parquetout.Create(path, parquetout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Abort() })
	return w
}

// TestFlowSinkSwap sends flows from several workers across batch
// boundaries into one file, swaps to a second, and checks that every flow
// is in the file it was sent to, judged and labelled.
func TestFlowSinkSwap(t *testing.T) {
	aud, err := New(Config{Site: demoSite})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first := filepath.Join(dir, "first.parquet")
	w1 := newWriter(t, first)
	sink := NewFlowSink(w1, "sensor-a")
	var cfg capture.Config
	aud.Configure(&cfg, sink)
	workers := []func(*flow.Flow){cfg.Stages(0).OnFlow, cfg.Stages(1).OnFlow, cfg.Stages(2).OnFlow}

	send := func(from, to int) {
		for i := from; i < to; i++ {
			workers[i%len(workers)](testFlow(i))
		}
	}
	tests := []struct {
		path     string
		from, to int
	}{
		{first, 0, 3*sinkBatch + 17}, // full batches and a partial one per worker
		{filepath.Join(dir, "second.parquet"), 3*sinkBatch + 17, 3*sinkBatch + 17 + 5},
		{filepath.Join(dir, "empty.parquet"), 0, 0},
	}
	var total uint64
	for n, tt := range tests {
		w := w1
		if n > 0 {
			w = newWriter(t, tt.path)
			sink.Swap(w)
		}
		send(tt.from, tt.to)
		sink.Drain()
		if err := sink.Err(); err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		total += uint64(tt.to - tt.from)
		if sink.Rows() != total {
			t.Errorf("%s: Rows() = %d, want %d", tt.path, sink.Rows(), total)
		}
		rows, err := parquetout.ReadFlows(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != tt.to-tt.from {
			t.Fatalf("%s: %d rows, want %d", tt.path, len(rows), tt.to-tt.from)
		}
		seen := map[int32]bool{}
		for _, r := range rows {
			if r.Sensor != "sensor-a" || r.Verdict == "" || r.SrcIP != "10.10.2.7" {
				t.Fatalf("%s: row %+v: want sensor-a, a verdict, source 10.10.2.7", tt.path, r)
			}
			seen[r.SrcPort] = true
		}
		for i := tt.from; i < tt.to; i++ {
			if port := int32(testFlow(i).Src().Port()); !seen[port] {
				t.Errorf("%s: flow %d (source port %d) missing", tt.path, i, port)
			}
		}
	}
}

// TestWindow checks that a window's files land in the Hive partition of
// its start hour, named by sensor and sequence, and that Close writes the
// flows, the calls and the findings, downgrading missing findings when the
// capture lost more than the threshold.
func TestWindow(t *testing.T) {
	start := time.Date(2026, 3, 9, 23, 59, 30, 0, time.UTC)
	tests := []struct {
		name         string
		lost         uint64 // of 1000 packets received in the window
		wantSeverity string
		wantReason   string
	}{
		{"no loss", 0, "", ""},
		{"lossy", 10, "info", "(capture lost 0.99% of packets in this window: absence is not proof)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aud, err := New(Config{Site: demoSite, Sensor: "probe-1"})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var packets, lost uint64 = 5000, 3
			gre, dir4 := flow.NewKey(47, netip.MustParseAddrPort("10.0.0.1:0"), netip.MustParseAddrPort("10.0.0.2:0"))
			tunnels := []decode.TunnelStats{{Kind: decode.TunnelGRE, Outer: gre, OrigDir: dir4, First: start.UnixNano(), Last: start.UnixNano(), PacketsOut: 2, BytesOut: 200}}
			w := NewWindow(aud, WindowConfig{Dir: dir, Sensor: "probe-1", Rotation: time.Hour, LossThreshold: 0.001,
				Stats:   func() (uint64, uint64) { return packets, lost },
				Tunnels: func() []decode.TunnelStats { return tunnels }})
			// A complete window, from one rotation boundary to the next:
			// only such a window judges missing flows.
			if err := w.Open(start.Truncate(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if w.Seq() != 1 || !w.Until().Equal(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("Seq %d Until %v, want 1 and the next full hour", w.Seq(), w.Until())
			}
			var cfg capture.Config
			aud.Configure(&cfg, w.Sink())
			onFlow := cfg.Stages(0).OnFlow
			for i := range 3 {
				onFlow(testFlow(i))
			}
			// A worker's DNS dissector reports a transaction.
			aud.dnsLog.buffer().add(&dnsinfo.Transaction{QueryTime: start.UnixNano(), Proto: flow.ProtoUDP, Service: "dns",
				Client: netip.MustParseAddrPort("10.0.0.1:40000"), Server: netip.MustParseAddrPort("10.0.0.53:53"), Name: "nx.example", Type: dnsinfo.TypeA})
			packets, lost = packets+1000, lost+tt.lost
			if err := w.Close(w.Until()); err != nil {
				t.Fatal(err)
			}

			part := filepath.Join(dir, "date=2026-03-09", "hour=23")
			flows, err := parquetout.ReadFlows(filepath.Join(part, "flows-probe-1-000001.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			if len(flows) != 3 || flows[0].Sensor != "probe-1" {
				t.Errorf("%d flows (first %+v), want 3 from probe-1", len(flows), flows[0])
			}
			md, err := parquetout.ReadMetadata(filepath.Join(part, "flows-probe-1-000001.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			if md["auditor.capture.packets_received"] != "1000" || md["auditor.capture.packets_dropped"] != fmt.Sprint(tt.lost) {
				t.Errorf("capture metadata %v, want 1000 received, %d dropped", md, tt.lost)
			}
			if md[parquetout.MetaSIPCallsRefused] != "0" || md[parquetout.MetaSIPStreamsDropped] != "0" || md[parquetout.MetaSIPMessagesOversized] != "0" {
				t.Errorf("SIP limit metadata %v, want zeros", md)
			}
			dns, err := parquetout.ReadDNS(filepath.Join(part, "dns-probe-1-000001.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			if len(dns) != 1 || dns[0].Query != "nx.example" || dns[0].Sensor != "probe-1" || dns[0].Answered {
				t.Errorf("dns rows %+v, want the unanswered nx.example from probe-1", dns)
			}
			if _, err := parquetout.ReadCalls(filepath.Join(part, "calls-probe-1-000001.parquet")); err != nil {
				t.Error(err)
			}
			tun, err := parquetout.ReadTunnels(filepath.Join(part, "tunnels-probe-1-000001.parquet"))
			if err != nil || len(tun) != 1 || tun[0].Tunnel != "gre 10.0.0.1->10.0.0.2" || tun[0].Sensor != "probe-1" || tun[0].PacketsOut != 2 {
				t.Errorf("tunnels %+v (%v), want the GRE tunnel from probe-1", tun, err)
			}
			findings, err := parquetout.ReadFindings(filepath.Join(part, "findings-probe-1-000001.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			var missing int
			for _, g := range findings {
				if g.Kind != string(verdict.KindMissing) {
					continue
				}
				missing++
				if tt.wantSeverity != "" && g.Severity != tt.wantSeverity {
					t.Errorf("missing finding severity %q, want %q", g.Severity, tt.wantSeverity)
				}
				if tt.wantSeverity == "" && g.Severity == "info" {
					t.Errorf("missing finding downgraded without loss: %+v", g)
				}
				if got := strings.Contains(g.Reason, "absence is not proof"); got != (tt.wantReason != "") ||
					(tt.wantReason != "" && !strings.HasSuffix(g.Reason, tt.wantReason)) {
					t.Errorf("missing finding reason %q, want suffix %q", g.Reason, tt.wantReason)
				}
			}
			if missing == 0 {
				t.Errorf("no missing finding in %+v: the demo site requires phone DNS lookups", findings)
			}

			// The next window gets the next sequence number; its sink is
			// the same, so the workers' stages carry on.
			sink := w.Sink()
			if err := w.Open(start.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if w.Seq() != 2 || w.Sink() != sink {
				t.Errorf("second window: seq %d, same sink %v", w.Seq(), w.Sink() == sink)
			}
			w.Abort()
			left, _ := filepath.Glob(filepath.Join(dir, "date=*", "hour=*", "*-000002*"))
			if len(left) != 0 {
				t.Errorf("Abort left %v", left)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	badCatalog := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badCatalog, []byte("schema: 1\nvendor: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cfg        Config
		wantVendor string // set if the error is an *UnknownVendorError
		wantText   string
	}{
		{"unknown vendor", Config{Vendors: []string{"no-such-vendor"}}, "no-such-vendor", "no-such-vendor"},
		{"missing site", Config{Site: filepath.Join(dir, "absent.yaml")}, "", "absent.yaml"},
		{"bad catalog", Config{Catalogs: []string{badCatalog}}, "", "bad.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			var uv *UnknownVendorError
			if errors.As(err, &uv) != (tt.wantVendor != "") || (uv != nil && uv.Vendor != tt.wantVendor) {
				t.Errorf("error %v (%T): want UnknownVendorError %q: %v", err, err, tt.wantVendor, uv)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not name %q", err, tt.wantText)
			}
		})
	}
}

// TestReloadKeepsConfigurationOnError checks that a failed reload leaves
// the running classifier in place, and that a good one replaces every
// worker's clone.
func TestReloadKeepsConfigurationOnError(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.yaml")
	data, err := os.ReadFile(demoSite)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(site, data, 0o644); err != nil {
		t.Fatal(err)
	}
	aud, err := New(Config{Site: site})
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, filepath.Join(dir, "flows.parquet"))
	sink := NewFlowSink(w, "")
	var cfg capture.Config
	aud.Configure(&cfg, sink)
	onFlow := cfg.Stages(0).OnFlow
	base, clone := aud.base, aud.clones[0].Load()

	if err := os.WriteFile(site, []byte("schema: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := aud.Reload(); err == nil {
		t.Fatal("reload of a broken inventory: no error")
	}
	if aud.base != base || aud.clones[0].Load() != clone {
		t.Error("failed reload replaced the classifier")
	}
	if err := os.WriteFile(site, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := aud.Reload(); err != nil {
		t.Fatal(err)
	}
	if aud.base == base || aud.clones[0].Load() == clone {
		t.Error("reload kept the old classifier")
	}
	onFlow(testFlow(0))
	if got := aud.WindowVerdicts(); sum(got[:]) != 1 {
		t.Errorf("window verdicts %v after one flow, want one", got)
	}
	sink.Drain()
}

func sum(xs []uint64) (n uint64) {
	for _, x := range xs {
		n += x
	}
	return n
}

// A window whose files cannot be created (here its partition path is
// taken by a file) discards its flows instead of failing the workers, and
// the next window writes again.
func TestWindowOpenFailureDiscards(t *testing.T) {
	start := time.Date(2026, 3, 9, 23, 59, 30, 0, time.UTC)
	aud, err := New(Config{Site: demoSite, Sensor: "probe-1"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := NewWindow(aud, WindowConfig{Dir: dir, Sensor: "probe-1", Rotation: time.Hour})
	part := func(t time.Time) string {
		return filepath.Join(dir, "date="+t.UTC().Format("2006-01-02"), "hour="+t.UTC().Format("15"))
	}
	if err := w.Open(start); err != nil {
		t.Fatal(err)
	}
	var cfg capture.Config
	aud.Configure(&cfg, w.Sink())
	onFlow := cfg.Stages(0).OnFlow
	if err := w.Close(start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	next := start.Add(time.Hour)
	blocker := filepath.Join(dir, "date="+next.UTC().Format("2006-01-02"))
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Open(next); err == nil {
		t.Fatal("Open succeeded with its partition path taken by a file")
	}
	for i := range 2000 { // more than a batch: the sink must take them
		onFlow(testFlow(i))
	}
	dnsBuf := aud.dnsLog.buffer()
	for range 300 { // more than a DNS batch
		dnsBuf.add(&dnsinfo.Transaction{Name: "lost.example"})
	}
	if err := w.Close(next.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "2000 flows discarded (2000 since the start; 300 DNS transactions") {
		t.Errorf("Close of the failed window: %v, want 2000 flows and 300 DNS transactions discarded", err)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	third := next.Add(time.Hour)
	if err := w.Open(third); err != nil {
		t.Fatal(err)
	}
	onFlow(testFlow(1))
	dnsBuf.add(&dnsinfo.Transaction{Name: "kept.example", QueryTime: third.UnixNano()})
	if err := w.Close(third.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if dns, err := parquetout.ReadDNS(filepath.Join(part(third), fmt.Sprintf("dns-probe-1-%06d.parquet", w.Seq()))); err != nil || len(dns) != 1 || dns[0].Query != "kept.example" {
		t.Errorf("third window's DNS: %+v, %v", dns, err)
	}
	flows, err := parquetout.ReadFlows(filepath.Join(part(third), fmt.Sprintf("flows-probe-1-%06d.parquet", w.Seq())))
	if err != nil || len(flows) != 1 {
		t.Fatalf("third window: %d flows, %v", len(flows), err)
	}
}

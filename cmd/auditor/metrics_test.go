package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/engine"
	"github.com/ccaudit/auditor/report/parquetout"
)

// gather returns the registry's samples as "name{label=value,...}" -> value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				if l.GetName() == "sensor" {
					continue
				}
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = value(mf.GetType(), m)
		}
	}
	return out
}

func value(t dto.MetricType, m *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	return 1
}

// The metrics of a capture that judged the demo capture's flows in one
// window, then rotated: the judged and findings counters keep their
// values across the rotation, and the build, Go and process metrics are
// there.
func TestMetricsCountersSurviveRotation(t *testing.T) {
	aud, err := engine.New(engine.Config{Site: "../../testdata/demo-site.yaml", Sensor: "t1", Metadata: map[string]string{parquetout.MetaRun: "run-1"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var pipe *capture.Pipeline
	win := engine.NewWindow(aud, engine.WindowConfig{Dir: dir, Sensor: "t1", Rotation: time.Hour, Run: "run-1",
		Tunnels: func() []decode.TunnelStats { return pipe.Decoder().Tunnels() }})
	// A complete window, boundary to boundary: it judges missing flows.
	now := time.Now().Truncate(time.Hour)
	if err := win.Open(now); err != nil {
		t.Fatal(err)
	}
	cfg := capture.Config{}
	aud.Configure(&cfg, win.Sink())
	pipe, err = capture.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.Open([]string{demo}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := pipe.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	pipe.Flush()
	ms := &metricsSource{counters: func() engine.PipelineCounters { return engine.SumPipelines(pipe) }, aud: aud, sensor: "t1"}
	reg := newRegistry(ms)
	before := gather(t, reg)
	if before["auditor_flows_judged_total{verdict=expected}"] != 192 || before["auditor_flows_judged_total{verdict=blocked}"] != 3 {
		t.Fatalf("judged before rotation: %v", before)
	}
	if before["auditor_findings_total{kind=blocked}"] != 3 {
		t.Errorf("findings before rotation: blocked=%v", before["auditor_findings_total{kind=blocked}"])
	}
	if err := win.Close(now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := win.Open(now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	after := gather(t, reg)
	for _, k := range []string{"auditor_flows_judged_total{verdict=expected}", "auditor_flows_judged_total{verdict=blocked}", "auditor_findings_total{kind=blocked}"} {
		if after[k] != before[k] {
			t.Errorf("%s: %v before the rotation, %v after: a counter must not reset", k, before[k], after[k])
		}
	}
	if v, ok := after["auditor_dns_transactions_not_written_total{}"]; !ok || v != 0 {
		t.Errorf("auditor_dns_transactions_not_written_total: %v, %v; want it exported, 0", v, ok)
	}
	// The demo misses 5 catalog entries the site requires (as a replay
	// of it reports).
	if after["auditor_findings_total{kind=missing}"] != 5 {
		t.Errorf("the window's missing finding is not counted: %v", after["auditor_findings_total{kind=missing}"])
	}
	win.Close(now.Add(time.Hour + time.Minute))
	// Each window ends with a manifest of its five files, all of the run.
	manifests, _ := filepath.Glob(filepath.Join(dir, "*", "*", "manifest-t1-*.json"))
	if len(manifests) != 2 {
		t.Fatalf("window manifests %v, want 2", manifests)
	}
	for _, p := range manifests {
		m, err := parquetout.ReadManifest(filepath.Dir(p), filepath.Base(p))
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for _, tb := range m.Tables {
			tables = append(tables, tb.Table)
		}
		if err := m.Verify(filepath.Dir(p)); err != nil || strings.Join(tables, ",") != "flows,calls,dns,tunnels,findings" || m.Run != "run-1" {
			t.Errorf("%s: %+v, %v", p, m, err)
		}
	}
	// Live findings name their sensor, as flows do.
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*", "findings-t1-*.parquet"))
	if len(files) == 0 {
		t.Fatal("no findings files")
	}
	for _, f := range files {
		rows, err := parquetout.ReadFindings(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Sensor != "t1" {
				t.Errorf("%s: finding %s has sensor %q, want t1", f, r.Kind, r.Sensor)
			}
		}
	}
	var build, goroutines, process bool
	for k := range after {
		build = build || strings.HasPrefix(k, "auditor_build_info{") && strings.Contains(k, "goversion=go1.")
		goroutines = goroutines || strings.HasPrefix(k, "go_goroutines")
		process = process || strings.HasPrefix(k, "process_resident_memory_bytes")
	}
	if !build || !goroutines || !process {
		t.Errorf("build info %v, Go collector %v, process collector %v", build, goroutines, process)
	}
}

func TestMetricsWarnBeyondLoopback(t *testing.T) {
	aud, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		addr string
		warn bool
	}{{"127.0.0.1:0", false}, {"[::1]:0", false}, {":0", true}, {"0.0.0.0:0", true}} {
		var logs bytes.Buffer
		stop, err := serveMetrics(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), tt.addr, &metricsSource{aud: aud, sensor: "s"})
		if err != nil {
			if _, ok := err.(*net.OpError); ok && strings.Contains(tt.addr, "::1") {
				continue // no IPv6 here
			}
			t.Fatal(err)
		}
		stop()
		if got := strings.Contains(logs.String(), "beyond loopback"); got != tt.warn {
			t.Errorf("%s: warned %v, want %v: %s", tt.addr, got, tt.warn, logs.String())
		}
	}
}

// auditor_flows_judged_total is a counter: scrapes running while windows
// rotate never see it step back, and after the last rotation it counts
// every flow judged once.
func TestMetricsJudgedNeverStepsBack(t *testing.T) {
	aud, err := engine.New(engine.Config{Sensor: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	win := engine.NewWindow(aud, engine.WindowConfig{Dir: t.TempDir(), Sensor: "t1", Rotation: time.Hour})
	now := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	if err := win.Open(now); err != nil {
		t.Fatal(err)
	}
	var cfg capture.Config
	aud.Configure(&cfg, win.Sink())
	onFlow := cfg.Stages(0).OnFlow
	ms := &metricsSource{aud: aud, sensor: "t1"}
	reg := prometheus.NewRegistry()
	reg.MustRegister(ms)
	judged := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Error(err)
		}
		var n float64
		for _, mf := range mfs {
			if mf.GetName() == "auditor_flows_judged_total" {
				for _, m := range mf.GetMetric() {
					n += m.GetCounter().GetValue()
				}
			}
		}
		return n
	}
	stop := make(chan struct{})
	scraped := make(chan int)
	go func() {
		var last float64
		scrapes := 0
		defer func() { scraped <- scrapes }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := judged(); n < last {
				t.Errorf("auditor_flows_judged_total stepped back from %v to %v", last, n)
				return
			} else {
				last = n
			}
			scrapes++
		}
	}()
	const windows, perWindow = 20, 50
	src := netip.MustParseAddr("10.0.0.1")
	for w := range windows {
		for i := range perWindow {
			key, dir := flow.NewKey(flow.ProtoUDP, netip.AddrPortFrom(src, uint16(1000+w*perWindow+i)), netip.MustParseAddrPort("10.0.0.2:9999"))
			onFlow(&flow.Flow{Key: key, OrigDir: dir, First: now.UnixNano(), Last: now.UnixNano(), Orig: flow.Side{Packets: 1, Bytes: 60}})
		}
		end := now.Add(time.Duration(w+1) * time.Minute)
		if err := win.Close(end); err != nil {
			t.Fatal(err)
		}
		if err := win.Open(end); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if n := <-scraped; n == 0 {
		t.Error("no scrape ran during the rotations")
	}
	if n := judged(); n != windows*perWindow {
		t.Errorf("auditor_flows_judged_total %v after the rotations, want %d", n, windows*perWindow)
	}
	win.Close(now.Add(time.Hour))
}

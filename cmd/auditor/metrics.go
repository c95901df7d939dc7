package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/engine"
)

// metricsSource exposes the counters of a live capture in the Prometheus
// text format. Everything it reads is atomic, so scrapes never stop the
// pipeline.
type metricsSource struct {
	pipes  []*capture.Pipeline
	aud    *engine.Auditor
	stats  func() (packets, lost uint64, causes map[string]uint64)
	sensor string
}

func (m *metricsSource) write(w io.Writer) {
	label := fmt.Sprintf("sensor=%q", m.sensor)
	counter := func(name, help string, v uint64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s{%s} %d\n", name, help, name, name, label, v)
	}
	gauge := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s{%s} %d\n", name, help, name, name, label, v)
	}
	var frames, bytes, packets, evicted uint64
	var active int64
	var skipped [decode.NumReasons]uint64
	for _, p := range m.pipes {
		st := p.Stats()
		frames += st.Frames.Load()
		bytes += st.Bytes.Load()
		packets += st.Packets.Load()
		for _, t := range p.Tables() {
			active += t.Stats().Active.Load()
			evicted += t.Stats().Ended[flow.EndEvicted].Load()
		}
		for r, n := range p.Decoder().Skipped() {
			skipped[r] += n
		}
	}
	counter("auditor_frames_total", "Frames offered to the decoder, plus packets counted in the kernel.", frames)
	counter("auditor_bytes_total", "Wire bytes of those frames.", bytes)
	counter("auditor_packets_total", "Packets accounted to flows.", packets)
	gauge("auditor_active_flows", "Flows in the flow tables.", active)
	counter("auditor_flows_evicted_total", "Flows evicted early because a table was full.", evicted)

	fmt.Fprintf(w, "# HELP auditor_decode_skipped_total Frames not turned into flow packets, by reason.\n# TYPE auditor_decode_skipped_total counter\n")
	for r, n := range skipped {
		if n > 0 {
			fmt.Fprintf(w, "auditor_decode_skipped_total{%s,reason=%q} %d\n", label, decode.Reason(r).String(), n)
		}
	}
	if m.stats != nil {
		_, _, causes := m.stats()
		fmt.Fprintf(w, "# HELP auditor_capture_drops_total Packets the capture engine lost or could not account, by cause.\n# TYPE auditor_capture_drops_total counter\n")
		keys := make([]string, 0, len(causes))
		for k := range causes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "auditor_capture_drops_total{%s,cause=%q} %d\n", label, k, causes[k])
		}
	}
	counter("auditor_dns_parse_errors_total", "DNS messages that did not parse.", m.aud.DNSParseErrors())
	all, unanswered := m.aud.DNSTransactions()
	fmt.Fprintf(w, "# HELP auditor_dns_transactions_total DNS query/response transactions logged to dns.parquet, by result.\n# TYPE auditor_dns_transactions_total counter\n")
	fmt.Fprintf(w, "auditor_dns_transactions_total{%s,result=\"answered\"} %d\nauditor_dns_transactions_total{%s,result=\"unanswered\"} %d\n", label, all-unanswered, label, unanswered)
	sip := m.aud.SIPLimits()
	fmt.Fprintf(w, "# HELP auditor_sip_limit_drops_total What the SIP tracker refused or dropped at its bounds, by reason.\n# TYPE auditor_sip_limit_drops_total counter\n")
	for _, r := range []struct {
		reason string
		n      uint64
	}{{"calls_refused", sip.CallsRefused}, {"streams_dropped", sip.StreamsDropped}, {"messages_oversized", sip.MessagesOversized}} {
		fmt.Fprintf(w, "auditor_sip_limit_drops_total{%s,reason=%q} %d\n", label, r.reason, r.n)
	}
	counts := m.aud.WindowVerdicts()
	fmt.Fprintf(w, "# HELP auditor_flows_judged Flows judged in the current window, by verdict.\n# TYPE auditor_flows_judged gauge\n")
	for v, n := range counts {
		fmt.Fprintf(w, "auditor_flows_judged{%s,verdict=%q} %d\n", label, verdict.Verdict(v).String(), n)
	}
}

// serveMetrics serves /metrics on addr until ctx ends or stop is called.
func serveMetrics(ctx context.Context, addr string, m *metricsSource) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		m.write(w)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return
		}
	}()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-done
	}, nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/engine"
	"github.com/ccaudit/auditor/internal/version"
	"github.com/ccaudit/auditor/report/alerts"
)

// metricsSource exposes the counters of a live capture to Prometheus. It
// is a prometheus.Collector that reads the pipelines' atomic counters at
// scrape time: nothing is added to the packet path, and scrapes never stop
// the pipeline.
type metricsSource struct {
	// counters returns the pipelines' summed counters; nil reads zeros.
	counters func() engine.PipelineCounters
	aud      *engine.Auditor
	stats    func() (packets, lost uint64, causes map[string]uint64)
	quotes   *capture.Quotes // nil with one pipeline
	sensor   string
}

var (
	sensorLabel = []string{"sensor"}
	descs       = struct {
		frames, bytes, packets, active, evicted, skipped, drops, dnsErrors,
		judged, findings, alertsPublished, alertsEmitted, alertsSuppressed,
		alertsSent, alertsFailed, dnsTransactions, dnsNotWritten, sipLimitDrops, evidenceFiles, evidenceSkipped, icmpQuotes *prometheus.Desc
	}{
		frames:           prometheus.NewDesc("auditor_frames_total", "Frames offered to the decoder, plus packets counted in the kernel.", sensorLabel, nil),
		bytes:            prometheus.NewDesc("auditor_bytes_total", "Wire bytes of those frames.", sensorLabel, nil),
		packets:          prometheus.NewDesc("auditor_packets_total", "Packets accounted to flows.", sensorLabel, nil),
		active:           prometheus.NewDesc("auditor_active_flows", "Flows in the flow tables.", sensorLabel, nil),
		evicted:          prometheus.NewDesc("auditor_flows_evicted_total", "Flows evicted early because a table was full.", sensorLabel, nil),
		skipped:          prometheus.NewDesc("auditor_decode_skipped_total", "Frames not turned into flow packets, by reason.", []string{"sensor", "reason"}, nil),
		drops:            prometheus.NewDesc("auditor_capture_drops_total", "Packets the capture engine lost or could not account, by cause.", []string{"sensor", "cause"}, nil),
		dnsErrors:        prometheus.NewDesc("auditor_dns_parse_errors_total", "DNS messages that did not parse.", sensorLabel, nil),
		judged:           prometheus.NewDesc("auditor_flows_judged_total", "Flows judged since the start, by verdict.", []string{"sensor", "verdict"}, nil),
		findings:         prometheus.NewDesc("auditor_findings_total", "Finding occurrences since the start, by kind: flows and calls that raised one, and the findings a window's end raises (missing flows, DNS failures).", []string{"sensor", "kind"}, nil),
		alertsPublished:  prometheus.NewDesc("auditor_alerts_published_total", "Finding occurrences handed to the alert feed.", sensorLabel, nil),
		alertsEmitted:    prometheus.NewDesc("auditor_alerts_emitted_total", "Alert events emitted to the destinations, after deduplication and rate limiting.", sensorLabel, nil),
		alertsSuppressed: prometheus.NewDesc("auditor_alerts_suppressed_total", "Occurrences the feed did not emit on purpose or could not queue, by cause (deduplicated, rate-limited, queue-full, closed).", []string{"sensor", "cause"}, nil),
		alertsSent:       prometheus.NewDesc("auditor_alerts_sent_total", "Alert events a destination accepted.", []string{"sensor", "destination"}, nil),
		alertsFailed:     prometheus.NewDesc("auditor_alerts_failed_total", "Alert events a destination did not get, by cause (connect, timeout, rejected, server-error, write, abandoned, queue-full).", []string{"sensor", "destination", "cause"}, nil),
		dnsTransactions:  prometheus.NewDesc("auditor_dns_transactions_total", "DNS query/response transactions logged to dns.parquet, by result.", []string{"sensor", "result"}, nil),
		dnsNotWritten:    prometheus.NewDesc("auditor_dns_transactions_not_written_total", "DNS transactions in no dns.parquet file: they came while a window had no file, or their window's file failed to write.", sensorLabel, nil),
		sipLimitDrops:    prometheus.NewDesc("auditor_sip_limit_drops_total", "What the SIP tracker refused or dropped at its bounds, by reason.", []string{"sensor", "reason"}, nil),
		icmpQuotes:       prometheus.NewDesc("auditor_icmp_quotes_unattributed_total", "ICMP errors not attributed to the flow they quote, by cause: unmatched (no flow table had it: it ended, or began before the capture; the error is still a flow of its own), dropped (an AF_PACKET fanout's inbox between pipelines was full).", []string{"sensor", "cause"}, nil),
		evidenceFiles:    prometheus.NewDesc("auditor_evidence_files_total", "Evidence pcapng files written (--evidence).", sensorLabel, nil),
		evidenceSkipped:  prometheus.NewDesc("auditor_evidence_skipped_total", "Evidence not kept, by cause: flows and packets over --evidence-memory, flows over --evidence-flows, files removed to stay under --evidence-max-bytes, write errors.", []string{"sensor", "cause"}, nil),
	}
)

// Describe sends no descriptors: the collector is unchecked, since the
// label values of destinations and causes are known only at scrape time.
func (m *metricsSource) Describe(chan<- *prometheus.Desc) {}

// Collect reads every counter once.
func (m *metricsSource) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{m.sensor}, labels...)...)
	}
	var c engine.PipelineCounters
	if m.counters != nil {
		c = m.counters()
	}
	counter(descs.frames, c.Frames)
	counter(descs.bytes, c.Bytes)
	counter(descs.packets, c.Packets)
	ch <- prometheus.MustNewConstMetric(descs.active, prometheus.GaugeValue, float64(c.ActiveFlows), m.sensor)
	counter(descs.evicted, c.FlowsEvicted)
	for r, n := range c.Skipped {
		if n > 0 {
			counter(descs.skipped, n, decode.Reason(r).String())
		}
	}
	if m.stats != nil {
		_, _, causes := m.stats()
		for k, n := range causes {
			counter(descs.drops, n, k)
		}
	}
	counter(descs.dnsErrors, m.aud.DNSParseErrors())
	all, unanswered := m.aud.DNSTransactions()
	counter(descs.dnsTransactions, all-unanswered, "answered")
	counter(descs.dnsTransactions, unanswered, "unanswered")
	counter(descs.dnsNotWritten, m.aud.DNSNotWritten())
	sip := m.aud.SIPLimits()
	counter(descs.sipLimitDrops, sip.CallsRefused, "calls_refused")
	counter(descs.sipLimitDrops, sip.StreamsDropped, "streams_dropped")
	counter(descs.sipLimitDrops, sip.MessagesOversized, "messages_oversized")
	unmatched, dropped := c.ICMPUnquoted, uint64(0)
	if q := m.quotes; q != nil {
		unmatched += q.Unmatched.Load()
		dropped = q.Dropped.Load()
	}
	counter(descs.icmpQuotes, unmatched, "unmatched")
	counter(descs.icmpQuotes, dropped, "dropped")
	if e := m.aud.EvidenceCounts(); e != nil {
		counter(descs.evidenceFiles, e.Files)
		counter(descs.evidenceSkipped, e.FlowsSkipped, "flows_over_memory")
		counter(descs.evidenceSkipped, e.PacketsSkipped, "packets_over_memory")
		counter(descs.evidenceSkipped, e.FlowsOverCap, "flows_over_cap")
		counter(descs.evidenceSkipped, e.FilesRemoved, "files_removed")
		counter(descs.evidenceSkipped, e.WriteErrors, "write_errors")
	}
	for v, n := range m.aud.FlowsJudged() {
		counter(descs.judged, n, verdict.Verdict(v).String())
	}
	for k, n := range m.aud.FindingsRaised() {
		counter(descs.findings, n, string(k))
	}
	if st := m.aud.FeedStats(); st != nil {
		collectAlerts(st, counter)
	}
}

func collectAlerts(st *alerts.Stats, counter func(*prometheus.Desc, uint64, ...string)) {
	counter(descs.alertsPublished, st.Published)
	counter(descs.alertsEmitted, st.Emitted)
	counter(descs.alertsSuppressed, st.Deduplicated, "deduplicated")
	counter(descs.alertsSuppressed, st.RateLimited, "rate-limited")
	counter(descs.alertsSuppressed, st.DroppedQueueFull, "queue-full")
	counter(descs.alertsSuppressed, st.DroppedClosed, "closed")
	for _, sk := range st.Sinks {
		counter(descs.alertsSent, sk.Sent, sk.Name)
		// Every cause is exported, zeros included, so that rate() and
		// alerting rules see the series before the first failure.
		for _, c := range alerts.Causes() {
			counter(descs.alertsFailed, sk.FailedBy[c.String()], sk.Name, c.String())
		}
	}
}

// newRegistry is the registry /metrics serves: the capture's counters,
// auditor_build_info, and the Go runtime and process collectors.
func newRegistry(m *metricsSource) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	in := version.Get()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "auditor_build_info",
		Help: "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": in.Version, "revision": in.Revision, "goversion": in.GoVersion,
			"sensor": m.sensor},
	})
	build.Set(1)
	reg.MustRegister(m, build, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// serveMetrics serves /metrics on addr until ctx ends or stop is called. A
// listener on anything but loopback is logged as a warning: the counters
// name destinations and the sensor, and an open port on a capture host is
// worth a second look.
func serveMetrics(ctx context.Context, log *slog.Logger, addr string, m *metricsSource) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if !loopbackOnly(ln.Addr()) {
		log.Warn("metrics are served beyond loopback: anyone who reaches this port reads them; use --metrics 127.0.0.1:PORT unless a scraper elsewhere needs it",
			"addr", ln.Addr().String())
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(newRegistry(m), promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return
		}
	}()
	stopped := context.AfterFunc(ctx, func() { srv.Close() })
	return func() {
		stopped()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-done
	}, nil
}

// loopbackOnly says whether a listener's address is reachable only from
// this host. An unspecified address (":9109", "0.0.0.0") is every
// interface.
func loopbackOnly(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/dnsinfo"
	"github.com/ccaudit/auditor/classify/names"
	"github.com/ccaudit/auditor/classify/sipcall"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/alerts"
	"github.com/ccaudit/auditor/report/parquetout"
)

// listFlag is a repeatable flag that also splits on commas.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// repeatFlag is a repeatable flag kept whole (URLs may contain commas).
type repeatFlag []string

func (r *repeatFlag) String() string { return strings.Join(*r, " ") }

func (r *repeatFlag) Set(v string) error {
	*r = append(*r, v)
	return nil
}

// auditFlags are the flags that choose what flows are judged against and
// where findings are sent, shared by replay and capture.
type auditFlags struct {
	site      string
	vendors   listFlag
	catalogs  listFlag
	alerts    repeatFlag
	alertsTok string
	sensor    string // set by the command
}

func (a *auditFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.site, "site", "", "site inventory (YAML): which hosts play which roles; without it flows are judged by port only")
	fs.Var(&a.vendors, "vendor", "judge against these vendors only (repeatable or comma-separated; default: the site's vendors, or all)")
	fs.Var(&a.catalogs, "catalog", "extra catalog file in the catalog schema (repeatable)")
	fs.Var(&a.alerts, "alerts", "send each finding as an ECS JSON event to DEST (repeatable): - (stdout), a file path (NDJSON, rotated), syslog+tcp://host:port, syslog+udp://host:port, http(s)://... (batched NDJSON POST)")
	fs.StringVar(&a.alertsTok, "alerts-token-env", "", "environment variable holding a bearer token for http(s) alert destinations")
}

// openAlerts starts the alert feed, or returns nil when no --alerts was
// given.
func (a *auditFlags) openAlerts(stdout io.Writer) (*alerts.Feed, error) {
	if len(a.alerts) == 0 {
		return nil, nil
	}
	var sinks []alerts.Sink
	for _, dest := range a.alerts {
		sink, err := alerts.Open(dest, alerts.Options{Stdout: stdout, TokenEnv: a.alertsTok, Hostname: a.sensor})
		if err != nil {
			for _, s := range sinks {
				s.Close()
			}
			var de *alerts.DestError
			if errors.As(err, &de) {
				return nil, &usageError{err.Error()}
			}
			return nil, err
		}
		sinks = append(sinks, sink)
	}
	return alerts.New(sinks, alerts.FeedOptions{}), nil
}

// auditor classifies finished flows and aggregates findings. Workers share
// it: each gets its own classifier clone, the findings are under a lock
// (flows end far less often than packets arrive).
type auditor struct {
	flags *auditFlags

	// mu guards the classifier, its clones and the findings: SIGHUP
	// replaces them between capture windows.
	mu       sync.Mutex
	base     *verdict.Classifier
	inv      *catalog.Inventory
	clones   []*atomic.Pointer[verdict.Classifier]
	findings *verdict.Findings

	// Parser state shared by all workers (both are safe for concurrent
	// use): names resolved by DNS and the SIP calls with their media
	// expectations, so signalling and media may be handled by different
	// workers.
	dns     *dnsinfo.Cache
	tracker *sipcall.Tracker

	// Per-worker dissectors, kept for their counters.
	dmu     sync.Mutex
	tlsDiss []*names.TLS
	dnsDiss []*names.DNS

	// feed, when --alerts is given, gets every finding as it happens.
	feed *alerts.Feed

	calls    *parquetout.TableWriter[parquetout.CallRow]
	callRow  parquetout.CallRow
	callsErr error
	nCalls   uint64
}

func (a *auditFlags) load() (*auditor, error) {
	cat, err := a.loadCatalog()
	if err != nil {
		return nil, err
	}
	aud := &auditor{flags: a, dns: dnsinfo.NewCache(dnsinfo.Config{})}
	sipCfg := sipcall.DefaultConfig()
	sipCfg.SIPPorts = sipcall.PortsFromCatalog(cat)
	sipCfg.OnCall = aud.call
	aud.tracker = sipcall.NewTracker(sipCfg)
	cl, inv, err := a.classifier(cat, aud.tracker)
	if err != nil {
		return nil, err
	}
	aud.base, aud.inv, aud.findings = cl, inv, verdict.NewFindings(cl, verdict.FindingsConfig{})
	return aud, nil
}

func (a *auditFlags) loadCatalog() (*catalog.Catalog, error) {
	cat, err := catalog.Default()
	if err != nil {
		return nil, fmt.Errorf("built-in catalog: %w", err)
	}
	for _, path := range a.catalogs {
		extra, err := catalog.LoadFile(path)
		if err != nil {
			return nil, err
		}
		if err := cat.Merge(extra); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return cat, nil
}

// classifier builds the verdict engine from the catalog and the site
// inventory named by the flags.
func (a *auditFlags) classifier(cat *catalog.Catalog, media verdict.MediaMatcher) (*verdict.Classifier, *catalog.Inventory, error) {
	// Every flow goes through the TLS dissector, so a flow on a TLS port
	// that it did not see start a handshake is plaintext.
	cfg := verdict.Config{Catalog: cat, Vendors: a.vendors, Media: media, TLSInspected: true}
	var inv *catalog.Inventory
	if a.site != "" {
		var err error
		if inv, err = catalog.LoadInventory(a.site); err != nil {
			return nil, nil, err
		}
		if err := inv.Check(cat); err != nil {
			return nil, nil, err
		}
		cfg.Inventory, cfg.Expect = inv, inv.Expect
	}
	for _, v := range a.vendors {
		if _, ok := cat.Vendor(v); !ok {
			return nil, nil, usagef("--vendor %s: no such vendor (auditor catalog list shows them)", v)
		}
	}
	cl, err := verdict.NewClassifier(cfg)
	return cl, inv, err
}

// reload rereads the catalogs and the inventory (SIGHUP). On error the
// running configuration stays. The caller ends the current window first:
// findings of one window are judged by one configuration.
func (a *auditor) reload() error {
	cat, err := a.flags.loadCatalog()
	if err != nil {
		return err
	}
	cl, inv, err := a.flags.classifier(cat, a.tracker)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.base, a.inv = cl, inv
	a.findings = verdict.NewFindings(cl, verdict.FindingsConfig{})
	for _, slot := range a.clones {
		slot.Store(cl.Clone())
	}
	return nil
}

// openCalls starts calls.parquet; calls end (and are written) while the
// pipeline runs.
func (a *auditor) openCalls(path string) error {
	w, err := parquetout.CreateCalls(path, parquetout.Options{})
	a.calls = w
	return err
}

// call writes one finished SIP call. The tracker never calls it
// concurrently with itself.
func (a *auditor) call(c *sipcall.Call) {
	a.nCalls++
	if gs := verdict.CallFindings(c); len(gs) > 0 {
		a.mu.Lock()
		for _, g := range gs {
			a.findings.Raise(g)
		}
		a.mu.Unlock()
		if a.feed != nil {
			for i := range gs {
				a.feed.Publish(alerts.FindingEvent(&gs[i], a.flags.sensor))
			}
		}
	}
	if a.calls == nil || a.callsErr != nil {
		return
	}
	parquetout.FromCall(c, &a.callRow)
	a.callsErr = a.calls.Write(&a.callRow)
}

// dissectors builds one worker's protocol parsers: SIP first (its media
// labels matter to the others), the server namer last (it reads what the
// DNS dissector of any worker put in the shared cache).
func (a *auditor) dissectors() []capture.Dissector {
	tls := names.NewTLS(names.TLSConfig{})
	dns := names.NewDNS(a.dns, names.DNSConfig{})
	a.dmu.Lock()
	a.tlsDiss = append(a.tlsDiss, tls)
	a.dnsDiss = append(a.dnsDiss, dns)
	a.dmu.Unlock()
	return []capture.Dissector{a.tracker.NewDissector(), tls, dns, names.NewServerNamer(a.dns)}
}

// judgement is what the classifier said of a flow, as the flows.parquet
// columns it fills. Strings only, so it can travel to the writer goroutine
// with a copy of the flow while the classifier's Result is reused.
type judgement struct {
	verdict, classifiedBy, vendor, entryID, reason, fromRole, toRole, app, callID string
}

// apply fills the classification columns of a row made by FromFlow.
func (j *judgement) apply(row *parquetout.FlowRow) {
	row.Verdict, row.ClassifiedBy = j.verdict, j.classifiedBy
	row.Vendor, row.EntryID, row.Reason = j.vendor, j.entryID, j.reason
	row.FromRole, row.ToRole = j.fromRole, j.toRole
	if j.app != "" {
		row.App = j.app
	}
	if j.callID != "" {
		row.CallID = j.callID
	}
}

// judge returns a per-worker function that classifies a flow and records
// its finding. It runs where the flow ended, on the worker, because media
// matching reads the SIP tracker's state as of that moment.
func (a *auditor) judge() func(f *flow.Flow, j *judgement) {
	slot := new(atomic.Pointer[verdict.Classifier])
	a.mu.Lock()
	slot.Store(a.base.Clone())
	a.clones = append(a.clones, slot)
	a.mu.Unlock()
	var r verdict.Result
	return func(f *flow.Flow, j *judgement) {
		slot.Load().Classify(f, &r)
		*j = judgement{verdict: r.Verdict.String(), classifiedBy: r.ClassifiedBy.String(), vendor: r.Vendor,
			entryID: r.EntryID, reason: r.Reason, fromRole: r.FromRole, toRole: r.ToRole, app: r.App, callID: r.CallID}
		a.mu.Lock()
		a.findings.Observe(f, &r)
		a.mu.Unlock()
		if a.feed != nil && r.Kind != "" {
			a.feed.Publish(alerts.FlowEvent(f, &r, a.flags.sensor))
		}
	}
}

// findingLine is one finding as the summary shows it.
type findingLine struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Proto    string `json:"proto,omitempty"`
	Src      string `json:"src,omitempty"`
	Dst      string `json:"dst,omitempty"`
	DstPort  uint16 `json:"dst_port,omitempty"`
	EntryID  string `json:"entry_id,omitempty"`
	FromRole string `json:"from_role,omitempty"`
	ToRole   string `json:"to_role,omitempty"`
	Count    uint64 `json:"count"`
	Ports    string `json:"ports,omitempty"`
	Hosts    string `json:"host_pairs,omitempty"`
	Reason   string `json:"reason"`
}

func lineOf(g *verdict.Finding) findingLine {
	l := findingLine{Kind: string(g.Kind), Severity: g.Severity.String(), DstPort: g.DstPort,
		EntryID: g.EntryID, FromRole: g.FromRole, ToRole: g.ToRole, Count: g.Count, Ports: g.Ports,
		Hosts: strings.Join(g.HostPairs, "; "), Reason: g.Reason}
	if g.Proto != 0 {
		l.Proto = flow.ProtoName(g.Proto)
	}
	if g.Src.IsValid() {
		l.Src = g.Src.String()
	}
	if g.Dst.IsValid() {
		l.Dst = g.Dst.String()
	}
	return l
}

// closeCalls finishes the current calls file.
func (a *auditor) closeCalls() error {
	if a.callsErr != nil {
		a.calls.Abort()
		return fmt.Errorf("write %s: %w", a.calls.Path(), a.callsErr)
	}
	return a.calls.Close()
}

// endWindow closes the capture window at now (0: the last packet): the
// missing-flow check runs, the window's findings are written to path and
// returned, and a new window starts. adjust, if set, may edit the findings
// first (live capture downgrades missing findings of a lossy window).
func (a *auditor) endWindow(path string, now int64, adjust func([]verdict.Finding)) (*verdict.Findings, []verdict.Finding, error) {
	a.mu.Lock()
	fs := a.findings
	a.findings = verdict.NewFindings(a.base, verdict.FindingsConfig{})
	a.mu.Unlock()
	fs.DNSFailures(a.dns.Failures(), now)
	fs.Finish(now)
	all := fs.All()
	if adjust != nil {
		adjust(all)
	}
	if a.feed != nil {
		for i := range all {
			// Flow findings went out as they happened; the window adds
			// those that no single flow raised.
			if !all[i].Dst.IsValid() {
				a.feed.Publish(alerts.FindingEvent(&all[i], a.flags.sensor))
			}
		}
	}
	w, err := parquetout.CreateFindings(path, parquetout.Options{})
	if err != nil {
		return fs, all, err
	}
	defer w.Abort()
	var row parquetout.FindingRow
	for i := range all {
		parquetout.FromFinding(&all[i], &row)
		if err := w.Write(&row); err != nil {
			return fs, all, fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Close(); err != nil {
		return fs, all, fmt.Errorf("write %s: %w", path, err)
	}
	return fs, all, nil
}

// finish ends a replay: calls still up are emitted (after their media
// flows left the table, so the records have their counts), findings are
// written, and the summary gets the verdict counts and top findings.
func (a *auditor) finish(sum *replaySummary, path string, top int) error {
	a.tracker.Flush()
	if err := a.closeCalls(); err != nil {
		return err
	}
	sum.Outputs["calls"] = a.calls.Path()
	a.summarizeParsers(sum)
	fs, all, err := a.endWindow(path, 0, nil)
	if err != nil {
		return err
	}
	sum.Findings = map[string]uint64{}
	for i := range all {
		sum.Findings[string(all[i].Kind)]++
	}
	sum.Site = "(none: port-only matching)"
	if a.inv != nil {
		sum.Site = a.inv.Site
	}
	sum.Verdicts = map[string]uint64{}
	for v, n := range fs.Counts() {
		if n > 0 {
			sum.Verdicts[verdict.Verdict(v).String()] = n
		}
	}
	sum.FindingsDropped = fs.Dropped()
	for _, k := range []verdict.Kind{verdict.KindUnexpected, verdict.KindWrongDirection, verdict.KindUnexpectedMedia,
		verdict.KindBlocked, verdict.KindMissing, verdict.KindMediaMissing, verdict.KindMediaOneWay, verdict.KindMediaOutsideRange,
		verdict.KindTLSTooOld, verdict.KindPlaintextOnTLSPort, verdict.KindNotTLSOnHTTPSPort, verdict.KindSNINotInCatalog, verdict.KindDNSFailure} {
		for _, g := range fs.Top(k, top) {
			sum.TopFindings = append(sum.TopFindings, lineOf(&g))
		}
	}
	return nil
}

// parserSummary is what the protocol parsers saw, for the summary.
type parserSummary struct {
	SIPCalls      uint64 `json:"sip_calls"`
	TLSHandshakes uint64 `json:"tls_client_hellos"`
	QUICHellos    uint64 `json:"quic_client_hellos"`
	DNSQueries    uint64 `json:"dns_queries"`
	DNSResponses  uint64 `json:"dns_responses"`
}

func (a *auditor) summarizeParsers(sum *replaySummary) {
	p := &parserSummary{SIPCalls: a.nCalls}
	for _, t := range a.tlsDiss {
		st := t.Stats()
		p.TLSHandshakes += st.ClientHellos.Load()
		p.QUICHellos += st.QUICHellos.Load()
	}
	for _, d := range a.dnsDiss {
		st := d.Stats()
		p.DNSQueries += st.Queries.Load()
		p.DNSResponses += st.Responses.Load()
	}
	sum.Parsers = p
}

// closeAlerts flushes the alert feed, waiting a bounded time for slow
// receivers; what it abandons is counted in the feed's stats.
func (a *auditor) closeAlerts() *alerts.Stats {
	if a.feed == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.feed.Close(ctx)
	st := a.feed.Stats()
	a.feed = nil
	return &st
}

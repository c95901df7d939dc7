package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
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
	"github.com/ccaudit/auditor/report/evidence"
	"github.com/ccaudit/auditor/report/parquetout"
)

// Config chooses what flows are judged against and how the output is
// labelled.
type Config struct {
	// Site is the site inventory (YAML) saying which hosts play which
	// roles; without it flows are judged by port only.
	Site string
	// Vendors restricts judgement to these catalog vendors (default: the
	// site's vendors, or all).
	Vendors []string
	// Catalogs are extra catalog files merged into the built-in one.
	Catalogs []string
	// Sensor names the capturing host in alert events and findings rows.
	Sensor string
	// PoorMOS is the MOS below which a call raises poor-voice-quality
	// (0: sipcall.DefaultPoorMOS; negative: never).
	PoorMOS float64
	// Evidence, when its Dir is set, keeps the packets of the flows that
	// raise findings and writes them to pcapng files (package evidence).
	Evidence evidence.Config
	// Metadata is extra key/value metadata of the calls and findings
	// files (the run id that ties a run's tables together).
	Metadata map[string]string
}

// UnknownVendorError reports a vendor in Config.Vendors that no catalog
// defines. It is a separate type because it is the caller's mistake, not
// the data's: the command reports it as a usage error.
type UnknownVendorError struct {
	Vendor string
}

func (e *UnknownVendorError) Error() string {
	return fmt.Sprintf("vendor %s: not in the catalog", e.Vendor)
}

// Auditor classifies finished flows and aggregates findings. Workers share
// it: each gets its own classifier clone, the findings are under a lock
// (flows end far less often than packets arrive).
type Auditor struct {
	cfg Config

	// mu guards the classifier, its clones and the findings: Reload
	// replaces them between capture windows.
	mu       sync.Mutex
	base     *verdict.Classifier
	inv      *catalog.Inventory
	clones   []*atomic.Pointer[verdict.Classifier]
	findings *verdict.Findings

	// Parser state shared by all workers: names resolved by DNS and the
	// SIP calls with their media expectations, so signalling and media
	// may be handled by different workers. Dissectors stage their changes
	// and each pipeline's epoch commits apply them (see Configure).
	dns     *dnsinfo.Cache
	tracker *sipcall.Tracker

	// Per-worker dissectors, kept for their counters.
	dmu     sync.Mutex
	tlsDiss []*names.TLS
	dnsDiss []*names.DNS

	cat *catalog.Catalog // for Provenance
	// lastMissing holds the missing findings of the last complete
	// window, so that one still missing is not alerted again.
	lastMissing map[string]bool
	// dnsAlerted is, per failing name, the failure count last raised: the
	// DNS cache's failures are cumulative, so every window lists a name
	// that ever failed, and only new failures of it are raised again.
	dnsAlerted map[string]uint64
	// raised counts finding occurrences by kind since start, for
	// metrics; guarded by mu.
	raised map[verdict.Kind]uint64
	// judged counts the flows of the windows already ended, by verdict;
	// guarded by mu, and folded in with the same lock that swaps the
	// window's findings, so that FlowsJudged never counts a window twice
	// or not at all.
	judged [verdict.NumVerdicts]uint64

	// feed, when set, gets every finding as it happens.
	feed *alerts.Feed

	// evidence keeps the packets of flows that raise findings; nil
	// without Config.Evidence.Dir.
	evidence *evidence.Store

	calls     *parquetout.TableWriter[parquetout.CallRow]
	callsOpen bool // OpenCalls succeeded and the file is not closed yet
	callRow   parquetout.CallRow
	callsErr  error
	nCalls    uint64
	// callsNotWritten counts calls that ended while no calls file could
	// take them (CallsNotWritten).
	callsNotWritten atomic.Uint64

	// dnsLog writes dns.parquet when a file is open (OpenDNS).
	dnsLog dnsLog
}

// New loads the catalogs and the site inventory and builds the classifier,
// the SIP call tracker and the DNS name cache the workers share. An unknown
// vendor is reported as an *UnknownVendorError.
func New(cfg Config) (*Auditor, error) {
	cat, err := catalog.DefaultWith(cfg.Catalogs)
	if err != nil {
		return nil, err
	}
	a := &Auditor{cfg: cfg, dns: dnsinfo.NewCache(dnsinfo.Config{})}
	sipCfg := sipcall.DefaultConfig()
	sipCfg.SIPPorts = sipcall.PortsFromCatalog(cat)
	sipCfg.OnCall = a.call
	sipCfg.PoorMOS = cfg.PoorMOS
	a.tracker = sipcall.NewTracker(sipCfg)
	cl, inv, err := classifier(cfg, cat, a.tracker)
	if err != nil {
		return nil, err
	}
	a.base, a.inv, a.findings = cl, inv, verdict.NewFindings(cl, verdict.FindingsConfig{})
	if cfg.Evidence.Dir != "" {
		if a.evidence, err = evidence.NewStore(cfg.Evidence); err != nil {
			return nil, err
		}
	}
	a.cat = cat
	return a, nil
}

// classifier builds the verdict engine from the catalog and the site
// inventory named by the configuration.
func classifier(cfg Config, cat *catalog.Catalog, media verdict.MediaMatcher) (*verdict.Classifier, *catalog.Inventory, error) {
	// Every flow goes through the TLS dissector, so a flow on a TLS port
	// that it did not see start a handshake is plaintext.
	vcfg := verdict.Config{Catalog: cat, Vendors: cfg.Vendors, Media: media, TLSInspected: true}
	var inv *catalog.Inventory
	if cfg.Site != "" {
		var err error
		if inv, err = catalog.LoadInventory(cfg.Site); err != nil {
			return nil, nil, err
		}
		if err := inv.Check(cat); err != nil {
			return nil, nil, err
		}
		vcfg.Inventory, vcfg.Expect = inv, inv.Expect
	}
	for _, v := range cfg.Vendors {
		if _, ok := cat.Vendor(v); !ok {
			return nil, nil, &UnknownVendorError{Vendor: v}
		}
	}
	cl, err := verdict.NewClassifier(vcfg)
	return cl, inv, err
}

// SetFeed makes every finding go to feed as it happens. Call it before the
// pipeline runs. It is separate from New so that a bad catalog or
// inventory is reported before any alert destination is opened; the
// Auditor owns the feed from here on and CloseFeed closes it.
func (a *Auditor) SetFeed(feed *alerts.Feed) { a.feed = feed }

// CloseFeed flushes the alert feed, waiting a bounded time for slow
// receivers; what it abandons is counted in the feed's stats. It returns
// nil when there is no feed, or it was closed already.
func (a *Auditor) CloseFeed() *alerts.Stats {
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

// Reload rereads the catalogs and the inventory (SIGHUP), and the SIP
// ports the catalogs name. On error the running configuration stays. The caller ends the current window first:
// findings of one window are judged by one configuration.
func (a *Auditor) Reload() error {
	cat, err := catalog.DefaultWith(a.cfg.Catalogs)
	if err != nil {
		return err
	}
	cl, inv, err := classifier(a.cfg, cat, a.tracker)
	if err != nil {
		return err
	}
	// The SIP ports come from the catalog too. Replacing them mid-call
	// is safe: flows already followed as SIP stay followed.
	a.tracker.SetSIPPorts(sipcall.PortsFromCatalog(cat))
	a.mu.Lock()
	defer a.mu.Unlock()
	a.base, a.inv = cl, inv
	a.findings = verdict.NewFindings(cl, verdict.FindingsConfig{})
	for _, slot := range a.clones {
		slot.Store(cl.Clone())
	}
	return nil
}

// SIPPorts are the ports whose flows the SIP tracker follows as SIP from
// their first packet: the built-in ones and the catalog's.
func (a *Auditor) SIPPorts() []uint16 { return a.tracker.SIPPorts() }

// Configure sets up one pipeline: cfg.Stages gives each worker its
// dissectors and a flow handler judging ended flows into sink, and
// cfg.Shared the SIP tracker and DNS cache the workers share. Each pipeline
// gets its own commit groups: a pipeline's epoch commit applies what its
// own workers staged, while the others (live capture runs one pipeline per
// socket) keep running.
func (a *Auditor) Configure(cfg *capture.Config, sink *FlowSink) {
	calls, answers := a.tracker.NewGroup(), a.dns.NewGroup()
	cfg.Shared = []capture.Shared{calls, answers}
	cfg.KeepFrames = a.evidence != nil
	cfg.Stages = func(int) capture.Stages {
		rows := sink.batcher()
		judge := a.judge()
		diss := a.dissectors(calls, answers)
		var rec *evidence.Recorder
		if a.evidence != nil {
			rec = a.evidence.NewRecorder()
			diss = append(diss, rec)
		}
		return capture.Stages{Dissectors: diss, OnFlow: func(f *flow.Flow) {
			e := rows.next()
			e.flow = *f
			judge(f, &e.judged)
			if rec != nil {
				rec.Judged(f, e.judged.kind, e.judged.findingEntry, e.judged.also)
			}
			rows.done()
		}}
	}
}

// AdvanceCalls moves the SIP tracker's clock to now (unix ns), ending the
// calls whose time is up: a live capture that goes quiet calls it from its
// ticker.
func (a *Auditor) AdvanceCalls(now int64) { a.tracker.Advance(now) }

// FlushCalls ends every call still tracked, as at the end of input. Flush
// the pipelines first, so that media flows have ended and their counts are
// in the call records.
func (a *Auditor) FlushCalls() { a.tracker.Flush() }

// OpenCalls starts the calls file at path; calls end (and are written)
// while the pipeline runs.
func (a *Auditor) OpenCalls(path string) error {
	w, err := parquetout.CreateCalls(path, parquetout.Options{Metadata: a.cfg.Metadata})
	a.calls = w
	// A write error belongs to the file it happened in: each window's
	// calls file starts clean.
	a.callsErr, a.callsOpen = nil, err == nil
	return err
}

// CloseCalls finishes the current calls file.
func (a *Auditor) CloseCalls() error {
	a.callsOpen = false
	if a.callsErr != nil {
		a.calls.Abort()
		return fmt.Errorf("write %s: %w", a.calls.Path(), a.callsErr)
	}
	return a.calls.Close()
}

// CallsNotWritten counts the calls that ended while no calls file was
// open or after the open one failed to write; they are still counted and
// judged.
func (a *Auditor) CallsNotWritten() uint64 { return a.callsNotWritten.Load() }

// AbortCalls removes the unfinished calls file (startup failures).
func (a *Auditor) AbortCalls() {
	a.callsOpen = false
	a.calls.Abort()
}

// call writes one finished SIP call. The tracker never calls it
// concurrently with itself.
func (a *Auditor) call(c *sipcall.Call) {
	a.nCalls++
	if gs := verdict.CallFindings(c); len(gs) > 0 {
		a.mu.Lock()
		for _, g := range gs {
			a.findings.Raise(g)
			a.countRaised(g.Kind)
		}
		a.mu.Unlock()
		if a.feed != nil {
			for i := range gs {
				a.feed.Publish(alerts.EventOf(&gs[i], nil, verdict.Unclassified, a.cfg.Sensor))
			}
		}
	}
	if !a.callsOpen || a.callsErr != nil {
		// No calls file is open (a window whose files could not be
		// created) or this one failed: the call is counted, not written.
		a.callsNotWritten.Add(1)
		return
	}
	parquetout.FromCall(c, &a.callRow)
	a.callsErr = a.calls.Write(&a.callRow)
}

// dissectors builds one worker's protocol parsers: SIP first (its media
// labels matter to the others), the server namer last (it reads what the
// DNS dissector of any worker put in the shared cache).
func (a *Auditor) dissectors(calls *sipcall.Group, answers *dnsinfo.Group) []capture.Dissector {
	tls := names.NewTLS(names.TLSConfig{})
	txs := a.dnsLog.buffer()
	dns := names.NewDNS(a.dns, names.DNSConfig{Group: answers, OnTransaction: txs.add, NewTransaction: txs.get})
	a.dmu.Lock()
	a.tlsDiss = append(a.tlsDiss, tls)
	a.dnsDiss = append(a.dnsDiss, dns)
	a.dmu.Unlock()
	return []capture.Dissector{calls.NewDissector(), tls, dns, names.NewServerNamer(a.dns)}
}

// judge returns a per-worker function that classifies a flow and records
// its finding. It runs where the flow ended, on the worker, because media
// matching reads the SIP tracker's state as of that moment.
func (a *Auditor) judge() func(f *flow.Flow, j *judgement) {
	slot := new(atomic.Pointer[verdict.Classifier])
	a.mu.Lock()
	slot.Store(a.base.Clone())
	a.clones = append(a.clones, slot)
	a.mu.Unlock()
	var r verdict.Result
	return func(f *flow.Flow, j *judgement) {
		cl := slot.Load()
		cl.Classify(f, &r)
		*j = judgement{verdict: r.Verdict.String(), classifiedBy: r.ClassifiedBy.String(), vendor: r.Vendor,
			entryID: r.EntryID, reason: r.Reason, fromRole: r.FromRole, toRole: r.ToRole, app: r.App, callID: r.CallID,
			kind: r.Kind, findingEntry: r.FindingEntryID()}
		// A flow may raise a second finding beside its verdict's: the
		// findings table records it (Findings.Observe), and it is counted
		// and alerted like the first.
		tooOld := cl.RaisesTooOld(f, &r)
		switch {
		case tooOld && r.Kind == "":
			j.kind, j.findingEntry = verdict.KindTLSTooOld, ""
		case tooOld:
			j.also = verdict.KindTLSTooOld
		}
		a.mu.Lock()
		a.findings.Observe(f, &r)
		if r.Kind != "" {
			a.countRaised(r.Kind)
		}
		if tooOld {
			a.countRaised(verdict.KindTLSTooOld)
		}
		a.mu.Unlock()
		if a.feed != nil && r.Kind != "" {
			g := verdict.FlowFinding(f, &r)
			a.feed.Publish(alerts.EventOf(&g, f, r.Verdict, a.cfg.Sensor))
		}
		if a.feed != nil && tooOld {
			old, _ := cl.TooOld(f, &r)
			a.feed.Publish(alerts.EventOf(&old, f, r.Verdict, a.cfg.Sensor))
		}
	}
}

// endWindow closes the capture window at now (0: the last packet): the
// missing-flow check runs, the window's findings are written to path and
// returned, and a new window starts. adjust, if set, may edit the findings
// first (live capture downgrades missing findings of a lossy window). The
// window's evidence files are named with evidencePrefix.
//
// A partial window (live capture's first one, or one cut short by a reload
// or the shutdown) raises no missing findings: an entry not seen in a few
// seconds or minutes is no evidence. A missing entry is alerted once, when
// a complete window first misses it, not again while the following
// windows miss it too; each window's findings file still lists it.
func (a *Auditor) endWindow(path, evidencePrefix string, now int64, partial bool, adjust func([]verdict.Finding) []verdict.Finding) (*verdict.Findings, []verdict.Finding, error) {
	a.mu.Lock()
	fs := a.findings
	for v, n := range fs.Counts() {
		a.judged[v] += n
	}
	a.findings = verdict.NewFindings(a.base, verdict.FindingsConfig{})
	a.mu.Unlock()
	fs.DNSFailures(a.dns.Failures(), now)
	fs.Finish(now)
	all := fs.All()
	if partial {
		all = slices.DeleteFunc(all, func(g verdict.Finding) bool { return g.Kind == verdict.KindMissing })
	}
	if adjust != nil {
		all = adjust(all)
	}
	// Which missing entries the last complete window alerted already.
	var known map[string]bool
	if !partial {
		known = a.lastMissing
		a.lastMissing = map[string]bool{}
		for i := range all {
			if all[i].Kind == verdict.KindMissing {
				a.lastMissing[missingKey(&all[i])] = true
			}
		}
	}
	// Flow findings were counted and went out as they happened; the
	// window adds those that no single flow raised: a missing entry only
	// when it was not already missing in the last window, a DNS failure
	// only when its name failed again since it was last raised.
	if a.dnsAlerted == nil {
		a.dnsAlerted = map[string]uint64{}
	}
	raise := windowRaises(all, known, a.dnsAlerted)
	a.mu.Lock()
	for i := range all {
		if raise[i] {
			a.countRaised(all[i].Kind)
		}
	}
	a.mu.Unlock()
	if a.feed != nil {
		for i := range all {
			if raise[i] {
				a.feed.Publish(alerts.EventOf(&all[i], nil, verdict.Unclassified, a.cfg.Sensor))
			}
		}
	}
	var files map[string]evidence.File
	var evidenceErr error
	if a.evidence != nil {
		files, evidenceErr = a.evidence.Write(evidencePrefix, all)
	}
	w, err := parquetout.CreateFindings(path, parquetout.Options{Metadata: a.cfg.Metadata})
	if err != nil {
		return fs, all, errors.Join(err, evidenceErr)
	}
	defer w.Abort()
	for i := range all {
		row := parquetout.FindingRowOf(&all[i], a.cfg.Sensor)
		if f, ok := files[row.FindingID]; ok {
			row.EvidenceFile, row.EvidencePackets = f.Name, int32(f.Packets)
		}
		if err := w.Write(&row); err != nil {
			return fs, all, fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Close(); err != nil {
		return fs, all, fmt.Errorf("write %s: %w", path, err)
	}
	return fs, all, evidenceErr
}

// Result is what a finished replay found, for the command to format.
// Finish fills it step by step, so after an error it holds what was done
// before it: the command still shows it.
type Result struct {
	// Calls is the path of the calls file, once it is complete.
	Calls string
	// DNSRows counts the rows of the DNS file (OpenDNS), once it is
	// complete.
	DNSRows uint64
	// Parsers counts what the protocol parsers saw; nil if the calls file
	// could not be finished.
	Parsers *ParserCounts
	// Site is the inventory's site name; empty when flows were judged by
	// port only.
	Site string
	// Verdicts counts flows by verdict name; verdicts no flow got are
	// left out. Nil if the findings could not be written.
	Verdicts map[string]uint64
	// Findings counts findings by kind.
	Findings map[string]uint64
	// FindingsDropped counts flows not aggregated because the findings
	// table was full.
	FindingsDropped uint64
	// Top holds up to Finish's top findings of each kind that needs a
	// look, kinds in a fixed order (policy first, then media, TLS, DNS).
	Top []verdict.Finding
	// Evidence counts what --evidence kept and wrote; nil without it.
	Evidence *EvidenceCounts
}

// EvidenceCounts is what the evidence store did, skips by cause.
type EvidenceCounts struct {
	Dir                                        string
	Files, Packets, FlowsKept                  uint64
	FlowsSkipped, PacketsSkipped, FlowsOverCap uint64
	FilesRemoved, WriteErrors                  uint64
}

// EvidenceCounts returns the evidence store's counters, nil without
// --evidence.
func (a *Auditor) EvidenceCounts() *EvidenceCounts {
	if a.evidence == nil {
		return nil
	}
	st := a.evidence.Stats()
	return &EvidenceCounts{Dir: a.evidence.Dir(), Files: st.FilesWritten.Load(), Packets: st.PacketsWritten.Load(),
		FlowsKept: st.FlowsKept.Load(), FlowsSkipped: st.FlowsSkipped.Load(), PacketsSkipped: st.PacketsSkipped.Load(),
		FlowsOverCap: st.FlowsOverCap.Load(), FilesRemoved: st.FilesRemoved.Load(), WriteErrors: st.WriteErrors.Load()}
}

// ParserCounts is what the protocol parsers saw, summed over workers.
type ParserCounts struct {
	SIPCalls         uint64
	TLSClientHellos  uint64
	QUICClientHellos uint64
	DNSQueries       uint64
	DNSResponses     uint64
	// DNSTransactions are the rows of dns.parquet; DNSUnanswered those
	// whose query got no response.
	DNSTransactions uint64
	DNSUnanswered   uint64
	SIPLimits       SIPLimits
	// TLSUpgrades counts flows a cleartext protocol handed over to TLS
	// (STARTTLS, database SSL requests, RDP, HTTP CONNECT, SOCKS) of the
	// TLSUpgradeCandidates that began such a protocol; TunnelsNotTLS the
	// proxy tunnels opened without TLS through them.
	TLSUpgradeCandidates, TLSUpgrades, TunnelsNotTLS uint64
}

// SIPLimits counts what the SIP tracker refused or dropped at its bounds,
// by reason.
type SIPLimits struct {
	// CallsRefused are INVITEs not tracked: the concurrent-call cap was
	// reached.
	CallsRefused uint64
	// StreamsDropped are media streams not followed: past the per-call
	// cap, or m= lines past what the SDP parser keeps of one body.
	StreamsDropped uint64
	// MessagesOversized are SIP messages dropped for their size.
	MessagesOversized uint64
}

// Any reports whether a limit was hit.
func (l SIPLimits) Any() bool { return l != SIPLimits{} }

// SIPLimits returns the SIP tracker's limit counters since start. Safe
// to call while the pipelines run.
func (a *Auditor) SIPLimits() SIPLimits {
	st := a.tracker.Stats()
	return SIPLimits{CallsRefused: st.CallsDropped.Load(), StreamsDropped: st.StreamsDropped.Load(),
		MessagesOversized: st.MessagesOversized.Load()}
}

// Sub is l - base, counter by counter: the limits hit over a window.
func (l SIPLimits) Sub(base SIPLimits) SIPLimits {
	return SIPLimits{CallsRefused: l.CallsRefused - base.CallsRefused, StreamsDropped: l.StreamsDropped - base.StreamsDropped,
		MessagesOversized: l.MessagesOversized - base.MessagesOversized}
}

// Metadata is the limits as file metadata (parquetout's MetaSIP* keys).
func (l SIPLimits) Metadata() map[string]string {
	return map[string]string{
		parquetout.MetaSIPCallsRefused:      strconv.FormatUint(l.CallsRefused, 10),
		parquetout.MetaSIPStreamsDropped:    strconv.FormatUint(l.StreamsDropped, 10),
		parquetout.MetaSIPMessagesOversized: strconv.FormatUint(l.MessagesOversized, 10),
	}
}

// Finish ends a replay: calls still up are emitted (after their media
// flows left the table, so the records have their counts), the calls
// file is closed, findings are written to findingsPath, and the result
// gets the verdict counts and the top findings of each kind. The
// pipeline must have finished and the FlowSink been drained.
func (a *Auditor) Finish(findingsPath string, top int) (*Result, error) {
	res := &Result{}
	a.tracker.Flush()
	if err := a.CloseCalls(); err != nil {
		return res, err
	}
	res.Calls = a.calls.Path()
	var err error
	if res.DNSRows, err = a.CloseDNS(); err != nil {
		return res, err
	}
	res.Parsers = a.parserCounts()
	fs, all, err := a.endWindow(findingsPath, "", 0, false, nil)
	res.Evidence = a.EvidenceCounts()
	if err != nil {
		return res, err
	}
	res.Findings = map[string]uint64{}
	for i := range all {
		res.Findings[string(all[i].Kind)]++
	}
	if a.inv != nil {
		res.Site = a.inv.Site
	}
	res.Verdicts = map[string]uint64{}
	for v, n := range fs.Counts() {
		if n > 0 {
			res.Verdicts[verdict.Verdict(v).String()] = n
		}
	}
	res.FindingsDropped = fs.Dropped()
	for _, k := range verdict.Kinds() {
		if k != verdict.KindUnobservable { // not a problem seen: what the sensor cannot see
			res.Top = append(res.Top, fs.Top(k, top)...)
		}
	}
	return res, nil
}

func (a *Auditor) parserCounts() *ParserCounts {
	p := &ParserCounts{SIPCalls: a.nCalls, SIPLimits: a.SIPLimits()}
	a.dmu.Lock()
	defer a.dmu.Unlock()
	for _, t := range a.tlsDiss {
		st := t.Stats()
		p.TLSClientHellos += st.ClientHellos.Load()
		p.TLSUpgradeCandidates += st.UpgradeCandidates.Load()
		p.TLSUpgrades += st.Upgrades.Load()
		p.TunnelsNotTLS += st.TunnelNotTLS.Load()
		p.QUICClientHellos += st.QUICHellos.Load()
	}
	for _, d := range a.dnsDiss {
		st := d.Stats()
		p.DNSQueries += st.Queries.Load()
		p.DNSResponses += st.Responses.Load()
		p.DNSTransactions += st.Transactions.Load()
		p.DNSUnanswered += st.Unanswered.Load()
	}
	return p
}

// DNSParseErrors counts DNS messages that did not parse, over all workers.
// Its counters are atomic, so a metrics scrape may call it while the
// pipelines run.
func (a *Auditor) DNSParseErrors() uint64 {
	a.dmu.Lock()
	defer a.dmu.Unlock()
	var n uint64
	for _, d := range a.dnsDiss {
		n += d.Stats().ParseErrors.Load()
	}
	return n
}

// DNSTransactions counts the DNS transactions reported (the rows of
// dns.parquet) and those of them unanswered, over all workers. Safe to
// call while the pipelines run.
func (a *Auditor) DNSTransactions() (all, unanswered uint64) {
	a.dmu.Lock()
	defer a.dmu.Unlock()
	for _, d := range a.dnsDiss {
		all += d.Stats().Transactions.Load()
		unanswered += d.Stats().Unanswered.Load()
	}
	return all, unanswered
}

// windowRaises says which of a window's findings are raised (counted and
// alerted) at its end: not those a flow raised (they were, as it ended),
// a missing entry only when the last complete window (known) did not
// already miss it, a DNS failure only when its name failed more often than
// when it was last raised (dnsAlerted, updated here).
func windowRaises(all []verdict.Finding, known map[string]bool, dnsAlerted map[string]uint64) []bool {
	raise := make([]bool, len(all))
	for i := range all {
		g := &all[i]
		switch {
		case g.Dst.IsValid():
		case g.Kind == verdict.KindMissing:
			raise[i] = !known[missingKey(g)]
		case g.Kind == verdict.KindDNSFailure:
			raise[i] = g.Count > dnsAlerted[g.ServerName]
			dnsAlerted[g.ServerName] = max(dnsAlerted[g.ServerName], g.Count)
		default:
			raise[i] = true
		}
	}
	return raise
}

// missingKey identifies a missing finding across windows.
func missingKey(g *verdict.Finding) string {
	return g.EntryID + "|" + g.Ports + "|" + strings.Join(g.HostPairs, ";")
}

// countRaised counts one finding occurrence; a.mu is held.
func (a *Auditor) countRaised(k verdict.Kind) {
	if a.raised == nil {
		a.raised = map[verdict.Kind]uint64{}
	}
	a.raised[k]++
}

// FindingsRaised counts finding occurrences by kind since the start, over
// every window: each flow or call that raised one, and each finding only a
// window's end raises (missing flows, DNS failures). Safe to call while
// the pipelines run.
func (a *Auditor) FindingsRaised() map[verdict.Kind]uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.raised)
}

// FeedStats returns the alert feed's counters, nil without a feed.
func (a *Auditor) FeedStats() *alerts.Stats {
	if a.feed == nil {
		return nil
	}
	st := a.feed.Stats()
	return &st
}

// FlowsJudged counts the flows judged since the start by verdict (indexed
// by verdict.Verdict), over every window: a counter that never decreases,
// also while a window ends. Safe to call while the pipelines run.
func (a *Auditor) FlowsJudged() [verdict.NumVerdicts]uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	all := a.findings.Counts()
	for v, n := range a.judged {
		all[v] += n
	}
	return all
}

// WindowVerdicts counts the flows judged in the current window by verdict
// (indexed by verdict.Verdict). Safe to call while the pipelines run.
func (a *Auditor) WindowVerdicts() [verdict.NumVerdicts]uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.findings.Counts()
}

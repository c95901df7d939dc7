package compliance

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/sipcall"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/parquetout"
)

// Options configure a Builder. The zero value reports everything found,
// by port-level facts only.
type Options struct {
	// Window selects the rows reported; zero bounds are open.
	Window Window
	// Catalog gives entries' TLS policies, required flags and media ranges;
	// nil leaves TLS policy and media ranges unjudged.
	Catalog *catalog.Catalog
	// Sites are the inventories the report judges per site. A flow belongs
	// to the first site that lists either of its hosts. Without any, the
	// report has one site named NoSite.
	Sites []*catalog.Inventory
	// Previous is the report to list new and resolved findings against;
	// PreviousNote says why there is none (shown in the report).
	Previous     *Report
	PreviousNote string
	// Top bounds the tables of top findings, talkers and examples
	// (default 10).
	Top int
	// Input names the directory read, as the report shows it.
	Input string
	// GeneratedAt is the report's time; tests fix it.
	GeneratedAt time.Time
	// Provenance is copied into the report.
	Provenance Provenance
}

// Site names used when no inventory claims a host.
const (
	NoSite    = "all hosts"
	OtherSite = "hosts in no inventory"
)

// The most distinct values kept per aggregate (host pairs of an entry,
// destinations of a talker): reports stay bounded on scans.
const maxDistinct = 1000

// Builder aggregates Parquet rows into a Report. Rows are consumed file by
// file and not kept, so memory grows with distinct findings, entries and
// hosts, not with flows.
type Builder struct {
	opts  Options
	sites []*siteAcc
	other *siteAcc // hosts in no inventory, created on first use

	verdicts map[string]int64
	findings map[string]*Finding
	// byLegacy maps the legacy key of a finding read with a finding_id to
	// that id, so rows of files written before the column merge into it
	// whichever file is read first.
	byLegacy map[string]string
	windows  map[windowKey]struct{}
	timeline []timePoint
	entries  map[string]*entryAcc
	talkers  map[string]*talkerAcc
	tlsVers  map[string]*tlsAcc
	plain    map[string]*PlainFlow
	// Media is shown from the calls when calls.parquet files exist, else
	// from the media flows; both are gathered as files come in any order.
	// Neither judges: one-way, missing and poor voice quality are the call
	// tracker's (calls.parquet columns), out of range the verdict
	// engine's (findings).
	flowMedia mediaAcc
	callMedia mediaAcc
	calls     *callsAcc
	// judgedOutside are the media endpoints media-outside-documented-range
	// findings name.
	judgedOutside map[netip.AddrPort]bool
	capture       Capture
	sensors       map[string]*Sensor
	data          Window
}

type siteAcc struct {
	name    string
	inv     *catalog.Inventory
	media   documented
	flows   int64
	issues  map[string]int64
	vendors map[string]*vendorAcc
}

type vendorAcc struct {
	VendorVerdict
	issues map[string]int64
}

type entryAcc struct {
	EntryStatus
	pairs   map[string]int64
	blocked map[string]int64
	missing string
	unobs   bool
}

type talkerAcc struct {
	Talker
	dsts  map[string]struct{}
	ports map[string]int64
}

type tlsAcc struct {
	flows   int64
	servers map[string]struct{}
}

type mediaAcc struct {
	Media
	ports map[uint16][2]int64 // port -> in a documented range, outside every range
	// endpoints counts the endpoints behind ports, so that Report can
	// move those a media-outside-documented-range finding names (the
	// verdict engine's role-aware judgement) to the judged group, whether
	// or not their port lies in some other entry's range: the union of
	// the site's ranges never overrules the engine. Bounded: endpoints
	// past maxEndpoints stay in the group their port gave them.
	endpoints map[netip.AddrPort][2]int64
}

// maxEndpoints bounds the media endpoints the chart remembers, a few MB.
const maxEndpoints = 1 << 16

type callsAcc struct {
	Calls
	reasons map[string]int64
	codecs  map[string]int64
	voice   Voice
	bands   []int64 // rated calls per mosBands entry
}

type windowKey struct {
	key      string
	from, to int64
}

type timePoint struct {
	at   time.Time
	kind string
	n    int64
}

// NewBuilder returns an empty Builder.
func NewBuilder(opts Options) *Builder {
	if opts.Top <= 0 {
		opts.Top = 10
	}
	b := &Builder{
		opts: opts, verdicts: map[string]int64{}, findings: map[string]*Finding{}, byLegacy: map[string]string{}, windows: map[windowKey]struct{}{},
		entries: map[string]*entryAcc{}, talkers: map[string]*talkerAcc{},
		tlsVers: map[string]*tlsAcc{}, plain: map[string]*PlainFlow{},
		sensors: map[string]*Sensor{}, flowMedia: newMediaAcc(), callMedia: newMediaAcc(),
		judgedOutside: map[netip.AddrPort]bool{},
	}
	for _, inv := range opts.Sites {
		b.sites = append(b.sites, b.newSite(inv.Site, inv))
	}
	if len(b.sites) == 0 {
		b.sites = append(b.sites, b.newSite(NoSite, nil))
	}
	return b
}

func (b *Builder) newSite(name string, inv *catalog.Inventory) *siteAcc {
	return &siteAcc{name: name, inv: inv, media: mediaRanges(b.opts.Catalog, inv),
		issues: map[string]int64{}, vendors: map[string]*vendorAcc{}}
}

// documented are a site's documented UDP media ports: the ranges the
// report lists and the set the chart tests ports against. They are the
// verdict engine's own (verdict.DocumentedMediaPorts, what port-only mode
// judges by), and membership is the catalog's (an /even or /odd range
// holds only its even or odd ports, as the documents state RTP and RTCP).
type documented struct {
	ranges []PortRange
	set    verdict.DocumentedMedia
}

// mediaRanges are the documented UDP media ports of the site's vendors
// (every vendor without an inventory), with the site's overrides and
// area parameters applied (Inventory.EffectivePorts), as the verdict
// engine reads them. Broad ranges (Imagicle's ">1024") are documented
// ranges too: the engine judges by them.
func mediaRanges(cat *catalog.Catalog, inv *catalog.Inventory) documented {
	var d documented
	if cat == nil {
		return d
	}
	var entries []*catalog.Entry
	var portsOf func(*catalog.Entry) catalog.PortSet
	for _, e := range cat.Entries() {
		if inv == nil || inv.Deploys(e.Vendor) {
			entries = append(entries, e)
		}
	}
	if inv != nil {
		portsOf = inv.EffectivePorts
	}
	d.set = verdict.DocumentedMediaPorts(entries, portsOf)
	for _, r := range d.set.Ranges {
		pr := PortRange{Entry: r.Entry.ID, Lo: r.Lo, Hi: r.Hi, Parity: parityName(r.Parity)}
		if r.From {
			pr.Side = "from"
		}
		d.ranges = append(d.ranges, pr)
	}
	slices.SortFunc(d.ranges, func(a, b PortRange) int {
		return cmp.Or(cmp.Compare(a.Lo, b.Lo), cmp.Compare(a.Hi, b.Hi), cmp.Compare(a.Parity, b.Parity), cmp.Compare(a.Entry, b.Entry), cmp.Compare(a.Side, b.Side))
	})
	d.ranges = slices.Compact(d.ranges)
	return d
}

func parityName(p catalog.Parity) string {
	switch p {
	case catalog.EvenPorts:
		return "even"
	case catalog.OddPorts:
		return "odd"
	}
	return ""
}

// siteOf returns the first site whose inventory lists one of the
// addresses; with no inventories, the one site.
func (b *Builder) siteOf(addrs ...string) *siteAcc {
	if b.sites[0].inv == nil {
		return b.sites[0]
	}
	for _, s := range b.sites {
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a); err == nil && len(s.inv.RolesOf(ip)) > 0 {
				return s
			}
		}
	}
	return b.otherSite()
}

func (b *Builder) otherSite() *siteAcc {
	if b.other == nil {
		b.other = b.newSite(OtherSite, nil)
		b.other.media = documented{}
	}
	return b.other
}

func (s *siteAcc) vendor(name string) *vendorAcc {
	v, ok := s.vendors[name]
	if !ok {
		v = &vendorAcc{VendorVerdict: VendorVerdict{Vendor: name}, issues: map[string]int64{}}
		s.vendors[name] = v
	}
	return v
}

func (b *Builder) sensor(f File, rowSensor string) *Sensor {
	name := cmp.Or(rowSensor, f.Sensor)
	s, ok := b.sensors[name]
	if !ok {
		s = &Sensor{Name: name}
		b.sensors[name] = s
	}
	return s
}

func (b *Builder) skipFile(File) { b.capture.FilesSkipped++ }

func (b *Builder) fileError(f File, err error) {
	b.capture.Errors = append(b.capture.Errors, fmt.Sprintf("%s: %v", f.Path, err))
}

// addLoss adds the capture counters of a file's metadata.
func (b *Builder) addLoss(f File, md map[string]string) {
	b.capture.FilesRead++
	s := b.sensor(f, "")
	s.Files++
	// The counters describe the packets behind a span's flows; the
	// findings and calls files of the same span would count them again.
	if f.Table != FlowsTable {
		return
	}
	b.addSIPLimits(md)
	var recv, drop int64
	if _, err := fmt.Sscan(md[MetaPacketsReceived], &recv); err != nil {
		return
	}
	if _, err := fmt.Sscan(md[MetaPacketsDropped], &drop); err != nil {
		return
	}
	s.LossRecorded = true
	s.Received += recv
	s.Dropped += drop
}

// addSIPLimits adds the SIP tracker's limit counters of a flows file's
// metadata, when it recorded them.
func (b *Builder) addSIPLimits(md map[string]string) {
	var l SIPLimits
	for _, c := range []struct {
		key string
		n   *int64
	}{{parquetout.MetaSIPCallsRefused, &l.CallsRefused}, {parquetout.MetaSIPStreamsDropped, &l.StreamsDropped},
		{parquetout.MetaSIPMessagesOversized, &l.MessagesOversized}} {
		if _, err := fmt.Sscan(md[c.key], c.n); err != nil {
			return
		}
	}
	if b.capture.SIPLimits == nil {
		b.capture.SIPLimits = &SIPLimits{}
	}
	s := b.capture.SIPLimits
	s.CallsRefused += l.CallsRefused
	s.StreamsDropped += l.StreamsDropped
	s.MessagesOversized += l.MessagesOversized
}

func (b *Builder) seen(t time.Time) {
	if t.IsZero() {
		return
	}
	if b.data.From.IsZero() || t.Before(b.data.From) {
		b.data.From = t
	}
	if t.After(b.data.To) {
		b.data.To = t
	}
}

// AddFlows accounts the rows of one flows file that start in the window.
func (b *Builder) AddFlows(f File, rows []parquetout.FlowRow) {
	for i := range rows {
		r := &rows[i]
		if !b.opts.Window.Contains(r.FirstSeen) {
			continue
		}
		b.addFlow(f, r)
	}
}

func (b *Builder) addFlow(f File, r *parquetout.FlowRow) {
	b.seen(r.FirstSeen)
	b.seen(r.LastSeen)
	b.capture.Flows++
	b.sensor(f, r.Sensor).Flows++
	b.verdicts[cmp.Or(r.Verdict, "unjudged")]++
	site := b.siteOf(r.SrcIP, r.DstIP)
	site.flows++
	v := site.vendor(r.Vendor)
	// An empty or unknown verdict counts in none of the vendor's columns.
	vd, _ := flowVerdict(r.Verdict)
	switch vd {
	case verdict.Expected:
		v.Expected++
	case verdict.Negotiated:
		v.Negotiated++
	case verdict.Blocked:
		v.Blocked++
	case verdict.Unexpected:
		v.Unexpected++
		b.addTalker(site, r)
	}
	if r.EntryID != "" {
		b.entryFlow(r, vd)
	}
	b.tlsFlow(site, v, r)
	b.mediaFlow(site, r)
}

func (b *Builder) entry(id, vendor string) *entryAcc {
	e, ok := b.entries[id]
	if !ok {
		e = &entryAcc{EntryStatus: EntryStatus{ID: id, Vendor: vendor}, pairs: map[string]int64{}, blocked: map[string]int64{}}
		if b.opts.Catalog != nil {
			if ce, ok := b.opts.Catalog.Entry(id); ok {
				e.Required = ce.Required
				e.Ports = ce.Transport.String() + " " + ce.Ports.String()
			}
		}
		b.entries[id] = e
	}
	return e
}

// flowVerdict reads the verdict a flows row carries by the verdict
// package's own names; judged is false for an empty or unknown one.
func flowVerdict(name string) (v verdict.Verdict, judged bool) {
	if name == "" {
		return verdict.Unclassified, false
	}
	v, err := verdict.ParseVerdict(name)
	return v, err == nil
}

func (b *Builder) entryFlow(r *parquetout.FlowRow, vd verdict.Verdict) {
	e := b.entry(r.EntryID, r.Vendor)
	pair := fmt.Sprintf("%s -> %s:%d", r.SrcIP, r.DstIP, r.DstPort)
	switch vd {
	case verdict.Expected, verdict.Negotiated:
		e.Seen++
		countBounded(e.pairs, pair)
	case verdict.Blocked:
		e.Blocked++
		countBounded(e.blocked, pair)
	case verdict.Unexpected:
		e.Unexpected++
	}
}

func countBounded[K comparable](m map[K]int64, k K) {
	if _, ok := m[k]; ok || len(m) < maxDistinct {
		m[k]++
	}
}

func (b *Builder) addTalker(site *siteAcc, r *parquetout.FlowRow) {
	t, ok := b.talkers[r.SrcIP]
	if !ok {
		t = &talkerAcc{Talker: Talker{Host: r.SrcIP, Site: site.name}, dsts: map[string]struct{}{}, ports: map[string]int64{}}
		b.talkers[r.SrcIP] = t
	}
	t.Flows++
	t.Bytes += r.BytesOut + r.BytesIn
	if len(t.dsts) < maxDistinct {
		t.dsts[r.DstIP] = struct{}{}
	}
	countBounded(t.ports, fmt.Sprintf("%s/%d", r.Proto, r.DstPort))
}

// weakTLS are the versions a TLS posture flags.
var weakTLS = []string{"SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1"}

func (b *Builder) tlsFlow(site *siteAcc, v *vendorAcc, r *parquetout.FlowRow) {
	if r.TLSVersion != "" {
		t, ok := b.tlsVers[r.TLSVersion]
		if !ok {
			t = &tlsAcc{servers: map[string]struct{}{}}
			b.tlsVers[r.TLSVersion] = t
		}
		t.flows++
		if len(t.servers) < maxDistinct {
			t.servers[r.DstIP] = struct{}{}
		}
		return
	}
	// Plaintext on a TLS port is the verdict engine's call (it knows which
	// flows its TLS dissector saw start): addFinding takes it from the
	// plaintext-on-tls-port findings.
}

func isMediaFlow(r *parquetout.FlowRow) bool {
	return r.Proto == "udp" && (sipcall.IsMediaApp(r.App) || r.Verdict == verdict.Negotiated.String())
}

// mediaFlow counts media flows and their ports when no calls.parquet
// gives the negotiated streams; Report discards these counts if calls
// were read. A flow's packet counts judge nothing: media one way only is
// the call tracker's judgement, made against what both sides negotiated
// (a sendonly stream is one way by design, and a flow the capture cut
// short is no media problem), and without call records the report says
// it has none.
func (b *Builder) mediaFlow(site *siteAcc, r *parquetout.FlowRow) {
	if !isMediaFlow(r) {
		return
	}
	m := &b.flowMedia
	m.Streams++
	if len(site.media.set.Ranges) == 0 {
		return
	}
	// The ports feed the chart; whether a stream is out of its documented
	// range is the verdict engine's call (role-aware, in findings.parquet),
	// counted in addFinding, so report and findings never disagree.
	m.port(endpointOf(r.SrcIP, r.SrcPort), &site.media.set)
	m.port(endpointOf(r.DstIP, r.DstPort), &site.media.set)
}

func newMediaAcc() mediaAcc {
	return mediaAcc{ports: map[uint16][2]int64{}, endpoints: map[netip.AddrPort][2]int64{}}
}

// endpointOf makes an endpoint of a row's address and port; the zero
// AddrPort when either is not usable.
func endpointOf(ip string, port int32) netip.AddrPort {
	a, err := netip.ParseAddr(ip)
	if err != nil || port <= 0 || port > 65535 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(a, uint16(port))
}

// port counts one observed media endpoint for the chart: in a documented
// range by the catalog's membership, else outside every range. Whether it
// is out of the range that constrains it is the verdict engine's call
// (judge), never this one.
func (m *mediaAcc) port(ap netip.AddrPort, documented *verdict.DocumentedMedia) {
	if !ap.IsValid() || ap.Port() == 0 {
		return
	}
	p := ap.Port()
	group := 1
	if documented.Contains(p) {
		group = 0
	}
	c := m.ports[p]
	c[group]++
	m.ports[p] = c
	if e, ok := m.endpoints[ap]; ok || len(m.endpoints) < maxEndpoints {
		e[group]++
		m.endpoints[ap] = e
	}
}

// example keeps a media problem as an example; Report trims and orders
// the examples. The site's verdict counts the problem by its finding.
func (m *mediaAcc) example(ex MediaFlow) {
	if len(m.Examples) < maxDistinct {
		m.Examples = append(m.Examples, ex)
	}
}

// AddFindings merges the findings of one file that overlap the window.
func (b *Builder) AddFindings(f File, rows []parquetout.FindingRow) {
	for i := range rows {
		r := &rows[i]
		if !b.opts.Window.Overlaps(r.FirstSeen, r.LastSeen) {
			continue
		}
		b.addFinding(f, r)
	}
}

// maxEvidenceFiles bounds the evidence files listed per finding: a
// finding seen in every window of a month has one per window.
const maxEvidenceFiles = 5

// FindingKey is how findings are matched across files and reports: the
// verdict engine's finding_id (stable over windows and sensors), or for
// files written before that column the fields it is computed from.
func FindingKey(r *parquetout.FindingRow) string {
	if r.FindingID != "" {
		return r.FindingID
	}
	return legacyKey(r.Kind, r.Proto, r.SrcIP, r.DstIP, r.DstPort, r.EntryID)
}

// legacyKey is the key of findings without a finding_id: kind, protocol,
// hosts, port and entry.
func legacyKey(kind, proto, src, dst string, port int32, entry string) string {
	return strings.Join([]string{kind, proto, src, dst, fmt.Sprint(port), entry}, "|")
}

func (f *Finding) legacyKey() string {
	return legacyKey(f.Kind, f.Proto, f.Src, f.Dst, f.DstPort, f.EntryID)
}

// severityRankOf is the verdict engine's severity rank of a row. Files
// written before the severity_rank column read back 0 on every row, so a
// 0 beside a severity other than info is ranked by the severity's name.
func severityRankOf(severity string, rank int32) int32 {
	if rank != 0 || severity == verdict.Info.String() {
		return rank
	}
	return legacySeverityRank(severity)
}

// findingKey resolves the key a row merges under, moving a finding first
// read from older files (legacy key) under the finding_id a newer file
// gives it.
func (b *Builder) findingKey(r *parquetout.FindingRow) string {
	key := FindingKey(r)
	if r.FindingID == "" {
		if id, ok := b.byLegacy[key]; ok {
			return id
		}
		return key
	}
	lk := legacyKey(r.Kind, r.Proto, r.SrcIP, r.DstIP, r.DstPort, r.EntryID)
	if _, ok := b.byLegacy[lk]; ok {
		return key
	}
	b.byLegacy[lk] = key
	if g, ok := b.findings[lk]; ok {
		delete(b.findings, lk)
		g.Key, g.FindingID = key, r.FindingID
		b.findings[key] = g
	}
	return key
}

func (b *Builder) addFinding(f File, r *parquetout.FindingRow) {
	b.seen(r.FirstSeen)
	b.seen(r.LastSeen)
	key := b.findingKey(r)
	rank := severityRankOf(r.Severity, r.SeverityRank)
	sensor := cmp.Or(r.Sensor, f.Sensor)
	g, ok := b.findings[key]
	if !ok {
		g = &Finding{
			Key: key, FindingID: r.FindingID, Kind: r.Kind, Severity: r.Severity, SeverityRank: rank, Site: b.findingSite(r).name,
			Proto: r.Proto, Src: r.SrcIP, Dst: r.DstIP, DstPort: r.DstPort,
			Vendor: r.Vendor, EntryID: r.EntryID, FromRole: r.FromRole, ToRole: r.ToRole, App: r.App,
			Reason: r.Reason, SNI: r.SNI, ServerName: r.ServerName, CallID: r.CallID,
			FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, HostPairs: r.HostPairs, Ports: r.Ports,
		}
		b.findings[key] = g
	}
	if r.Kind == string(verdict.KindPlaintextOnTLSPort) {
		site := b.findingSite(r)
		pkey := site.name + "|" + r.EntryID + "|" + r.SrcIP + "|" + r.DstIP + fmt.Sprint(r.DstPort)
		p, seen := b.plain[pkey]
		if !seen && len(b.plain) < maxDistinct {
			p = &PlainFlow{Site: site.name, Flow: fmt.Sprintf("tcp %s -> %s:%d", r.SrcIP, r.DstIP, r.DstPort), EntryID: r.EntryID}
			b.plain[pkey] = p
		}
		if p != nil {
			p.Flows += r.Count
		}
	}
	if !ok && r.Kind == string(verdict.KindMediaOutsideRange) {
		// One stream out of its documented range, as the verdict engine
		// judged it; both media views count it (the report shows one).
		site := b.findingSite(r)
		ex := MediaFlow{Site: site.name, Flow: fmt.Sprintf("%s %s -> %s:%d", r.Proto, r.SrcIP, r.DstIP, r.DstPort), CallID: r.CallID, Issue: "out of documented range"}
		if ap := endpointOf(r.DstIP, r.DstPort); ap.IsValid() {
			b.judgedOutside[ap] = true
		}
		// The site's issue list already names the finding's kind.
		for _, m := range []*mediaAcc{&b.flowMedia, &b.callMedia} {
			m.OutOfRange++
			if len(m.Examples) < maxDistinct {
				m.Examples = append(m.Examples, ex)
			}
		}
	}
	if sensor != "" && !slices.Contains(g.Sensors, sensor) {
		g.Sensors = append(g.Sensors, sensor)
		slices.Sort(g.Sensors)
	}
	g.EvidencePackets += int64(r.EvidencePackets)
	if r.EvidenceFile != "" && !slices.Contains(g.EvidenceFiles, r.EvidenceFile) && len(g.EvidenceFiles) < maxEvidenceFiles {
		g.EvidenceFiles = append(g.EvidenceFiles, r.EvidenceFile)
		slices.Sort(g.EvidenceFiles)
	}
	if r.Kind == string(verdict.KindMissing) || r.Kind == string(verdict.KindUnobservable) {
		// Counts are capture windows; sensors covering the same hour
		// report the same window, which counts once. The legacy key
		// names the window alike in files with and without finding_id.
		w := windowKey{legacyKey(r.Kind, r.Proto, r.SrcIP, r.DstIP, r.DstPort, r.EntryID), r.FirstSeen.UnixMicro(), r.LastSeen.UnixMicro()}
		if _, dup := b.windows[w]; dup {
			return
		}
		b.windows[w] = struct{}{}
	}
	if ok {
		if rank > g.SeverityRank {
			g.Severity, g.SeverityRank, g.Reason = r.Severity, rank, r.Reason
		}
		g.FindingID = cmp.Or(g.FindingID, r.FindingID)
		if r.FirstSeen.Before(g.FirstSeen) {
			g.FirstSeen = r.FirstSeen
		}
		if r.LastSeen.After(g.LastSeen) {
			g.LastSeen = r.LastSeen
		}
		g.SNI, g.ServerName, g.CallID = cmp.Or(g.SNI, r.SNI), cmp.Or(g.ServerName, r.ServerName), cmp.Or(g.CallID, r.CallID)
	}
	g.Count += r.Count
	b.timeline = append(b.timeline, timePoint{at: r.FirstSeen, kind: r.Kind, n: r.Count})
	if r.EntryID == "" {
		return
	}
	e := b.entry(r.EntryID, r.Vendor)
	switch verdict.Kind(r.Kind) {
	case verdict.KindMissing:
		e.MissingWindows += r.Count
		e.missing = cmp.Or(e.missing, r.HostPairs)
	case verdict.KindUnobservable:
		e.unobs = true
	}
}

// findingSite attributes a finding by its hosts, a missing one by the
// first address of its host pairs, else by the vendor the site deploys.
func (b *Builder) findingSite(r *parquetout.FindingRow) *siteAcc {
	if b.sites[0].inv == nil {
		return b.sites[0]
	}
	if r.SrcIP != "" || r.DstIP != "" {
		return b.siteOf(r.SrcIP, r.DstIP)
	}
	for _, pair := range strings.Split(r.HostPairs, ";") {
		src, _, _ := strings.Cut(strings.TrimSpace(pair), " -> ")
		if p, err := netip.ParsePrefix(src); err == nil {
			src = p.Addr().String()
		}
		if src != "" {
			if s := b.siteOf(src); s != b.other {
				return s
			}
		}
	}
	for _, s := range b.sites {
		if s.inv.Deploys(r.Vendor) {
			return s
		}
	}
	return b.otherSite()
}

// legacySeverityRank ranks a severity by its verdict.Severity name, for
// rows and previous reports written before severity_rank existed (the
// rank is the verdict.Severity value).
func legacySeverityRank(s string) int32 {
	for sv := verdict.Info; sv <= verdict.Critical; sv++ {
		if s == sv.String() {
			return int32(sv)
		}
	}
	// None, or a severity a newer writer added: medium, so it is seen.
	return int32(verdict.Medium)
}

// AddCalls accounts the calls of one file that started in the window.
func (b *Builder) AddCalls(f File, rows []parquetout.CallRow) {
	if b.calls == nil {
		b.calls = &callsAcc{reasons: map[string]int64{}, codecs: map[string]int64{}}
	}
	for i := range rows {
		r := &rows[i]
		at := r.Start
		if at.IsZero() {
			at = r.End
		}
		if !b.opts.Window.Contains(at) {
			continue
		}
		b.seen(at)
		b.addCall(r)
	}
}

func (b *Builder) addCall(r *parquetout.CallRow) {
	c := b.calls
	c.Total++
	if !r.Answer.IsZero() {
		c.Answered++
	}
	if r.FinalStatus >= 300 {
		c.Failed++
	}
	c.reasons[cmp.Or(r.EndReason, "unknown")]++
	for _, codec := range strings.Split(r.Codecs, ",") {
		if codec = strings.TrimSpace(codec); codec != "" {
			countBounded(c.codecs, codec)
		}
	}
	site := b.siteOf(r.CallerIP, r.CalleeIP)
	var issues []string
	for i := range r.Media {
		m := &r.Media[i]
		c.Packets += m.Packets
		c.Lost += max(m.Lost, 0)
		c.MaxJitterMillis = max(c.MaxJitterMillis, m.JitterMillis)
		if !strings.Contains(strings.ToUpper(m.Proto), "RTP") {
			continue
		}
		media := &b.callMedia
		media.Streams++
		name := fmt.Sprintf("%s stream %d", m.Type, m.Index)
		// Missing, one way and poor voice quality are the call tracker's
		// judgements (calls.parquet missing, one_way, poor_quality; the
		// engine raises its findings from the same): listed as it made
		// them, never re-decided from packet or loss counts.
		if m.Missing {
			media.Missing++
			issues = append(issues, name+" missing")
			media.example(MediaFlow{Site: site.name, Flow: name, CallID: r.CallID, Issue: "negotiated, never seen"})
		}
		if m.OneWay {
			media.OneWay++
			issues = append(issues, name+" one-way")
			media.example(MediaFlow{Site: site.name, Flow: m.CallerRTP + " <-> " + m.CalleeRTP, CallID: r.CallID, Issue: "one-way"})
		}
		if len(site.media.set.Ranges) > 0 {
			for _, ep := range []string{m.CallerRTP, m.CalleeRTP} {
				ap, _ := netip.ParseAddrPort(ep)
				media.port(ap, &site.media.set)
			}
		}
		if m.PoorQuality {
			issues = append(issues, name+" poor voice quality"+ratingText(m))
		}
	}
	if r.MOS != nil {
		c.addMOS(r, site.name)
	}
	if len(issues) > 0 {
		c.Problems = append(c.Problems, CallLine{
			CallID: r.CallID, Site: site.name, From: r.FromURI, To: r.ToURI, Start: r.Start,
			Status: r.FinalStatus, Codecs: r.Codecs, Issues: strings.Join(issues, "; "),
		})
	}
}

// ratingText gives the rating behind a poor-quality stream: the MOS and
// loss of its worst rated direction, as the call tracker computed them.
func ratingText(m *parquetout.CallMediaRow) string {
	var worst *parquetout.CallQualityRow
	for _, q := range []*parquetout.CallQualityRow{m.CallerToCallee, m.CalleeToCaller} {
		if q != nil && (worst == nil || q.MOS < worst.MOS) {
			worst = q
		}
	}
	if worst == nil {
		return ""
	}
	return fmt.Sprintf(" (MOS %.2f, %.1f%% lost)", worst.MOS, worst.LossPercent)
}

// sortedCounts returns m as Counts, largest first, then by name.
func sortedCounts(m map[string]int64) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{k, v})
	}
	slices.SortFunc(out, func(a, b Count) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name)) })
	return out
}

func topPairs(m map[string]int64, n int, suffix string) []string {
	var out []string
	for _, c := range sortedCounts(m) {
		if len(out) == n {
			out = append(out, fmt.Sprintf("(+%d more)", len(m)-n))
			break
		}
		out = append(out, fmt.Sprintf("%s (%d%s)", c.Name, c.Count, suffix))
	}
	return out
}

// verdictOrder is the order flows by verdict are listed in; "unjudged"
// counts flows without a verdict.
var verdictOrder = []string{verdict.Expected.String(), verdict.Negotiated.String(), verdict.Unexpected.String(),
	verdict.Blocked.String(), verdict.Ignored.String(), verdict.Unclassified.String(), "unjudged"}

// kindOrder is the verdict package's order of its finding kinds
// (verdict.Kinds); kinds of newer files follow in name order.
var kindOrder = kindNames(verdict.Kinds())

func kindNames(kinds []verdict.Kind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

func orderIndex(order []string, s string) int {
	if i := slices.Index(order, s); i >= 0 {
		return i
	}
	return len(order)
}

// Report finishes the aggregation.
func (b *Builder) Report() *Report {
	r := &Report{
		Schema: SchemaVersion, GeneratedAt: b.opts.GeneratedAt.UTC(), Input: b.opts.Input,
		Window: b.opts.Window, Data: b.data, Provenance: b.opts.Provenance,
	}
	r.Verdicts = sortedCounts(b.verdicts)
	slices.SortStableFunc(r.Verdicts, func(a, b Count) int {
		return cmp.Compare(orderIndex(verdictOrder, a.Name), orderIndex(verdictOrder, b.Name))
	})
	b.finishFindings(r)
	b.finishEntries(r)
	b.finishSites(r)
	b.finishTalkers(r)
	b.finishMedia(r)
	b.finishTLS(r)
	b.finishCapture(r)
	r.Timeline = b.timelineOf(r)
	r.Changes = b.changes(r)
	r.Glossary = glossary(r)
	return r
}

func (b *Builder) finishFindings(r *Report) {
	r.Findings = make([]Finding, 0, len(b.findings))
	byKind := map[string]int64{}
	for _, g := range b.findings {
		r.Findings = append(r.Findings, *g)
		byKind[g.Kind]++
	}
	slices.SortFunc(r.Findings, compareFindings)
	r.FindingsByKind = sortedCounts(byKind)
	slices.SortStableFunc(r.FindingsByKind, func(a, b Count) int {
		return cmp.Compare(orderIndex(kindOrder, a.Name), orderIndex(kindOrder, b.Name))
	})
	for _, g := range r.Findings {
		if k := verdict.Kind(g.Kind); (k == verdict.KindUnexpected || k == verdict.KindWrongDirection) && len(r.TopUnexpected) < b.opts.Top {
			r.TopUnexpected = append(r.TopUnexpected, g)
		}
	}
	slices.SortStableFunc(r.TopUnexpected, func(a, b Finding) int { return cmp.Compare(b.Count, a.Count) })
}

func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(b.SeverityRank, a.SeverityRank),
		cmp.Compare(orderIndex(kindOrder, a.Kind), orderIndex(kindOrder, b.Kind)),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(b.Count, a.Count),
		// Readable fields before the id, so that ties read in flow order.
		cmp.Compare(a.legacyKey(), b.legacyKey()),
		cmp.Compare(a.Key, b.Key),
	)
}

func (b *Builder) finishEntries(r *Report) {
	for _, e := range b.entries {
		s := e.EntryStatus
		switch {
		case e.MissingWindows > 0 && s.Seen == 0:
			s.Status = "missing"
		case s.Blocked > 0 && s.Seen == 0:
			s.Status = "blocked"
		case e.MissingWindows > 0:
			s.Status = "intermittent"
		case s.Blocked > 0:
			s.Status = "partly-blocked"
		case s.Seen > 0:
			s.Status = "seen"
		case e.unobs:
			s.Status = "unobservable"
		default:
			s.Status = "unexpected-only"
		}
		s.HostPairs = append(topPairs(e.pairs, 3, ""), topPairs(e.blocked, 3, " blocked")...)
		if e.missing != "" {
			s.HostPairs = append(s.HostPairs, "expected: "+e.missing)
		}
		if s.HostPairs == nil {
			s.HostPairs = []string{}
		}
		r.Entries = append(r.Entries, s)
	}
	statusOrder := []string{"missing", "blocked", "intermittent", "partly-blocked", "unexpected-only", "unobservable", "seen"}
	slices.SortFunc(r.Entries, func(a, b EntryStatus) int {
		return cmp.Or(cmp.Compare(orderIndex(statusOrder, a.Status), orderIndex(statusOrder, b.Status)), cmp.Compare(a.ID, b.ID))
	})
}

func (b *Builder) finishSites(r *Report) {
	sites := b.sites
	if b.other != nil {
		sites = append(slices.Clone(sites), b.other)
	}
	byName := map[string]*siteAcc{}
	for _, s := range sites {
		byName[s.name] = s
		if s.inv != nil {
			for _, v := range s.inv.Vendors {
				s.vendor(v)
			}
		}
	}
	// Findings of severity low and above make a site (and the finding's
	// vendor) non-compliant; info findings (unobservable) are shown only.
	// Media problems count here too, by their findings (media-one-way,
	// media-missing, poor-voice-quality, media-outside-documented-range):
	// the call records the report lists state the same judgements of the
	// same streams and are not counted again.
	for _, g := range r.Findings {
		s := byName[g.Site]
		if s == nil || g.SeverityRank < int32(verdict.Low) {
			continue
		}
		s.issues[g.Kind]++
		s.vendor(g.Vendor).issues[g.Kind]++
	}
	// Entries are not split by site: a vendor's row counts its entries
	// over the whole window.
	for _, s := range sites {
		for _, e := range r.Entries {
			v, ok := s.vendors[e.Vendor]
			if !ok {
				continue
			}
			if e.Seen > 0 {
				v.Entries++
			}
			if e.Status == "missing" {
				v.Missing++
			}
		}
	}
	r.Compliant = true
	for _, s := range sites {
		sv := SiteVerdict{Site: s.name, Flows: s.flows, Issues: sortedCounts(s.issues)}
		sv.Compliant = len(sv.Issues) == 0
		r.Compliant = r.Compliant && sv.Compliant
		for _, name := range slices.Sorted(maps.Keys(s.vendors)) {
			v := s.vendors[name]
			vv := v.VendorVerdict
			vv.Issues = sortedCounts(v.issues)
			vv.Compliant = len(vv.Issues) == 0
			if name == "" && vv.Unexpected == 0 && len(vv.Issues) == 0 {
				continue // flows nothing judged, such as ignored ones
			}
			sv.Vendors = append(sv.Vendors, vv)
		}
		// The flows nothing allows go last, after the vendors.
		slices.SortStableFunc(sv.Vendors, func(a, b VendorVerdict) int {
			return cmp.Compare(boolInt(a.Vendor == ""), boolInt(b.Vendor == ""))
		})
		r.Sites = append(r.Sites, sv)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (b *Builder) finishTalkers(r *Report) {
	for _, t := range b.talkers {
		tt := t.Talker
		tt.Destinations = len(t.dsts)
		if top := sortedCounts(t.ports); len(top) > 0 {
			tt.TopPort = top[0].Name
		}
		r.TopTalkers = append(r.TopTalkers, tt)
	}
	slices.SortFunc(r.TopTalkers, func(a, b Talker) int {
		return cmp.Or(cmp.Compare(b.Flows, a.Flows), cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Host, b.Host))
	})
	if len(r.TopTalkers) > b.opts.Top {
		r.TopTalkers = r.TopTalkers[:b.opts.Top]
	}
}

func (b *Builder) finishMedia(r *Report) {
	acc := &b.flowMedia
	r.Media = acc.Media
	r.Media.Source = "flows"
	if b.calls != nil {
		acc = &b.callMedia
		r.Media = acc.Media
		r.Media.Source = "calls"
		c := b.calls.Calls
		c.EndReasons = sortedCounts(b.calls.reasons)
		c.Codecs = sortedCounts(b.calls.codecs)
		slices.SortFunc(c.Problems, func(a, b CallLine) int {
			return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.CallID, b.CallID))
		})
		if len(c.Problems) > b.opts.Top {
			c.Problems = c.Problems[:b.opts.Top]
		}
		c.Voice = b.calls.finishVoice(b.opts.Top)
		r.Calls = &c
	}
	seen := map[PortRange]bool{}
	for _, s := range b.sites {
		for _, pr := range s.media.ranges {
			if !seen[pr] {
				seen[pr] = true
				r.Media.Ranges = append(r.Media.Ranges, pr)
			}
		}
	}
	r.Media.Ports = binPorts(acc.judge(b.judgedOutside), r.Media.Ranges)
	r.Media.Examples = slices.Clone(r.Media.Examples)
	slices.SortFunc(r.Media.Examples, func(a, b MediaFlow) int {
		return cmp.Or(cmp.Compare(a.Issue, b.Issue), cmp.Compare(a.Site, b.Site), cmp.Compare(a.Flow, b.Flow), cmp.Compare(a.CallID, b.CallID))
	})
	if len(r.Media.Examples) > b.opts.Top {
		r.Media.Examples = r.Media.Examples[:b.opts.Top]
	}
}

// judge moves the endpoints a finding judged out of their documented
// range to the third group: port -> in a documented range, outside every
// range and not constrained, judged out of range.
func (m *mediaAcc) judge(judged map[netip.AddrPort]bool) map[uint16][3]int64 {
	out := make(map[uint16][3]int64, len(m.ports))
	for p, c := range m.ports {
		out[p] = [3]int64{c[0], c[1], 0}
	}
	for ap := range judged {
		e, ok := m.endpoints[ap]
		if !ok {
			continue
		}
		c := out[ap.Port()]
		c[0] -= e[0]
		c[1] -= e[1]
		c[2] += e[0] + e[1]
		out[ap.Port()] = c
	}
	return out
}

// binPorts bins observed ports for the chart over the span of the
// documented ranges and the observations, in at most 48 bins.
func binPorts(ports map[uint16][3]int64, ranges []PortRange) []PortBin {
	if len(ports) == 0 {
		return nil
	}
	lo, hi := 65535, 0
	for p := range ports {
		lo, hi = min(lo, int(p)), max(hi, int(p))
	}
	for _, r := range ranges {
		lo, hi = min(lo, int(r.Lo)), max(hi, int(r.Hi))
	}
	const bins = 48
	width := max((hi-lo+1+bins-1)/bins, 1)
	out := make([]PortBin, 0, bins)
	for start := lo; start <= hi; start += width {
		out = append(out, PortBin{Lo: uint16(start), Hi: uint16(min(start+width-1, 65535))})
	}
	for p, c := range ports {
		bin := &out[(int(p)-lo)/width]
		bin.InRange += c[0]
		bin.Unconstrained += c[1]
		bin.OutOfRange += c[2]
	}
	return out
}

func (b *Builder) finishTLS(r *Report) {
	r.TLS.Judged = b.opts.Catalog != nil
	for v, t := range b.tlsVers {
		r.TLS.Versions = append(r.TLS.Versions, TLSVersion{Version: v, Flows: t.flows, Servers: len(t.servers), Weak: slices.Contains(weakTLS, v)})
	}
	slices.SortFunc(r.TLS.Versions, func(a, b TLSVersion) int { return cmp.Compare(b.Version, a.Version) })
	for _, p := range b.plain {
		r.TLS.Plaintext += p.Flows
		r.TLS.PlaintextFlows = append(r.TLS.PlaintextFlows, *p)
	}
	slices.SortFunc(r.TLS.PlaintextFlows, func(a, b PlainFlow) int {
		return cmp.Or(cmp.Compare(b.Flows, a.Flows), cmp.Compare(a.Flow, b.Flow), cmp.Compare(a.EntryID, b.EntryID))
	})
	if len(r.TLS.PlaintextFlows) > b.opts.Top {
		r.TLS.PlaintextFlows = r.TLS.PlaintextFlows[:b.opts.Top]
	}
}

func (b *Builder) finishCapture(r *Report) {
	r.Capture = b.capture
	if r.Capture.Errors == nil {
		r.Capture.Errors = []string{}
	}
	for _, name := range slices.Sorted(maps.Keys(b.sensors)) {
		s := *b.sensors[name]
		if s.Name == "" {
			s.Name = "(unnamed)"
		}
		if s.LossRecorded {
			r.Capture.LossRecorded = true
			r.Capture.Received += s.Received
			r.Capture.Dropped += s.Dropped
		}
		r.Capture.Sensors = append(r.Capture.Sensors, s)
	}
}

// timelineOf buckets the findings by the time they were first seen in each
// file: hourly over up to three days, then coarser, at most 72 bars.
func (b *Builder) timelineOf(r *Report) Timeline {
	from, to := cmp.Or(r.Window.From, r.Data.From), cmp.Or(r.Window.To, r.Data.To)
	var t Timeline
	for _, k := range r.FindingsByKind {
		t.Kinds = append(t.Kinds, k.Name)
	}
	if from.IsZero() || len(b.timeline) == 0 {
		return t
	}
	step, name := time.Hour, "hour"
	for _, s := range []struct {
		d    time.Duration
		name string
	}{{6 * time.Hour, "6 hours"}, {24 * time.Hour, "day"}, {7 * 24 * time.Hour, "week"}} {
		if to.Sub(from) <= 72*step {
			break
		}
		step, name = s.d, s.name
	}
	t.Bucket = name
	start := from.Truncate(step)
	n := int(to.Sub(start)/step) + 1
	n = min(n, 400) // a window of years: the tail piles into the last bar
	for i := range n {
		t.Buckets = append(t.Buckets, TimelineBucket{Start: start.Add(time.Duration(i) * step), Counts: make([]int64, len(t.Kinds))})
	}
	for _, p := range b.timeline {
		i := min(max(int(p.at.Sub(start)/step), 0), n-1)
		t.Buckets[i].Counts[slices.Index(t.Kinds, p.kind)] += p.n
	}
	// A bucket that starts at the window's exclusive end is empty by
	// definition; drop it.
	if last := t.Buckets[n-1]; n > 1 && !last.Start.Before(to) && slices.Max(last.Counts) == 0 {
		t.Buckets = t.Buckets[:n-1]
	}
	return t
}

func (b *Builder) changes(r *Report) Changes {
	prev := b.opts.Previous
	if prev == nil {
		return Changes{Previous: cmp.Or(b.opts.PreviousNote, "no previous report given"), New: []Finding{}, Resolved: []Finding{}}
	}
	c := Changes{Compared: true, New: []Finding{}, Resolved: []Finding{},
		Previous: fmt.Sprintf("report generated %s for %s", prev.GeneratedAt.Format(time.RFC3339), windowText(prev.Window, prev.Data))}
	// A previous report written before finding_id keys its findings by
	// the legacy key: each side is matched under both forms.
	old := map[string]bool{}
	for _, g := range prev.Findings {
		old[g.Key] = true
	}
	now := map[string]bool{}
	for _, g := range r.Findings {
		now[g.Key], now[g.legacyKey()] = true, true
		if !old[g.Key] && !old[g.legacyKey()] {
			c.New = append(c.New, g)
		}
	}
	for _, g := range prev.Findings {
		if !now[g.Key] {
			g.SeverityRank = severityRankOf(g.Severity, g.SeverityRank)
			c.Resolved = append(c.Resolved, g)
		}
	}
	slices.SortFunc(c.Resolved, compareFindings)
	return c
}

// windowText renders the requested window, or the data's span when the
// window is open.
func windowText(w, data Window) string {
	from, to := cmp.Or(w.From, data.From), cmp.Or(w.To, data.To)
	if from.IsZero() {
		return "no data"
	}
	layout := "2006-01-02 15:04"
	if w.From.IsZero() || w.To.IsZero() {
		// The data's own span: a short capture needs the seconds.
		layout = "2006-01-02 15:04:05"
	}
	return from.UTC().Format(layout) + " to " + to.UTC().Format(layout+" UTC")
}

package verdict

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
)

// Finding is one row of findings.parquet: a problem, aggregated over the
// flows (or capture windows) that showed it.
type Finding struct {
	Kind     Kind
	Severity Severity
	// Proto is the IP protocol number; 0 when not applicable (a missing
	// entry over both TCP and UDP: Ports says "tcp+udp").
	Proto uint8
	// Src and Dst are the originator and responder hosts; the zero Addr
	// for missing and unobservable findings, which list HostPairs instead.
	Src, Dst netip.Addr
	// DstPort is the responder's port (ICMP: the counterpart type or code);
	// source ports are not kept, since they differ per attempt.
	DstPort                                        uint16
	Vendor, EntryID, FromRole, ToRole, App, Reason string
	// Names the parsers learnt, from the earliest flow that had them. For
	// dns-failure findings ServerName is the name whose lookups failed;
	// for media findings CallID is the first call that showed them.
	SNI, ServerName, CallID string
	// Count is the number of flows, or of capture windows for missing and
	// unobservable findings.
	Count               uint64
	FirstSeen, LastSeen int64 // unix nanoseconds
	// HostPairs are the inventory host pairs a missing entry is expected
	// between ("10.1.0.0/16 -> 10.0.0.10"), at most a few and a count.
	HostPairs []string
	// Ports are the ports a missing entry expects ("5597/tcp"), or the
	// entry's ports for other findings with an entry.
	Ports string

	// from is the flow the description (Reason, roles, App) came from,
	// and sniFrom, serverFrom and callFrom the flows the names came
	// from: always the earliest flow that had one, so what a row says
	// never depends on the order workers ended its flows in.
	from, sniFrom, serverFrom, callFrom origin
}

// origin identifies a flow by its first packet's time, then its key; the
// zero origin (a finding raised without a flow) comes after every flow.
type origin struct {
	first int64
	key   flow.Key
	set   bool
}

func originOf(f *flow.Flow) origin { return origin{first: f.First, key: f.Key, set: true} }

// before reports whether a flow of origin a came before one of origin b.
func (a origin) before(b origin) bool {
	if !a.set || !b.set {
		return a.set && !b.set
	}
	if a.first != b.first {
		return a.first < b.first
	}
	return a.key.Compare(b.key) < 0
}

// FindingsConfig bounds a Findings.
type FindingsConfig struct {
	// MaxFindings bounds the distinct findings kept (default 100000);
	// flows that would open a new one beyond it are counted in Dropped.
	MaxFindings int
}

// findingKey is what findings aggregate by. Findings raised without a
// flow (Raise) use the same key; dns-failure findings aggregate by name
// instead (Findings.dnsByName).
type findingKey struct {
	kind     Kind
	proto    uint8
	src, dst netip.Addr
	dport    uint16
	entry    *catalog.Entry
}

// Findings aggregates classified flows into findings and tracks which
// entries had a working flow, for the missing check at the end of each
// capture window. It is not safe for concurrent use: merge per-worker
// results by feeding one Findings, or guard it.
type Findings struct {
	c     *shared
	max   int
	byKey map[findingKey]int
	list  []Finding
	// sources counts, per target, the findings opened for one source
	// each; -1 once the target's findings became one row (manySources).
	sources map[targetKey]int
	// dnsByName indexes the dns-failure findings by failed name.
	dnsByName map[string]int
	dropped   uint64
	counts    [NumVerdicts]uint64

	// Per entry in scope (entryInfo.idx), for the current window.
	blocked []uint64
	// worked holds the host pairs seen working per tracked entry
	// (entryInfo.track), for the current window.
	worked  map[trackedPair]struct{}
	flows   uint64 // flows observed in the window
	winFrom int64
	winTo   int64
}

// NewFindings returns an empty aggregator for flows judged by c (or its
// clones).
func NewFindings(c *Classifier, cfg FindingsConfig) *Findings {
	if cfg.MaxFindings <= 0 {
		cfg.MaxFindings = 100000
	}
	n := len(c.shared.entries)
	return &Findings{
		c: c.shared, max: cfg.MaxFindings, byKey: make(map[findingKey]int), sources: make(map[targetKey]int),
		blocked: make([]uint64, n), worked: make(map[trackedPair]struct{}),
	}
}

// Observe accounts one classified flow. It allocates only when the flow
// opens a new finding.
//
// A flow whose Result.Kind is not tls-version-too-old but that shows a TLS
// version below 1.2 (an unexpected flow speaking TLS 1.0) also counts
// towards a tls-version-too-old finding without an entry: a Result holds
// one kind, and an old version is a finding wherever it is seen.
func (fs *Findings) Observe(f *flow.Flow, r *Result) {
	fs.counts[r.Verdict]++
	fs.flows++
	if fs.winFrom == 0 || f.First < fs.winFrom {
		fs.winFrom = f.First
	}
	if f.Last > fs.winTo {
		fs.winTo = f.Last
	}
	switch r.Verdict {
	case Expected, Negotiated:
		if f.Established() && fs.c.scope != nil {
			fs.markWorking(f, r)
		}
	case Blocked:
		for _, e := range r.Matches {
			fs.blocked[fs.c.info[e].idx]++
		}
	}
	if r.Kind != "" {
		k := flowKey(f, r)
		fs.observe(k, occurrence(k, f, r.Severity, r.Reason, r))
	}
	if fs.c.raisesTooOld(f, r) {
		k, g := fs.c.tooOldFinding(f, r)
		fs.observe(k, g)
	}
}

// TooOld is the tls-version-too-old finding flow f raises beside its
// verdict r (Findings.Observe records it): a version below TLS 1.2 (RFC
// 8996), unless r's own finding is already about the version or the flow
// is ignored. Whoever alerts or counts what a flow raised takes it from
// here, so the rule is written once.
func (c *Classifier) TooOld(f *flow.Flow, r *Result) (Finding, bool) {
	if !c.shared.raisesTooOld(f, r) {
		return Finding{}, false
	}
	_, g := c.shared.tooOldFinding(f, r)
	return g, true
}

// RaisesTooOld reports whether flow f raises the finding TooOld returns,
// without building it: most flows do not, and a Finding is large.
func (c *Classifier) RaisesTooOld(f *flow.Flow, r *Result) bool { return c.shared.raisesTooOld(f, r) }

func (s *shared) raisesTooOld(f *flow.Flow, r *Result) bool {
	if r.Kind == KindTLSTooOld || r.Verdict == Ignored {
		return false
	}
	v, _ := tlsVersionOf(f.Meta)
	return v != 0 && tlsRank(v) < minTLS
}

// tooOldFinding builds the finding of a flow raisesTooOld accepted.
func (s *shared) tooOldFinding(f *flow.Flow, r *Result) (findingKey, Finding) {
	v, offered := tlsVersionOf(f.Meta)
	k := findingKey{kind: KindTLSTooOld, proto: f.Key.Proto(), src: f.Src().Addr(), dst: f.Dst().Addr(), dport: f.Dst().Port()}
	g := occurrence(k, f, High, tooOldReason(s.tooOld, v, offered), nil)
	g.FromRole, g.ToRole = r.FromRole, r.ToRole
	return k, g
}

// trackedPair is a host pair an entry (its entryInfo.track) worked between.
type trackedPair struct {
	track int
	pair  hostPair
}

// markWorking records the inventory host pairs of a working flow, From
// side first, for each entry that allows it and is checked for missing
// flows.
func (fs *Findings) markWorking(f *flow.Flow, r *Result) {
	sc := fs.c.scope
	var src, dst []int32
	var srcRoles []catalog.RoleID
	for _, e := range r.Matches {
		in := fs.c.info[e]
		lead := in
		if in.track != in.idx {
			lead = fs.c.info[fs.c.entries[in.track]]
		}
		if !lead.inScope {
			continue
		}
		if src == nil && dst == nil {
			src, dst = sc.HostsOf(f.Src().Addr()), sc.HostsOf(f.Dst().Addr())
			srcRoles = sc.RolesOf(f.Src().Addr())
			if len(dst) == 0 {
				sni, server := names(f)
				for _, n := range [2]string{sni, server} {
					if h, ok := sc.HostOfName(n); ok && n != "" {
						dst = []int32{h}
						break
					}
				}
			}
			// Required pairs are between same_hosts groups, each by
			// the host that stands for it.
			src, dst = canonHosts(sc, src), canonHosts(sc, dst)
		}
		// The originator is on the From side unless only the To side
		// has its role (a both-way entry opened by the To side, or a
		// responder seen first).
		_, fromSrc := pick(in.qfrom, srcRoles)
		for _, a := range src {
			for _, b := range dst {
				p := hostPair{a, b}
				if !fromSrc {
					p = p.reversed()
				}
				k := trackedPair{in.track, p}
				if _, ok := fs.worked[k]; !ok {
					fs.worked[k] = struct{}{}
				}
			}
		}
	}
}

// canonHosts returns hosts with each replaced by the host that stands for
// its same_hosts group; hosts itself when none is grouped, as on most
// sites, so a flow costs no allocation.
func canonHosts(sc *catalog.Scope, hosts []int32) []int32 {
	for i, h := range hosts {
		if sc.Canon(h) != h {
			out := slices.Clone(hosts[:i])
			for _, h := range hosts[i:] {
				if c := sc.Canon(h); !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
			return out
		}
	}
	return hosts
}

// manySources is how many sources one target (kind, protocol, destination,
// port and entry) may show in rows of their own. Past it, the target's
// findings become one row without a source: a scan or a flood from random
// addresses costs one row instead of filling the table, and since every
// source's row goes into it, which sources had rows never depends on the
// order flows were observed in.
const manySources = 100

// manySourcesNote ends the reason of a target's one row for all sources.
var manySourcesNote = fmt.Sprintf(" (more than %d sources: one row for all of them)", manySources)

// targetKey is a findingKey without its source.
type targetKey struct {
	kind  Kind
	proto uint8
	dst   netip.Addr
	dport uint16
	entry *catalog.Entry
}

func targetOf(k findingKey) targetKey {
	return targetKey{kind: k.kind, proto: k.proto, dst: k.dst, dport: k.dport, entry: k.entry}
}

// observe counts the occurrence g of the finding k: it opens the finding
// or is absorbed into it.
func (fs *Findings) observe(k findingKey, g Finding) {
	perSource := k.src.IsValid()
	var tk targetKey
	if perSource {
		tk = targetOf(k)
		switch n := fs.sources[tk]; {
		case n < 0:
			k.src = netip.Addr{}
		case n >= manySources:
			if _, ok := fs.byKey[k]; !ok {
				fs.collapse(tk)
				k.src = netip.Addr{}
			}
		}
		if !k.src.IsValid() {
			g.Src = netip.Addr{}
			g.Reason += manySourcesNote
		}
	}
	if i, ok := fs.byKey[k]; ok {
		fs.list[i].absorb(&g)
		return
	}
	if len(fs.list) >= fs.max {
		fs.dropped++
		return
	}
	if k.entry != nil {
		g.Ports = fs.c.info[k.entry].portsLabel
	}
	if perSource && k.src.IsValid() {
		fs.sources[tk]++
	}
	fs.byKey[k] = len(fs.list)
	fs.list = append(fs.list, g)
}

// flowKey is the key of the finding r gives flow f: the flow's endpoints,
// swapped when the finding is about the originator (r.flip).
func flowKey(f *flow.Flow, r *Result) findingKey {
	src, dst := f.Src(), f.Dst()
	if r.flip {
		src, dst = dst, src
	}
	return findingKey{kind: r.Kind, proto: f.Key.Proto(), src: src.Addr(), dst: dst.Addr(), dport: dst.Port(), entry: r.FindingEntry()}
}

// FlowFinding is the finding one judged flow shows on its own, as
// Findings.Observe opens it: Count 1, the flow's times and names, the
// result's kind, severity, reason, entry, roles and app, with source and
// destination (and roles) swapped when the finding is about the
// originator. Ports, which only a Findings knows, are empty. It is the
// zero Finding when r has no finding kind. Sinks that report each
// occurrence (the alert feed) build from it what findings.parquet
// aggregates.
func FlowFinding(f *flow.Flow, r *Result) Finding {
	if r.Kind == "" {
		return Finding{}
	}
	return occurrence(flowKey(f, r), f, r.Severity, r.Reason, r)
}

// occurrence is flow f as one occurrence of the finding k, described by
// r (nil: no entry, roles or app but the flow's own).
func occurrence(k findingKey, f *flow.Flow, sev Severity, reason string, r *Result) Finding {
	sni, server := names(f)
	g := Finding{
		Kind: k.kind, Severity: sev, Proto: k.proto, Src: k.src, Dst: k.dst, DstPort: k.dport,
		Reason: reason, SNI: sni, ServerName: server, CallID: callIDOf(f, r),
		Count: 1, FirstSeen: f.First, LastSeen: f.Last,
	}
	o := originOf(f)
	g.from = o
	if g.SNI != "" {
		g.sniFrom = o
	}
	if g.ServerName != "" {
		g.serverFrom = o
	}
	if g.CallID != "" {
		g.callFrom = o
	}
	if r != nil {
		g.Vendor, g.EntryID, g.FromRole, g.ToRole, g.App = r.FindingVendor(), r.FindingEntryID(), r.FromRole, r.ToRole, r.App
		if r.flip {
			g.FromRole, g.ToRole = g.ToRole, g.FromRole
		}
	} else if f.Meta != nil {
		g.App = f.Meta.App
	}
	return g
}

// callIDOf is the Call-ID a finding of flow f names: the result's, which
// holds the flow's own when a parser set one, or without a result the
// flow's.
func callIDOf(f *flow.Flow, r *Result) string {
	if r != nil {
		return r.CallID
	}
	if f.Meta != nil {
		return f.Meta.CallID
	}
	return ""
}

// collapse merges the per-source findings of target tk into one row
// without a source, which takes the target's later flows too.
func (fs *Findings) collapse(tk targetKey) {
	merged := make(map[int]bool)
	for k, i := range fs.byKey {
		if k.src.IsValid() && targetOf(k) == tk {
			merged[i] = true
			delete(fs.byKey, k)
		}
	}
	var agg Finding
	moved := make([]int, len(fs.list)) // old index -> new index
	keep := fs.list[:0]
	for i := range fs.list {
		g := fs.list[i]
		if !merged[i] {
			moved[i] = len(keep)
			keep = append(keep, g)
			continue
		}
		g.Src = netip.Addr{}
		g.Reason += manySourcesNote
		if agg.Count == 0 {
			agg = g
			continue
		}
		agg.absorb(&g)
	}
	clear(fs.list[len(keep):])
	fs.list = keep
	for k, i := range fs.byKey {
		fs.byKey[k] = moved[i]
	}
	for name, i := range fs.dnsByName {
		fs.dnsByName[name] = moved[i]
	}
	if agg.Count > 0 {
		fs.byKey[findingKey{kind: tk.kind, proto: tk.proto, dst: tk.dst, dport: tk.dport, entry: tk.entry}] = len(fs.list)
		fs.list = append(fs.list, agg)
	}
	fs.sources[tk] = -1
}

const (
	reasonMissing        = "required by the catalog; no working flow seen between these hosts in the capture window"
	reasonMissingBlocked = "required by the catalog; every attempt seen in the capture window failed (see the blocked findings)"
)

// Finish closes a capture window ending at now (unix ns; 0 means the last
// packet seen): every required entry in scope with a host pair that had no
// working flow in the window becomes a missing finding, one per entry,
// listing the silent pairs and how many worked; or an unobservable one
// when the auditor cannot see the entry on the wire. An entry of a OneOf
// group is judged with its alternatives: a pair is missing only when none
// of them worked there. Tracking then restarts for the next window. It
// does nothing in port-only mode (missing needs the inventory's hosts) or
// when the window saw no flow at all, since an idle capture proves nothing
// missing.
func (fs *Findings) Finish(now int64) {
	defer fs.resetWindow()
	if fs.c.inv == nil || fs.flows == 0 {
		return
	}
	if now == 0 {
		now = fs.winTo
	}
	reached := fs.reachedHosts()
	for _, e := range fs.c.entries {
		in := fs.c.info[e]
		if !in.inScope {
			continue
		}
		var kind Kind
		var sev Severity
		var reason string
		var pairs []string
		if in.unobservable != "" {
			kind, sev, reason = KindUnobservable, Info, in.unobservable
			pairs = fs.describePairs(e, in.pairs)
			for _, n := range in.needs {
				pairs = append(pairs, fs.describeNeeds(e, []int32{n.host})...)
			}
		} else {
			missing, peersMissing, total, worked := fs.missingPairs(e, in, reached)
			if len(missing)+len(peersMissing) == 0 {
				continue
			}
			kind, sev, reason = KindMissing, Medium, reasonMissing
			if worked == 0 && fs.blockedOf(in) > 0 {
				sev, reason = High, reasonMissingBlocked
			}
			reason += fmt.Sprintf(" (%d of %d host pairs never seen working, %d worked)", len(missing)+len(peersMissing), total, worked)
			if len(in.alternatives) > 0 {
				reason += "; alternatives, any one of which suffices per pair: " + strings.Join(in.alternatives, ", ")
			}
			pairs = fs.describePairs(e, missing)
			pairs = append(pairs, fs.describeNeeds(e, peersMissing)...)
		}
		if len(pairs) > maxHostPairs {
			pairs = append(pairs[:maxHostPairs:maxHostPairs], fmt.Sprintf("(+%d more pairs)", len(pairs)-maxHostPairs))
		}
		k := findingKey{kind: kind, entry: e}
		if i, ok := fs.byKey[k]; ok {
			g := &fs.list[i]
			g.Count++
			g.FirstSeen = min(g.FirstSeen, fs.winFrom)
			g.LastSeen = max(g.LastSeen, now)
			g.Severity = max(g.Severity, sev)
			g.Reason, g.HostPairs = reason, pairs
			continue
		}
		fs.byKey[k] = len(fs.list)
		fs.list = append(fs.list, Finding{
			Kind: kind, Severity: sev, Proto: protoOf(e.Transport),
			Vendor: e.Vendor, EntryID: e.ID, FromRole: in.from, ToRole: in.to, App: e.App,
			Reason: reason, Count: 1, FirstSeen: fs.winFrom, LastSeen: now,
			HostPairs: pairs, Ports: in.portsLabel,
		})
	}
}

// missingPairs returns the required pairs of a tracked entry with no
// working flow in the window, the hosts of its needs without any working
// pair, and how many pairs (a need counting one) there are and worked.
// reached holds the hosts with a working flow of each tracked entry.
func (fs *Findings) missingPairs(e *catalog.Entry, in *entryInfo, reached map[trackedHost]bool) (missing []hostPair, needy []int32, total, worked int) {
	has := func(p hostPair) bool {
		if _, ok := fs.worked[trackedPair{in.track, p}]; ok {
			return true
		}
		_, ok := fs.worked[trackedPair{in.track, p.reversed()}]
		return ok
	}
	for _, p := range in.pairs {
		if has(p) {
			worked++
		} else {
			missing = append(missing, p)
		}
	}
	total = len(in.pairs) + len(in.needs)
	var peered map[int32]bool
	for _, n := range in.needs {
		var ok bool
		if in.peers[n.host] {
			if peered == nil {
				peered = fs.peered(in)
			}
			ok = peered[n.host]
		} else {
			// The need's host on the entry's To side is forward; on its
			// From side only a both-way entry allows it.
			ok = e.Direction.Fit(reached[trackedHost{in.track, n.host, true}], reached[trackedHost{in.track, n.host, false}]).Allowed()
		}
		if ok {
			worked++
		} else {
			needy = append(needy, n.host)
		}
	}
	return missing, needy, total, worked
}

// peered returns the peers of a tracked entry with a working pair with
// another peer in the window.
func (fs *Findings) peered(in *entryInfo) map[int32]bool {
	out := make(map[int32]bool)
	for k := range fs.worked {
		if k.track == in.track && in.peers[k.pair.a] && in.peers[k.pair.b] {
			out[k.pair.a], out[k.pair.b] = true, true
		}
	}
	return out
}

// trackedHost is a host with a working flow of a tracked entry, on the
// entry's To side (to) or its From side.
type trackedHost struct {
	track int
	host  int32
	to    bool
}

// reachedHosts indexes the window's working pairs by host.
func (fs *Findings) reachedHosts() map[trackedHost]bool {
	out := make(map[trackedHost]bool, 2*len(fs.worked))
	for k := range fs.worked {
		out[trackedHost{k.track, k.pair.a, false}] = true
		out[trackedHost{k.track, k.pair.b, true}] = true
	}
	return out
}

// describePairs writes host pairs as "from -> to" in the entry's
// direction ("<->" for both-way entries).
func (fs *Findings) describePairs(e *catalog.Entry, pairs []hostPair) []string {
	sc := fs.c.scope
	arrow := " -> "
	if e.Direction == catalog.BothWays {
		arrow = " <-> "
	}
	out := make([]string, 0, len(pairs))
	for _, p := range pairs {
		out = append(out, sc.HostLabel(p.a)+arrow+sc.HostLabel(p.b))
	}
	return out
}

// describeNeeds writes the hosts of needs with no working pair: "h <->
// any peer" (Peers any), "any of <from roles> -> h" (Peers any-from).
func (fs *Findings) describeNeeds(e *catalog.Entry, hosts []int32) []string {
	sc := fs.c.scope
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if e.Peers == "any-from" {
			out = append(out, "any "+fs.c.info[e].from+" -> "+sc.HostLabel(h))
			continue
		}
		out = append(out, sc.HostLabel(h)+" <-> any peer")
	}
	return out
}

// blockedOf counts the failed attempts of an entry and its alternatives.
func (fs *Findings) blockedOf(in *entryInfo) uint64 {
	n := fs.blocked[in.idx]
	for _, id := range in.alternatives {
		n += fs.blocked[fs.c.info[fs.c.byID[id]].idx]
	}
	return n
}

func (fs *Findings) resetWindow() {
	clear(fs.worked)
	clear(fs.blocked)
	fs.flows, fs.winFrom, fs.winTo = 0, 0, 0
}

func protoOf(t catalog.Transport) uint8 {
	switch t {
	case catalog.TCP:
		return flow.ProtoTCP
	case catalog.UDP:
		return flow.ProtoUDP
	case catalog.ICMP:
		return flow.ProtoICMP
	}
	return 0
}

// Counts returns the number of flows observed per verdict, indexed by
// Verdict.
func (fs *Findings) Counts() [NumVerdicts]uint64 { return fs.counts }

// Dropped is the number of flows that would have opened a finding beyond
// MaxFindings.
func (fs *Findings) Dropped() uint64 { return fs.dropped }

// Len is the number of distinct findings.
func (fs *Findings) Len() int { return len(fs.list) }

// All returns a copy of every finding, most severe first, then by kind,
// count (descending), entry and 5-tuple, so the order is deterministic.
func (fs *Findings) All() []Finding {
	out := slices.Clone(fs.list)
	slices.SortFunc(out, compareFindings)
	return out
}

// Top returns the n findings of kind with the highest counts, ties in the
// order of All.
func (fs *Findings) Top(kind Kind, n int) []Finding {
	// Sort indices, not the findings: a flood can leave 100,000 of them,
	// and copying each while sorting dominated the cost.
	var idx []int32
	for i := range fs.list {
		if fs.list[i].Kind == kind {
			idx = append(idx, int32(i))
		}
	}
	slices.SortFunc(idx, func(i, j int32) int {
		a, b := &fs.list[i], &fs.list[j]
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return compareFindings(*a, *b)
	})
	if len(idx) > n {
		idx = idx[:n]
	}
	out := make([]Finding, len(idx))
	for k, i := range idx {
		out[k] = fs.list[i]
	}
	return out
}

// absorb counts the occurrences h into g. The description and each name
// come from the earliest flow that had one, so the result is the same in
// whichever order the occurrences come; roles that differ between the
// flows (sources of a many-sources row) are left empty.
func (g *Finding) absorb(h *Finding) {
	g.Count += h.Count
	g.FirstSeen, g.LastSeen = min(g.FirstSeen, h.FirstSeen), max(g.LastSeen, h.LastSeen)
	g.Severity = max(g.Severity, h.Severity)
	fromRole, toRole := g.FromRole, g.ToRole
	if h.from.before(g.from) {
		g.Reason, g.Vendor, g.EntryID, g.App, g.from = h.Reason, h.Vendor, h.EntryID, h.App, h.from
	}
	if fromRole != h.FromRole {
		fromRole = ""
	}
	if toRole != h.ToRole {
		toRole = ""
	}
	g.FromRole, g.ToRole = fromRole, toRole
	takeName(&g.SNI, &g.sniFrom, h.SNI, h.sniFrom)
	takeName(&g.ServerName, &g.serverFrom, h.ServerName, h.serverFrom)
	takeName(&g.CallID, &g.callFrom, h.CallID, h.callFrom)
}

// takeName sets *name to v when v is set and came from an earlier flow
// than *name (or *name is empty).
func takeName(name *string, from *origin, v string, vFrom origin) {
	if v != "" && (*name == "" || vFrom.before(*from)) {
		*name, *from = v, vFrom
	}
}

// fillNames takes from g the names f lacks when two findings merge into
// one: the first flow that knew its server's name or call names the row.
func (f *Finding) fillNames(g *Finding) {
	if f.SNI == "" {
		f.SNI = g.SNI
	}
	if f.ServerName == "" {
		f.ServerName = g.ServerName
	}
	if f.CallID == "" {
		f.CallID = g.CallID
	}
}

func compareFindings(a, b Finding) int {
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Count, a.Count); c != 0 {
		return c
	}
	if c := cmp.Compare(a.EntryID, b.EntryID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Proto, b.Proto); c != 0 {
		return c
	}
	if c := a.Src.Compare(b.Src); c != 0 {
		return c
	}
	if c := a.Dst.Compare(b.Dst); c != 0 {
		return c
	}
	if c := cmp.Compare(a.DstPort, b.DstPort); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ServerName, b.ServerName); c != 0 {
		return c
	}
	return cmp.Compare(a.CallID, b.CallID)
}

package verdict

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"slices"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/sipcall"
)

// MediaMatcher is the hook through which SIP/SDP signalling vouches for
// media flows. The SIP analysis implements it: MatchMedia reports whether
// the flow's endpoints were negotiated in an SDP offer/answer it has seen,
// and the Call-ID of that call. It is asked about UDP flows only, before
// any port test, and must not allocate: it runs once per flow.
type MediaMatcher interface {
	MatchMedia(f *flow.Flow) (callID string, ok bool)
}

// Config configures a Classifier.
type Config struct {
	// Catalog holds the vendor entries; required.
	Catalog *catalog.Catalog
	// Inventory describes the site. Nil selects port-only mode: flows are
	// matched by transport and port alone and every verdict says so.
	Inventory *catalog.Inventory
	// Vendors restricts matching to these vendor IDs. Empty means every
	// catalog vendor in port-only mode, and the inventory's vendors with
	// an inventory (where a non-empty list narrows them further).
	Vendors []string
	// Media is the signalling hook for negotiated media; nil when no SIP
	// analysis runs.
	Media MediaMatcher
	// Expect narrows the missing check to the required entries whose ID
	// matches one of these patterns (path.Match syntax: an exact ID, or
	// "genesys-pureconnect/notifier-*"). Empty checks every required entry
	// in scope. Vendor documents mark most flows required, including
	// management interfaces a site may never use; a site states here the
	// ones it relies on. A pattern matching no entry in scope is an error.
	Expect []string
	// TLSInspected says that the TLS dissector (classify/names.TLS) ran
	// on every TCP flow: it reads each flow's first payload and labels
	// every handshake, so a TCP flow that exchanged data without a "tls"
	// label did not start with TLS. Only then are the
	// plaintext-on-tls-port and not-tls-on-https-port findings raised;
	// without the dissector an unlabelled flow proves nothing.
	TLSInspected bool
}

// Classifier judges flows. It is a pure function of (flow, catalog,
// inventory, media matcher): the same flow always gets the same Result.
//
// A Classifier is not safe for concurrent use, because it keeps scratch
// space so that Classify allocates nothing; give each worker its own with
// Clone, which shares the immutable index.
type Classifier struct {
	shared  *shared
	scratch []*catalog.Entry
	// joined caches the comma-joined role list of each inventory address
	// segment, keyed by the shared slice's first element.
	joined map[*string]string
	// named and onPort memoize, per responder name and per transport and
	// port, the index's answers that every flow of the same name or port
	// would otherwise recompute: a site's flows go to a handful of names
	// and service ports. Both are bounded (memoLimit).
	named  map[string][]*catalog.Entry
	onPort map[uint32][]*catalog.Entry
}

// memoLimit bounds each of a Classifier's memo maps: past it a map is
// emptied and fills again with the names and ports still in use (source
// ports of reply-first UDP flows are many).
const memoLimit = 4096

// newClassifier is a Classifier over s with its own scratch space.
func newClassifier(s *shared) *Classifier {
	return &Classifier{shared: s, scratch: make([]*catalog.Entry, 0, 64), joined: make(map[*string]string),
		named: make(map[string][]*catalog.Entry), onPort: make(map[uint32][]*catalog.Entry)}
}

// matchFQDN returns the entries with an FQDN pattern matching name
// (Index.MatchFQDN), memoized by name. The slice is shared: do not modify.
func (c *Classifier) matchFQDN(name string) []*catalog.Entry {
	if hits, ok := c.named[name]; ok {
		return hits
	}
	var hits []*catalog.Entry
	if c.scratch = c.shared.ix.MatchFQDN(name, c.scratch[:0]); len(c.scratch) > 0 {
		hits = slices.Clone(c.scratch)
	}
	if len(c.named) >= memoLimit {
		clear(c.named)
	}
	c.named[name] = hits
	return hits
}

// portOnlyEntries returns the entries a flow to or from port is
// expected by in port-only mode: those on port whose narrow range holds
// it, not negotiated media (whose ranges span thousands of ports: without
// roles any high-port UDP flow would look like media). Memoized by
// transport and port; the slice is shared: do not modify.
func (c *Classifier) portOnlyEntries(proto uint8, port uint16) []*catalog.Entry {
	k := uint32(proto)<<16 | uint32(port)
	if hits, ok := c.onPort[k]; ok {
		return hits
	}
	s := c.shared
	var hits []*catalog.Entry
	c.scratch = s.ix.Lookup(proto, port, c.scratch[:0])
	for _, e := range c.scratch {
		if in := s.info[e]; !in.ports.Dynamic && in.narrow.Contains(port) {
			hits = append(hits, e)
		}
	}
	if len(c.onPort) >= memoLimit {
		clear(c.onPort)
	}
	c.onPort[k] = hits
	return hits
}

// shared is the immutable part of a Classifier.
type shared struct {
	cat *catalog.Catalog
	inv *catalog.Inventory
	// scope is the inventory resolved against the catalog: vendor-scoped
	// roles, numbered, so an entry only matches roles of its own vendor.
	scope   *catalog.Scope
	media   MediaMatcher
	ix      *catalog.Index
	entries []*catalog.Entry // in scope, index order
	info    map[*catalog.Entry]*entryInfo
	icmp    []*catalog.Entry
	vendors []string
	byID    map[string]*catalog.Entry

	tlsInspected bool
	// mediaEntries are the UDP entries in scope that state where media
	// may flow: app rtp, rtcp or udptl, and the site's allow rules.
	mediaEntries []*catalog.Entry
	// mediaPorts is, for port-only mode, the union of every media range
	// in scope; nil when the check cannot be made there (see
	// portOnlyMediaPorts).
	mediaPorts *portBitmap
	// tooOld are the reasons for versions below the global minimum.
	tooOld []oldTLS
}

// NewClassifier builds a classifier and its index.
func NewClassifier(cfg Config) (*Classifier, error) {
	if err := checkConfig(&cfg); err != nil {
		return nil, err
	}
	s := &shared{cat: cfg.Catalog, inv: cfg.Inventory, media: cfg.Media, info: make(map[*catalog.Entry]*entryInfo),
		byID: make(map[string]*catalog.Entry), tlsInspected: cfg.TLSInspected, tooOld: tooOldReasons(minTLS, "")}
	if err := s.selectEntries(cfg.Vendors); err != nil {
		return nil, err
	}
	if s.inv != nil {
		scope, err := catalog.NewScope(cfg.Catalog, s.inv)
		if err != nil {
			return nil, fmt.Errorf("verdict: %w", err)
		}
		s.scope = scope
	}
	s.collectVendors()
	ports := s.portsOf()
	s.ix = catalog.NewIndex(s.entries, catalog.WithPorts(ports))
	if err := checkExpect(cfg.Expect, s.entries); err != nil {
		return nil, err
	}
	s.describeEntries(cfg.Expect, ports)
	if s.inv == nil {
		s.mediaPorts = portOnlyMediaPorts(s.mediaEntries)
	}
	s.groupAlternatives()
	return newClassifier(s), nil
}

// checkConfig refuses a configuration without a catalog or naming a
// vendor the catalog does not have.
func checkConfig(cfg *Config) error {
	if cfg.Catalog == nil {
		return errors.New("verdict: no catalog")
	}
	for _, v := range cfg.Vendors {
		if _, ok := cfg.Catalog.Vendor(v); !ok {
			return fmt.Errorf("verdict: vendor %q is not in the catalog", v)
		}
	}
	return nil
}

// selectEntries puts in scope the catalog entries of the chosen vendors
// (all, without a choice) that the site deploys, then the site's allow
// rules. None in scope is an error: nothing could be judged.
func (s *shared) selectEntries(vendors []string) error {
	inScope := func(vendor string) bool {
		if len(vendors) > 0 && !slices.Contains(vendors, vendor) {
			return false
		}
		return s.inv == nil || s.inv.Deploys(vendor)
	}
	for _, e := range s.cat.Entries() {
		if inScope(e.Vendor) {
			s.entries = append(s.entries, e)
		}
	}
	if s.inv != nil {
		// Site allow rules apply whatever --vendor says: they are the
		// site's own statement of what is allowed.
		s.entries = append(s.entries, s.inv.Allowed...)
	}
	if len(s.entries) == 0 {
		return errors.New("verdict: no catalog entry is in scope (check --vendor against the inventory's vendors)")
	}
	return nil
}

// collectVendors lists the vendors of the entries in scope, in entry
// order.
func (s *shared) collectVendors() {
	for _, e := range s.entries {
		if !slices.Contains(s.vendors, e.Vendor) {
			s.vendors = append(s.vendors, e.Vendor)
		}
	}
}

// portsOf is how an entry's ports are read: as the catalog says, or with
// the inventory's overrides.
func (s *shared) portsOf() func(*catalog.Entry) catalog.PortSet {
	if s.inv != nil {
		return s.inv.EffectivePorts
	}
	return func(e *catalog.Entry) catalog.PortSet { return e.Ports }
}

// checkExpect refuses an expect pattern that is malformed or matches no
// entry in scope: a typo would otherwise silence every missing finding.
func checkExpect(expect []string, entries []*catalog.Entry) error {
	for _, p := range expect {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("verdict: expect pattern %q: %w", p, err)
		}
		if !slices.ContainsFunc(entries, func(e *catalog.Entry) bool { return matchAny([]string{p}, e.ID) }) {
			return fmt.Errorf("verdict: expect pattern %q matches no entry in scope", p)
		}
	}
	return nil
}

// describeEntries builds each entry's judging state (its roles in the
// site, whether it is expected) and sorts the entries the ICMP and media
// checks look at.
func (s *shared) describeEntries(expect []string, ports func(*catalog.Entry) catalog.PortSet) {
	for i, e := range s.entries {
		in := newEntryInfo(e, i, ports(e), s.media != nil)
		if s.scope != nil {
			in.qfrom, in.qto, _ = s.scope.EntryRoles(e)
			if len(expect) == 0 || matchAny(expect, e.ID) {
				in.scopeInventory(e, s.scope)
			}
		}
		s.info[e] = in
		s.byID[e.ID] = e
		if e.Transport&catalog.ICMP != 0 {
			s.icmp = append(s.icmp, e)
		}
		if e.Transport.Matches(flow.ProtoUDP) && (sipcall.IsMediaApp(e.App) || e.Vendor == catalog.SiteVendor) {
			s.mediaEntries = append(s.mediaEntries, e)
		}
	}
}

// groupAlternatives makes the first in-scope entry of each OneOf group its
// leader: the members record their working pairs under it, and it alone
// is judged missing, over the union of their pairs. A pair is then missing
// only when no alternative worked between its hosts.
func (s *shared) groupAlternatives() {
	leaders := make(map[[2]string]*entryInfo)
	for _, e := range s.entries {
		in := s.info[e]
		if e.OneOf == "" || !in.inScope || in.unobservable != "" {
			continue
		}
		k := [2]string{e.Vendor, e.OneOf}
		lead, ok := leaders[k]
		if !ok {
			leaders[k] = in
			continue
		}
		in.track = lead.idx
		in.inScope = false
		lead.alternatives = append(lead.alternatives, e.ID)
		for _, p := range in.pairs {
			if !slices.Contains(lead.pairs, p) {
				lead.pairs = append(lead.pairs, p)
			}
		}
		for _, n := range in.needs {
			if !slices.Contains(lead.needs, n) {
				lead.needs = append(lead.needs, n)
			}
		}
		for h := range in.peers {
			if lead.peers == nil {
				lead.peers = make(map[int32]bool)
			}
			lead.peers[h] = true
		}
	}
}

func matchAny(patterns []string, id string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, id); ok {
			return true
		}
	}
	return false
}

// Clone returns a classifier sharing c's index, for another goroutine.
func (c *Classifier) Clone() *Classifier {
	return newClassifier(c.shared)
}

// PortOnly reports whether the classifier runs without an inventory.
func (c *Classifier) PortOnly() bool { return c.shared.inv == nil }

// Vendors lists the vendors whose entries are in scope ("site" for the
// inventory's allow rules), in catalog order.
func (c *Classifier) Vendors() []string { return slices.Clone(c.shared.vendors) }

// Entries returns the entries in scope. The slice is shared: do not modify.
func (c *Classifier) Entries() []*catalog.Entry { return c.shared.entries }

// Reasons that do not depend on an entry.
const (
	reasonIgnored          = "silenced by an inventory ignore rule"
	reasonICMPError        = "ICMP error message: judged with the flow it quotes"
	reasonICMPv6Link       = "ICMPv6 neighbour discovery or multicast listener traffic: link plumbing"
	reasonOtherProto       = "no catalog entry uses this IP protocol"
	reasonNoICMPEntry      = "no catalog entry allows ICMP between these hosts"
	reasonPortOnlyNoEntry  = "port-only (no inventory): no catalog entry covers this port"
	reasonPortOnlyNoICMP   = "port-only (no inventory): no catalog entry allows ICMP"
	reasonPortOnlyICMP     = "port-only (no inventory): a catalog entry allows ICMP"
	reasonBothUnknown      = "neither host is in the inventory"
	reasonSrcUnknown       = "the originator is not in the inventory"
	reasonDstUnknown       = "the responder is not in the inventory"
	reasonNotInCatalog     = "no catalog entry allows this port between these hosts' roles"
	reasonNegotiated       = "media negotiated in SIP/SDP signalling"
	reasonNegotiatedNoRole = "media negotiated in SIP/SDP signalling; no catalog entry covers these hosts' roles"
)

// failure is how an attempt failed.
type failure uint8

const (
	noFailure failure = iota
	failS0
	failREJ
	failSH
	failUnreach
	numFailures
)

var blockedReasons = [numFailures]string{
	failS0:      "tcp SYN never answered (S0): dropped on the way or host down",
	failREJ:     "tcp SYN answered by RST (REJ): nothing listens or a firewall rejects",
	failSH:      "tcp SYN never answered, then a FIN without ACK (SH)",
	failUnreach: "udp answered only by ICMP destination unreachable",
}

var unexpectedFailedReasons = [numFailures]string{
	failS0:      "unexpected attempt, never answered (S0): no catalog entry allows it between these hosts",
	failREJ:     "unexpected attempt, answered by RST (REJ): no catalog entry allows it between these hosts",
	failSH:      "unexpected attempt, never answered (SH): no catalog entry allows it between these hosts",
	failUnreach: "unexpected attempt, answered by ICMP unreachable: no catalog entry allows it between these hosts",
}

func failureOf(f *flow.Flow, proto uint8) failure {
	switch proto {
	case flow.ProtoTCP:
		switch f.ConnState() {
		case flow.StateREJ:
			return failREJ
		case flow.StateS0:
			if unanswered(f) {
				return failS0
			}
		case flow.StateRSTOS0:
			// Not a failed attempt: a stack that gives up on a connect
			// sends nothing (RFC 9293 3.10.4, ABORT in SYN-SENT; Linux's
			// tcp_need_reset leaves SYN_SENT out, FreeBSD's tcp_drop
			// resets only once it received a SYN); a RST after its SYN
			// answers a segment, the SYN-ACK the capture missed.
		case flow.StateSH:
			if unanswered(f) {
				return failSH
			}
		}
	case flow.ProtoUDP:
		if f.ICMPUnreach > 0 && f.Resp.Packets == 0 {
			return failUnreach
		}
	}
	return noFailure
}

// unanswered tells a SYN that got no answer from one whose answer the
// capture missed. S0 and SH only say no SYN-ACK was seen: Zeek keeps them
// when the responder's SYN-ACK was lost to the capture and it sent only
// ACKs or data afterwards, and a sensor that sees one direction sees them
// for every connection. Either side can prove the answer came: the
// responder by sending anything, the originator by acknowledging (after
// its SYN a stack sends ACK only once the SYN-ACK arrived; SYN retries
// carry none).
func unanswered(f *flow.Flow) bool {
	return f.Resp.Packets == 0 && f.Orig.Flags&flow.FlagACK == 0
}

// Classify judges f and writes the verdict into r, which it resets first.
// It allocates nothing in steady state.
func (c *Classifier) Classify(f *flow.Flow, r *Result) {
	r.reset()
	s := c.shared
	proto := f.Key.Proto()
	src, dst := f.Src(), f.Dst()
	sa, da, sp, dp := src.Addr(), dst.Addr(), src.Port(), dst.Port()
	if f.Meta != nil {
		r.CallID = f.Meta.CallID
	}
	r.PortOnly = s.inv == nil
	if s.inv != nil && s.inv.Ignored(sa, da, proto, dp) {
		r.Verdict, r.Reason = Ignored, reasonIgnored
		return
	}
	switch proto {
	case flow.ProtoICMP, flow.ProtoICMPv6:
		c.classifyICMP(f, r, proto, sa, da, sp)
		return
	case flow.ProtoTCP, flow.ProtoUDP:
	default:
		r.Verdict, r.Kind, r.Reason, r.Severity = Unexpected, KindUnexpected, reasonOtherProto, Low
		if s.inv != nil {
			c.unknownRoles(r, sa, da)
		}
		return
	}
	fail := failureOf(f, proto)
	// Without a handshake the originator is only the first sender seen:
	// the service port may then be the source port.
	uncertain := proto == flow.ProtoUDP || f.Orig.Flags&flow.FlagSYN == 0

	if proto == flow.ProtoUDP && s.media != nil {
		if callID, ok := s.media.MatchMedia(f); ok {
			c.negotiated(r, callID, sa, da, sp, dp)
			c.finish(f, r, fail)
			c.posture(f, r, proto, sa, da, sp, dp, fail)
			return
		}
	}
	if s.inv == nil {
		c.portOnly(f, r, proto, da, sp, dp, uncertain)
	} else {
		c.withRoles(f, r, proto, sa, da, sp, dp, uncertain)
	}
	c.finish(f, r, fail)
	c.posture(f, r, proto, sa, da, sp, dp, fail)
}

// finish turns a match into expected or blocked, fills the entry fields
// and lets a parser's confirmation pick the primary entry.
func (c *Classifier) finish(f *flow.Flow, r *Result, fail failure) {
	app := ""
	if f.Meta != nil {
		app = f.Meta.App
	}
	if len(r.Matches) > 0 {
		if app != "" {
			for i, e := range r.Matches {
				if e.App == app || e.App == baseApp(app) {
					r.Matches[0], r.Matches[i] = r.Matches[i], r.Matches[0]
					if r.ClassifiedBy < ByParser {
						r.ClassifiedBy = ByParser
					}
					break
				}
			}
		}
		r.Entry = r.Matches[0]
		if r.Verdict == Unclassified {
			r.Verdict = Expected
		}
		if r.Reason == "" {
			r.Reason = c.shared.info[r.Entry].expected
		}
	}
	if r.Entry != nil {
		r.Vendor, r.EntryID = r.Entry.Vendor, r.Entry.ID
		if r.App == "" && r.Verdict != Unexpected {
			r.App = r.Entry.App
		}
	}
	if app != "" {
		r.App = app
	}
	if fail == noFailure {
		return
	}
	switch r.Verdict {
	case Expected, Negotiated:
		r.Verdict, r.Kind, r.Reason = Blocked, KindBlocked, blockedReasons[fail]
		r.Severity = Medium
		if !r.PortOnly && r.Entry != nil && r.Entry.Required {
			r.Severity = High
		}
	case Unexpected:
		if r.Kind == KindUnexpected {
			r.Reason = unexpectedFailedReasons[fail]
		}
	}
}

// names returns the responder's names learnt by parsers.
func names(f *flow.Flow) (sni, server string) {
	if f.Meta == nil {
		return "", ""
	}
	return f.Meta.SNI, f.Meta.ServerName
}

func (c *Classifier) portOnly(f *flow.Flow, r *Result, proto uint8, da netip.Addr, sp, dp uint16, uncertain bool) {
	s := c.shared
	// A destination the entry names by address or FQDN is better
	// evidence than its port, so it goes first.
	c.cloud(f, r, proto, da, dp, nil)
	if len(r.Matches) == 0 {
		r.ClassifiedBy = ByPort
		r.Matches = append(r.Matches, c.portOnlyEntries(proto, dp)...)
		if len(r.Matches) == 0 && uncertain {
			r.Matches = append(r.Matches, c.portOnlyEntries(proto, sp)...)
		}
	}
	if len(r.Matches) > 0 {
		r.Reason = s.info[r.Matches[0]].portOnly
		return
	}
	r.ClassifiedBy = ByNone
	r.Verdict, r.Kind, r.Reason, r.Severity = Unexpected, KindUnexpected, reasonPortOnlyNoEntry, Low
}

// cloud matches entries naming the destination by CIDR or FQDN. srcRoles
// nil means port-only mode.
func (c *Classifier) cloud(f *flow.Flow, r *Result, proto uint8, da netip.Addr, dp uint16, srcRoles []catalog.RoleID) {
	s := c.shared
	try := func(ev Evidence, cands []*catalog.Entry) bool {
		for _, e := range cands {
			in := s.info[e]
			if !e.Transport.Matches(proto) || !in.ports.Contains(dp) {
				continue
			}
			if s.inv != nil {
				fr, ok := pick(in.qfrom, srcRoles)
				if !ok {
					continue
				}
				if len(r.Matches) == 0 {
					r.FromRole, r.ToRole = s.scope.Display(fr), in.to
				}
			}
			r.Matches = append(r.Matches, e)
		}
		if len(r.Matches) == 0 {
			return false
		}
		r.ClassifiedBy, r.byAddr = ev, ev == ByCatalog
		if s.inv != nil {
			in := s.info[r.Matches[0]]
			r.Reason = in.cloud
			if ev == ByName {
				r.Reason = in.byName
			}
		}
		return true
	}
	c.scratch = s.ix.LookupAddr(da, c.scratch[:0])
	if try(ByCatalog, c.scratch) {
		return
	}
	sni, server := names(f)
	for _, n := range [2]string{sni, server} {
		if n == "" {
			continue
		}
		if try(ByName, c.matchFQDN(n)) {
			return
		}
	}
}

// withRoles judges a TCP or UDP flow against the entries between its
// hosts' inventory roles, in named steps: the entries on the service port,
// then (without a handshake) those on the source port read as the
// service's reply, then the entries naming the destination by address or
// name; a flow none of them allows is unexpected, and the reason says why.
func (c *Classifier) withRoles(f *flow.Flow, r *Result, proto uint8, sa, da netip.Addr, sp, dp uint16, uncertain bool) {
	srcRoles, dstRoles, ev := c.flowRoles(f, sa, da)
	miss := c.matchService(r, proto, srcRoles, dstRoles, sp, dp)
	if len(r.Matches) == 0 && uncertain && sp != dp {
		c.matchReply(r, proto, srcRoles, dstRoles, sp, dp)
	}
	if len(r.Matches) > 0 {
		r.ClassifiedBy = ev
		return
	}
	c.cloud(f, r, proto, da, dp, srcRoles)
	if len(r.Matches) > 0 {
		return
	}
	c.unexpected(f, r, sa, da, srcRoles, dstRoles, miss, ev)
}

// flowRoles returns the inventory roles of the originator and the
// responder. A responder the inventory does not list by address takes the
// roles of the name the flow gave it (TLS SNI, then the server name), and
// ev says so.
func (c *Classifier) flowRoles(f *flow.Flow, sa, da netip.Addr) (srcRoles, dstRoles []catalog.RoleID, ev Evidence) {
	s := c.shared
	srcRoles, dstRoles, ev = s.scope.RolesOf(sa), s.scope.RolesOf(da), ByCatalog
	if len(dstRoles) > 0 {
		return srcRoles, dstRoles, ev
	}
	sni, server := names(f)
	for _, n := range [2]string{sni, server} {
		if n == "" {
			continue
		}
		if rs := s.scope.RolesOfName(n); len(rs) > 0 {
			return srcRoles, rs, ByName
		}
	}
	return srcRoles, dstRoles, ev
}

// nearMiss is the entry an unexpected flow came closest to: the first one
// on its port whose roles fit only the wrong way round (wrongDir), else
// the first whose roles fit but whose stated opener's ports miss the
// source port (fromPort), else the first one on its port.
type nearMiss struct {
	entry    *catalog.Entry
	wrongDir bool
	fromPort bool
}

// matchService adds the entries on the destination port whose roles the
// hosts fit by the direction rule, and returns the nearest miss. A one-way
// entry stating its opener's ports fits forward only from one of them; the
// wrong way round its ports are not the source's, so it is judged by roles
// alone.
func (c *Classifier) matchService(r *Result, proto uint8, srcRoles, dstRoles []catalog.RoleID, sp, dp uint16) nearMiss {
	c.scratch = c.shared.ix.Lookup(proto, dp, c.scratch[:0])
	return c.fitEntries(r, c.scratch, srcRoles, dstRoles, sp)
}

// fitEntries credits each of entries whose roles the hosts fit by the
// direction rule (forward, or backward for a both-way entry; forward only
// from a stated opener's port) and returns the nearest miss. TCP and UDP
// flows ask it about the entries on their port, ICMP flows about the ICMP
// entries (which state no ports).
func (c *Classifier) fitEntries(r *Result, entries []*catalog.Entry, srcRoles, dstRoles []catalog.RoleID, sp uint16) (miss nearMiss) {
	for _, e := range entries {
		in := c.shared.info[e]
		sr, dr, w := in.direction(srcRoles, dstRoles)
		switch {
		case w == catalog.Forward && in.fromPorts && !e.FromPorts.Contains(sp):
			if !miss.wrongDir && !miss.fromPort {
				miss = nearMiss{entry: e, fromPort: true}
			}
		case w == catalog.Forward:
			c.credit(r, e, sr, dr, in.expected)
		case w == catalog.Backward:
			c.credit(r, e, sr, dr, in.bothWays)
		case w == catalog.WrongWay && !miss.wrongDir:
			miss = nearMiss{entry: e, wrongDir: true}
		case w == catalog.NoWay && miss.entry == nil:
			miss.entry = e
		}
	}
	return miss
}

// matchReply adds the entries on the source port whose roles the hosts
// fit with the responder as the opener: without a handshake the first
// packet seen may be the service's reply, so the entry's port is the
// source port and the roles are reversed. An entry stating its opener's
// ports needs the destination port, the opener's, among them.
func (c *Classifier) matchReply(r *Result, proto uint8, srcRoles, dstRoles []catalog.RoleID, sp, dp uint16) {
	s := c.shared
	c.scratch = s.ix.Lookup(proto, sp, c.scratch[:0])
	for _, e := range c.scratch {
		in := s.info[e]
		dr, sr, w := in.direction(dstRoles, srcRoles)
		if w.Allowed() && (!in.fromPorts || e.FromPorts.Contains(dp)) {
			c.credit(r, e, sr, dr, in.reply)
		}
	}
}

// credit adds e to the flow's matches; the first match names the
// originator's and the responder's roles and gives the reason.
func (c *Classifier) credit(r *Result, e *catalog.Entry, srcRole, dstRole catalog.RoleID, reason string) {
	if len(r.Matches) == 0 {
		sc := c.shared.scope
		r.FromRole, r.ToRole, r.Reason = sc.Display(srcRole), sc.Display(dstRole), reason
	}
	r.Matches = append(r.Matches, e)
}

// unexpected judges a flow no entry allows between its hosts: the kind,
// the severity (low when a host has no role), the reason and the roles.
func (c *Classifier) unexpected(f *flow.Flow, r *Result, sa, da netip.Addr, srcRoles, dstRoles []catalog.RoleID, miss nearMiss, ev Evidence) {
	r.Verdict, r.Kind = Unexpected, KindUnexpected
	c.unexpectedRoles(r, sa, da)
	c.unexpectedReason(r, len(srcRoles) > 0, len(dstRoles) > 0, miss)
	if ev == ByName && r.ToRole == "" {
		s := c.shared
		sni, server := names(f)
		if r.ToRole = c.join(s.inv.RolesOfName(sni)); r.ToRole == "" {
			r.ToRole = c.join(s.inv.RolesOfName(server))
		}
	}
}

// unexpectedReason explains an unexpected flow: the wrong direction of an
// entry comes first, then a host without a role, then an entry on the
// port for other roles.
func (c *Classifier) unexpectedReason(r *Result, srcKnown, dstKnown bool, miss nearMiss) {
	switch {
	case miss.wrongDir:
		r.Kind, r.Entry, r.Reason = KindWrongDirection, miss.entry, c.shared.info[miss.entry].wrongDirection
	case miss.fromPort:
		r.Entry, r.Reason = miss.entry, c.shared.info[miss.entry].fromPortMiss
	case !srcKnown && !dstKnown:
		r.Reason = reasonBothUnknown
	case !srcKnown:
		r.Reason = reasonSrcUnknown
	case !dstKnown:
		r.Reason = reasonDstUnknown
	case miss.entry != nil:
		r.Entry, r.Reason = miss.entry, c.shared.info[miss.entry].otherRoles
	default:
		r.Reason = reasonNotInCatalog
	}
}

// unexpectedRoles names every role of each host of a flow no entry
// allows and sets its severity: medium between two hosts with roles, low
// when either has none. TCP, UDP and ICMP flows share it.
func (c *Classifier) unexpectedRoles(r *Result, sa, da netip.Addr) {
	c.unknownRoles(r, sa, da)
	r.Severity = Medium
	if r.FromRole == "" || r.ToRole == "" {
		r.Severity = Low
	}
}

// unknownRoles fills FromRole and ToRole with every role of each host.
func (c *Classifier) unknownRoles(r *Result, sa, da netip.Addr) {
	r.FromRole = c.join(c.shared.inv.RolesOf(sa))
	r.ToRole = c.join(c.shared.inv.RolesOf(da))
}

func (c *Classifier) join(rs []string) string {
	switch len(rs) {
	case 0:
		return ""
	case 1:
		return rs[0]
	}
	if s, ok := c.joined[&rs[0]]; ok {
		return s
	}
	s := joinRoles(rs)
	c.joined[&rs[0]] = s
	return s
}

func (c *Classifier) negotiated(r *Result, callID string, sa, da netip.Addr, sp, dp uint16) {
	s := c.shared
	r.Verdict, r.ClassifiedBy, r.CallID, r.Reason = Negotiated, BySDP, callID, reasonNegotiated
	if s.inv == nil {
		return
	}
	srcRoles, dstRoles := s.scope.RolesOf(sa), s.scope.RolesOf(da)
	// A media entry is credited first when the stream lands in its
	// documented range on the host of its To side (the responder's side
	// first): either host may be that side, since media flows either way
	// once negotiated.
	c.scratch = s.ix.Lookup(flow.ProtoUDP, dp, c.scratch[:0])
	c.fixedMedia(r, srcRoles, dstRoles, false)
	if sp != dp {
		c.scratch = s.ix.Lookup(flow.ProtoUDP, sp, c.scratch[:0])
	}
	c.fixedMedia(r, dstRoles, srcRoles, true)
	// Then the entries that leave the port to signalling.
	c.scratch = s.ix.Dynamic(flow.ProtoUDP, c.scratch[:0])
	for _, e := range c.scratch {
		if !e.Transport.Matches(flow.ProtoUDP) || slices.Contains(r.Matches, e) {
			continue
		}
		// Media flows either way once negotiated: the wrong way of a
		// one-way entry is credited too.
		if sr, dr, w := s.info[e].direction(srcRoles, dstRoles); w != catalog.NoWay {
			c.credit(r, e, sr, dr, reasonNegotiated)
		}
	}
	if len(r.Matches) > 0 {
		return
	}
	r.Reason = reasonNegotiatedNoRole
	c.unknownRoles(r, sa, da)
}

// fixedMedia adds the media entries in c.scratch (the entries covering the
// port of the host with roles toRoles) whose To side that host plays and
// whose From side the peer plays. flip: the To side is the originator.
func (c *Classifier) fixedMedia(r *Result, fromRoles, toRoles []catalog.RoleID, flip bool) {
	s := c.shared
	for _, e := range c.scratch {
		in := s.info[e]
		if !sipcall.IsMediaApp(e.App) || slices.Contains(r.Matches, e) {
			continue
		}
		fr, to, ok := in.sides(fromRoles, toRoles)
		if !ok {
			continue
		}
		if flip {
			fr, to = to, fr
		}
		c.credit(r, e, fr, to, in.negotiated)
	}
}

// icmpUnjudged reports ICMP messages that quote another packet (the
// decoder's decode.ICMPError), and ICMPv6 link plumbing; typ is the
// originator's message type.
func icmpUnjudged(proto uint8, typ uint16) (string, bool) {
	switch {
	case typ <= 0xff && decode.ICMPError(proto, uint8(typ)):
		return reasonICMPError, true
	case proto == flow.ProtoICMPv6 && (typ >= 130 && typ <= 137 || typ == 143):
		return reasonICMPv6Link, true
	}
	return "", false
}

func (c *Classifier) classifyICMP(f *flow.Flow, r *Result, proto uint8, sa, da netip.Addr, typ uint16) {
	s := c.shared
	if reason, ok := icmpUnjudged(proto, typ); ok {
		r.Verdict, r.Reason = Unclassified, reason
		return
	}
	if s.inv == nil {
		if len(s.icmp) == 0 {
			r.Verdict, r.Kind, r.Reason, r.Severity = Unexpected, KindUnexpected, reasonPortOnlyNoICMP, Low
			return
		}
		r.Matches = append(r.Matches, s.icmp[0])
		r.ClassifiedBy, r.Reason = ByPort, reasonPortOnlyICMP
		c.finish(f, r, noFailure)
		return
	}
	srcRoles, dstRoles := s.scope.RolesOf(sa), s.scope.RolesOf(da)
	miss := c.fitEntries(r, s.icmp, srcRoles, dstRoles, 0)
	if len(r.Matches) > 0 {
		r.ClassifiedBy = ByCatalog
		c.finish(f, r, noFailure)
		return
	}
	r.Verdict, r.Kind, r.Reason = Unexpected, KindUnexpected, reasonNoICMPEntry
	c.unexpectedRoles(r, sa, da)
	if miss.wrongDir {
		r.Kind, r.Entry, r.Reason = KindWrongDirection, miss.entry, s.info[miss.entry].wrongDirection
		r.Vendor, r.EntryID = miss.entry.Vendor, miss.entry.ID
	}
}

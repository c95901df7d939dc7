package sipcall

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/sdp"
	"github.com/ccaudit/auditor/classify/sipinfo"
)

// Config bounds and times a Tracker. Zero fields take the DefaultConfig
// value.
type Config struct {
	// SIPPorts are the ports whose flows are followed as SIP even before a
	// message proves it (a TCP SYN carries none). Flows on other ports are
	// SIP when their first payload starts with a SIP start line. Nil means
	// DefaultSIPPorts; PortsFromCatalog adds a catalog's.
	SIPPorts []uint16

	// MaxCalls bounds the calls tracked at once; INVITEs beyond it are
	// counted in Stats.CallsDropped and not tracked.
	MaxCalls int
	// MaxExpectations bounds the media endpoints expected at once.
	MaxExpectations int

	// ByeGrace keeps a call's expectations after BYE or a final failure,
	// for media that trails the signalling.
	ByeGrace time.Duration
	// SetupTimeout ends a call that got no final response.
	SetupTimeout time.Duration
	// IdleTimeout ends an established call without BYE when neither
	// signalling nor media was seen for that long and it never had media.
	IdleTimeout time.Duration
	// MediaIdleTimeout ends a call without BYE once its media flows have
	// all ended and nothing else happened for that long.
	MediaIdleTimeout time.Duration
	// MediaLinger is how long an ended call waits for its media flows to
	// leave the flow table (so their counts are in the record) before it
	// is emitted anyway. It should exceed the flow table's UDP timeout.
	MediaLinger time.Duration

	// MaxMessage bounds the bytes buffered per TCP direction.
	MaxMessage int

	// PoorMOS is the estimated MOS below which a stream raises
	// FindingPoorVoiceQuality; 0 means DefaultPoorMOS, negative never.
	PoorMOS float64

	// OnCall receives every call when it ends. It is called from the
	// goroutine of whichever worker (or Flush) ended the call, never
	// concurrently with itself, and never with the Tracker locked.
	OnCall func(*Call)
}

// DefaultSIPPorts are the catalog vendors' SIP ports over UDP and TCP.
func DefaultSIPPorts() []uint16 {
	return []uint16{5060, 5058, 5062, 5064, 5066, 5070, 5080, 6060, 8060}
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		SIPPorts:         DefaultSIPPorts(),
		MaxCalls:         100_000,
		MaxExpectations:  400_000,
		ByeGrace:         5 * time.Second,
		SetupTimeout:     3 * time.Minute,
		IdleTimeout:      time.Hour,
		MediaIdleTimeout: 2 * time.Minute,
		MediaLinger:      3 * time.Minute,
		MaxMessage:       sipinfo.DefaultMaxMessage,
	}
}

func (c *Config) fill() {
	def := DefaultConfig()
	if c.SIPPorts == nil {
		c.SIPPorts = def.SIPPorts
	}
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&c.MaxCalls, def.MaxCalls)
	set(&c.MaxExpectations, def.MaxExpectations)
	set(&c.MaxMessage, def.MaxMessage)
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	dur(&c.ByeGrace, def.ByeGrace)
	dur(&c.SetupTimeout, def.SetupTimeout)
	dur(&c.IdleTimeout, def.IdleTimeout)
	dur(&c.MediaIdleTimeout, def.MediaIdleTimeout)
	dur(&c.MediaLinger, def.MediaLinger)
	if c.PoorMOS == 0 {
		c.PoorMOS = DefaultPoorMOS
	}
}

// Stats count what the tracker and its dissectors did. Drops are counted
// by reason.
type Stats struct {
	Messages      atomic.Uint64 // SIP messages parsed
	ParseErrors   atomic.Uint64 // payloads that started like SIP but did not parse
	FramingErrors atomic.Uint64 // TCP/WebSocket bytes discarded or messages dropped while framing
	SDPErrors     atomic.Uint64 // SIP bodies announced as SDP that were not
	// Skimmed counts messages outside INVITE dialogs, on flows already
	// confirmed as SIP, that belonged to no call: only their start line,
	// Call-ID and CSeq were read, so they are in neither Messages nor
	// ParseErrors.
	Skimmed atomic.Uint64

	Calls         atomic.Uint64 // calls started by an INVITE
	CallsEmitted  atomic.Uint64
	CallsDropped  atomic.Uint64 // INVITEs refused: MaxCalls reached
	UnknownDialog atomic.Uint64 // INVITE-dialog messages for a Call-ID not tracked
	// StreamsDropped counts media streams not kept: new streams beyond
	// the per-call bound, each once however many SDPs describe it, and
	// m= lines an SDP had beyond sdp.MaxMedia, which the parser counts
	// without looking at them.
	StreamsDropped atomic.Uint64
	// MessagesOversized counts messages dropped for passing MaxMessage
	// (TCP, WebSocket or SCTP reassembly); they are among FramingErrors.
	MessagesOversized atomic.Uint64

	ExpectationsDropped atomic.Uint64 // endpoints not expected: MaxExpectations reached

	MediaNegotiated atomic.Uint64 // flows matched to an expectation
	MediaUnexpected atomic.Uint64 // flows that looked like RTP/RTCP without one
	LateMedia       atomic.Uint64 // matched flows that ended after their call was emitted
}

// Bounds inside one call.
const (
	maxStreamsPerCall = 64
	maxFlowsPerStream = 16
)

// Tracker follows SIP calls and the media they negotiate. It is shared by
// the per-worker Dissectors and safe for concurrent use: signalling and
// its media may land on different workers.
type Tracker struct {
	cfg Config
	// ports is the set of SIP ports; SetSIPPorts replaces it while the
	// dissectors read it, which they do once per new flow.
	ports atomic.Pointer[portSet]
	stats Stats

	mu      sync.Mutex
	calls   map[string]*callState
	expect  map[netip.AddrPort]expectation
	now     int64 // latest packet time seen, unix ns
	sweptAt int64
	nextID  uint64
	ready   []*Call // emitted under mu, delivered after it

	emitMu sync.Mutex

	// The groups of dissectors whose staged events commits apply, and
	// the number of commits so far: a dissector retries matching an
	// unmatched flow once per commit, when there may be new expectations.
	groupsMu sync.Mutex
	groups   []*Group
	def      *Group
	gen      atomic.Uint64
}

// NewTracker returns a Tracker.
func NewTracker(cfg Config) *Tracker {
	cfg.fill()
	t := &Tracker{
		cfg:    cfg,
		calls:  make(map[string]*callState),
		expect: make(map[netip.AddrPort]expectation),
	}
	t.SetSIPPorts(cfg.SIPPorts)
	t.def = t.NewGroup()
	return t
}

// portSet is a bit set of ports, with the list it was made from.
type portSet struct {
	bits [1 << 10]uint64
	list []uint16
}

// SetSIPPorts replaces the SIP ports (Config.SIPPorts): a configuration
// reload. Flows that started before keep being followed or not as they
// were decided at their start; a call whose port left the set still ends
// normally, since its signalling flow is already followed, and a new flow
// of it that starts like SIP is followed by its payload.
func (t *Tracker) SetSIPPorts(ports []uint16) {
	ps := &portSet{list: slices.Clone(ports)}
	for _, p := range ports {
		ps.bits[p>>6] |= 1 << (p & 63)
	}
	t.ports.Store(ps)
}

// SIPPorts returns the SIP ports in use.
func (t *Tracker) SIPPorts() []uint16 { return slices.Clone(t.ports.Load().list) }

// Stats returns the counters.
func (t *Tracker) Stats() *Stats { return &t.stats }

// IsSIPPort reports whether port is one of the configured SIP ports.
func (t *Tracker) IsSIPPort(port uint16) bool {
	return t.ports.Load().bits[port>>6]&(1<<(port&63)) != 0
}

func (t *Tracker) sipKey(k flow.Key) bool {
	ps := t.ports.Load()
	a, b := k.A().Port(), k.B().Port()
	return ps.bits[a>>6]&(1<<(a&63)) != 0 || ps.bits[b>>6]&(1<<(b&63)) != 0
}

// Media kinds an expectation or flow can have.
const (
	kindNone uint8 = iota
	kindRTP
	kindRTCP
	kindUDPTL
)

var kindNames = [...]string{kindNone: "", kindRTP: "rtp", kindRTCP: "rtcp", kindUDPTL: "udptl"}

// Parties of a call.
const (
	caller = 0
	callee = 1
)

// expectation is one endpoint a stream's SDP announced.
type expectation struct {
	s    *stream
	side uint8 // the party that announced it
	kind uint8
}

type callState struct {
	rec        Call
	callerTag  string
	inviteCSeq uint32
	offerCSeq  [2]uint32 // last re-INVITE/UPDATE CSeq counted per party
	cancelled  bool
	// challenge is a 401/407 to the initial INVITE: the caller usually
	// retries with credentials in the same Call-ID, so the call goes on.
	challenge int

	ended        bool
	endAt        int64
	unregistered bool
	emitted      bool
	last         int64 // last signalling or media activity
	open         int   // media flows bound and not yet ended
	hadMedia     bool

	streams []*stream
	cur     []*stream // by m= line position: the stream it now describes
	// unparsed is the largest number of m= lines any SDP of the call had
	// beyond sdp.MaxMedia: the positions the parser never looked at,
	// counted as dropped streams once each.
	unparsed int
	// dropped is, by m= line position, the stream last refused there for
	// the per-call bound, so that the SDPs that go on describing it (the
	// answer, session refreshes) do not count it again. Allocated on the
	// first refusal only.
	dropped []droppedStream
}

// droppedStream is what the SDPs said of a stream that was not kept: the
// same test as for a kept stream tells whether a later SDP describes it
// or a new one.
type droppedStream struct {
	valid bool
	typ   sdp.MediaType
	set   [2]bool
	rtp   [2]netip.AddrPort
}

// same reports whether party from describing rtp of type typ is still
// this stream: the type is the same and the party has not moved.
func (d *droppedStream) same(from uint8, typ sdp.MediaType, rtp netip.AddrPort) bool {
	return d.valid && d.typ == typ && (!d.set[from] || d.rtp[from] == rtp)
}

type stream struct {
	c     *callState
	id    uint64
	index int
	typ   sdp.MediaType
	proto sdp.Proto
	side  [2]sideSDP
	prev  *stream // the stream this one replaced

	nonSendRecv bool // some SDP put it on hold or one-way
	superseded  bool // a later SDP moved the stream
	open        int  // media flows bound and not yet ended
	// early: moved before the call was answered, or by the answer: its
	// media was early media (RFC 3960), which no finding judges.
	early bool

	flows        []MediaFlow
	flowsDropped int
	sent         [2]uint64 // RTP/UDPTL packets sent by each party
	packets      uint64
	bytes        uint64
	lost         int64
	jitter       float64
	quality      [2]partyQuality // by party: what it sent, what its RTCP reported
}

type sideSDP struct {
	set, disabled bool
	rtp, rtcp     netip.AddrPort
	dir           sdp.Direction
	codecs        []string
	// clocks is replaced, never modified, so dissectors may keep reading
	// a slice they were handed without the lock.
	clocks []ptClock
}

type ptClock struct {
	pt    uint8
	clock uint32
}

// unlock releases mu and hands the calls that ended to OnCall.
func (t *Tracker) unlock() {
	out := t.ready
	t.ready = nil
	t.mu.Unlock()
	if len(out) == 0 {
		return
	}
	t.emitMu.Lock()
	defer t.emitMu.Unlock()
	for _, c := range out {
		if t.cfg.OnCall != nil {
			t.cfg.OnCall(c)
		}
	}
}

// Advance moves the tracker's clock to now (unix ns) and ends the calls
// whose time is up. Messages and flow events advance it too; a live
// capture that goes quiet can call it from a ticker.
func (t *Tracker) Advance(now int64) {
	t.mu.Lock()
	t.advance(now)
	t.unlock()
}

func (t *Tracker) advance(now int64) {
	if now > t.now {
		t.now = now
	}
	if t.now-t.sweptAt < int64(time.Second) {
		return
	}
	t.sweptAt = t.now
	for _, c := range t.calls {
		t.check(c)
	}
}

// check ends and emits c when its time is up.
func (t *Tracker) check(c *callState) {
	now := t.now
	if !c.ended && c.open == 0 {
		limit := t.cfg.IdleTimeout
		switch {
		case c.rec.Answer == 0 && c.rec.FinalStatus == 0:
			// Also a challenged INVITE: a person may be typing the
			// password (sip.pcap retries after 32 s).
			limit = t.cfg.SetupTimeout
		case c.hadMedia:
			limit = t.cfg.MediaIdleTimeout
		}
		if now-c.last > int64(limit) {
			reason := EndTimeout
			switch {
			case c.cancelled:
				reason = EndCancelled
			case c.challenge != 0 && c.rec.Answer == 0:
				reason = EndRejected
			}
			c.end(c.last, reason)
		}
	}
	if !c.ended {
		return
	}
	grace := c.endAt + int64(t.cfg.ByeGrace)
	if !c.unregistered && now >= grace {
		t.unregisterCall(c)
	}
	if c.unregistered && (c.open == 0 || now >= grace+int64(t.cfg.MediaLinger)) {
		t.emit(c)
	}
}

func (c *callState) end(at int64, reason EndReason) {
	if c.rec.FinalStatus == 0 && c.rec.Answer == 0 && c.challenge != 0 {
		c.rec.FinalStatus = c.challenge
	}
	c.ended, c.endAt = true, at
	c.rec.End, c.rec.EndReason = at, reason
}

// Flush ends every call still tracked, as at the end of input. Flush the
// pipeline first, so that media flows have ended and their counts are in
// the records.
func (t *Tracker) Flush() {
	t.groupsMu.Lock()
	groups := slices.Clone(t.groups)
	t.groupsMu.Unlock()
	t.mu.Lock()
	for _, g := range groups {
		g.commit()
	}
	for _, c := range t.calls {
		if !c.ended {
			c.end(max(c.last, c.rec.Start), EndFlush)
		}
		t.emit(c)
	}
	t.unlock()
}

// Active returns the number of calls tracked and of endpoints expected.
func (t *Tracker) Active() (calls, expectations int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.calls), len(t.expect)
}

func inviteDialog(method string) bool {
	switch method {
	case "INVITE", "ACK", "BYE", "CANCEL", "UPDATE", "PRACK":
		return true
	}
	return false
}

// apply folds one SIP message into its call: it finds or starts the call,
// notes the sender's User-Agent, lets the request or response handler
// update the dialog, then records the SDP the message carried when it is
// an offer or an answer.
func (t *Tracker) apply(m *sipinfo.Message, sess *sdp.Session, src, dst netip.AddrPort, at int64, transport string) {
	if m.CallID == "" {
		return
	}
	c := t.calls[m.CallID]
	if c == nil {
		if c = t.startCall(m, src, dst, at, transport); c == nil {
			return
		}
	}
	if at > c.last {
		c.last = at
	}
	from := c.sender(m)
	c.noteUA(m, from)

	var offer bool
	if m.IsRequest {
		offer = t.onRequest(c, m, from, sess, at)
	} else {
		offer = t.onResponse(c, m, from, at)
	}
	if offer && sess != nil {
		inviteAnswer := !m.IsRequest && from == callee && m.CSeqMethod == "INVITE" && m.CSeq == c.inviteCSeq
		t.applySDP(c, from, sess, inviteAnswer)
	}
	if c.ended && !c.unregistered && t.cfg.ByeGrace <= 0 {
		t.check(c)
	}
}

// startCall opens a call on its initial INVITE. Anything else of an
// unknown Call-ID is ignored, and counted when it belongs to an INVITE
// dialog. It returns nil when no call was started.
func (t *Tracker) startCall(m *sipinfo.Message, src, dst netip.AddrPort, at int64, transport string) *callState {
	if !m.IsRequest || m.Method != "INVITE" {
		if inviteDialog(m.Method) || inviteDialog(m.CSeqMethod) && !m.IsRequest {
			t.stats.UnknownDialog.Add(1)
		}
		return nil
	}
	if len(t.calls) >= t.cfg.MaxCalls {
		t.stats.CallsDropped.Add(1)
		return nil
	}
	c := &callState{
		rec: Call{
			CallID: m.CallID, From: m.From.URI, To: m.To.URI, CallerUA: m.UserAgent,
			Caller: src, Callee: dst, Transport: transport, Start: at,
		},
		callerTag:  m.From.Tag,
		inviteCSeq: m.CSeq,
		last:       at,
	}
	t.calls[m.CallID] = c
	t.stats.Calls.Add(1)
	return c
}

// noteUA keeps the first User-Agent (Server, in a response) each party
// sent.
func (c *callState) noteUA(m *sipinfo.Message, from uint8) {
	ua := m.UserAgent
	if !m.IsRequest && m.Server != "" {
		ua = m.Server
	}
	if from == caller && c.rec.CallerUA == "" {
		c.rec.CallerUA = ua
	} else if from == callee && c.rec.CalleeUA == "" {
		c.rec.CalleeUA = ua
	}
}

// onRequest updates the call for a request. It reports whether the
// request's SDP, if any, is an offer or answer to record.
func (t *Tracker) onRequest(c *callState, m *sipinfo.Message, from uint8, sess *sdp.Session, at int64) (offer bool) {
	switch m.Method {
	case "INVITE", "UPDATE":
		c.onOfferRequest(m, from, sess)
		return true
	case "ACK", "PRACK":
		return true
	case "BYE":
		if !c.ended {
			c.end(at, EndBye)
		}
	case "CANCEL":
		if c.rec.Answer == 0 {
			c.cancelled = true
		}
	}
	return false
}

// onOfferRequest handles an INVITE or UPDATE: the retry of a challenged
// initial INVITE becomes the call's INVITE, and an offer other than the
// initial INVITE's counts as a re-INVITE once per CSeq and party.
func (c *callState) onOfferRequest(m *sipinfo.Message, from uint8, sess *sdp.Session) {
	if m.Method == "INVITE" && from == caller && c.challenge != 0 && c.rec.Answer == 0 && !c.ended && m.CSeq != c.inviteCSeq {
		// The retry with credentials is the call's INVITE now.
		c.inviteCSeq, c.challenge = m.CSeq, 0
	}
	if sess != nil && !(m.Method == "INVITE" && from == caller && m.CSeq == c.inviteCSeq) && c.offerCSeq[from] != m.CSeq {
		c.offerCSeq[from] = m.CSeq
		c.rec.Reinvites++
	}
}

// onResponse updates the call for a response, by the method it answers.
// It reports whether the response's SDP, if any, is an offer or answer to
// record.
func (t *Tracker) onResponse(c *callState, m *sipinfo.Message, from uint8, at int64) (offer bool) {
	code := m.StatusCode
	switch m.CSeqMethod {
	case "INVITE":
		if m.CSeq == c.inviteCSeq && from == callee {
			c.onInitialInviteResponse(code, at)
		}
		if code >= 300 && m.CSeq != c.inviteCSeq {
			// A failed re-INVITE: the offerer's SDP did not take.
			t.rollback(c, 1-from)
		}
		return code > 100 && code < 300
	case "UPDATE", "PRACK":
		if code >= 300 && m.CSeqMethod == "UPDATE" {
			t.rollback(c, 1-from)
		}
		return code >= 200 && code < 300
	case "BYE":
		if code >= 200 && code < 300 && !c.ended {
			c.end(at, EndBye)
		}
	}
	return false
}

// onInitialInviteResponse handles the callee's final answer to the
// call's INVITE: a 2xx answers the call, a 401/407 challenge lets it go
// on with a retry, any other failure ends it as rejected (or cancelled,
// for a 487 or after a CANCEL).
func (c *callState) onInitialInviteResponse(code int, at int64) {
	switch {
	case code >= 200 && code < 300:
		if c.rec.Answer == 0 {
			c.rec.Answer, c.rec.FinalStatus = at, code
		}
	case (code == 401 || code == 407) && c.rec.Answer == 0 && !c.ended:
		c.challenge = code
	case code >= 300 && c.rec.Answer == 0 && c.rec.FinalStatus == 0:
		c.rec.FinalStatus = code
		reason := EndRejected
		if code == 487 || c.cancelled {
			reason = EndCancelled
		}
		if !c.ended {
			c.end(at, reason)
		}
	}
}

// sender tells which party sent m. Requests carry the sender's tag in
// From; responses echo the request's From, so the other party sent them.
func (c *callState) sender(m *sipinfo.Message) uint8 {
	fromCaller := m.From.Tag == c.callerTag
	if c.callerTag == "" {
		fromCaller = m.From.URI == c.rec.From
	}
	if fromCaller == m.IsRequest {
		return caller
	}
	return callee
}

// applySDP records what party from announced. A stream keeps its record
// while the party's address stays (hold, codec change); a new address or
// media type starts a new stream, and the old one's expectations go as
// each side moves. inviteAnswer says the SDP is in the callee's response
// to the initial INVITE: a 2xx, or an 18x after an earlier one, that
// answers from another address (early media from an announcement server
// or a forked leg, then the phone) answers the same offer, so the new
// stream keeps the caller's side, which will not be sent again.
func (t *Tracker) applySDP(c *callState, from uint8, sess *sdp.Session, inviteAnswer bool) {
	if sess.ExtraMedia > c.unparsed {
		// The parser keeps no address for these positions, so a later
		// SDP cannot tell a moved stream from the same one: each position
		// counts once, and an answer repeating the offer's adds nothing.
		n := sess.ExtraMedia - c.unparsed
		c.unparsed = sess.ExtraMedia
		c.rec.StreamsDropped += n
		t.stats.StreamsDropped.Add(uint64(n))
	}
	for i := range sess.Media {
		md := &sess.Media[i]
		for len(c.cur) <= i {
			c.cur = append(c.cur, nil)
		}
		cur := c.cur[i]
		rtp, rtcp, ok := md.Endpoints()
		if !ok {
			if cur != nil {
				if md.Disabled() {
					t.unregister(cur, from)
					cur.side[from] = sideSDP{set: true, disabled: true}
				} else {
					// The RFC 2543 hold address: the stream stays.
					cur.nonSendRecv = true
					cur.side[from].dir = sdp.DirInactive
				}
			}
			continue
		}
		if cur == nil || cur.typ != md.Type || cur.side[from].set && !cur.side[from].disabled && cur.side[from].rtp != rtp {
			ns := t.newStream(c, i, md)
			if ns == nil {
				t.dropStream(c, i, from, md.Type, rtp)
				continue
			}
			if i < len(c.dropped) {
				c.dropped[i] = droppedStream{}
			}
			if cur != nil {
				t.unregister(cur, from)
				ns.prev = cur
				cur.superseded = true
				cur.early = inviteAnswer || c.rec.Answer == 0
				if other := &cur.side[1-from]; inviteAnswer && cur.typ == md.Type && other.set && !other.disabled {
					ns.side[1-from] = *other
					ns.nonSendRecv = other.dir != sdp.DirSendRecv
					t.register(ns, 1-from)
				}
			}
			c.cur[i], cur = ns, ns
		} else if cur.prev != nil && !cur.side[from].set {
			t.unregister(cur.prev, from)
		}
		cur.typ, cur.proto = md.Type, md.Proto
		cur.side[from] = sideSDP{set: true, rtp: rtp, rtcp: rtcp, dir: md.Direction, codecs: codecs(md), clocks: clocks(md)}
		if md.Direction != sdp.DirSendRecv {
			cur.nonSendRecv = true
		}
		t.register(cur, from)
	}
}

// rollback undoes the streams an offer from offerer created when the
// offer is refused (488 to a T.38 re-INVITE, 491 glare): the previous
// streams, whose other side never stopped being expected, are current
// again.
func (t *Tracker) rollback(c *callState, offerer uint8) {
	for i, cur := range c.cur {
		if cur == nil || cur.prev == nil || !cur.side[offerer].set || cur.side[1-offerer].set ||
			cur.open > 0 || len(cur.flows) > 0 {
			continue
		}
		t.unregister(cur, offerer)
		prev := cur.prev
		prev.superseded, prev.early = false, false
		c.cur[i] = prev
		t.register(prev, offerer)
		if j := slices.Index(c.streams, cur); j >= 0 {
			c.streams = slices.Delete(c.streams, j, j+1)
		}
	}
}

// newStream starts a stream at m= line position index, or returns nil
// when the call has maxStreamsPerCall streams already.
func (t *Tracker) newStream(c *callState, index int, md *sdp.Media) *stream {
	if len(c.streams) >= maxStreamsPerCall {
		return nil
	}
	t.nextID++
	s := &stream{c: c, id: t.nextID, index: index, typ: md.Type, proto: md.Proto}
	c.streams = append(c.streams, s)
	return s
}

// dropStream counts a stream refused at position index for the per-call
// bound, unless it is the stream refused there last, which party from
// describes again.
func (t *Tracker) dropStream(c *callState, index int, from uint8, typ sdp.MediaType, rtp netip.AddrPort) {
	for len(c.dropped) <= index {
		c.dropped = append(c.dropped, droppedStream{})
	}
	d := &c.dropped[index]
	if !d.same(from, typ, rtp) {
		*d = droppedStream{valid: true, typ: typ}
		c.rec.StreamsDropped++
		t.stats.StreamsDropped.Add(1)
	}
	d.set[from], d.rtp[from] = true, rtp
}

func codecs(md *sdp.Media) []string {
	if md.Proto == sdp.ProtoUDPTL {
		return []string{"t38"}
	}
	out := make([]string, 0, len(md.PayloadTypes))
	for _, pt := range md.PayloadTypes {
		name := staticName(pt)
		if r, ok := md.Codec(pt); ok {
			name = r.Codec
		}
		if name != "" {
			out = append(out, name)
		}
	}
	return out
}

func clocks(md *sdp.Media) []ptClock {
	if len(md.RTPMap) == 0 {
		return nil
	}
	out := make([]ptClock, 0, len(md.RTPMap))
	for _, r := range md.RTPMap {
		out = append(out, ptClock{r.PayloadType, r.ClockRate})
	}
	return out
}

func (t *Tracker) register(s *stream, side uint8) {
	sd := &s.side[side]
	kind := kindRTP
	if s.proto == sdp.ProtoUDPTL {
		kind = kindUDPTL
	}
	t.put(sd.rtp, expectation{s: s, side: side, kind: kind})
	if sd.rtcp.IsValid() && sd.rtcp != sd.rtp {
		t.put(sd.rtcp, expectation{s: s, side: side, kind: kindRTCP})
	}
}

func (t *Tracker) put(ap netip.AddrPort, e expectation) {
	if _, ok := t.expect[ap]; !ok && len(t.expect) >= t.cfg.MaxExpectations {
		t.stats.ExpectationsDropped.Add(1)
		return
	}
	t.expect[ap] = e
}

// unregister drops a side's expectations unless a newer stream took the
// endpoint over.
func (t *Tracker) unregister(s *stream, side uint8) {
	sd := &s.side[side]
	for _, ap := range [2]netip.AddrPort{sd.rtp, sd.rtcp} {
		if e, ok := t.expect[ap]; ok && e.s == s {
			delete(t.expect, ap)
		}
	}
}

func (t *Tracker) unregisterCall(c *callState) {
	for _, s := range c.streams {
		t.unregister(s, caller)
		t.unregister(s, callee)
	}
	c.unregistered = true
}

// binding is what a media flow learns when it matches an expectation.
type binding struct {
	s      *stream
	callID string
	kind   uint8
	partyA uint8 // the party at endpoint A of the flow key
	clocks [2][]ptClock
}

// match finds the stream that expects one of the flow's endpoints. When
// both endpoints are expected by different streams, the one that expects
// the pair wins, else the newer.
func (t *Tracker) match(k flow.Key) (e expectation, aMatched, ok bool) {
	a, b := k.A(), k.B()
	ea, okA := t.expect[a]
	eb, okB := t.expect[b]
	switch {
	case okA && okB && ea.s != eb.s:
		pairA := ea.s.side[1-ea.side].has(b)
		pairB := eb.s.side[1-eb.side].has(a)
		if pairA != pairB {
			if pairA {
				return ea, true, true
			}
			return eb, false, true
		}
		if ea.s.id >= eb.s.id {
			return ea, true, true
		}
		return eb, false, true
	case okA:
		return ea, true, true
	case okB:
		return eb, false, true
	}
	return expectation{}, false, false
}

func (sd *sideSDP) has(ap netip.AddrPort) bool { return sd.set && (sd.rtp == ap || sd.rtcp == ap) }

// matchBinding matches a flow to an expectation as the last commit left
// them. The match is counted on its call when the staged evBind commits.
func (t *Tracker) matchBinding(k flow.Key) (binding, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.bindingFor(k)
}

// bindingFor is matchBinding with t.mu held.
func (t *Tracker) bindingFor(k flow.Key) (binding, bool) {
	e, aMatched, ok := t.match(k)
	if !ok {
		return binding{}, false
	}
	partyA := e.side
	if !aMatched {
		partyA = 1 - e.side
	}
	s := e.s
	return binding{s: s, callID: s.c.rec.CallID, kind: e.kind, partyA: partyA,
		clocks: [2][]ptClock{s.side[0].clocks, s.side[1].clocks}}, true
}

// bound counts a matched flow open on its stream and call; t.mu is held.
func (t *Tracker) bound(b *binding) {
	t.stats.MediaNegotiated.Add(1)
	s := b.s
	if s.c.emitted {
		// Emitted earlier in the same commit: the flow's end will count
		// as late media.
		return
	}
	s.open++
	s.c.open++
	s.c.hadMedia = true
}

// lookup is match for a flow no dissector bound.
func (t *Tracker) lookup(k flow.Key) (callID string, kind uint8, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, _, ok := t.match(k)
	if !ok {
		return "", kindNone, false
	}
	return e.s.c.rec.CallID, e.kind, true
}

// flowEnded folds a bound flow's counts into its stream; t.mu is held.
func (t *Tracker) flowEnded(b *binding, k flow.Key, app string, st *[2]streamStats, last int64) {
	s, c := b.s, b.s.c
	if c.emitted {
		t.stats.LateMedia.Add(1)
		return
	}
	c.open--
	s.open--
	if last > c.last {
		c.last = last
	}
	rtp := app == "rtp"
	// st is indexed by flow.Dir: DirAB is endpoint A sending.
	pa := b.partyA
	mf := MediaFlow{App: app}
	ends := [2]netip.AddrPort{k.A(), k.B()}
	mf.Caller, mf.Callee = ends[pa], ends[1-pa]
	from := [2]DirStats{}
	from[pa] = dirStats(&st[flow.DirAB], rtp)
	from[1-pa] = dirStats(&st[flow.DirBA], rtp)
	mf.FromCaller, mf.FromCallee = from[caller], from[callee]
	if rtp {
		s.quality[pa].addRTP(&st[flow.DirAB])
		s.quality[1-pa].addRTP(&st[flow.DirBA])
	}
	s.quality[pa].addRTCP(&st[flow.DirAB].reports)
	s.quality[1-pa].addRTCP(&st[flow.DirBA].reports)
	if len(s.flows) < maxFlowsPerStream {
		s.flows = append(s.flows, mf)
	} else {
		s.flowsDropped++
	}
	for p, d := range from {
		s.packets += d.Packets
		s.bytes += d.Bytes
		if app != "rtcp" {
			s.sent[p] += d.Packets
		}
		if rtp {
			s.lost += d.Lost
			s.jitter = max(s.jitter, d.JitterMillis)
		}
	}
	if c.ended {
		t.check(c)
	}
}

// emit finishes c's record and queues it for OnCall.
func (t *Tracker) emit(c *callState) {
	if c.emitted {
		return
	}
	if !c.unregistered {
		t.unregisterCall(c)
	}
	c.emitted = true
	delete(t.calls, c.rec.CallID)
	rec := c.rec
	answered := rec.Answer != 0
	seen := map[string]bool{}
	for _, s := range c.streams {
		if s.superseded && len(s.flows) == 0 && s.flowsDropped == 0 && !s.negotiated() {
			// An offer replaced before it was answered (a retry after
			// an authentication challenge): nothing was negotiated.
			continue
		}
		ms := s.record(t.cfg.PoorMOS)
		if answered && !s.early && s.negotiated() {
			switch {
			case s.sent[caller] == 0 && s.sent[callee] == 0:
				ms.Missing = true
			case !s.nonSendRecv && (s.sent[caller] == 0 || s.sent[callee] == 0):
				ms.OneWay = true
			}
		}
		if ms.Missing && !seen[FindingMediaMissing] {
			rec.Findings = append(rec.Findings, FindingMediaMissing)
			seen[FindingMediaMissing] = true
		}
		if ms.OneWay && !seen[FindingMediaOneWay] {
			rec.Findings = append(rec.Findings, FindingMediaOneWay)
			seen[FindingMediaOneWay] = true
		}
		if ms.PoorQuality && !seen[FindingPoorVoiceQuality] {
			rec.Findings = append(rec.Findings, FindingPoorVoiceQuality)
			seen[FindingPoorVoiceQuality] = true
		}
		if ms.MOS > 0 && (rec.MOS == 0 || ms.MOS < rec.MOS) {
			rec.MOS, rec.RFactor = ms.MOS, min(ms.CallerToCallee.rfactorOr(101), ms.CalleeToCaller.rfactorOr(101))
		}
		for _, name := range ms.Codecs {
			if !seen["codec:"+name] {
				seen["codec:"+name] = true
				rec.Codecs = append(rec.Codecs, name)
			}
		}
		rec.Media = append(rec.Media, ms)
	}
	t.stats.CallsEmitted.Add(1)
	t.ready = append(t.ready, &rec)
}

// negotiated reports whether both sides gave a usable, enabled address
// and neither made the stream inactive.
func (s *stream) negotiated() bool {
	for _, sd := range s.side {
		if !sd.set || sd.disabled || sd.dir == sdp.DirInactive {
			return false
		}
	}
	return true
}

func (s *stream) record(poorMOS float64) MediaStream {
	ms := MediaStream{
		Index: s.index, Type: s.typ.String(), Proto: s.proto.String(),
		CallerRTP: s.side[caller].rtp, CallerRTCP: s.side[caller].rtcp,
		CalleeRTP: s.side[callee].rtp, CalleeRTCP: s.side[callee].rtcp,
		Flows: s.flows, FlowsDropped: s.flowsDropped,
		Packets: s.packets, Bytes: s.bytes, Lost: s.lost, JitterMillis: s.jitter,
	}
	if s.side[caller].set {
		ms.CallerDirection = s.side[caller].dir.String()
	}
	if s.side[callee].set {
		ms.CalleeDirection = s.side[callee].dir.String()
	}
	ms.Codecs = s.side[callee].codecs
	if !s.side[callee].set || s.side[callee].disabled {
		ms.Codecs = s.side[caller].codecs
	}
	s.rate(&ms, poorMOS)
	return ms
}

// MatchMedia reports whether flow f is media that SIP/SDP negotiated, and
// for which call. It is the verdict engine's hook: flows the Dissector
// followed carry the answer in their Meta; others (media the dissector
// did not see, such as RTP over TCP) are looked up in the expectations
// still held.
func (t *Tracker) MatchMedia(f *flow.Flow) (callID string, ok bool) {
	if m := f.Meta; m != nil && m.CallID != "" && IsMediaApp(m.App) {
		return m.CallID, true
	}
	if f.Meta != nil && labelledOther(f.Meta.App) {
		return "", false
	}
	callID, _, ok = t.lookup(f.Key)
	return callID, ok
}

// labelledOther reports whether a parser already labelled the flow with something
// that is not media, which an expectation cannot overrule.
func labelledOther(app string) bool { return app != "" && !IsMediaApp(app) }

// LooksLikeMedia reports whether the Dissector recognised f as RTP or
// RTCP by content without any signalling for it: the input for an
// unexpected-media finding.
func LooksLikeMedia(f *flow.Flow) bool {
	return f.Meta != nil && f.Meta.CallID == "" && IsMediaApp(f.Meta.App)
}

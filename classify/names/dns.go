package names

import (
	"errors"
	"hash/maphash"
	"sync/atomic"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/tcpstream"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

const (
	portDNS   = 53
	portMDNS  = 5353
	portLLMNR = 5355

	// DefaultMaxDNSStreams bounds the DNS-over-TCP connections followed at
	// once; UDP needs no state.
	DefaultMaxDNSStreams = 1 << 12

	// dnsStreamBuffer holds the largest message DNS over TCP can frame.
	dnsStreamBuffer = 2 + 65535
)

// DNSStats counts what a DNS dissector saw. Queries and responses are told
// apart by the header's QR bit, so a message that fails to parse past its
// header is still counted, as tshark counts it.
type DNSStats struct {
	Queries   atomic.Uint64 // unicast DNS (port 53)
	Responses atomic.Uint64
	// Multicast counts mDNS (5353) and LLMNR (5355) messages, which are
	// announcements as often as answers.
	MulticastQueries   atomic.Uint64
	MulticastResponses atomic.Uint64
	TCPMessages        atomic.Uint64 // messages framed out of TCP streams
	ParseErrors        atomic.Uint64 // messages dnsinfo.Parse rejected, truncated ones included
	Short              atomic.Uint64 // payloads shorter than a DNS header
	FramingErrors      atomic.Uint64 // TCP streams abandoned: bad length prefix or lost bytes
	Overflow           atomic.Uint64 // TCP streams not followed: MaxStreams in progress
	// RCodes counts responses by the header's 4-bit RCODE.
	RCodes [16]atomic.Uint64

	// Transactions counts the query/response pairs reported to
	// DNSConfig.OnTransaction; Unanswered those of them without a
	// response, ResponsesUnmatched those without a query.
	Transactions       atomic.Uint64
	Unanswered         atomic.Uint64
	ResponsesUnmatched atomic.Uint64
	// PendingEvicted counts queries reported unanswered early because
	// their flow had MaxPending queries waiting.
	PendingEvicted atomic.Uint64
}

// DNSConfig configures a DNS dissector. The zero value uses the defaults.
type DNSConfig struct {
	// MaxStreams bounds concurrent DNS-over-TCP connections;
	// DefaultMaxDNSStreams if 0.
	MaxStreams int
	// Group is the cache's commit group to stage answers in, when several
	// pipelines share the cache; nil means the cache's default group.
	Group *dnsinfo.Group
	// OnTransaction, if set, gets every query/response transaction (see
	// dnstx.go), on the worker's goroutine; it owns the Transaction.
	OnTransaction func(*dnsinfo.Transaction)
	// NewTransaction, if set, supplies the Transactions given to
	// OnTransaction, zeroed but for the capacity of Answers, so a
	// consumer can recycle the ones it has written; nil allocates each.
	NewTransaction func() *dnsinfo.Transaction
	// MaxPending bounds the unanswered queries kept per flow;
	// DefaultMaxPendingDNS if 0.
	MaxPending int
}

// DNS is the dissector for DNS, mDNS and LLMNR. It labels flows carrying a
// parseable message with Meta.App "dns" and stages every response for the
// cache, which ServerNamer (and anyone else) reads. The cache learns the
// responses when it commits (the pipeline commits it at each epoch end:
// list it in capture.Config.Shared).
type DNS struct {
	stage   *dnsinfo.Stage
	cfg     DNSConfig
	msg     dnsinfo.Message
	streams map[flow.Key]*dnsStream
	free    []*dnsStream
	// txSlab holds the flows' pending queries (dnstx.go), with
	// OnTransaction only; freeTx are its free slots, txFlows the slots in
	// use.
	txSlab  []dnsFlowTx
	freeTx  []uint32
	txFlows int
	names   nameStrings
	stats   DNSStats
}

// nameStrings turns question names into strings, making one per name
// rather than one per flow: a site asks for few names, and most DNS flows
// carry one query. It is direct-mapped and small, so it stays bounded
// whatever names come: a name that finds its slot taken replaces the one
// there.
type nameStrings struct {
	seed  maphash.Seed
	slots [256]string
}

func (n *nameStrings) str(b []byte) string {
	slot := &n.slots[maphash.Bytes(n.seed, b)%uint64(len(n.slots))]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}

// dnsStream is a DNS-over-TCP connection: each half frames its own
// length-prefixed messages.
type dnsStream struct {
	half   [2]tcpstream.Buffer
	broken [2]bool
}

// NewDNS returns a DNS dissector that stages answers for cache (nil: count
// and label only). Give each pipeline worker its own DNS, sharing the cache.
func NewDNS(cache *dnsinfo.Cache, cfg DNSConfig) *DNS {
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxDNSStreams
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPendingDNS
	}
	d := &DNS{cfg: cfg, streams: make(map[flow.Key]*dnsStream), names: nameStrings{seed: maphash.MakeSeed()}}
	switch {
	case cfg.Group != nil:
		d.stage = cfg.Group.NewStage()
	case cache != nil:
		d.stage = cache.NewStage()
	}
	return d
}

// Stats returns the dissector's counters.
func (d *DNS) Stats() *DNSStats { return &d.stats }

// Start wants UDP flows on port 53, 5353 or 5355 and TCP flows on port 53,
// on either side: a capture that starts mid-conversation may have the
// resolver as originator.
func (d *DNS) Start(f *flow.Flow, _ *decode.Packet) bool {
	a, b := f.Key.A().Port(), f.Key.B().Port()
	switch f.Key.Proto() {
	case flow.ProtoUDP:
		return isDNSPort(a) || isDNSPort(b)
	case flow.ProtoTCP:
		return a == portDNS || b == portDNS
	}
	return false
}

func isDNSPort(p uint16) bool { return p == portDNS || p == portMDNS || p == portLLMNR }

// Packet parses every message of the flow.
func (d *DNS) Packet(f *flow.Flow, p *decode.Packet, fromOrig bool) bool {
	if len(p.Payload) == 0 && p.TCPFlags&flow.FlagSYN == 0 {
		return true
	}
	if f.Key.Proto() == flow.ProtoUDP {
		d.message(f, p, p.Payload)
		return true
	}
	return d.tcpPacket(f, p, fromOrig)
}

// End drops the state of a DNS-over-TCP flow and reports the flow's
// unanswered queries.
func (d *DNS) End(f *flow.Flow) {
	if f.Key.Proto() == flow.ProtoTCP {
		if s := d.streams[f.Key]; s != nil {
			d.release(f.Key, s)
		}
	}
	d.flushTx(f)
}

func (d *DNS) tcpPacket(f *flow.Flow, p *decode.Packet, fromOrig bool) bool {
	s := d.streams[f.Key]
	if s == nil {
		if len(d.streams) >= d.cfg.MaxStreams {
			d.stats.Overflow.Add(1)
			return false
		}
		if n := len(d.free); n > 0 {
			s, d.free = d.free[n-1], d.free[:n-1]
		} else {
			s = new(dnsStream)
			s.half[0].Init(dnsStreamBuffer)
			s.half[1].Init(dnsStreamBuffer)
		}
		d.streams[f.Key] = s
	}
	side := 0
	if !fromOrig {
		side = 1
	}
	if s.broken[side] {
		return true
	}
	h := &s.half[side]
	gaps := h.Gaps()
	h.Add(p.Seq, p.TCPFlags, p.Payload)
	if h.Gaps() != gaps {
		// The length prefixes no longer line up with the bytes.
		d.breakHalf(s, side)
	}
	for !s.broken[side] {
		msg, _, err := dnsinfo.SplitTCP(h.Bytes())
		if errors.Is(err, dnsinfo.ErrNeedMore) {
			break
		}
		if err != nil {
			d.breakHalf(s, side)
			break
		}
		d.stats.TCPMessages.Add(1)
		d.message(f, p, msg)
		h.Consume(2 + len(msg))
	}
	if s.broken[0] && s.broken[1] {
		d.release(f.Key, s)
		d.flushTx(f)
		return false
	}
	return true
}

func (d *DNS) breakHalf(s *dnsStream, side int) {
	d.stats.FramingErrors.Add(1)
	s.broken[side] = true
	s.half[side].Reset()
}

func (d *DNS) release(k flow.Key, s *dnsStream) {
	delete(d.streams, k)
	s.half[0].Reset()
	s.half[1].Reset()
	s.broken = [2]bool{}
	d.free = append(d.free, s)
}

// dnsMeta are the DNS fields of a flow's Meta as message works on them.
type dnsMeta struct {
	query, rcode string // Meta.DNSQuery, Meta.DNSRCode
	pending      uint32 // Meta.DNSPending
}

// store writes s to m: all of it to a fresh m (zero, not to be read),
// else the fields that changed.
func (s *dnsMeta) store(m *flow.Meta, fresh bool) {
	if fresh {
		m.DNSQuery, m.DNSRCode, m.DNSPending = s.query, s.rcode, s.pending
		return
	}
	if m.DNSQuery != s.query {
		m.DNSQuery = s.query
	}
	if m.DNSRCode != s.rcode {
		m.DNSRCode = s.rcode
	}
	m.DNSPending = s.pending
}

// message counts and parses one DNS message carried by packet p.
func (d *DNS) message(f *flow.Flow, p *decode.Packet, b []byte) {
	if len(b) < 4 {
		d.stats.Short.Add(1)
		return
	}
	response := b[2]&0x80 != 0
	unicast := f.Key.A().Port() == portDNS || f.Key.B().Port() == portDNS
	switch {
	case unicast && response:
		d.stats.Responses.Add(1)
	case unicast:
		d.stats.Queries.Add(1)
	case response:
		d.stats.MulticastResponses.Add(1)
	default:
		d.stats.MulticastQueries.Add(1)
	}
	if response {
		d.stats.RCodes[b[3]&0x0f].Add(1)
	}
	if err := dnsinfo.Parse(b, &d.msg); err != nil {
		d.stats.ParseErrors.Add(1)
		// A message cut short (by the snap length, typically) keeps the
		// records before the cut, and its answers are as good as any; so
		// does one with a bad record after its question: its header says
		// it was answered and how.
		if !errors.Is(err, dnsinfo.ErrTruncated) && !errors.Is(err, dnsinfo.ErrRecord) {
			return
		}
	}
	// A flow without a Meta (before its first message, mostly) gets one,
	// zero: it is written, not read, as reading the fresh (uncached) line
	// would stall where writing does not. Otherwise the DNS fields are
	// read once.
	var st dnsMeta
	meta := f.Meta
	fresh := meta == nil
	if fresh {
		meta = f.MetaOrNew()
		meta.App = "dns"
	} else {
		if meta.App == "" {
			meta.App = "dns"
		}
		st = dnsMeta{query: meta.DNSQuery, rcode: meta.DNSRCode, pending: meta.DNSPending}
	}
	// The flow's own question, not a name from the cache: its first
	// query, and the response code of that query's answer.
	if name, _ := questionOf(&d.msg); len(name) > 0 {
		if st.query == "" {
			st.query = d.names.str(name)
		}
		if response && st.rcode == "" && st.query == string(name) {
			st.rcode = d.msg.RCode.String()
		}
	}
	if d.cfg.OnTransaction != nil {
		d.transactions(f, p, &d.msg, response, &st)
	}
	st.store(meta, fresh)
	if response && d.stage != nil {
		// The answer is the client's: it arrives at the response's
		// destination.
		client := p.Key.Endpoint(p.Dir.Flip()).Addr()
		d.stage.Observe(p.Ordinal, client, &d.msg, p.Time)
	}
}

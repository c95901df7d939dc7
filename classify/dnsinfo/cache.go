package dnsinfo

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config bounds a Cache. Zero fields take the DefaultConfig values.
type Config struct {
	// MaxEntries bounds the cache. Each address a client received takes
	// two entries: one for (client, address) and one for the address
	// alone. When full, CLOCK picks the victim: expired entries first, then
	// entries no Lookup has hit since the hand last passed.
	MaxEntries int
	// MinTTL and MaxTTL clamp record TTLs. The minimum absorbs the gap
	// between a resolution and the connection it leads to (and clients
	// that cache longer than told); the maximum stops a week-long TTL
	// from naming an address long after it changed hands.
	MinTTL, MaxTTL time.Duration
	// MaxFailureNames bounds the per-name failure table.
	MaxFailureNames int
}

// DefaultConfig holds 64k entries (about 32k addresses), clamps TTLs to
// [5 min, 24 h] and tracks failures for 256 names.
func DefaultConfig() Config {
	return Config{
		MaxEntries:      1 << 16,
		MinTTL:          5 * time.Minute,
		MaxTTL:          24 * time.Hour,
		MaxFailureNames: 256,
	}
}

// CacheStats are a Cache's counters, atomic so a metrics reader can read
// them while workers run.
type CacheStats struct {
	Responses atomic.Uint64 // responses given to Observe
	Ignored   atomic.Uint64 // messages Observe skipped: queries, opcodes other than QUERY
	Failed    atomic.Uint64 // responses with an RCODE other than NOERROR
	Stored    atomic.Uint64 // entries written (new or refreshed)
	Evicted   atomic.Uint64 // unexpired entries evicted to make room
	Expired   atomic.Uint64 // expired entries reclaimed to make room
	Hits      atomic.Uint64 // Lookups answered by (client, server)
	Fallback  atomic.Uint64 // Lookups answered by the server address alone
	Misses    atomic.Uint64
}

// Entry is what the cache knows about one address.
type Entry struct {
	// Name is what the client asked for: the question name of the
	// response that carried the address.
	Name string
	// CNAMEs is the alias chain from Name to the owner of the address
	// record, in order; nil when the address was Name's own. Shared
	// between entries: read only.
	CNAMEs  []string
	Expires int64 // unix nanoseconds
	// Exact is false when the (client, server) pair was unknown and the
	// answer comes from the last client that received this address.
	Exact bool
}

// Cache maps the addresses in DNS answers back to the names clients asked
// for, so a flow to an address can be labelled with the name its client
// resolved.
//
// A Cache is safe for concurrent use. Observe takes a write lock; Lookup
// and Failures share a read lock (Lookup marks the CLOCK reference bit
// atomically), so sharded workers that mostly look up do not serialize.
type Cache struct {
	cfg    Config
	minTTL int64
	maxTTL int64

	mu      sync.RWMutex
	index   index
	entries []entry
	hand    int
	fails   failureTable
	stats   CacheStats

	// Staged responses of pipeline workers, applied by commits; msg is
	// the commits' parse buffer (commits hold mu).
	def *Group
	msg Message
}

// cacheKey is (client, server) as 16-byte arrays: comparable and free of
// pointers, so the index hashes and compares 32 plain bytes and the GC
// does not scan it (a netip.Addr pair is 48 bytes holding two pointers).
// As16 maps IPv4 into IPv6, so an IPv4 address and its IPv4-mapped IPv6
// spelling are one key, as Unmap made them before. An all-zero client is
// the address-only fallback entry: that is ::, which is never stored as a
// client (see storesPair). Zones are dropped, as flow.Key drops them:
// addresses decoded from packets and DNS answers carry none.
type cacheKey struct{ client, server [16]byte }

func serverKey(server netip.Addr) cacheKey { return cacheKey{server: server.As16()} }

// storesPair reports whether answers to client get (client, server)
// entries: not when the client is a multicast or unspecified address
// (mDNS), whose answers are everybody's. IsUnspecified does not see
// through an IPv4-mapped ::ffff:0.0.0.0; Unmap makes it.
func storesPair(client netip.Addr) bool {
	client = client.Unmap()
	return client.IsValid() && !client.IsMulticast() && !client.IsUnspecified()
}

// prevName is an entry's previous name, valid from observed to expires.
type prevName struct {
	name              string
	cnames            []string
	observed, expires int64
}

type entry struct {
	key     cacheKey
	name    string
	cnames  []string
	expires int64
	// observed is when the client first received this name for this
	// address; a refresh with the same name keeps it. A flow that started
	// before it cannot have acted on the answer.
	observed int64
	// prev is the association this one replaced, for flows that started
	// before the replacement but are looked up after it (at their end).
	prev prevName
	// ref is the CLOCK reference bit. Lookup sets it under the read lock,
	// so it is accessed atomically; a plain uint32 lets entries grow with
	// append under the write lock.
	ref uint32
	// hash is key's in the index, for removing it there.
	hash uint32
}

// NewCache returns an empty cache.
func NewCache(cfg Config) *Cache {
	def := DefaultConfig()
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = def.MaxEntries
	}
	if cfg.MinTTL <= 0 {
		cfg.MinTTL = def.MinTTL
	}
	if cfg.MaxTTL <= 0 {
		cfg.MaxTTL = def.MaxTTL
	}
	cfg.MaxTTL = max(cfg.MaxTTL, cfg.MinTTL)
	if cfg.MaxFailureNames <= 0 {
		cfg.MaxFailureNames = def.MaxFailureNames
	}
	c := &Cache{
		cfg:    cfg,
		minTTL: int64(cfg.MinTTL),
		maxTTL: int64(cfg.MaxTTL),
		index:  newIndex(min(cfg.MaxEntries, 1<<12)),
		fails:  failureTable{max: cfg.MaxFailureNames, index: make(map[string]int)},
	}
	c.def = c.NewGroup()
	return c
}

// Stats returns the cache's live counters.
func (c *Cache) Stats() *CacheStats { return &c.stats }

// Len is the number of entries, expired ones not yet reclaimed included.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.index.n
}

// maxChain bounds the CNAME chain followed from the question name. Real
// chains are a handful long (CDNs use 2 to 4); the bound keeps a hostile
// message from costing more than linear time.
const maxChain = 16

// Observe records the A and AAAA answers of response m, received by client
// at now (unix nanoseconds). Addresses on the question name's CNAME chain
// are stored under the question name; other address records (mDNS
// announcements, which have no question) under their own owner name.
// Failed responses are counted per question name instead. A multicast or
// unspecified client (mDNS) stores only the address-only entries.
func (c *Cache) Observe(client netip.Addr, m *Message, now int64) {
	c.mu.Lock()
	c.observe(client, m, now)
	c.mu.Unlock()
}

// observe is Observe for a caller that holds the write lock.
func (c *Cache) observe(client netip.Addr, m *Message, now int64) {
	if !m.Response || m.Opcode != OpcodeQuery {
		c.stats.Ignored.Add(1)
		return
	}
	c.stats.Responses.Add(1)
	var qname []byte
	if len(m.Questions) > 0 {
		qname = m.Questions[0].Name
	}
	if m.RCode != RCodeSuccess {
		c.stats.Failed.Add(1)
		if qname != nil {
			c.fails.add(qname, m.RCode, now)
		}
		return
	}

	if len(m.Answers) == 0 {
		return
	}

	// chain[0] is the question name, chain[i] the target of the CNAME
	// owned by chain[i-1]; chainTTL[i] the smallest TTL on the way there.
	var chain [maxChain + 1][]byte
	var chainTTL [maxChain + 1]uint32
	n := 0
	if qname != nil {
		chain[0], chainTTL[0], n = qname, ^uint32(0), 1
		for n <= maxChain {
			a := findCNAME(m.Answers, chain[n-1])
			if a == nil {
				break
			}
			chain[n], chainTTL[n] = a.Target, min(chainTTL[n-1], a.TTL)
			n++
		}
	}

	var clientBytes [16]byte
	storePair := storesPair(client)
	if storePair {
		clientBytes = client.As16()
	}
	// Strings are made on first need and shared by all entries of the
	// message; a refresh that finds them already stored makes none.
	question := lazyName{b: qname}
	aliases := chain[1:max(n, 1)]
	var aliasStrs []string
	var owner lazyName // last owner name of an address off the chain
	stored := 0

	for i := range m.Answers {
		a := &m.Answers[i]
		if a.Type == TypeCNAME || a.Class&ClassMask != ClassINET {
			continue
		}
		name, cnames, ttl := &question, 0, a.TTL
		if pos := chainIndex(chain[:n], a.Name); pos >= 0 {
			cnames, ttl = pos, min(ttl, chainTTL[pos])
		} else {
			if owner.b == nil || !bytes.Equal(owner.b, a.Name) {
				owner = lazyName{b: a.Name}
			}
			name = &owner
		}
		expires := now + min(max(int64(ttl)*int64(time.Second), c.minTTL), c.maxTTL)
		server := a.Addr.As16()
		if storePair {
			c.store(cacheKey{clientBytes, server}, name, aliases, &aliasStrs, cnames, expires, now)
			stored++
		}
		c.store(cacheKey{server: server}, name, aliases, &aliasStrs, cnames, expires, now)
		stored++
	}
	c.stats.Stored.Add(uint64(stored))
}

// lazyName is a name from the message arena and, once needed, its string.
type lazyName struct {
	b []byte
	s string
}

func (l *lazyName) str(stored string) string {
	if l.s == "" {
		if stored != "" && stored == string(l.b) {
			l.s = stored
		} else {
			l.s = string(l.b)
		}
	}
	return l.s
}

// aliasPrefix returns the first n aliases of chain as strings: stored when
// it already holds them, else *made, which is built on first need. chain
// and made are separate so the chain (on Observe's stack) does not escape.
func aliasPrefix(chain [][]byte, made *[]string, n int, stored []string) []string {
	if n == 0 {
		return nil
	}
	if len(stored) == n && *made == nil {
		same := true
		for i := range stored {
			if stored[i] != string(chain[i]) {
				same = false
				break
			}
		}
		if same {
			return stored
		}
	}
	if *made == nil {
		s := make([]string, len(chain))
		for i, b := range chain {
			s[i] = string(b)
		}
		*made = s
	}
	return (*made)[:n:n]
}

func findCNAME(answers []Answer, owner []byte) *Answer {
	for i := range answers {
		a := &answers[i]
		if a.Type == TypeCNAME && a.Class&ClassMask == ClassINET && bytes.Equal(a.Name, owner) {
			return a
		}
	}
	return nil
}

func chainIndex(chain [][]byte, name []byte) int {
	for i, c := range chain {
		if bytes.Equal(c, name) {
			return i
		}
	}
	return -1
}

// store writes one entry, its name and the first ncnames aliases of the
// chain; the caller holds the write lock. Strings already stored are
// reused: the entry's own on a refresh, else the address-only entry's,
// which holds the name most clients asked for. So re-resolving a known
// name allocates nothing, even for a client new to it.
func (c *Cache) store(k cacheKey, name *lazyName, chain [][]byte, chainStrs *[]string, ncnames int, expires, now int64) {
	i, h := c.index.find(c.entries, k)
	if i >= 0 {
		e := &c.entries[i]
		if e.expires <= now || e.name != string(name.b) {
			// Expired, or the address now answers for another name:
			// this answer starts a new association.
			e.prev = prevName{name: e.name, cnames: e.cnames, observed: e.observed, expires: min(e.expires, now)}
			e.observed = now
		}
		e.name = name.str(e.name)
		e.cnames = aliasPrefix(chain, chainStrs, ncnames, e.cnames)
		e.expires = expires
		return
	}
	var likeName string
	var likeCNAMEs []string
	if k.client != ([16]byte{}) && (name.s == "" || ncnames > 0 && *chainStrs == nil) {
		if j, _ := c.index.find(c.entries, cacheKey{server: k.server}); j >= 0 {
			likeName, likeCNAMEs = c.entries[j].name, c.entries[j].cnames
		}
	}
	if len(c.entries) < c.cfg.MaxEntries {
		i = len(c.entries)
		c.entries = append(c.entries, entry{})
	} else {
		i = c.victim(now)
		c.index.remove(c.entries[i].hash, i)
	}
	e := &c.entries[i]
	*e = entry{key: k, name: name.str(likeName), cnames: aliasPrefix(chain, chainStrs, ncnames, likeCNAMEs), expires: expires, observed: now, hash: h}
	c.index.insert(h, i)
}

// victim advances the CLOCK hand to an entry that is expired or was not
// looked up since the hand's last pass. Two turns always suffice: the
// first clears every reference bit it passes.
func (c *Cache) victim(now int64) int {
	for {
		i := c.hand
		c.hand++
		if c.hand == len(c.entries) {
			c.hand = 0
		}
		e := &c.entries[i]
		if e.expires <= now {
			c.stats.Expired.Add(1)
			return i
		}
		if atomic.LoadUint32(&e.ref) != 0 {
			atomic.StoreUint32(&e.ref, 0)
			continue
		}
		c.stats.Evicted.Add(1)
		return i
	}
}

// Lookup returns the name client most recently received in a DNS answer
// for server, falling back to the name any client received for server.
// now (unix nanoseconds) should be the time the flow started: entries are
// valid from the answer that made them until their clamped TTL ran out, so
// a lookup made after the flow ended still finds the name its client had
// resolved before it began, and not one resolved later.
func (c *Cache) Lookup(client, server netip.Addr, now int64) (name string, ok bool) {
	e, ok := c.LookupEntry(client, server, now)
	return e.Name, ok
}

// LookupEntry is Lookup with the alias chain and expiry.
func (c *Cache) LookupEntry(client, server netip.Addr, now int64) (Entry, bool) {
	if !server.IsValid() {
		c.stats.Misses.Add(1)
		return Entry{}, false
	}
	k := serverKey(server)
	c.mu.RLock()
	defer c.mu.RUnlock()
	// Only clients that store pairs can have one: this also keeps the
	// zero client of ::, the fallback key's, from passing for an exact hit.
	if storesPair(client) {
		if e, ok := c.live(cacheKey{client.As16(), k.server}, now); ok {
			c.stats.Hits.Add(1)
			e.Exact = true
			return e, true
		}
	}
	if e, ok := c.live(k, now); ok {
		c.stats.Fallback.Add(1)
		return e, true
	}
	c.stats.Misses.Add(1)
	return Entry{}, false
}

func (c *Cache) live(k cacheKey, now int64) (Entry, bool) {
	i, _ := c.index.find(c.entries, k)
	if i < 0 {
		return Entry{}, false
	}
	e := &c.entries[i]
	var found Entry
	switch {
	case e.observed <= now && now < e.expires:
		found = Entry{Name: e.name, CNAMEs: e.cnames, Expires: e.expires}
	case e.prev.observed <= now && now < e.prev.expires:
		found = Entry{Name: e.prev.name, CNAMEs: e.prev.cnames, Expires: e.prev.expires}
	default:
		return Entry{}, false
	}
	// Only store when clear: a hot entry's cache line stays shared.
	if atomic.LoadUint32(&e.ref) == 0 {
		atomic.StoreUint32(&e.ref, 1)
	}
	return found, true
}

// Failures returns the names whose lookups failed, most failures first.
// The table holds at most Config.MaxFailureNames names; see Failure for
// how counts behave once it is full.
func (c *Cache) Failures() []Failure {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.fails.sorted()
}

// Stage collects the DNS responses one pipeline worker sees during an
// epoch; Commit applies the stages of all workers in capture order. It
// keeps what Observe reads of each message (header, question name,
// address and CNAME records), with the names copied into an arena of its
// own, so the commit parses nothing again. It is not safe for concurrent
// use: give each worker its own.
type Stage struct {
	names   []byte
	answers []stagedAnswer
	recs    []stagedResponse
}

type stagedResponse struct {
	ordinal           uint64
	client            netip.Addr
	now               int64
	header            Header
	qname             span // empty: no question
	hasQuestion       bool
	answers, answers2 int // the record's answers: Stage.answers[answers:answers2]
}

type stagedAnswer struct {
	name, target span
	typ          Type
	class        Class
	ttl          uint32
	addr         netip.Addr
}

// span is a name in Stage.names.
type span struct{ start, end int32 }

func (s *Stage) name(b []byte) span {
	start := len(s.names)
	s.names = append(s.names, b...)
	return span{int32(start), int32(len(s.names))}
}

func (s *Stage) bytes(n span) []byte { return s.names[n.start:n.end:n.end] }

// stagedRef is a staged response, its ordinal copied so that sorting
// reads no stage.
type stagedRef struct {
	ordinal uint64
	stage   *Stage
	i       int
}

// Group is the Stages of one pipeline, which its Commit applies. A
// pipeline's commit pauses only its own workers, so when several pipelines
// share a Cache (live capture runs one per socket), each gets a Group. The
// Cache's own NewStage and Commit use a default Group.
type Group struct {
	c      *Cache
	mu     sync.Mutex
	stages []*Stage
	merged []stagedRef
	heads  []int // per stage, the next record to merge
}

// NewGroup returns an empty Group of c.
func (c *Cache) NewGroup() *Group { return &Group{c: c} }

// NewStage returns a Stage of c's default Group.
func (c *Cache) NewStage() *Stage { return c.def.NewStage() }

// Commit commits c's default Group; see Group.Commit.
func (c *Cache) Commit(now int64) { c.def.Commit(now) }

// NewStage returns a Stage whose responses g.Commit applies.
func (g *Group) NewStage() *Stage {
	s := &Stage{}
	g.mu.Lock()
	g.stages = append(g.stages, s)
	g.mu.Unlock()
	return s
}

// Observe stages response m, received by client at now as the packet with
// the given ordinal. m may be reused as soon as it returns.
func (s *Stage) Observe(ordinal uint64, client netip.Addr, m *Message, now int64) {
	rec := stagedResponse{ordinal: ordinal, client: client, now: now, header: m.Header, answers: len(s.answers)}
	if len(m.Questions) > 0 {
		rec.qname, rec.hasQuestion = s.name(m.Questions[0].Name), true
	}
	for i := range m.Answers {
		a := &m.Answers[i]
		sa := stagedAnswer{name: s.name(a.Name), typ: a.Type, class: a.Class, ttl: a.TTL, addr: a.Addr}
		if a.Target != nil {
			sa.target = s.name(a.Target)
		}
		s.answers = append(s.answers, sa)
	}
	rec.answers2 = len(s.answers)
	s.recs = append(s.recs, rec)
}

// message rebuilds the staged response rec into m, its names pointing into
// the stage's arena.
func (s *Stage) message(rec *stagedResponse, m *Message) {
	m.Header = rec.header
	m.Questions = m.Questions[:0]
	if rec.hasQuestion {
		m.Questions = append(m.Questions, Question{Name: s.bytes(rec.qname)})
	}
	m.Answers = m.Answers[:0]
	for _, sa := range s.answers[rec.answers:rec.answers2] {
		a := Answer{Name: s.bytes(sa.name), Type: sa.typ, Class: sa.class, TTL: sa.ttl, Addr: sa.addr}
		if sa.target != (span{}) {
			a.Target = s.bytes(sa.target)
		}
		m.Answers = append(m.Answers, a)
	}
}

// order returns the responses of g's stages in ordinal order, ties in
// staging order. A stage's responses are in order already (a worker sees
// its packets as they come), so it merges the stages: a comparison per
// response and stage rather than a sort's log n. Should a stage be out of
// order, a stable sort puts the merge right.
func (g *Group) order() []stagedRef {
	refs := g.merged[:0]
	heads := g.heads[:0]
	for range g.stages {
		heads = append(heads, 0)
	}
	for {
		next, ordinal := -1, uint64(0)
		for j, s := range g.stages {
			if h := heads[j]; h < len(s.recs) && (next < 0 || s.recs[h].ordinal < ordinal) {
				next, ordinal = j, s.recs[h].ordinal
			}
		}
		if next < 0 {
			break
		}
		refs = append(refs, stagedRef{ordinal, g.stages[next], heads[next]})
		heads[next]++
	}
	g.heads = heads
	byOrdinal := func(a, b stagedRef) int { return cmp.Compare(a.ordinal, b.ordinal) }
	if !slices.IsSortedFunc(refs, byOrdinal) {
		slices.SortStableFunc(refs, byOrdinal)
	}
	return refs
}

// Commit applies the responses of g's stages in ordinal order, as if one
// goroutine had observed them as the packets came, and empties the stages.
// It implements capture.Shared: no Stage of g may be used meanwhile (the
// pipeline pauses its workers).
func (g *Group) Commit(int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	refs := g.order()
	// One write lock for the epoch rather than one per response: the
	// pipeline's workers are paused, and another pipeline's lookups wait
	// for as long as the few hundred responses of an epoch take.
	c := g.c
	c.mu.Lock()
	for _, r := range refs {
		rec := &r.stage.recs[r.i]
		r.stage.message(rec, &c.msg)
		c.observe(rec.client, &c.msg, rec.now)
	}
	c.mu.Unlock()
	clear(refs)
	g.merged = refs[:0]
	for _, s := range g.stages {
		s.names, s.answers, s.recs = s.names[:0], s.answers[:0], s.recs[:0]
	}
}

package dnsinfo

import (
	"bytes"
	"cmp"
	"hash/maphash"
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
	// madeRoom is set once victim has replaced an entry; until then none
	// was ever removed.
	madeRoom bool
	fails    failureTable
	stats    CacheStats

	// Staged responses of pipeline workers, applied by commits. Observe
	// stages into scratch; commits and Observe use aliases as the
	// message's CNAME chain (both hold mu).
	def     *Group
	scratch Stage
	aliases [][]byte
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
	c.scratch = *c.newStage()
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
//
// It stages m and applies it at once, so that Observe and a Group's
// Commit store by one code path.
func (c *Cache) Observe(client netip.Addr, m *Message, now int64) {
	c.mu.Lock()
	s := &c.scratch
	s.Observe(0, client, m, now)
	c.apply(s, &s.recs[0])
	s.reset()
	c.mu.Unlock()
}

// apply stores staged response r of stage s; the caller holds the write
// lock.
func (c *Cache) apply(s *Stage, r *stagedResponse) {
	switch r.kind {
	case stagedIgnored:
		c.stats.Ignored.Add(1)
		return
	case stagedFailed:
		c.stats.Responses.Add(1)
		c.stats.Failed.Add(1)
		if r.hasQuestion {
			c.fails.add(s.bytes(r.qname), r.rcode, r.now)
		}
		return
	}
	c.stats.Responses.Add(1)
	answers := s.answers[r.answers:r.answers2]
	if len(answers) == 0 {
		return
	}
	// Strings are made on first need and shared by all entries of the
	// message; a refresh that finds them already stored makes none.
	aliases := c.aliases[:0]
	for _, a := range s.aliases[r.aliases:r.aliases2] {
		aliases = append(aliases, s.bytes(a))
	}
	c.aliases = aliases
	var aliasStrs []string
	var question lazyName
	if r.hasQuestion {
		question.b = s.bytes(r.qname)
	}
	var owner lazyName // last owner name of an address off the chain
	var ownerSpan span
	stored := 0
	for i := range answers {
		a := &answers[i]
		name := &question
		if !a.onChain {
			if owner.b == nil || a.name != ownerSpan {
				owner, ownerSpan = lazyName{b: s.bytes(a.name)}, a.name
			}
			name = &owner
		}
		if r.storePair {
			c.store(cacheKey{r.client, a.server}, a.pairHash, a.serverHash, name, aliases, &aliasStrs, int(a.cnames), a.expires, r.now)
			stored++
		}
		c.store(cacheKey{server: a.server}, a.serverHash, a.serverHash, name, aliases, &aliasStrs, int(a.cnames), a.expires, r.now)
		stored++
	}
	c.stats.Stored.Add(uint64(stored))
}

// lazyName is a name from a stage's arena and, once needed, its string.
type lazyName struct {
	b []byte
	s string
}

// is reports whether the name is stored, which then is its string: one
// comparison, and the string the entries share.
func (l *lazyName) is(stored string) bool {
	if l.s != "" {
		return l.s == stored
	}
	if stored != string(l.b) {
		return false
	}
	l.s = stored
	return true
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
// it already holds them, else *made, which is built on first need.
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
// chain; the caller holds the write lock. h is k's hash, serverHash that
// of k's address-only key. Strings already stored are reused: the
// entry's own on a refresh, else the address-only entry's, which holds
// the name most clients asked for. So re-resolving a known name
// allocates nothing, even for a client new to it.
func (c *Cache) store(k cacheKey, h, serverHash uint32, name *lazyName, chain [][]byte, chainStrs *[]string, ncnames int, expires, now int64) {
	i := c.index.findHashed(c.entries, k, h)
	if i >= 0 {
		e := &c.entries[i]
		same := name.is(e.name)
		if e.expires <= now || !same {
			// Expired, or the address now answers for another name:
			// this answer starts a new association.
			e.prev = prevName{name: e.name, cnames: e.cnames, observed: e.observed, expires: min(e.expires, now)}
			e.observed = now
		}
		if !same {
			e.name = name.str("")
		}
		e.cnames = aliasPrefix(chain, chainStrs, ncnames, e.cnames)
		e.expires = expires
		return
	}
	var likeName string
	var likeCNAMEs []string
	if k.client != ([16]byte{}) && (name.s == "" || ncnames > 0 && *chainStrs == nil) {
		if j := c.index.findHashed(c.entries, cacheKey{server: k.server}, serverHash); j >= 0 {
			likeName, likeCNAMEs = c.entries[j].name, c.entries[j].cnames
		}
	}
	if len(c.entries) < c.cfg.MaxEntries {
		if len(c.entries) == cap(c.entries) {
			// Double, up to the bound, where append would add a quarter:
			// each growth copies every entry, during a commit.
			c.entries = slices.Grow(c.entries, min(max(len(c.entries), 64), c.cfg.MaxEntries-len(c.entries)))
		}
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
	c.madeRoom = true
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
	at, found := -1, false // k's position, once found
	// Only clients that store pairs can have one: this also keeps the
	// zero client of ::, the fallback key's, from passing for an exact hit.
	if storesPair(client) {
		if !c.madeRoom {
			// Until the cache first makes room, every (client,
			// address) entry has the address-only entry stored with it
			// beside it: an address without one has neither, and the
			// probe for the pair, as often a cache miss as not, is
			// saved. Most flows go to addresses no answer named.
			at, _ = c.index.find(c.entries, k)
			if found = true; at < 0 {
				c.stats.Misses.Add(1)
				return Entry{}, false
			}
		}
		if i, _ := c.index.find(c.entries, cacheKey{client.As16(), k.server}); i >= 0 {
			if e, ok := c.live(i, now); ok {
				c.stats.Hits.Add(1)
				e.Exact = true
				return e, true
			}
		}
	}
	if !found {
		at, _ = c.index.find(c.entries, k)
	}
	if at >= 0 {
		if e, ok := c.live(at, now); ok {
			c.stats.Fallback.Add(1)
			return e, true
		}
	}
	c.stats.Misses.Add(1)
	return Entry{}, false
}

// live returns entry i's association that was current at now.
func (c *Cache) live(i int, now int64) (Entry, bool) {
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
// epoch; Commit applies the stages of all workers in capture order. The
// worker does all the reading of a message that does not depend on the
// cache: it follows the question name's CNAME chain, picks the name each
// address is stored under, clamps the TTLs and hashes the keys, and keeps
// the result with the names copied into an arena of its own. The commit,
// which pauses every worker, only stores. It is not safe for concurrent
// use: give each worker its own.
type Stage struct {
	// seed, minTTL and maxTTL are the cache's, which never change.
	seed           maphash.Seed
	minTTL, maxTTL int64

	names   []byte
	aliases []span // CNAME chains from the question name, past it
	answers []stagedAnswer
	recs    []stagedResponse
}

// stagedKind is what the cache does with a staged response.
type stagedKind uint8

const (
	stagedStore   stagedKind = iota // store its addresses, if any
	stagedIgnored                   // a query, or an opcode other than QUERY
	stagedFailed                    // count the failure under its question name
)

type stagedResponse struct {
	ordinal     uint64
	now         int64
	client      [16]byte // with storePair
	kind        stagedKind
	storePair   bool // the client gets (client, address) entries
	hasQuestion bool
	rcode       RCode
	qname       span
	// The record's aliases are Stage.aliases[aliases:aliases2], its
	// addresses Stage.answers[answers:answers2].
	aliases, aliases2 int32
	answers, answers2 int32
}

// stagedAnswer is one address record as the cache stores it.
type stagedAnswer struct {
	server [16]byte
	// onChain: stored under the question name with its first cnames
	// aliases; else under name, the record's owner.
	onChain              bool
	cnames               int32
	name                 span
	expires              int64
	pairHash, serverHash uint32
}

// span is a name in Stage.names.
type span struct{ start, end int32 }

func (s *Stage) name(b []byte) span {
	start := len(s.names)
	s.names = append(s.names, b...)
	return span{int32(start), int32(len(s.names))}
}

func (s *Stage) bytes(n span) []byte { return s.names[n.start:n.end:n.end] }

func (s *Stage) reset() {
	s.names, s.aliases, s.answers, s.recs = s.names[:0], s.aliases[:0], s.answers[:0], s.recs[:0]
}

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
	// warmed is what warm read, kept so that the reads stay.
	warmed uint64
}

// warm reads the index slot and the entry of every (client, address) key
// the stages store, so that the commit's stores find them in the CPU
// cache. They are mostly misses otherwise: a site's entries span
// megabytes, and the packets of an epoch evicted them. This loop is tight
// and its reads are independent, so many misses are in flight at once,
// where the stores, with much work between two finds, wait for each in
// turn: a commit takes about a quarter less time. Only the first probe
// slot is read; the loads are the point, the sum is not.
func (c *Cache) warm(stages []*Stage) uint64 {
	var sum uint64
	mask := uint32(len(c.index.slots) - 1)
	for _, s := range stages {
		for i := range s.answers {
			if slot := c.index.slots[s.answers[i].pairHash&mask]; slot != 0 {
				e := &c.entries[uint32(slot)-1]
				sum += uint64(e.key.server[0]) + uint64(e.expires)
			}
		}
	}
	return sum
}

// NewGroup returns an empty Group of c.
func (c *Cache) NewGroup() *Group { return &Group{c: c} }

// NewStage returns a Stage of c's default Group.
func (c *Cache) NewStage() *Stage { return c.def.NewStage() }

// Commit commits c's default Group; see Group.Commit.
func (c *Cache) Commit(now int64) { c.def.Commit(now) }

// NewStage returns a Stage whose responses g.Commit applies.
func (g *Group) NewStage() *Stage {
	s := g.c.newStage()
	g.mu.Lock()
	g.stages = append(g.stages, s)
	g.mu.Unlock()
	return s
}

func (c *Cache) newStage() *Stage {
	return &Stage{seed: c.index.seed, minTTL: c.minTTL, maxTTL: c.maxTTL}
}

// Observe stages response m, received by client at now as the packet with
// the given ordinal; see Cache.Observe for what the cache makes of it. m
// may be reused as soon as it returns.
func (s *Stage) Observe(ordinal uint64, client netip.Addr, m *Message, now int64) {
	rec := stagedResponse{ordinal: ordinal, now: now, rcode: m.RCode,
		aliases: int32(len(s.aliases)), answers: int32(len(s.answers))}
	rec.aliases2, rec.answers2 = rec.aliases, rec.answers
	var qname []byte
	if len(m.Questions) > 0 {
		qname = m.Questions[0].Name
	}
	switch {
	case !m.Response || m.Opcode != OpcodeQuery:
		rec.kind = stagedIgnored
	case m.RCode != RCodeSuccess:
		rec.kind = stagedFailed
		if qname != nil {
			rec.qname, rec.hasQuestion = s.name(qname), true
		}
	case len(m.Answers) > 0:
		s.plan(&rec, client, m, qname, now)
	}
	s.recs = append(s.recs, rec)
}

// plan stages the address records of successful response m.
func (s *Stage) plan(rec *stagedResponse, client netip.Addr, m *Message, qname []byte, now int64) {
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
	if rec.storePair = storesPair(client); rec.storePair {
		rec.client = client.As16()
	}
	var owner []byte // last owner name of an address off the chain
	var ownerSpan span
	for i := range m.Answers {
		a := &m.Answers[i]
		if a.Type == TypeCNAME || a.Class&ClassMask != ClassINET {
			continue
		}
		sa := stagedAnswer{server: a.Addr.As16()}
		ttl := a.TTL
		if pos := chainIndex(chain[:n], a.Name); pos >= 0 {
			sa.onChain, sa.cnames, ttl = true, int32(pos), min(ttl, chainTTL[pos])
			if !rec.hasQuestion {
				rec.qname, rec.hasQuestion = s.name(qname), true
			}
			if pos > 0 && rec.aliases2 == rec.aliases {
				for _, alias := range chain[1:n] {
					s.aliases = append(s.aliases, s.name(alias))
				}
				rec.aliases2 = int32(len(s.aliases))
			}
		} else {
			if owner == nil || !bytes.Equal(owner, a.Name) {
				owner, ownerSpan = a.Name, s.name(a.Name)
			}
			sa.name = ownerSpan
		}
		sa.expires = now + min(max(int64(ttl)*int64(time.Second), s.minTTL), s.maxTTL)
		sa.serverHash = hashKey(s.seed, cacheKey{server: sa.server})
		if rec.storePair {
			sa.pairHash = hashKey(s.seed, cacheKey{rec.client, sa.server})
		}
		s.answers = append(s.answers, sa)
	}
	rec.answers2 = int32(len(s.answers))
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
	g.warmed = c.warm(g.stages)
	for _, r := range refs {
		c.apply(r.stage, &r.stage.recs[r.i])
	}
	c.mu.Unlock()
	clear(refs)
	g.merged = refs[:0]
	for _, s := range g.stages {
		s.reset()
	}
}

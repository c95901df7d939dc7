package dnsinfo

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// response builds a NOERROR response to qname whose answer section is the
// given CNAME chain (each hop owned by the previous name, qname first)
// followed by address records owned by the chain's last name.
func response(t testing.TB, rcode uint16, qname string, cnames []string, ttl uint32, addrs ...string) *Message {
	t.Helper()
	b := cat(header(1, bitsResponse|rcode, 1, uint16(len(cnames)+len(addrs)), 0, 0), question(wireName(qname), TypeA))
	owner := qname
	for _, c := range cnames {
		b = append(b, record(wireName(owner), TypeCNAME, 1, ttl, wireName(c))...)
		owner = c
	}
	for _, a := range addrs {
		typ := TypeA
		if netip.MustParseAddr(a).Is6() {
			typ = TypeAAAA
		}
		b = append(b, record(wireName(owner), typ, 1, ttl, ip(a))...)
	}
	var m Message
	if err := Parse(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

var (
	clientA = netip.MustParseAddr("10.0.0.1")
	clientB = netip.MustParseAddr("10.0.0.2")
	t0      = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
)

func sec(s int) int64 { return t0 + int64(s)*int64(time.Second) }

func TestCacheLookup(t *testing.T) {
	type observe struct {
		client string
		m      *Message
		at     int64
	}
	type lookup struct {
		client, server string
		at             int64
		name           string // "" = miss
		cnames         []string
		exact          bool
	}
	cdn := []string{"cdn.example.com", "edge.example.net"}
	tests := []struct {
		name    string
		cfg     Config
		observe []observe
		lookups []lookup
	}{{
		name:    "cname chain names the question",
		observe: []observe{{"10.0.0.1", response(t, 0, "www.Example.com", cdn, 600, "192.0.2.10", "2001:db8::10"), t0}},
		lookups: []lookup{
			{"10.0.0.1", "192.0.2.10", sec(1), "www.example.com", cdn, true},
			{"10.0.0.1", "2001:db8::10", sec(1), "www.example.com", cdn, true},
			{"10.0.0.2", "192.0.2.10", sec(1), "www.example.com", cdn, false},
			{"10.0.0.1", "192.0.2.11", sec(1), "", nil, false},
		},
	}, {
		name: "latest answer wins per client, fallback is the latest overall",
		observe: []observe{
			{"10.0.0.1", response(t, 0, "a.example", nil, 600, "192.0.2.1"), sec(0)},
			{"10.0.0.2", response(t, 0, "b.example", nil, 600, "192.0.2.1"), sec(1)},
		},
		lookups: []lookup{
			{"10.0.0.1", "192.0.2.1", sec(2), "a.example", nil, true},
			{"10.0.0.2", "192.0.2.1", sec(2), "b.example", nil, true},
			{"10.0.0.3", "192.0.2.1", sec(2), "b.example", nil, false},
			{"::ffff:10.0.0.1", "::ffff:192.0.2.1", sec(2), "a.example", nil, true},
		},
	}, {
		name: "an answer names nothing before it arrived",
		observe: []observe{
			{"10.0.0.1", response(t, 0, "a.example", nil, 600, "192.0.2.1"), sec(10)},
		},
		lookups: []lookup{
			{"10.0.0.1", "192.0.2.1", sec(9), "", nil, false},
			{"10.0.0.1", "192.0.2.1", sec(10), "a.example", nil, true},
		},
	}, {
		name: "a new name for the address keeps the old one for earlier flows",
		observe: []observe{
			{"10.0.0.1", response(t, 0, "a.example", nil, 600, "192.0.2.1"), sec(0)},
			{"10.0.0.1", response(t, 0, "a.example", nil, 600, "192.0.2.1"), sec(5)},
			{"10.0.0.1", response(t, 0, "b.example", nil, 600, "192.0.2.1"), sec(10)},
		},
		lookups: []lookup{
			{"10.0.0.1", "192.0.2.1", sec(7), "a.example", nil, true},
			{"10.0.0.1", "192.0.2.1", sec(10), "b.example", nil, true},
			{"10.0.0.2", "192.0.2.1", sec(3), "a.example", nil, false},
		},
	}, {
		name: "TTL clamped to the minimum",
		cfg:  Config{MinTTL: 30 * time.Second, MaxTTL: time.Hour},
		observe: []observe{
			{"10.0.0.1", response(t, 0, "short.example", nil, 5, "192.0.2.1"), t0},
		},
		lookups: []lookup{
			{"10.0.0.1", "192.0.2.1", sec(29), "short.example", nil, true},
			{"10.0.0.1", "192.0.2.1", sec(30), "", nil, false},
		},
	}, {
		name: "TTL clamped to the maximum",
		cfg:  Config{MinTTL: 30 * time.Second, MaxTTL: time.Hour},
		observe: []observe{
			{"10.0.0.1", response(t, 0, "long.example", nil, 7*86400, "192.0.2.1"), t0},
		},
		lookups: []lookup{
			{"10.0.0.1", "192.0.2.1", sec(3599), "long.example", nil, true},
			{"10.0.0.2", "192.0.2.1", sec(3600), "", nil, false},
		},
	}, {
		name: "chain TTL is the smallest on the way",
		cfg:  Config{MinTTL: time.Second, MaxTTL: time.Hour},
		observe: []observe{{"10.0.0.1", func() *Message {
			// www (ttl 600) -> edge (ttl 60) -> A (ttl 600)
			b := cat(header(1, bitsResponse, 1, 2, 0, 0), question(wireName("www.example"), TypeA),
				record(ptr(12), TypeCNAME, 1, 60, wireName("edge.example")),
				record(wireName("edge.example"), TypeA, 1, 600, ip("192.0.2.1")))
			var m Message
			if err := Parse(b, &m); err != nil {
				t.Fatal(err)
			}
			return &m
		}(), t0}},
		lookups: []lookup{
			{"10.0.0.1", "192.0.2.1", sec(59), "www.example", []string{"edge.example"}, true},
			{"10.0.0.1", "192.0.2.1", sec(60), "", nil, false},
		},
	}, {
		name: "failures, queries and non-QUERY opcodes store nothing",
		observe: []observe{
			{"10.0.0.1", response(t, uint16(RCodeNameError), "gone.example", nil, 600, "192.0.2.1"), t0},
			{"10.0.0.1", func() *Message { m := response(t, 0, "q.example", nil, 600, "192.0.2.2"); m.Response = false; return m }(), t0},
			{"10.0.0.1", func() *Message {
				m := response(t, 0, "n.example", nil, 600, "192.0.2.3")
				m.Opcode = OpcodeNotify
				return m
			}(), t0},
		},
		lookups: []lookup{
			{"10.0.0.1", "192.0.2.1", sec(1), "", nil, false},
			{"10.0.0.1", "192.0.2.2", sec(1), "", nil, false},
			{"10.0.0.1", "192.0.2.3", sec(1), "", nil, false},
		},
	}, {
		name: "multicast receiver stores only the address",
		observe: []observe{
			{"224.0.0.251", response(t, 0, "printer.local", nil, 120, "10.0.0.9"), t0},
		},
		lookups: []lookup{
			{"224.0.0.251", "10.0.0.9", sec(1), "printer.local", nil, false},
			{"10.0.0.1", "10.0.0.9", sec(1), "printer.local", nil, false},
		},
	}, {
		// The address-only entry's key has an all-zero client, which is
		// also how :: packs: :: must not find it as its own.
		name: "unspecified client finds only the address entry",
		observe: []observe{
			{"::", response(t, 0, "any.example", nil, 600, "2001:db8::5"), t0},
			{"::ffff:0.0.0.0", response(t, 0, "any.example", nil, 600, "2001:db8::5"), t0},
			{"10.0.0.1", response(t, 0, "mine.example", nil, 600, "2001:db8::6"), t0},
		},
		lookups: []lookup{
			{"::", "2001:db8::5", sec(1), "any.example", nil, false},
			{"0.0.0.0", "2001:db8::5", sec(1), "any.example", nil, false},
			{"::", "2001:db8::6", sec(1), "mine.example", nil, false},
			{"0.0.0.0", "2001:db8::6", sec(1), "mine.example", nil, false},
			{"::ffff:0.0.0.0", "2001:db8::6", sec(1), "mine.example", nil, false},
		},
	}, {
		name: "zones are not part of the client",
		observe: []observe{
			{"fe80::1%eth0", response(t, 0, "link.example", nil, 600, "2001:db8::7"), t0},
		},
		lookups: []lookup{
			{"fe80::1", "2001:db8::7", sec(1), "link.example", nil, true},
			{"fe80::1%eth1", "2001:db8::7", sec(1), "link.example", nil, true},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCache(tt.cfg)
			for _, o := range tt.observe {
				c.Observe(netip.MustParseAddr(o.client), o.m, o.at)
			}
			for _, l := range tt.lookups {
				e, ok := c.LookupEntry(netip.MustParseAddr(l.client), netip.MustParseAddr(l.server), l.at)
				if ok != (l.name != "") || e.Name != l.name || !slices.Equal(e.CNAMEs, l.cnames) || e.Exact != l.exact {
					t.Errorf("LookupEntry(%s, %s, +%ds) = %+v, %v; want %q %q exact=%v",
						l.client, l.server, (l.at-t0)/1e9, e, ok, l.name, l.cnames, l.exact)
				}
				if name, ok2 := c.Lookup(netip.MustParseAddr(l.client), netip.MustParseAddr(l.server), l.at); name != e.Name || ok2 != ok {
					t.Errorf("Lookup disagrees with LookupEntry: %q %v", name, ok2)
				}
			}
		})
	}
}

// TestCacheEviction drives the CLOCK hand through a three-entry cache. The
// observations use a multicast receiver so each address takes one entry.
func TestCacheEviction(t *testing.T) {
	mcast := netip.MustParseAddr("224.0.0.251")
	addr := func(i int) string { return fmt.Sprintf("192.0.2.%d", i) }
	c := NewCache(Config{MaxEntries: 3, MinTTL: time.Second, MaxTTL: time.Hour})
	observe := func(i int, ttl uint32, at int64) {
		c.Observe(mcast, response(t, 0, fmt.Sprintf("h%d.example", i), nil, ttl, addr(i)), at)
	}
	present := func(at int64) (got []int) {
		for i := 1; i <= 5; i++ {
			if _, ok := c.Lookup(clientA, netip.MustParseAddr(addr(i)), at); ok {
				got = append(got, i)
			}
		}
		return got
	}
	steps := []struct {
		name          string
		do            func()
		at            int64
		want          []int
		evict, expire uint64
	}{
		{"fill", func() { observe(1, 600, t0); observe(2, 600, t0); observe(3, 10, t0) }, sec(1), []int{1, 2, 3}, 0, 0},
		// present() looked every entry up, so all reference bits are set:
		// the hand clears them in one turn and takes entry 1 on the next.
		{"all referenced", func() { observe(4, 600, sec(2)) }, sec(2), []int{2, 3, 4}, 1, 0},
		// Entry 3 expired at 10 s; the hand is on entry 2, whose bit
		// present() set, so it passes 2 and reclaims 3 as expired.
		{"expired first", func() { observe(5, 600, sec(20)) }, sec(20), []int{2, 4, 5}, 1, 1},
		{"refresh does not evict", func() { observe(5, 600, sec(21)) }, sec(21), []int{2, 4, 5}, 1, 1},
	}
	for _, s := range steps {
		s.do()
		if got := present(s.at); !slices.Equal(got, s.want) {
			t.Errorf("%s: present %v, want %v", s.name, got, s.want)
		}
		if c.Len() > 3 {
			t.Errorf("%s: %d entries in a cache of 3", s.name, c.Len())
		}
		st := c.Stats()
		if st.Evicted.Load() != s.evict || st.Expired.Load() != s.expire {
			t.Errorf("%s: evicted %d expired %d, want %d %d", s.name, st.Evicted.Load(), st.Expired.Load(), s.evict, s.expire)
		}
	}
}

// TestCacheEvictionUnreferenced checks that CLOCK spares an entry a Lookup
// touched and evicts one that nobody asked for.
func TestCacheEvictionUnreferenced(t *testing.T) {
	mcast := netip.MustParseAddr("224.0.0.251")
	c := NewCache(Config{MaxEntries: 2})
	c.Observe(mcast, response(t, 0, "hot.example", nil, 600, "192.0.2.1"), t0)
	c.Observe(mcast, response(t, 0, "cold.example", nil, 600, "192.0.2.2"), t0)
	if _, ok := c.Lookup(clientA, netip.MustParseAddr("192.0.2.1"), t0); !ok {
		t.Fatal("hot entry missing")
	}
	c.Observe(mcast, response(t, 0, "new.example", nil, 600, "192.0.2.3"), t0)
	for addr, want := range map[string]bool{"192.0.2.1": true, "192.0.2.2": false, "192.0.2.3": true} {
		if _, ok := c.Lookup(clientA, netip.MustParseAddr(addr), t0); ok != want {
			t.Errorf("%s present = %v, want %v", addr, ok, want)
		}
	}
}

// TestCachePairWithoutAddressEntry checks the lookup of a (client,
// address) entry whose address-only entry CLOCK evicted: it is still the
// client's exact answer. An address without its own entry has no pair
// entries only as long as the cache never made room.
func TestCachePairWithoutAddressEntry(t *testing.T) {
	clientC := netip.MustParseAddr("10.0.0.3")
	a1, a2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	c := NewCache(Config{MaxEntries: 4})
	c.Observe(clientA, response(t, 0, "a.example", nil, 600, "192.0.2.1"), t0)
	// Unknown addresses miss, and a pair's address-only entry is there.
	if _, ok := c.Lookup(clientA, a2, t0); ok {
		t.Fatal("an address no answer named has a name")
	}
	if e, ok := c.LookupEntry(clientA, a1, t0); !ok || !e.Exact || e.Name != "a.example" {
		t.Fatalf("LookupEntry = %+v, %v; want the exact a.example", e, ok)
	}
	c.Observe(clientB, response(t, 0, "b.example", nil, 600, "192.0.2.2"), t0)
	// Full. The next answer's two entries take the places of the
	// entries nobody looked up: 192.0.2.1's own entry and clientB's.
	c.Observe(clientC, response(t, 0, "c.example", nil, 600, "192.0.2.3"), t0)
	if n := c.Stats().Evicted.Load(); n != 2 {
		t.Fatalf("%d entries evicted, want 2", n)
	}
	if _, ok := c.Lookup(clientB, a1, t0); ok {
		t.Error("192.0.2.1's address-only entry is still there")
	}
	if e, ok := c.LookupEntry(clientA, a1, t0); !ok || !e.Exact || e.Name != "a.example" {
		t.Errorf("LookupEntry = %+v, %v; want the exact a.example that outlived its address entry", e, ok)
	}
	st := c.Stats()
	if st.Hits.Load() != 2 || st.Fallback.Load() != 0 || st.Misses.Load() != 2 {
		t.Errorf("hits %d fallback %d misses %d, want 2 0 2", st.Hits.Load(), st.Fallback.Load(), st.Misses.Load())
	}
}

func TestCacheFailures(t *testing.T) {
	c := NewCache(Config{MaxFailureNames: 2})
	fail := func(name string, rc RCode, n int) {
		for range n {
			c.Observe(clientA, response(t, uint16(rc), name, nil, 0), t0)
		}
	}
	fail("gone.example", RCodeNameError, 3)
	fail("broken.example", RCodeServerFailure, 1)
	fail("Gone.Example", RCodeServerFailure, 1)
	// The table is full: refused.example takes over broken.example (the
	// smallest count, 1) and inherits that count as its overcount.
	fail("refused.example", RCodeRefused, 1)
	want := []Failure{
		{Name: "gone.example", Count: 4, NXDomain: 3, ServFail: 1, LastRCode: RCodeServerFailure, Last: t0},
		{Name: "refused.example", Count: 2, Overcount: 1, Refused: 1, LastRCode: RCodeRefused, Last: t0},
	}
	if got := c.Failures(); !slices.Equal(got, want) {
		t.Errorf("Failures() = %+v\nwant %+v", got, want)
	}
	if got := c.Stats().Failed.Load(); got != 6 {
		t.Errorf("Failed = %d, want 6", got)
	}
	if c.Len() != 0 {
		t.Errorf("failures stored %d entries", c.Len())
	}
}

// TestCacheAllocs checks that refreshing known answers and looking them up
// allocate nothing: only a new name costs its string.
func TestCacheAllocs(t *testing.T) {
	c := NewCache(Config{})
	m := response(t, 0, "www.example.com", []string{"cdn.example.net"}, 60, "192.0.2.1", "192.0.2.2")
	c.Observe(clientA, m, t0)
	server := netip.MustParseAddr("192.0.2.2")
	if n := testing.AllocsPerRun(100, func() { c.Observe(clientA, m, t0) }); n != 0 {
		t.Errorf("Observe of a known answer: %.1f allocs", n)
	}
	if n := testing.AllocsPerRun(100, func() { c.Lookup(clientA, server, t0) }); n != 0 {
		t.Errorf("Lookup: %.1f allocs", n)
	}
}

// TestCacheConcurrent runs Observe and Lookup from several goroutines; run
// it with -race.
func TestCacheConcurrent(t *testing.T) {
	c := NewCache(Config{MaxEntries: 64})
	msgs := make([]*Message, 16)
	for i := range msgs {
		msgs[i] = response(t, 0, fmt.Sprintf("h%d.example", i), nil, 60, fmt.Sprintf("192.0.2.%d", i))
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			client := netip.AddrFrom4([4]byte{10, 0, 0, byte(w)})
			for i := range 2000 {
				if w%2 == 0 {
					c.Observe(client, msgs[i%len(msgs)], sec(i))
				}
				c.Lookup(client, netip.AddrFrom4([4]byte{192, 0, 2, byte(i % len(msgs))}), sec(i))
			}
		})
	}
	wg.Wait()
	if c.Len() > 64 {
		t.Errorf("%d entries in a cache of 64", c.Len())
	}
	if _, ok := c.Lookup(netip.AddrFrom4([4]byte{10, 0, 0, 0}), netip.MustParseAddr("192.0.2.15"), sec(1999)); !ok {
		t.Error("last observed answer missing")
	}
}

func BenchmarkCacheLookup(b *testing.B) {
	c := NewCache(Config{})
	for i := range 1000 {
		addr := fmt.Sprintf("198.51.%d.%d", i/256, i%256)
		c.Observe(clientA, response(b, 0, fmt.Sprintf("h%d.example", i), nil, 600, addr), t0)
	}
	server := netip.MustParseAddr("198.51.1.7")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		c.Lookup(clientA, server, t0)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lookups/s")
}

func BenchmarkCacheObserve(b *testing.B) {
	msgs, _ := readMessages(b, "dns-edns-ecs.pcap")
	parsed := make([]*Message, 0, len(msgs))
	clients := make([]netip.Addr, 0, len(msgs))
	for _, msg := range msgs {
		m := new(Message)
		if Parse(msg.data, m) == nil && m.Response {
			parsed, clients = append(parsed, m), append(clients, msg.dst)
		}
	}
	c := NewCache(Config{})
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		c.Observe(clients[n%len(parsed)], parsed[n%len(parsed)], t0)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pkts/s")
}

// TestStageCommit checks that responses staged by several workers reach
// the cache in packet order, whichever worker staged them, and only when
// committed.
func TestStageCommit(t *testing.T) {
	c := NewCache(Config{})
	w1, w2 := c.NewStage(), c.NewStage()
	// The same address answers for three names; packet order decides
	// which one is current, and worker 2 stages its answers first.
	// A Stage copies what it needs: the names are scribbled over after
	// staging, as the next Parse into a reused Message would.
	stage := func(s *Stage, ordinal uint64, client netip.Addr, qname string, cnames []string, addr string, at int64) {
		m := response(t, 0, qname, cnames, 600, addr)
		s.Observe(ordinal, client, m, at)
		for i := range m.names {
			m.names[i] = 'x'
		}
	}
	stage(w2, 7, clientA, "c.example", nil, "192.0.2.1", sec(7))
	stage(w2, 3, clientA, "b.example", nil, "192.0.2.1", sec(3))
	stage(w1, 1, clientA, "a.example", nil, "192.0.2.1", sec(1))
	stage(w1, 5, clientB, "www.d.example", []string{"edge.d.example"}, "192.0.2.2", sec(5))
	if _, ok := c.Lookup(clientA, netip.MustParseAddr("192.0.2.1"), sec(8)); ok {
		t.Fatal("a staged answer is visible before the commit")
	}
	c.Commit(sec(8))
	for _, tt := range []struct {
		client netip.Addr
		server string
		at     int64
		want   string
	}{
		{clientA, "192.0.2.1", sec(8), "c.example"},
		{clientA, "192.0.2.1", sec(6), "b.example"},
		{clientB, "192.0.2.2", sec(6), "www.d.example"},
	} {
		if got, _ := c.Lookup(tt.client, netip.MustParseAddr(tt.server), tt.at); got != tt.want {
			t.Errorf("Lookup(%v, %s, +%ds) = %q, want %q", tt.client, tt.server, (tt.at-t0)/int64(time.Second), got, tt.want)
		}
	}
	if got := c.Stats().Responses.Load(); got != 4 {
		t.Errorf("%d responses observed, want 4", got)
	}
	// The stages are empty again: a second commit changes nothing.
	c.Commit(sec(9))
	if got := c.Stats().Responses.Load(); got != 4 {
		t.Errorf("%d responses after an empty commit, want 4", got)
	}
	if e, _ := c.LookupEntry(clientB, netip.MustParseAddr("192.0.2.2"), sec(6)); !slices.Equal(e.CNAMEs, []string{"edge.d.example"}) {
		t.Errorf("CNAME chain %q, want the staged one", e.CNAMEs)
	}
	refresh := response(t, 0, "c.example", nil, 600, "192.0.2.1")
	if n := testing.AllocsPerRun(100, func() {
		w1.Observe(9, clientA, refresh, sec(9))
		c.Commit(sec(9))
	}); n != 0 {
		t.Errorf("%v allocations per staged refresh of a known name", n)
	}
}

// siteTraffic is the DNS traffic of a site: clients resolving names that
// have 1 to 3 addresses each, every fourth behind a CNAME and every eighth
// an IPv6 one; schedule is which client gets which response, in a
// scrambled but fixed order.
type siteTraffic struct {
	clients  []netip.Addr
	msgs     []*Message
	schedule [][2]int32 // client, message
}

func newSiteTraffic(b *testing.B, clients, names int) *siteTraffic {
	s := &siteTraffic{}
	for i := range clients {
		s.clients = append(s.clients, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	for i := range names {
		var cnames []string
		if i%4 == 0 {
			cnames = []string{fmt.Sprintf("edge%d.cdn.example", i)}
		}
		var addrs []string
		for j := range 1 + i%3 {
			if i%8 == 1 {
				addrs = append(addrs, fmt.Sprintf("2001:db8::%x:%x", i, j))
			} else {
				addrs = append(addrs, fmt.Sprintf("198.%d.%d.%d", 18+j, i/256, i%256))
			}
		}
		s.msgs = append(s.msgs, response(b, 0, fmt.Sprintf("host%d.site.example", i), cnames, 300, addrs...))
	}
	x := uint64(1)
	for range 1 << 16 {
		x = x*6364136223846793005 + 1442695040888963407
		s.schedule = append(s.schedule, [2]int32{int32((x >> 33) % uint64(clients)), int32((x >> 17) % uint64(names))})
	}
	return s
}

// benchCache returns a cache that has seen one pass of the schedule, so an
// evicting workload starts full.
func (s *siteTraffic) benchCache() (*Cache, int64) {
	c := NewCache(Config{})
	now := t0
	for _, r := range s.schedule {
		c.Observe(s.clients[r[0]], s.msgs[r[1]], now)
		now += int64(time.Millisecond)
	}
	return c, now
}

// siteWorkloads are the benchmark capture's shape (about 500 clients, ten
// names: the cache only refreshes) and a bigger site whose pairs overflow
// the 64k-entry cache, so most answers evict.
var siteWorkloads = []struct {
	name           string
	clients, names int
}{
	{"refresh", 500, 10},
	{"evict", 5000, 300},
}

func BenchmarkCacheObserveSite(b *testing.B) {
	for _, w := range siteWorkloads {
		b.Run(w.name, func(b *testing.B) {
			s := newSiteTraffic(b, w.clients, w.names)
			c, now := s.benchCache()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				r := s.schedule[n%len(s.schedule)]
				c.Observe(s.clients[r[0]], s.msgs[r[1]], now)
				now += int64(time.Millisecond)
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// BenchmarkCacheLookupSite looks up the pairs of the last answers a full
// cache stored (exact), the same servers from unknown clients (fallback),
// and servers no answer named (miss).
func BenchmarkCacheLookupSite(b *testing.B) {
	s := newSiteTraffic(b, 5000, 300)
	c, now := s.benchCache()
	var pairs [][2]netip.Addr
	for _, r := range s.schedule[len(s.schedule)-2048:] {
		for _, a := range s.msgs[r[1]].Answers {
			if a.Type == TypeA || a.Type == TypeAAAA {
				pairs = append(pairs, [2]netip.Addr{s.clients[r[0]], a.Addr})
			}
		}
	}
	for _, kind := range []string{"exact", "fallback", "miss"} {
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				p := pairs[n%len(pairs)]
				switch kind {
				case "fallback":
					p[0] = netip.AddrFrom4([4]byte{172, 16, 0, 1})
				case "miss":
					p[1] = netip.AddrFrom4([4]byte{203, 0, 113, byte(n)})
				}
				c.Lookup(p[0], p[1], now)
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lookups/s")
		})
	}
}

// BenchmarkCacheCommit stages epochs of 128 responses on two workers, as
// the replay pipeline does (its 4096-packet epochs of the benchmark
// capture hold about 130), and commits them.
func BenchmarkCacheCommit(b *testing.B) {
	for _, w := range siteWorkloads {
		b.Run(w.name, func(b *testing.B) {
			s := newSiteTraffic(b, w.clients, w.names)
			c, now := s.benchCache()
			g := c.NewGroup()
			stages := []*Stage{g.NewStage(), g.NewStage()}
			const epoch = 128
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for range epoch {
					r := s.schedule[n%len(s.schedule)]
					stages[r[0]%2].Observe(uint64(n), s.clients[r[0]], s.msgs[r[1]], now)
					now += int64(time.Millisecond)
					n++
				}
				g.Commit(now)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/response")
		})
	}
}

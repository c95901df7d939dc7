package flow

import (
	"net/netip"
	"testing"
)

func TestKeyIsDirectionIndependent(t *testing.T) {
	tests := []struct{ a, b string }{
		{"10.0.0.1:40000", "10.0.0.2:5060"},
		{"10.0.0.2:5060", "10.0.0.1:40000"},
		{"10.0.0.1:5060", "10.0.0.1:5061"},
		{"[2001:db8::1]:443", "[2001:db8::2]:50000"},
	}
	for _, tt := range tests {
		a, b := netip.MustParseAddrPort(tt.a), netip.MustParseAddrPort(tt.b)
		k1, d1 := NewKey(ProtoTCP, a, b)
		k2, d2 := NewKey(ProtoTCP, b, a)
		if k1 != k2 || d1 == d2 {
			t.Errorf("%s<->%s: keys differ or directions agree", tt.a, tt.b)
		}
		if k1.Hash() != k2.Hash() {
			t.Errorf("%s: hash depends on direction", tt.a)
		}
		if k1.Endpoint(d1) != a || k1.Endpoint(d1.Flip()) != b {
			t.Errorf("endpoints %v %v, want %v %v", k1.Endpoint(d1), k1.Endpoint(d1.Flip()), a, b)
		}
	}
	// IPv4 and IPv4-mapped IPv6 are different flows.
	k4, _ := NewKey(ProtoUDP, netip.MustParseAddrPort("1.2.3.4:1"), netip.MustParseAddrPort("1.2.3.5:2"))
	k6, _ := NewKey(ProtoUDP, netip.MustParseAddrPort("[::ffff:1.2.3.4]:1"), netip.MustParseAddrPort("[::ffff:1.2.3.5]:2"))
	if k4 == k6 || !k4.A().Addr().Is4() || k6.A().Addr().Is4() {
		t.Error("IPv4 and IPv4-mapped IPv6 keys collide")
	}
}

// Test vectors from the Community ID specification's baseline
// (corelight/community-id-spec, baseline/baseline_deflt.json).
func TestCommunityID(t *testing.T) {
	tests := []struct {
		proto    uint8
		src, dst string
		want     string
	}{
		{ProtoTCP, "128.232.110.120:34855", "66.35.250.204:80", "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{ProtoTCP, "66.35.250.204:80", "128.232.110.120:34855", "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{ProtoUDP, "192.168.1.52:54585", "8.8.8.8:53", "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
		{ProtoICMP, "192.168.0.89:8", "192.168.0.1:0", "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
		{ProtoICMP, "192.168.0.1:0", "192.168.0.89:8", "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
		{ProtoICMPv6, "[fe80::200:86ff:fe05:80da]:135", "[fe80::260:97ff:fe07:69ea]:136", "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="},
	}
	for _, tt := range tests {
		got := CommunityID(tt.proto, netip.MustParseAddrPort(tt.src), netip.MustParseAddrPort(tt.dst), 0)
		if got != tt.want {
			t.Errorf("%d %s -> %s: %s, want %s", tt.proto, tt.src, tt.dst, got, tt.want)
		}
	}
}

func BenchmarkMapKey(b *testing.B) {
	m := make(map[Key]int, 1<<16)
	keys := make([]Key, 1<<16)
	for i := range keys {
		keys[i], _ = NewKey(ProtoUDP, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 20000), server)
		m[keys[i]] = i
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = m[keys[i&(1<<16-1)]]
	}
}

// Sharding takes Hash modulo the worker count: flows that differ only in a
// port or the last address byte, as a contact center's RTP flows do, must
// still spread evenly.
func TestHashSpreadsFlows(t *testing.T) {
	for _, shards := range []uint64{2, 3, 4, 8} {
		// By the low bits (modulo) and by the high bits, as the pipeline
		// maps a hash onto its workers (multiply-shift).
		low, high := make([]int, shards), make([]int, shards)
		const n = 20000
		for i := range n {
			a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 10, 2, byte(i % 200)}), uint16(2222+2*(i/200)))
			b := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 10, 1, 30}), uint16(16384+2*i))
			k, _ := NewKey(ProtoUDP, a, b)
			low[k.Hash()%shards]++
			high[(k.Hash()>>32)*shards>>32]++
		}
		want := n / int(shards)
		for s := range shards {
			for _, c := range []int{low[s], high[s]} {
				if c < want*9/10 || c > want*11/10 {
					t.Errorf("%d shards: shard %d got %d flows (low bits %d, high bits %d), want %d±10%%", shards, s, c, low[s], high[s], want)
				}
			}
		}
	}
}

// TestKeySameIsEquality: the recent-flow cache's comparison agrees with
// ==, for keys that differ in any one field.
func TestKeySameIsEquality(t *testing.T) {
	base := Key{addrA: [16]byte{15: 1}, addrB: [16]byte{15: 2}, portA: 1000, portB: 2000, proto: ProtoTCP, is4: true}
	variants := []func(k *Key){
		func(k *Key) {},
		func(k *Key) { k.addrA[0] ^= 1 },
		func(k *Key) { k.addrA[15] ^= 1 },
		func(k *Key) { k.addrB[7] ^= 1 },
		func(k *Key) { k.addrB[8] ^= 1 },
		func(k *Key) { k.portA++ },
		func(k *Key) { k.portB++ },
		func(k *Key) { k.proto = ProtoUDP },
		func(k *Key) { k.is4 = false },
	}
	for i, change := range variants {
		o := base
		change(&o)
		if got, want := base.same(&o), base == o; got != want {
			t.Errorf("variant %d: same %v, == %v", i, got, want)
		}
	}
}

// TestEndpointsOfAnyKey checks that a key gives back the endpoints it was
// built from for IPv4, IPv6, IPv4-mapped IPv6, and an IPv4 key whose
// address is not in mapped form (KeyFrom16 takes what it is given).
func TestEndpointsOfAnyKey(t *testing.T) {
	for _, tt := range []struct{ a, b string }{
		{"10.0.0.1:40000", "10.0.0.2:5060"},
		{"255.255.255.255:67", "0.0.0.0:68"},
		{"[2001:db8::1]:443", "[2001:db8::2]:50000"},
		{"[::ffff:1.2.3.4]:1", "[::ffff:1.2.3.5]:2"},
		{"[::]:1", "[::1]:2"},
	} {
		a, b := netip.MustParseAddrPort(tt.a), netip.MustParseAddrPort(tt.b)
		k, d := NewKey(ProtoUDP, a, b)
		f := Flow{Key: k, OrigDir: d}
		if f.Src() != a || f.Dst() != b || k.Endpoint(d) != a || k.Endpoint(d.Flip()) != b {
			t.Errorf("%s %s: src %v dst %v", tt.a, tt.b, f.Src(), f.Dst())
		}
	}
	odd := netip.MustParseAddr("2001:db8::7")
	k, d := KeyFrom16(ProtoUDP, true, odd.As16(), 1, odd.As16(), 2)
	want := netip.AddrFrom16(odd.As16()).Unmap()
	if k.Endpoint(d).Addr() != want || k.Endpoint(d.Flip()).Addr() != want {
		t.Errorf("unmapped IPv4 key: %v %v", k.Endpoint(d), k.Endpoint(d.Flip()))
	}
}

// BenchmarkFlowEndpoints is what dissectors pay per packet for a flow's
// originator and responder.
func BenchmarkFlowEndpoints(b *testing.B) {
	for _, tt := range []struct{ name, a, b string }{
		{"4", "10.0.0.1:40000", "10.0.0.2:5060"},
		{"6", "[2001:db8::1]:443", "[2001:db8::2]:50000"},
	} {
		k, d := NewKey(ProtoUDP, netip.MustParseAddrPort(tt.a), netip.MustParseAddrPort(tt.b))
		f := &Flow{Key: k, OrigDir: d}
		b.Run(tt.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				if f.Src().Port() < f.Dst().Port() {
					n++
				}
			}
			_ = n
		})
	}
}

// TestHashIsStable pins Key.Hash: flows are sharded over workers by it,
// and a flow must land on the same worker in every run and version.
func TestHashIsStable(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want uint64
	}{
		{"10.0.0.1:40000", "10.0.0.2:5060", 0xba716a59aa5af59e},
		{"[2001:db8::1]:443", "[2001:db8::2]:50000", 0xe5f8fcab6fda56fd},
	} {
		k, _ := NewKey(ProtoUDP, netip.MustParseAddrPort(tt.a), netip.MustParseAddrPort(tt.b))
		if got := k.Hash(); got != tt.want {
			t.Errorf("%s %s: %#x, want %#x", tt.a, tt.b, got, tt.want)
		}
	}
}

// BenchmarkKeyHash is the decoder's sharding of a packet that it just
// keyed, as the pipeline does it: a copy of the key, hashed.
func BenchmarkKeyHash(b *testing.B) {
	keys := make([]Key, 1024)
	for i := range keys {
		keys[i], _ = NewKey(ProtoUDP, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(i)), server)
	}
	shard := func(k Key) int { return int((k.Hash() >> 32) * 2 >> 32) }
	n, i := 0, 0
	for b.Loop() {
		n += shard(keys[i&1023])
		i++
	}
	_ = n
}

// TestSetFrom16MatchesKeyFrom16 checks the in-place form against the
// returned one, over a key that held another flow before.
func TestSetFrom16MatchesKeyFrom16(t *testing.T) {
	for _, tt := range []struct{ a, b string }{
		{"10.0.0.1:40000", "10.0.0.2:5060"},
		{"10.0.0.2:5060", "10.0.0.1:40000"},
		{"10.0.0.1:5061", "10.0.0.1:5060"},
		{"[2001:db8::2]:443", "[2001:db8::1]:50000"},
	} {
		a, b := netip.MustParseAddrPort(tt.a), netip.MustParseAddrPort(tt.b)
		for _, proto := range []uint8{ProtoTCP, ProtoUDP} {
			want, wd := KeyFrom16(proto, a.Addr().Is4(), a.Addr().As16(), a.Port(), b.Addr().As16(), b.Port())
			got, _ := NewKey(ProtoICMPv6, netip.MustParseAddrPort("[2001:db8::9]:1"), netip.MustParseAddrPort("[2001:db8::8]:2"))
			sa, da := a.Addr().As16(), b.Addr().As16()
			if d := got.SetFrom16(proto, a.Addr().Is4(), &sa, a.Port(), &da, b.Port()); got != want || d != wd {
				t.Errorf("%s %s proto %d: %+v %v, want %+v %v", tt.a, tt.b, proto, got, d, want, wd)
			}
		}
	}
}

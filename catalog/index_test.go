package catalog

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// The index must answer exactly what a linear scan with Entry.Covers
// answers, for every port and both transports.
func TestIndexMatchesLinearScan(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(c.Entries())
	var got, want []*Entry
	for _, proto := range []uint8{protoTCP, protoUDP} {
		for port := 0; port <= 65535; port++ {
			got = ix.Lookup(proto, uint16(port), got[:0])
			want = want[:0]
			for _, e := range c.Entries() {
				if e.Covers(proto, uint16(port)) {
					want = append(want, e)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("proto %d port %d: index %v, scan %v", proto, port, ids(got), ids(want))
			}
		}
	}
}

func ids(es []*Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func TestIndexLookup(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(c.Entries())
	tests := []struct {
		vendor string
		proto  uint8
		port   uint16
		want   []string
	}{
		{"genesys-pureconnect", protoTCP, 5597, []string{"genesys-pureconnect/notifier-tls", "genesys-pureconnect/dialer-ccs-notifier-tcp", "genesys-pureconnect/switchover-notifier-tcp", "genesys-pureconnect/voicexml-notifier"}},
		{"sinch-contact-center", protoUDP, 5006, []string{"sinch-contact-center/cdt-rtp"}},
		{"sinch-contact-center", protoUDP, 5007, []string{"sinch-contact-center/cdt-rtcp"}},
		{"sinch-contact-center", protoUDP, 8400, []string{"sinch-contact-center/mrs-prompts"}},
		{"sinch-contact-center", protoUDP, 8401, nil},
		{"imagicle-ucx", protoUDP, 1024, []string{"imagicle-ucx/ha-full-connectivity"}},
		{"imagicle-ucx", protoUDP, 1025, []string{"imagicle-ucx/rtp", "imagicle-ucx/ha-full-connectivity"}},
		{"tegsoft", protoTCP, 5060, []string{"tegsoft/sip"}},
		{"tegsoft", protoUDP, 15000, []string{"tegsoft/rtp"}},
		{"tegsoft", 1, 0, nil},
		{"incontact-wfo", protoTCP, 1, nil},
	}
	for _, tt := range tests {
		got := ids(ix.LookupVendor(tt.vendor, tt.proto, tt.port, nil))
		if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("%s proto %d port %d: got %v, want %v", tt.vendor, tt.proto, tt.port, got, tt.want)
		}
	}
	dyn := ids(ix.Dynamic(protoUDP, nil))
	if !slices.Contains(dyn, "genesys-pureconnect/media-server-rtp") || slices.Contains(dyn, "tegsoft/rtp") {
		t.Errorf("Dynamic(udp) = %v", dyn)
	}
}

func TestIndexLookupZeroAllocs(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(c.Entries())
	dst := make([]*Entry, 0, 64)
	addr := netip.MustParseAddr("52.113.1.1")
	allocs := testing.AllocsPerRun(1000, func() {
		dst = ix.Lookup(protoUDP, 5060, dst[:0])
		dst = ix.LookupVendor("genesys-pureconnect", protoTCP, 5597, dst[:0])
		dst = ix.LookupAddr(addr, dst[:0])
	})
	if allocs != 0 {
		t.Errorf("lookups allocate %v times per run, want 0", allocs)
	}
}

func TestIndexLookupAddr(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(c.Entries())
	tests := []struct {
		addr string
		want []string
	}{
		{"52.112.0.1", []string{"imagicle-ucx/teams-media-udp", "imagicle-ucx/teams-media-tcp"}},
		{"52.123.255.255", []string{"imagicle-ucx/teams-media-udp", "imagicle-ucx/teams-media-tcp"}},
		{"52.124.0.0", nil},
		{"::ffff:20.202.3.4", []string{"imagicle-ucx/teams-media-udp", "imagicle-ucx/teams-media-tcp"}},
		{"159.122.86.228", []string{"tegsoft/support-http", "tegsoft/support-https", "tegsoft/support-ssh"}},
		{"159.122.86.229", nil},
		{"2001:db8::1", nil},
	}
	for _, tt := range tests {
		got := ids(ix.LookupAddr(netip.MustParseAddr(tt.addr), nil))
		if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("LookupAddr(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if got := ids(ix.MatchFQDN("eu.imagicle.cloud", nil)); len(got) != 4 {
		t.Errorf("MatchFQDN(eu.imagicle.cloud) = %v, want the 4 Imagicle cloud entries", got)
	}
	if got := ids(ix.MatchFQDN("updates.inin.com", nil)); len(got) != 2 {
		t.Errorf("MatchFQDN(updates.inin.com) = %v", got)
	}
}

func TestSegmentsIPv6AndEdges(t *testing.T) {
	spans := []span{}
	for i, p := range []string{"::/0", "2001:db8::/32", "10.0.0.0/8", "0.0.0.0/0", "255.255.255.255/32"} {
		lo, hi := prefixSpan(netip.MustParsePrefix(p))
		spans = append(spans, span{lo: lo, hi: hi, id: i})
	}
	seg := buildSegments(spans)
	tests := []struct {
		addr string
		want []int
	}{
		{"2001:db8::5", []int{0, 1}},
		{"2001:db9::", []int{0}},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []int{0}},
		{"10.1.2.3", []int{0, 2, 3}},
		{"11.0.0.0", []int{0, 3}},
		{"255.255.255.255", []int{0, 3, 4}},
	}
	for _, tt := range tests {
		i := seg.find(addrKey(netip.MustParseAddr(tt.addr)))
		if i < 0 || !slices.Equal(seg.cover[i], tt.want) {
			t.Errorf("%s: segment %d covered by %v, want %v", tt.addr, i, seg.cover, tt.want)
		}
	}
}

func BenchmarkIndexLookup(b *testing.B) {
	c, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	ix := NewIndex(c.Entries())
	ports := []uint16{5060, 5597, 443, 16500, 8401, 6235, 21018, 50000, 9, 5006}
	dst := make([]*Entry, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := ports[i%len(ports)]
		dst = ix.Lookup(protoUDP, p, dst[:0])
		dst = ix.Lookup(protoTCP, p, dst[:0])
	}
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkIndexScale shows lookup cost grows with log n: 100x the entries
// should cost a few more comparisons, not 100x.
func BenchmarkIndexScale(b *testing.B) {
	for _, n := range []int{100, 10000} {
		entries := make([]*Entry, n)
		for i := range entries {
			lo := uint16(i * 6 % 60000)
			entries[i] = &Entry{ID: fmt.Sprint("x/", i), Vendor: "x", Transport: UDP,
				Ports: PortSet{Ranges: []PortRange{{Lo: lo, Hi: lo + 3}}}}
		}
		ix := NewIndex(entries)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dst := make([]*Entry, 0, 16)
			for i := 0; b.Loop(); i++ {
				dst = ix.Lookup(protoUDP, uint16(i*7%60000), dst[:0])
			}
		})
	}
}

func BenchmarkLookupAddr(b *testing.B) {
	c, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	ix := NewIndex(c.Entries())
	addr := netip.MustParseAddr("52.114.7.9")
	dst := make([]*Entry, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		dst = ix.LookupAddr(addr, dst[:0])
	}
}

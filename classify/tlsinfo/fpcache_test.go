package tlsinfo

import (
	"slices"
	"testing"
)

// specHello is the worked example of FoxIO-LLC/ja4 JA4.md, with a GREASE
// cipher first, supported groups and point formats (which JA4 ignores).
func specHello(t *testing.T) *ClientHello {
	t.Helper()
	return &ClientHello{
		LegacyVersion:       VersionTLS12,
		SupportedVersions:   []uint16{0x2a2a, VersionTLS13, VersionTLS12},
		HasSNI:              true,
		ALPN:                [][]byte{[]byte("h2"), []byte("http/1.1")},
		CipherSuites:        hexU16s(t, "0a0a,1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035"),
		Extensions:          hexU16s(t, "001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015"),
		SupportedGroups:     []uint16{0x001d, 0x0017},
		ECPointFormats:      []byte{0},
		SignatureAlgorithms: hexU16s(t, "0403,0804,0401,0503,0805,0501,0806,0601"),
	}
}

func direct(h *ClientHello) Fingerprints { return Fingerprints{JA3: h.JA3Hex(), JA4: h.JA4()} }

// The cache answers what JA3Hex and JA4 compute, for the hellos of real
// captures, on the first sight and on a hit.
func TestFingerprintCacheMatchesDirect(t *testing.T) {
	c := NewFingerprintCache(0)
	var hellos []*ClientHello
	for _, file := range []string{"chrome-1250-tls-x25519-kyber.pcap",
		"tls1.2.pcap", "tls13_wolfssl.pcap", "ja3_lots_of_cipher_suites.pcap", "ssl-v2.pcap"} {
		h := new(ClientHello)
		if err := ParseClientHello(firstClientStream(t, file), h); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		hellos = append(hellos, h)
	}
	hellos = append(hellos, specHello(t))
	for round := range 2 {
		for i, h := range hellos {
			if got, want := c.Of(h), direct(h); got != want {
				t.Errorf("round %d, hello %d: %+v, want %+v", round, i, got, want)
			}
		}
	}
	if c.Len() != len(hellos) {
		t.Errorf("%d hellos remembered, want %d", c.Len(), len(hellos))
	}
}

// Changing any one field a fingerprint reads must miss the cache: were a
// field left out of the key, the changed hello would get the first one's
// fingerprints.
func TestFingerprintCacheKeyCoversEveryInput(t *testing.T) {
	for _, tc := range []struct {
		field  string
		change func(h *ClientHello)
	}{
		{"transport", func(h *ClientHello) { h.Transport = TransportQUIC }},
		{"legacy version", func(h *ClientHello) { h.LegacyVersion = VersionTLS10 }},
		{"supported versions", func(h *ClientHello) { h.SupportedVersions = []uint16{VersionTLS12} }},
		{"SNI presence", func(h *ClientHello) { h.HasSNI = false }},
		{"cipher suites", func(h *ClientHello) { h.CipherSuites = h.CipherSuites[:len(h.CipherSuites)-1] }},
		{"cipher order", func(h *ClientHello) { slices.Reverse(h.CipherSuites) }},
		{"extensions", func(h *ClientHello) { h.Extensions = h.Extensions[1:] }},
		{"supported groups", func(h *ClientHello) { h.SupportedGroups = []uint16{0x0018} }},
		{"point formats", func(h *ClientHello) { h.ECPointFormats = []byte{0, 1} }},
		{"signature algorithms", func(h *ClientHello) { h.SignatureAlgorithms = h.SignatureAlgorithms[1:] }},
		{"ALPN first character", func(h *ClientHello) { h.ALPN[0] = []byte("x2") }},
		{"ALPN last character", func(h *ClientHello) { h.ALPN[0] = []byte("h3") }},
		{"no ALPN", func(h *ClientHello) { h.ALPN = nil }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			c := NewFingerprintCache(0)
			base := specHello(t)
			c.Of(base)
			h := specHello(t)
			tc.change(h)
			want := direct(h)
			if want == direct(base) {
				t.Fatalf("the change leaves both fingerprints as they were: not a test of the key")
			}
			if got := c.Of(h); got != want {
				t.Errorf("%+v, want %+v", got, want)
			}
		})
	}
}

func TestFingerprintCacheBound(t *testing.T) {
	c := NewFingerprintCache(2)
	for _, v := range []uint16{VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS10} {
		h := specHello(t)
		h.LegacyVersion, h.SupportedVersions = v, nil
		if got, want := c.Of(h), direct(h); got != want {
			t.Errorf("%s: %+v, want %+v", VersionName(v), got, want)
		}
		if c.Len() > 2 {
			t.Fatalf("%d hellos remembered, bound 2", c.Len())
		}
	}
}

func TestFingerprintCacheHitAllocs(t *testing.T) {
	c := NewFingerprintCache(0)
	h := specHello(t)
	c.Of(h)
	if n := testing.AllocsPerRun(100, func() { c.Of(h) }); n != 0 {
		t.Errorf("%v allocations a hit", n)
	}
}

func BenchmarkFingerprints(b *testing.B) {
	h := new(ClientHello)
	if err := ParseClientHello(firstClientStream(b, "chrome-1250-tls-x25519-kyber.pcap"), h); err != nil {
		b.Fatal(err)
	}
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			direct(h)
		}
	})
	b.Run("cached", func(b *testing.B) {
		c := NewFingerprintCache(0)
		b.ReportAllocs()
		for b.Loop() {
			c.Of(h)
		}
	})
}

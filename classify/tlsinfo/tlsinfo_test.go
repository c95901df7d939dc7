package tlsinfo

import (
	"errors"
	"strings"
	"testing"
)

func hexU16s(t *testing.T, list string) []uint16 {
	t.Helper()
	var out []uint16
	for _, f := range strings.Split(list, ",") {
		var v uint16
		for _, c := range f {
			d := strings.IndexRune("0123456789abcdef", c)
			if d < 0 {
				t.Fatalf("bad hex %q", f)
			}
			v = v<<4 | uint16(d)
		}
		out = append(out, v)
	}
	return out
}

// The worked example of FoxIO-LLC/ja4 technical_details/JA4.md: the
// fingerprint, its raw form, and the hash without signature algorithms.
func TestJA4SpecExample(t *testing.T) {
	h := specHello(t) // its GREASE cipher must not count
	if got, want := h.JA4(), "t13d1516h2_8daaf6152771_e5627efa2ab1"; got != want {
		t.Errorf("JA4 %s, want %s", got, want)
	}
	wantRaw := "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_" +
		"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
	if got := string(h.AppendJA4Raw(nil)); got != wantRaw {
		t.Errorf("JA4_r\n got %s\nwant %s", got, wantRaw)
	}
	h.SignatureAlgorithms = nil
	if got, want := h.JA4(), "t13d1516h2_8daaf6152771_6d807ffa2a79"; got != want {
		t.Errorf("JA4 without signature algorithms %s, want %s", got, want)
	}
	h.CipherSuites, h.Extensions = nil, []uint16{ExtServerName, ExtALPN}
	if got, want := h.JA4(), "t13d0002h2_000000000000_000000000000"; got != want {
		t.Errorf("JA4 of empty lists %s, want %s", got, want)
	}
}

// ALPN examples of JA4.md "ALPN Extension Value".
func TestJA4ALPN(t *testing.T) {
	for _, tc := range []struct {
		alpn [][]byte
		want string
	}{
		{nil, "00"},
		{[][]byte{{}}, "00"},
		{[][]byte{[]byte("h2")}, "h2"},
		{[][]byte{[]byte("http/1.1"), []byte("h2")}, "h1"},
		{[][]byte{[]byte("h")}, "hh"},
		{[][]byte{{0xab}}, "ab"},
		{[][]byte{{0xab, 0xcd}}, "ad"},
		{[][]byte{{0x30, 0xab}}, "3b"},
		{[][]byte{{0x30, 0x31, 0xab, 0xcd}}, "3d"},
		{[][]byte{{0x30, 0xab, 0xcd, 0x31}}, "01"},
	} {
		if got := string(appendALPNChars(nil, tc.alpn)); got != tc.want {
			t.Errorf("ALPN %x: %q, want %q", tc.alpn, got, tc.want)
		}
	}
}

func TestJA3Format(t *testing.T) {
	// The two examples of the github.com/salesforce/ja3 README; a hello
	// without extensions leaves the last three fields empty.
	h := &ClientHello{LegacyVersion: 769, CipherSuites: []uint16{4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99}}
	if got, want := string(h.AppendJA3(nil)), "769,4-5-10-9-100-98-3-6-19-18-99,,,"; got != want {
		t.Errorf("JA3 string %q, want %q", got, want)
	}
	if got, want := h.JA3Hex(), "de350869b8c85de67a350c8d186f11e6"; got != want {
		t.Errorf("JA3 %s, want %s", got, want)
	}
	h = &ClientHello{
		LegacyVersion:   769,
		CipherSuites:    []uint16{0x1a1a, 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4},
		Extensions:      []uint16{0, 0xfafa, 10, 11},
		SupportedGroups: []uint16{0x4a4a, 23, 24, 25},
		ECPointFormats:  []byte{0},
	}
	if got, want := string(h.AppendJA3(nil)), "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"; got != want {
		t.Errorf("JA3 string %q, want %q", got, want)
	}
	if got, want := h.JA3Hex(), "ada70206e40642a3e4461f35503241d5"; got != want {
		t.Errorf("JA3 %s, want %s", got, want)
	}
}

func TestParseClientHelloErrors(t *testing.T) {
	valid := firstClientStream(t, "tls1.2.pcap")
	recLen := int(valid[3])<<8 | int(valid[4])
	first := valid[:5+recLen]
	with := func(off int, v ...byte) []byte {
		b := append([]byte(nil), first...)
		copy(b[off:], v)
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrNeedMore},
		{"one byte", []byte{0x16}, ErrNeedMore},
		{"record header", first[:5], ErrNeedMore},
		{"http", []byte("GET / HTTP/1.1\r\n"), ErrNotTLS},
		{"ssh", []byte("SSH-2.0-OpenSSH_9.6\r\n"), ErrNotTLS},
		{"application data", []byte{0x17, 0x03, 0x03, 0x00, 0x10}, ErrNotTLS},
		{"version major 2", []byte{0x16, 0x02, 0x00}, ErrNotTLS},
		{"record too long", []byte{0x16, 0x03, 0x01, 0xff, 0xff}, ErrNotTLS},
		{"server hello", with(5, typeServerHello), ErrUnexpectedMessage},
		{"huge handshake", with(6, 0x10, 0x00, 0x00), ErrTooLarge},
		{"handshake longer than records", with(6, 0x00, 0x01, 0xff), ErrNeedMore},
		{"alert inside hello", append(with(6, 0x00, 0x01, 0xff), 0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28), ErrMalformed},
		{"session id too long", with(9+2+32, 33), ErrMalformed},
		{"odd cipher suites length", with(9+2+32+1, 0x00, 0xa1), ErrMalformed},
		{"sslv2 truncated", []byte{0x80, 0x2e, 0x01, 0x00, 0x02}, ErrNeedMore},
		{"sslv2 wrong type", []byte{0x80, 0x2e, 0x07}, ErrNotTLS},
	} {
		var h ClientHello
		if err := ParseClientHello(tc.in, &h); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestParseServerHelloErrors(t *testing.T) {
	client := firstClientStream(t, "tls1.2.pcap")
	var s ServerHello
	if err := ParseServerHello(client, &s); !errors.Is(err, ErrUnexpectedMessage) {
		t.Errorf("client stream: %v, want ErrUnexpectedMessage", err)
	}
	if err := ParseServerHello([]byte("HTTP/1.1 200 OK\r\n"), &s); !errors.Is(err, ErrNotTLS) {
		t.Errorf("http: %v, want ErrNotTLS", err)
	}
	// The ServerHello alone, without the Certificate that must follow in a
	// TLS 1.2 full handshake: fields are usable but more data is needed.
	c := readCapture(t, "tls1.2.pcap")
	server := c.conns[0].server.bytes()
	n := 5 + (int(server[3])<<8 | int(server[4]))
	shLen := 4 + (int(server[7])<<8 | int(server[8]))
	if shLen < n-5 {
		t.Skip("ServerHello shares its record with the Certificate")
	}
	if err := ParseServerHello(server[:n], &s); !errors.Is(err, ErrNeedMore) || s.Version != VersionTLS12 {
		t.Errorf("server hello without certificate: %v version %s", err, VersionName(s.Version))
	}
}

func TestVersionName(t *testing.T) {
	for v, want := range map[uint16]string{
		0x0002: "SSL 2.0", 0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0303: "TLS 1.2",
		0x0304: "TLS 1.3", 0xfefd: "DTLS 1.2", 0x7a7a: "GREASE (0x7a7a)", 0x7f1c: "unknown (0x7f1c)",
	} {
		if got := VersionName(v); got != want {
			t.Errorf("VersionName(%#04x) = %q, want %q", v, got, want)
		}
	}
}

func TestIsGREASE(t *testing.T) {
	n := 0
	for v := range 1 << 16 {
		if IsGREASE(uint16(v)) {
			n++
			if v&0xff != v>>8 || v&0x0f != 0x0a {
				t.Errorf("%#04x reported as GREASE", v)
			}
		}
	}
	if n != 16 {
		t.Errorf("%d GREASE values, want the 16 of RFC 8701", n)
	}
}

func TestParseClientHelloAllocs(t *testing.T) {
	for _, file := range []string{"chrome-1250-tls-x25519-kyber.pcap", "dump_mtu300.pcap"} {
		stream := firstClientStream(t, file)
		split := resplit(stream, 200) // exercises the reassembly buffer
		var h ClientHello
		buf := make([]byte, 0, 128)
		run := func(b []byte) {
			if err := ParseClientHello(b, &h); err != nil {
				t.Fatal(err)
			}
			buf = h.AppendJA4(buf[:0])
			_ = h.JA3()
		}
		run(split) // warm up the reused slices
		for _, b := range [][]byte{stream, split} {
			if allocs := testing.AllocsPerRun(100, func() { run(b) }); allocs != 0 {
				t.Errorf("%s: %v allocs per parse + fingerprint, want 0", file, allocs)
			}
		}
	}
}

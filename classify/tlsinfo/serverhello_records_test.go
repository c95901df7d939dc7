package tlsinfo

import (
	"errors"
	"testing"
)

// A warning alert (unrecognized_name, RFC 6066 section 3) or a
// ChangeCipherSpec before the ServerHello is skipped; a fatal alert ends
// the handshake. The ServerHello itself may be cut into records of any size
// (RFC 8446 section 5.1 lets handshake messages span records).
func TestServerHelloAfterOtherRecords(t *testing.T) {
	warning := []byte{21, 3, 3, 0, 2, 1, 112} // warning unrecognized_name
	fatal := []byte{21, 3, 3, 0, 2, 2, 70}    // fatal protocol_version
	ccs := []byte{20, 3, 3, 0, 1, 1}          // ChangeCipherSpec
	for _, file := range []string{"tls1.2.pcap", "dump_mtu300.pcap", "chrome-1250-tls-x25519-kyber.pcap"} {
		c := readCapture(t, file)
		server := c.conns[0].server.bytes()
		var orig ServerHello
		if err := ParseServerHello(server, &orig); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		want := orig.JA3SHex()
		for _, tc := range []struct {
			name   string
			prefix []byte
			split  int
		}{
			{"warning alert", warning, 0},
			{"alert and CCS", append(append([]byte(nil), warning...), ccs...), 0},
			{"split in 1-byte records", nil, 1},
			{"split in 7-byte records after an alert", warning, 7},
			{"split in 100-byte records", nil, 100},
		} {
			b := server
			if tc.split > 0 {
				b = resplit(b, tc.split)
			}
			b = append(append([]byte(nil), tc.prefix...), b...)
			var s ServerHello
			if err := ParseServerHello(b, &s); err != nil {
				t.Errorf("%s %s: %v", file, tc.name, err)
				continue
			}
			if s.JA3SHex() != want || s.Version != orig.Version || s.CipherSuite != orig.CipherSuite {
				t.Errorf("%s %s: JA3S %s version %#x, want %s %#x", file, tc.name, s.JA3SHex(), s.Version, want, orig.Version)
			}
			if (s.Certificate == nil) != (orig.Certificate == nil) {
				t.Errorf("%s %s: certificate %v, want %v", file, tc.name, s.Certificate != nil, orig.Certificate != nil)
			}
			if len(b) > 4<<10 {
				continue
			}
			for n := range s.End {
				if err := ParseServerHello(b[:n], &s); !errors.Is(err, ErrNeedMore) {
					t.Fatalf("%s %s prefix %d: %v, want ErrNeedMore", file, tc.name, n, err)
				}
			}
		}
		var s ServerHello
		if err := ParseServerHello(append(append([]byte(nil), fatal...), server...), &s); !errors.Is(err, ErrFatalAlert) {
			t.Errorf("%s after a fatal alert: %v, want ErrFatalAlert", file, err)
		}
	}
	// Records other than alert and ChangeCipherSpec, and too many of
	// those, are not skipped.
	var s ServerHello
	if err := ParseServerHello([]byte{23, 3, 3, 0, 1, 0}, &s); !errors.Is(err, ErrNotTLS) {
		t.Errorf("application data: %v, want ErrNotTLS", err)
	}
	var many []byte
	for range maxLeadingRecords + 1 {
		many = append(many, ccs...)
	}
	if err := ParseServerHello(many, &s); !errors.Is(err, ErrMalformed) {
		t.Errorf("%d ChangeCipherSpecs: %v, want ErrMalformed", maxLeadingRecords+1, err)
	}
}

package tlsinfo

import (
	"errors"
	"os"
	"testing"
)

// seedStreams adds the hello part of the client or server stream of every
// capture's connections to the corpus; cutting them short keeps mutation
// fast.
func seedStreams(f *testing.F, server bool) {
	ents, err := os.ReadDir(captureDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		for _, conn := range readCapture(f, e.Name()).conns {
			b := conn.client.bytes()
			var h ClientHello
			if ParseClientHello(b, &h) == nil {
				b = b[:h.End]
			}
			if server {
				b = conn.server.bytes()
				var s ServerHello
				if ParseServerHello(b, &s) == nil {
					b = b[:s.End]
				}
			}
			if len(b) > 0 && len(b) < 8<<10 {
				f.Add(b)
			}
		}
	}
	f.Add(resplit(firstClientStream(f, "dump_mtu300.pcap"), 7)[:600])
}

func FuzzParseClientHello(f *testing.F) {
	seedStreams(f, false)
	f.Fuzz(func(t *testing.T, b []byte) {
		var h ClientHello
		err := ParseClientHello(b, &h)
		if err != nil {
			return
		}
		// The cache, first sight and hit, answers what the hello computes.
		fps := NewFingerprintCache(0)
		for range 2 {
			if got, want := fps.Of(&h), direct(&h); got != want {
				t.Fatalf("cached fingerprints %+v, want %+v", got, want)
			}
		}
		if h.End <= 0 || h.End > len(b) {
			t.Fatalf("End %d outside input of %d bytes", h.End, len(b))
		}
		// Any cut before End must ask for more, never fail otherwise.
		for _, n := range []int{0, 1, 5, h.End / 2, h.End - 1} {
			if n < 0 || n >= h.End {
				continue
			}
			if err := ParseClientHello(b[:n], &h); !errors.Is(err, ErrNeedMore) {
				t.Fatalf("prefix %d of %d: %v, want ErrNeedMore", n, h.End, err)
			}
		}
	})
}

func FuzzParseServerHello(f *testing.F) {
	seedStreams(f, true)
	// Alerts and ChangeCipherSpec before the hello, and a hello in
	// 7-byte records.
	server := readCapture(f, "tls1.2.pcap").conns[0].server.bytes()
	f.Add(append([]byte{21, 3, 3, 0, 2, 1, 112, 20, 3, 3, 0, 1, 1}, server[:min(len(server), 2000)]...))
	f.Add(append([]byte{21, 3, 3, 0, 2, 2, 40}, server[:100]...))
	f.Add(resplit(server, 7)[:min(len(server), 1500)])
	f.Fuzz(func(t *testing.T, b []byte) {
		var s ServerHello
		if err := ParseServerHello(b, &s); err != nil {
			return
		}
		s.JA3S()
		if s.End <= 0 || s.End > len(b) {
			t.Fatalf("End %d outside input of %d bytes", s.End, len(b))
		}
		for _, n := range []int{0, 1, 5, s.End / 2, s.End - 1} {
			if n < 0 || n >= s.End {
				continue
			}
			if err := ParseServerHello(b[:n], &s); !errors.Is(err, ErrNeedMore) {
				t.Fatalf("prefix %d of %d: %v, want ErrNeedMore", n, s.End, err)
			}
		}
	})
}

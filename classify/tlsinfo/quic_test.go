package tlsinfo

import (
	"crypto/aes"
	"encoding/hex"
	"errors"
	"testing"
)

// RFC 9001 appendix A.1: client Initial keys for DCID 0x8394c8f03e515708.
func TestQUICInitialKeysRFC9001(t *testing.T) {
	dcid, _ := hex.DecodeString("8394c8f03e515708")
	var q QUICInitial
	if err := q.setKeys(QUICVersion1, &quicV1, dcid); err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(q.keys.iv), "fa044b2f42a3fd3b46fb255c"; got != want {
		t.Errorf("client iv %s, want %s", got, want)
	}
	// The hp key is checked through its output: AES-ECB of a zero block
	// under key 9f50449e04a0e810283a1e9933adedd2.
	var zero, got [16]byte
	q.keys.hp.Encrypt(got[:], zero[:])
	var want [16]byte
	hpKey, _ := hex.DecodeString("9f50449e04a0e810283a1e9933adedd2")
	ref := mustAES(t, hpKey)
	ref.Encrypt(want[:], zero[:])
	if got != want {
		t.Errorf("header protection key differs from RFC 9001 A.1")
	}
}

// The captures' client Initials decrypt only if salt, labels and header
// protection are right for the version (AES-GCM authenticates), so they
// double as v1 and v2 test vectors.
func TestQUICCaptures(t *testing.T) {
	for _, tc := range []struct {
		file    string
		version uint32
		sni     string
		ja3     string
		ja4     string
	}{
		{
			file: "chromium-115.0.5790.110-api-cirrus-com.pcap", version: QUICVersion1,
			sni: "api.cirrus-ci.com",                // truth.tsv distinct_sni
			ja3: "526bdfecc3fb6cf46540d7ff70e88cec", // tshark 4.0.17 tls.handshake.ja3
			// No published JA4 for this capture: computed by the JA4.md rules
			// from tshark 4.0.17's dissection (tls.handshake.ciphersuite,
			// extension.type, sig_hash_alg, extensions_alpn_str).
			ja4: "q13d0311h3_55b375c5d22e_3512bcbbc9ec",
		},
		{
			file: "quic-v2.pcapng", version: QUICVersion2,
			sni: "test",
			// published: nDPI tests/cfgs/default/result/quic-v2.pcapng.out
			// [JA3C: 5e685944fc983af5eabcc813add3dca1] (also tshark) and
			// [JA4: q13d0310h3_55b375c5d22e_0a3b52e28cea].
			ja3: "5e685944fc983af5eabcc813add3dca1",
			ja4: "q13d0310h3_55b375c5d22e_0a3b52e28cea",
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c := readCapture(t, tc.file)
			var (
				q     QUICInitial
				h     ClientHello
				found bool
			)
			for i, d := range c.datagrams {
				err := ParseQUICInitial(d, &q, &h)
				if err == nil {
					found = true
					break
				}
				if !errors.Is(err, ErrNeedMore) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotQUIC) {
					t.Fatalf("datagram %d: %v", i, err)
				}
			}
			if !found {
				t.Fatal("no ClientHello in the Initials")
			}
			if q.Version != tc.version {
				t.Errorf("version %#x, want %#x", q.Version, tc.version)
			}
			if h.SNI() != tc.sni || h.JA3Hex() != tc.ja3 || h.JA4() != tc.ja4 {
				t.Errorf("SNI %q JA3 %s JA4 %s (%s), want %q %s %s",
					h.SNI(), h.JA3Hex(), h.JA4(), h.AppendJA4Raw(nil), tc.sni, tc.ja3, tc.ja4)
			}
		})
	}
}

func TestQUICNotInitial(t *testing.T) {
	var (
		q QUICInitial
		h ClientHello
	)
	for _, d := range [][]byte{nil, {0x40, 1, 2, 3, 4, 5, 6, 7}, {0xc0, 0, 0, 0}} {
		if err := ParseQUICInitial(d, &q, &h); !errors.Is(err, ErrNotQUIC) {
			t.Errorf("%x: %v, want ErrNotQUIC", d, err)
		}
	}
	// Version negotiation (version 0), a greased version and a draft
	// before 27: long headers whose Initial protection is unknown.
	for _, d := range [][]byte{{0xc0, 0, 0, 0, 0, 0, 0}, {0xc0, 0xba, 0xba, 0xba, 0xba, 0, 0}, {0xc0, 0xff, 0, 0, 0x1a, 0, 0}} {
		if err := ParseQUICInitial(d, &q, &h); !errors.Is(err, ErrQUICVersion) {
			t.Errorf("%x: %v, want ErrQUICVersion", d, err)
		}
	}
	// Drafts 27 to 34 are known: a draft-29 header with a zero length
	// is malformed, not of an unknown version.
	if err := ParseQUICInitial([]byte{0xc0, 0xff, 0, 0, 0x1d, 0, 0}, &q, &h); !errors.Is(err, ErrMalformed) {
		t.Errorf("draft-29 header: %v, want ErrMalformed", err)
	}
	// A v1 Initial whose payload is garbage must fail authentication.
	d := []byte{0xc0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x40, 0x20}
	d = append(d, make([]byte, 0x20)...)
	if err := ParseQUICInitial(d, &q, &h); !errors.Is(err, ErrMalformed) {
		t.Errorf("garbage Initial: %v, want ErrMalformed", err)
	}
}

func FuzzParseQUICInitial(f *testing.F) {
	for _, file := range []string{"chromium-115.0.5790.110-api-cirrus-com.pcap", "quic-v2.pcapng"} {
		for _, d := range readCapture(f, file).datagrams[:2] {
			f.Add(d)
		}
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		var (
			q QUICInitial
			h ClientHello
		)
		if ParseQUICInitial(d, &q, &h) == nil {
			h.AppendJA4(nil)
		}
	})
}

func mustAES(t *testing.T, key []byte) interface{ Encrypt(dst, src []byte) } {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

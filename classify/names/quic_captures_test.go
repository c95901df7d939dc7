package names

import (
	"slices"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
)

// wantFlow is what one handshake must leave on its flow.
type wantFlow struct {
	client                 string // originator ip:port
	app, sni, alpn         string
	version, ja3, ja4      string
	proxyTarget            string
	offeredMax, offeredMin uint16
}

// checkFlows finds each wanted flow by its originator and compares the
// labels. An empty want field is not checked; "-" asserts that the flow
// has none (a hello without SNI or ALPN, a flow that went through no
// proxy, no JA4 where no hello was parsed).
func checkFlows(t *testing.T, r *replayed, wants []wantFlow) {
	t.Helper()
	for _, w := range wants {
		i := slices.IndexFunc(r.flows, func(f labelled) bool { return f.src.String() == w.client })
		if i < 0 {
			t.Errorf("no labelled flow from %s", w.client)
			continue
		}
		m := r.flows[i].meta
		check := func(field, got, want string) {
			if want == "-" {
				want = ""
			} else if want == "" {
				return
			}
			if got != want {
				t.Errorf("%s: %s %q, want %q", w.client, field, got, want)
			}
		}
		check("App", m.App, w.app)
		check("SNI", m.SNI, w.sni)
		check("ALPN", m.ALPN, w.alpn)
		check("TLSVersion", m.TLSVersion, w.version)
		check("JA3", m.JA3, w.ja3)
		check("JA4", m.JA4, w.ja4)
		check("ProxyTarget", m.ProxyTarget, w.proxyTarget)
		if w.offeredMax != 0 && (m.TLSOfferedMax != w.offeredMax || m.TLSOfferedMin != w.offeredMin) {
			t.Errorf("%s: offered %#04x-%#04x, want %#04x-%#04x", w.client, m.TLSOfferedMin, m.TLSOfferedMax, w.offeredMin, w.offeredMax)
		}
	}
}

// TestQUICInitialCaptures replays QUIC handshakes that the first-DCID rule,
// Retry, version negotiation, the draft salts and CRYPTO reassembly each
// decide. JA3 is tshark 4.0.17's tls.handshake.ja3 for the same hello
// (`tshark -r F -Y tls.handshake.type==1 -T fields -e tls.handshake.ja3
// -e tls.handshake.extensions_server_name -e tls.handshake.extensions_alpn_str
// -e tls.handshake.ciphersuite -e tls.handshake.extension.type
// -e tls.handshake.sig_hash_alg -e tls.handshake.extensions.supported_version`),
// which cannot open the Initial after the Retry of
// quic-forcing-vn-with-data: there JA3 is nDPI's published JA3C. JA4 is
// computed from those fields by the JA4.md rules; nDPI's published JA4
// differs where it departs from JA4.md (it writes "d" without an SNI and
// "h3" for ALPN "h3-27", whose first and last characters are "h7").
func TestQUICInitialCaptures(t *testing.T) {
	tests := []struct {
		file   string
		hellos int // when not one per flow listed
		flows  []wantFlow
	}{
		{
			// draft-27 (0xff00001b), the draft-23 salt.
			file: "testdata/quic-27.pcap",
			flows: []wantFlow{{client: "[3ef4:2194:f4a6:3503:40cd:714:57:c4e4]:64229", app: "quic", sni: "play.google.com", alpn: "h3-27",
				version: "TLS 1.3", ja3: "1e022f87823477abd6a79c31d70062d7", ja4: "q13d0309h7_55b375c5d22e_f68d9329452a"}},
		},
		{
			// draft-29 (0xff00001d), the draft-29 salt; a Retry follows the
			// first Initial, which already held the whole hello.
			file: "testdata/quic-29.pcap",
			flows: []wantFlow{{client: "10.9.0.1:36588", app: "quic", sni: "localhost", alpn: "h3-29",
				version: "TLS 1.3", ja3: "b3e43d74f4b790abca2f5fe7dd06e7cf", ja4: "q13d0512h9_d55e91d5c3b2_cd318bf3b157"}},
		},
		{
			// draft-34 (0xff000022), the RFC 9001 salt, on port 4443. The
			// hello offers TLS 1.3 drafts above 0x0304 (0x7f1c), so the
			// highest version is none JA4 names: "00".
			file: "testdata/quic-34.pcap",
			flows: []wantFlow{{client: "192.168.56.1:55880", app: "quic", sni: "-", alpn: "h3-34",
				version: "TLS 1.3", ja3: "0299b052ace53a14c3a04aceb5efd247", ja4: "q00i0307h4_55b375c5d22e_af0a630e9e67"}},
		},
		{
			// A greased version (0xbabababa), version negotiation, a v1
			// Initial, a Retry, then the Initial sealed with keys from the
			// Retry's connection ID: only that one opens to a hello.
			file: "testdata/quic-forcing-vn-with-data.pcapng",
			flows: []wantFlow{{client: "192.168.56.103:55523", app: "quic", sni: "-", alpn: "h3",
				version: "TLS 1.3", ja3: "86871fd0d48de0c82beec154cd3f1744", ja4: "q13i0307h3_55b375c5d22e_f0736a66fa6b"}},
		},
		{
			// The same connection from the server's version negotiation on
			// (the greased Initial cut away with `editcap -r
			// quic-forcing-vn-with-data.pcapng quic-vn-first.pcapng 2-30`):
			// the flow's originator is the server, on a port other than
			// 443, and the hello is still the client's.
			file: "testdata/quic-vn-first.pcapng",
			flows: []wantFlow{{client: "192.168.56.104:4433", app: "quic", sni: "-", alpn: "h3",
				version: "TLS 1.3", ja3: "86871fd0d48de0c82beec154cd3f1744", ja4: "q13i0307h3_55b375c5d22e_f0736a66fa6b"}},
		},
		{
			// The hello's CRYPTO data in two Initials, the second first.
			file: "testdata/quic_frags_ch_in_multiple_packets.pcapng",
			flows: []wantFlow{{client: "[::1]:58822", app: "quic", sni: "-", alpn: "h3-34",
				version: "TLS 1.3", ja3: "0299b052ace53a14c3a04aceb5efd247", ja4: "q00i0307h4_55b375c5d22e_af0a630e9e67"}},
		},
		{
			// The hello spans two Initials, the second sent to the server's
			// connection ID but sealed with the keys of the first DCID.
			file: "testdata/quic_frags_different_dcid.pcapng",
			flows: []wantFlow{{client: "129.21.84.33:37229", app: "quic", sni: "cdnjs.cloudflare.com", alpn: "h3",
				version: "TLS 1.3", ja3: "77f2e7e7117b061992c6529845aa351c", ja4: "q13d0311h3_55b375c5d22e_5a1f323ef56d"}},
		},
		{
			// suricata-verify tests/ja4-quic: eleven Chrome connections;
			// its test.yaml publishes quic.ja4
			// q13d0310h3_55b375c5d22e_cd85d2d88918 for them.
			file: "testdata/sv-ja4-quic.pcap", hellos: 11,
			flows: []wantFlow{
				{client: "192.168.178.25:51333", app: "quic", sni: "www.blogger.com", alpn: "h3", version: "TLS 1.3",
					ja3: "248373eb19ca203170946b3085bd09ae", ja4: "q13d0310h3_55b375c5d22e_cd85d2d88918"},
				{client: "192.168.178.25:41171", app: "quic", sni: "2.bp.blogspot.com", alpn: "h3", version: "TLS 1.3",
					ja3: "324f8c50e267adba4b5dd06c964faf67", ja4: "q13d0310h3_55b375c5d22e_cd85d2d88918"},
			},
		},
		{
			// suricata-verify tests/quic-frag-unordered: the hello's CRYPTO
			// frames out of order.
			file: "testdata/sv-quic-frag-unordered.pcap",
			flows: []wantFlow{{client: "192.168.0.5:52755", app: "quic", sni: "mastodon.social", alpn: "h3", version: "TLS 1.3",
				ja3: "272f82e5021102e1a2dda48dca35e0a1", ja4: "q13d0311h3_55b375c5d22e_5a1f323ef56d"}},
		},
		{
			// suricata-verify tests/quic-frag-middle-gap: the middle of the
			// hello arrives last, in a third Initial.
			file: "testdata/sv-quic-frag-middle-gap.pcap",
			flows: []wantFlow{{client: "192.168.178.252:45514", app: "quic", sni: "optimizationguide-pa.googleapis.com", alpn: "h3", version: "TLS 1.3",
				ja3: "2adbc782adea01297ab7fcf01fe2acc1", ja4: "q13d0313h3_55b375c5d22e_c7319ce65786"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := replay(t, tt.file)
			want := tt.hellos
			if want == 0 {
				want = len(tt.flows)
			}
			if n := r.tls.Stats().QUICHellos.Load(); n != uint64(want) {
				t.Errorf("%d QUIC hellos, want %d", n, want)
			}
			checkFlows(t, r, tt.flows)
		})
	}
}

func TestQUICVersionNegotiationHeuristic(t *testing.T) {
	vn := []byte{0x80, 0, 0, 0, 0, 4, 1, 2, 3, 4, 4, 5, 6, 7, 8, 0, 0, 0, 1, 0xff, 0, 0, 0x1d}
	if !quicVersionNegotiation(vn) || !looksLikeQUICInitial(vn) {
		t.Error("version negotiation packet not recognised")
	}
	for name, b := range map[string][]byte{
		"ragged version list": vn[:len(vn)-1],
		"no versions":         vn[:15],
		"CID over 20 bytes":   append([]byte{0x80, 0, 0, 0, 0, 21}, make([]byte, 30)...),
		"nonzero version":     append([]byte{0x80, 0, 0, 0, 1}, vn[5:]...),
		// RTP, PCMU, sequence 0, timestamp 0x00..: a 172-byte packet.
		"RTP": append([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78}, make([]byte, 160)...),
	} {
		if quicVersionNegotiation(b) {
			t.Errorf("%s taken for version negotiation", name)
		}
	}
	// A greased version in a padded long header is a candidate off port
	// 443; a short one is not.
	grease := append([]byte{0xc0, 0xba, 0xba, 0xba, 0xba}, make([]byte, 1195)...)
	if !looksLikeQUICInitial(grease) || looksLikeQUICInitial(grease[:1199]) {
		t.Error("greased-version Initial heuristic")
	}
}

// FuzzQUICDissector sends random datagrams both ways on a QUIC flow off
// port 443.
func FuzzQUICDissector(f *testing.F) {
	vn := []byte{0x80, 0, 0, 0, 0, 4, 1, 2, 3, 4, 4, 5, 6, 7, 8, 0, 0, 0, 1}
	initial := append([]byte{0xc0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x44, 0xc8}, make([]byte, 1200)...)
	retry := []byte{0xf0, 0, 0, 0, 1, 0, 4, 9, 9, 9, 9, 1, 2, 3}
	seed := func(ds ...[]byte) []byte {
		var b []byte
		for i, d := range ds {
			b = append(b, byte(i&1), byte(len(d)>>8), byte(len(d)))
			b = append(b, d...)
		}
		return b
	}
	f.Add(seed(initial, retry, initial))
	f.Add(seed(nil, vn, initial))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewTLS(TLSConfig{})
		tf := newTestFlow(d, flow.ProtoUDP, "10.0.0.1:40000", "10.0.0.2:4433")
		for len(in) >= 3 {
			fromOrig := in[0]&1 == 0
			n := min(int(in[1])<<8|int(in[2]), len(in)-3)
			dg := in[3 : 3+n]
			in = in[3+n:]
			if !tf.send(fromOrig, 0, dg) {
				break
			}
		}
		tf.end()
		if d.InProgress() != 0 {
			t.Fatal("state left after End")
		}
	})
}

package names

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
)

// TestTLSCaptures checks the labels each handshake leaves on its flow. The
// fingerprints are the ones classify/tlsinfo verified against published
// values; here they must survive reassembly by the real pipeline.
func TestTLSCaptures(t *testing.T) {
	type flowWant struct {
		client          string // originator ip:port
		app, sni, alpn  string
		version, ja4    string
		ja3, serverName string
		// posture fields: versions offered, cipher chosen, JA3S and the
		// certificate's subject (TLS 1.2 and older)
		offeredMax, offeredMin, cipher uint16
		ja3s, certSubject              string
		selfSigned                     bool
	}
	tests := []struct {
		file string
		// flows with a ClientHello, and hellos counted (a HelloRetryRequest
		// makes two on one flow)
		helloFlows, hellos, quic int
		serverHellos, hrr        int
		certCNs                  []string
		flows                    []flowWant
	}{
		{
			file: "tls/chrome-1250-tls-x25519-kyber.pcap", helloFlows: 1, hellos: 1, serverHellos: 1,
			flows: []flowWant{{
				client: "0.0.51.217:13783", app: "tls", sni: "lh3.google.com", alpn: "h2", version: "TLS 1.3",
				ja4: "t13d1516h2_8daaf6152771_02713d6af862", ja3: "9d33d8206d4fec4c8b1423c728f4cd3c",
				// Offers 1.3 and 1.2; TLS_AES_128_GCM_SHA256; the certificate is encrypted.
				offeredMax: 0x0304, offeredMin: 0x0303, cipher: 0x1301, ja3s: "eb1d94daa7e0344597e756a1fb6e7054",
			}},
		},
		{
			file: "tls/hrr.pcap", helloFlows: 1, hellos: 2, serverHellos: 1, hrr: 1,
			// The first hello's fingerprint is kept.
			flows: []flowWant{{client: "10.192.48.168:63564", app: "tls", version: "TLS 1.3", ja4: "t13i040900_16476d049b0b_78f1d400d464"}},
		},
		{
			file: "tls/dump_mtu300.pcap", helloFlows: 1, hellos: 1, serverHellos: 1, certCNs: []string{"www.google.com"},
			flows: []flowWant{{
				client: "10.20.0.14:38576", app: "tls", sni: "www.google.com", alpn: "h2", version: "TLS 1.2",
				ja4: "t12d8008h2_9cedc1f1428b_046e095b7c4a", ja3: "a64c29923906f2a1be278be1da0714fa",
				// A legacy hello: client_version only. ECDHE-ECDSA-AES128-GCM-SHA256.
				offeredMax: 0x0303, offeredMin: 0x0303, cipher: 0xc02b, ja3s: "a27e76e64afe9199440ad714848966f8",
				certSubject: "CN=www.google.com",
			}},
		},
		{
			file: "tls/ja3_lots_of_cipher_suites.pcap", helloFlows: 1, hellos: 1, serverHellos: 1, certCNs: []string{"XRX9C934E949FEF"},
			flows: []flowWant{{client: "10.206.131.18:58657", app: "tls", version: "TLS 1.2", ja3: "b2498734f22ddc9be05c39837ac8ac54"}},
		},
		{
			file: "tls/ssl-v2.pcap", helloFlows: 1, hellos: 1, serverHellos: 1,
			flows: []flowWant{{client: "192.168.4.149:59062", app: "tls", version: "SSL 2.0", ja4: "ts2i000000_000000000000_000000000000",
				offeredMax: 0x0002, offeredMin: 0x0002, selfSigned: true, certSubject: "CN=plesk,OU=Plesk,O=Parallels,L=Herndon,ST=Virginia,C=US,1.2.840.113549.1.9.1=#0c0e696e666f40706c65736b2e636f6d"}},
		},
		{
			// TLS on port 9090: found by content.
			file: "tls/tls13_wolfssl.pcap", helloFlows: 1, hellos: 1, serverHellos: 1,
			flows: []flowWant{{client: "192.168.186.133:43056", app: "tls", version: "TLS 1.3", ja4: "t13i010600_ee47968ec53b_5af53a18c712"}},
		},
		{
			file: "tls/tls_with_huge_ch.pcapng", helloFlows: 1, hellos: 1, serverHellos: 1,
			flows: []flowWant{{client: "172.30.84.193:40640", app: "tls", alpn: "h2", version: "TLS 1.3", ja3: "66d6080b942b0b593896bf729f3fd326"}},
		},
		{
			// Two ECH handshakes; the third flow is not TLS.
			file: "tls/tls13-ech.pcap", helloFlows: 2, hellos: 2, serverHellos: 2,
			flows: []flowWant{
				{client: "192.168.20.65:51066", app: "tls", sni: "cloudflare-ech.com", alpn: "h2", version: "TLS 1.3", ja3: "2fcbf8655473005933c5869b2b5d8044"},
				{client: "192.168.20.65:51071", app: "tls", sni: "cloudflare-ech.com", alpn: "h2", version: "TLS 1.3", ja3: "fa58f5ffd45a2d590a1677134966dc64"},
			},
		},
		{
			file: "tls/chromium-115.0.5790.110-api-cirrus-com.pcap", helloFlows: 1, quic: 1,
			flows: []flowWant{{client: "82.239.54.117:53727", app: "quic", sni: "api.cirrus-ci.com", alpn: "h3", version: "TLS 1.3", ja4: "q13d0311h3_55b375c5d22e_3512bcbbc9ec",
				offeredMax: 0x0304, offeredMin: 0x0304}},
		},
		{
			// QUIC v2 on port 4443: found by the Initial's header.
			file: "tls/quic-v2.pcapng", helloFlows: 1, quic: 1,
			flows: []flowWant{{client: "[::1]:42086", app: "quic", sni: "test", alpn: "h3", version: "TLS 1.3"}},
		},
		{file: "tls/webrtc-stun.pcap"}, // DTLS is not parsed
		{file: "dns/dns_doh.pcap", helloFlows: 1, hellos: 1, serverHellos: 1},
		{
			// 22 ServerHellos for TShark, which gives up on flow 60535,
			// whose ServerHello segments arrive out of order.
			file: "mixed/teams.pcap", helloFlows: 38, hellos: 38, serverHellos: 23,
			flows: []flowWant{{client: "192.168.1.6:60535", app: "tls", sni: "mobile.pipe.aria.microsoft.com", version: "TLS 1.2", serverName: "skypedataprdcolneu04.cloudapp.net"}},
		},
		{file: "mixed/webex.pcap", helloFlows: 49, hellos: 49, serverHellos: 36},
		{file: "mixed/sites.pcapng", helloFlows: 59, hellos: 55, quic: 4, serverHellos: 55},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := replay(t, tt.file)
			st := r.tls.Stats()
			helloFlows := 0
			for _, f := range r.flows {
				if f.meta.JA4 != "" {
					helloFlows++
				}
			}
			if helloFlows != tt.helloFlows {
				t.Errorf("%d flows with a ClientHello, want %d", helloFlows, tt.helloFlows)
			}
			got := [...]uint64{st.ClientHellos.Load(), st.QUICHellos.Load(), st.ServerHellos.Load(), st.HelloRetryRequests.Load()}
			want := [...]uint64{uint64(tt.hellos), uint64(tt.quic), uint64(tt.serverHellos), uint64(tt.hrr)}
			if got != want {
				t.Errorf("hellos, QUIC hellos, ServerHellos, HRRs = %v, want %v", got, want)
			}
			var cns []string
			for _, c := range r.certs {
				cns = append(cns, c.CommonName)
			}
			if tt.certCNs != nil && !slices.Equal(cns, tt.certCNs) {
				t.Errorf("certificates %q, want %q", cns, tt.certCNs)
			}
			for _, w := range tt.flows {
				i := slices.IndexFunc(r.flows, func(f labelled) bool { return f.src.String() == w.client && f.meta.JA4 != "" })
				if i < 0 {
					t.Errorf("no labelled flow from %s", w.client)
					continue
				}
				m := r.flows[i].meta
				check := func(field, got, want string) {
					if want != "" && got != want {
						t.Errorf("%s: %s %q, want %q", w.client, field, got, want)
					}
				}
				check("App", m.App, w.app)
				check("SNI", m.SNI, w.sni)
				check("ALPN", m.ALPN, w.alpn)
				check("TLSVersion", m.TLSVersion, w.version)
				check("JA4", m.JA4, w.ja4)
				check("JA3", m.JA3, w.ja3)
				check("ServerName", m.ServerName, w.serverName)
				check("JA3S", m.JA3S, w.ja3s)
				if w.offeredMax != 0 && (m.TLSOfferedMax != w.offeredMax || m.TLSOfferedMin != w.offeredMin) {
					t.Errorf("%s: offered %#04x-%#04x, want %#04x-%#04x", w.client, m.TLSOfferedMin, m.TLSOfferedMax, w.offeredMin, w.offeredMax)
				}
				if w.cipher != 0 && m.TLSCipher != w.cipher {
					t.Errorf("%s: cipher %#04x, want %#04x", w.client, m.TLSCipher, w.cipher)
				}
				if w.certSubject != "" {
					if c := m.Cert; c == nil || c.Subject != w.certSubject || c.SelfSigned != w.selfSigned || len(c.SHA256) != 64 || c.NotAfter.IsZero() {
						t.Errorf("%s: certificate %+v, want subject %q, self-signed %v", w.client, c, w.certSubject, w.selfSigned)
					}
				} else if w.version == "TLS 1.3" && m.Cert != nil {
					t.Errorf("%s: a TLS 1.3 certificate is encrypted, got %+v", w.client, m.Cert)
				}
			}
		})
	}
}

// TestServerNames checks names from DNS answers on the flows that followed
// them in the Teams capture (answers checked with TShark: frames 11, 262,
// 587 and 728), including a UDP flow to a TURN port that no other parser
// labels.
func TestServerNames(t *testing.T) {
	r := replay(t, "mixed/teams.pcap")
	want := []struct{ client, server, name string }{
		{"192.168.1.6:60532", "52.114.77.33:443", "skypedataprdcolneu04.cloudapp.net"},
		{"192.168.1.6:60538", "52.114.75.70:443", "eu-prod.asyncgw.teams.microsoft.com"},
		{"192.168.1.6:60547", "52.114.88.59:443", "chatsvcagg.svcs.teams.office.com"},
		{"192.168.1.6:50016", "52.114.250.123:3478", "euaz.tr.teams.microsoft.com"},
	}
	for _, w := range want {
		i := slices.IndexFunc(r.flows, func(f labelled) bool {
			return f.src.String() == w.client && f.dst.String() == w.server
		})
		if i < 0 {
			t.Errorf("no labelled flow %s -> %s", w.client, w.server)
			continue
		}
		if got := r.flows[i].meta.ServerName; got != w.name {
			t.Errorf("%s -> %s: ServerName %q, want %q", w.client, w.server, got, w.name)
		}
	}
	// A flow to an address no answer named stays bare, or is labelled by
	// its own parser only.
	for _, f := range r.flows {
		if f.dst.Addr() == netip.MustParseAddr("167.99.215.164") && f.meta.ServerName != "" {
			t.Errorf("%v -> %v named %q without a DNS answer", f.src, f.dst, f.meta.ServerName)
		}
	}
	if r.namer.Named() != 32 {
		t.Errorf("%d flows named, want 32", r.namer.Named())
	}
}

// TestDNSCaptures checks the dissector's counts against those
// classify/dnsinfo established for the same captures with its own
// reassembly, and the cache it fills.
func TestDNSCaptures(t *testing.T) {
	tests := []struct {
		file                       string
		queries, responses         uint64
		mdnsQueries, mdnsResponses uint64
		tcpMessages, parseErrors   uint64
		short, nxdomain            uint64
		entries                    int
		lookup                     [3]string // client, server, name
	}{
		{file: "dns/bad-dns-traffic.pcap", queries: 220, responses: 162},
		{file: "malformed/badpackets.pcap", responses: 91, parseErrors: 91, short: 2, nxdomain: 18, entries: 71,
			lookup: [3]string{"204.186.80.229", "140.90.113.200", "www.tsunamiready.noaa.gov"}},
		{file: "dns/dns-edns-ecs.pcap", queries: 20, responses: 65, tcpMessages: 9, entries: 91,
			lookup: [3]string{"192.168.120.22", "193.0.6.158", "atlas.ripe.net"}},
		{file: "dns/dns_fragmented.pcap", queries: 22, responses: 21, tcpMessages: 4, entries: 19},
		{file: "dns/dns_tcp.pcap", queries: 1, responses: 1, tcpMessages: 2, entries: 4,
			lookup: [3]string{"192.168.1.11", "198.199.88.104", "www.tcpdump.org"}},
		{file: "malformed/malformed_dns.pcap", queries: 2, responses: 4, parseErrors: 4},
		{file: "dns/mdns.pcap", mdnsQueries: 12, mdnsResponses: 6, entries: 3,
			lookup: [3]string{"10.0.2.15", "10.0.2.7", "johanna-qemu-virtual-machine.local"}},
		{file: "dns/naptr.pcap", queries: 1, responses: 1},
		{file: "dns/dns_doh.pcap"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := replay(t, tt.file)
			s := r.dns.Stats()
			got := [...]uint64{s.Queries.Load(), s.Responses.Load(), s.MulticastQueries.Load(), s.MulticastResponses.Load(),
				s.TCPMessages.Load(), s.ParseErrors.Load(), s.Short.Load(), s.RCodes[3].Load(), s.FramingErrors.Load()}
			want := [...]uint64{tt.queries, tt.responses, tt.mdnsQueries, tt.mdnsResponses, tt.tcpMessages, tt.parseErrors, tt.short, tt.nxdomain, 0}
			if got != want {
				t.Errorf("queries, responses, mDNS q/r, TCP messages, parse errors, short, NXDOMAIN, framing errors\n got %v\nwant %v", got, want)
			}
			if n := r.cache.Len(); n != tt.entries {
				t.Errorf("%d cache entries, want %d", n, tt.entries)
			}
			dnsFlows := 0
			for _, f := range r.flows {
				if f.meta.App == "dns" {
					dnsFlows++
				}
			}
			if (tt.queries+tt.responses+tt.mdnsQueries+tt.mdnsResponses > 0) != (dnsFlows > 0) {
				t.Errorf("%d flows labelled dns", dnsFlows)
			}
			if tt.lookup[0] == "" {
				return
			}
			// An answer names its address from the moment it arrived until
			// its TTL (at least 5 minutes) runs out, or another name
			// replaces it; some captures here span years, so look at every
			// moment that had a packet.
			var name string
			ok := false
			for _, at := range r.times {
				if name, ok = r.cache.Lookup(netip.MustParseAddr(tt.lookup[0]), netip.MustParseAddr(tt.lookup[1]), at); ok && name == tt.lookup[2] {
					break
				}
			}
			if !ok || name != tt.lookup[2] {
				t.Errorf("Lookup(%s, %s) = %q, %v; want %q", tt.lookup[0], tt.lookup[1], name, ok, tt.lookup[2])
			}
		})
	}
}

// keyOf is a test helper for hand-made flows.
func keyOf(proto uint8, src, dst string) (flow.Key, flow.Dir) {
	return flow.NewKey(proto, netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst))
}

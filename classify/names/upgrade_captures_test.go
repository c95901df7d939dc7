package names

import "testing"

// TestUpgradeCaptures replays real connections that start in cleartext
// and hand over to TLS. Per flow: the "+tls" label, the proxy target, and
// the hello's SNI, ALPN, JA3 and JA4 and the negotiated version. JA3, SNI,
// ALPN and the version are tshark 4.0.17's dissection of the same hellos:
//
//	tshark -r F -Y 'tls.handshake.type==1' -T fields -e tcp.srcport \
//	  -e tls.handshake.extensions_server_name -e tls.handshake.extensions_alpn_str \
//	  -e tls.handshake.ja3 -e tls.handshake.version -e tls.handshake.extensions.supported_version \
//	  -e tls.handshake.ciphersuite -e tls.handshake.extension.type -e tls.handshake.sig_hash_alg
//	tshark -r F -Y 'tls.handshake.type==2' -T fields -e tls.handshake.version \
//	  -e tls.handshake.extensions.supported_version
//
// JA4 is computed from those fields by the JA4.md rules (highest
// non-GREASE supported_versions entry else the hello's version; d/i by the
// SNI extension; counts without GREASE; first and last ALPN characters;
// sorted ciphers; sorted extensions without SNI and ALPN, then the
// signature_algorithms extension's values in wire order, which tshark's
// sig_hash_alg mixes with delegated_credentials' in http_connect.pcap).
// ALPN "-" is a hello without the extension (no type 16 in
// tls.handshake.extension.type).
func TestUpgradeCaptures(t *testing.T) {
	tests := []struct {
		file                    string
		candidates, upgrades    int
		noUpgrade, serverHellos int
		flows                   []wantFlow
	}{
		{
			// Two SMTP sessions: STARTTLS after EHLO, TLS 1.0 without SNI
			// (to Google, IPv4) and TLS 1.2 with SNI (IPv6).
			file: "testdata/smtp-starttls.pcap", candidates: 2, upgrades: 2, serverHellos: 2,
			flows: []wantFlow{
				{client: "10.0.0.1:57406", app: "smtp+tls", sni: "-", alpn: "-", version: "TLS 1.0",
					ja3: "fab507fe132c544e8a0eb7c394affeae", ja4: "t10i290100_cdba58456bdf_e78b541c01a9"},
				{client: "[2003:de:2016:125:fc36:8317:4e86:cb72]:7562", app: "smtp+tls", sni: "dovecot.weberlab.de", alpn: "-", version: "TLS 1.2",
					ja3: "7b38238e17474b8f6d113523bb5a8dd9", ja4: "t12d150900_073e58a039a6_b44afb9f0e6a"},
			},
		},
		{
			file: "testdata/imap-starttls.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "192.168.17.53:49640", app: "imap+tls", sni: "-", alpn: "-", version: "TLS 1.2",
				ja3: "c369db2c355ad05c76f5660af3179b01", ja4: "t12i910500_383454ac02f4_a1e935682795"}},
		},
		{
			file: "testdata/pop3_stls.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "192.168.20.18:50583", app: "pop3+tls", sni: "pop.lavabit.com", alpn: "-", version: "TLS 1.0",
				ja3: "207409c2b30e670ca50e1eac016a4831", ja4: "t10d360400_77f462745360_a875e5012fde"}},
		},
		{
			// AUTH TLS after a "220" banner: the command, not the banner,
			// tells FTP from SMTP. The client offers TLS 1.2, the server
			// answers TLS 1.0.
			file: "testdata/ftp-start-tls.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "10.238.26.36:62092", app: "ftp+tls", sni: "-", alpn: "-", version: "TLS 1.0",
				ja3: "398076b7fcad56308a762b3c79fe1f44", ja4: "t12i410100_d572b635dddf_5f8d9ea464d3", offeredMax: 0x0303, offeredMin: 0x0303}},
		},
		{
			// Firefox through an explicit proxy on port 8080, and the
			// proxy's own connection to the target carrying the same hello.
			file: "testdata/http_connect.pcap", candidates: 1, upgrades: 1, serverHellos: 2,
			flows: []wantFlow{
				{client: "192.168.1.103:1714", app: "http-connect+tls", proxyTarget: "apache.org:443", sni: "apache.org", alpn: "h2", version: "TLS 1.3",
					ja3: "c834494f5948ae026d160656c93c8871", ja4: "t13d1813h2_e8a523a41297_f81080dfc557"},
				{client: "192.168.1.146:35968", app: "tls", proxyTarget: "-", sni: "apache.org", alpn: "h2", version: "TLS 1.3",
					ja3: "c834494f5948ae026d160656c93c8871", ja4: "t13d1813h2_e8a523a41297_f81080dfc557"},
			},
		},
		{
			// mstsc: X.224 Connection Request, Connection Confirm selecting
			// TLS, then TLS 1.2 with the server's address as SNI. TShark
			// needs -d tcp.port==3389,tls to show the hello.
			file: "mixed/rdp.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "172.16.2.185:52494", app: "rdp+tls", sni: "192.168.2.142", alpn: "-", version: "TLS 1.2",
				ja3: "e4d448cdfe06dc1243c1eb026c74ac9a", ja4: "t12d220700_0d4ca5d4ec72_3304d8368043"}},
		},
		// suricata-verify's captures (tests/ldap-starttls,
		// tests/pgsql/pgsql-upgrade-tls, pgsql-ssl-rejected-md5-auth-simple-query,
		// http-connect/http-connect-tls).
		{
			file: "testdata/sv-ldap-starttls.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "[::1]:37386", app: "ldap+tls", sni: "-", alpn: "-", version: "TLS 1.2",
				ja3: "3f8b7a5c41878630f67e660533be80fc", ja4: "t12i240200_e34a427d6317_e0d811e466d9"}},
		},
		{
			file: "testdata/sv-pgsql-upgrade-tls.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "192.168.50.11:60358", app: "postgresql+tls", sni: "-", alpn: "-", version: "TLS 1.2",
				ja3: "fd53785d893d2ba0a73fdade39ddd7f1", ja4: "t12i730500_6c916b3be7dd_a1e935682795"}},
		},
		{
			// Two sessions whose SSLRequest the server answers 'N'.
			file: "testdata/sv-pgsql-ssl-rejected.pcap", candidates: 2, noUpgrade: 2,
		},
		{
			// CONNECT accepted, then bytes that open like a record but are
			// no handshake (tshark: "Continuation Data"): the proxy's label
			// and target, no "+tls".
			file: "testdata/http-connect-tls.pcap", candidates: 1, upgrades: 1,
			flows: []wantFlow{{client: "127.0.0.1:60472", app: "http-connect", proxyTarget: "abc:443", sni: "-", ja4: "-"}},
		},
		// Zeek's test traces (testing/btest/Traces). The SOCKS targets are
		// tshark's "Remote name"/"Remote Address" and "Port" (-O socks).
		{
			file: "testdata/zeek-socks-with-ssl.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "10.0.0.50:59580", app: "socks5+tls", proxyTarget: "www.google.com:443", sni: "www.google.com", alpn: "-", version: "TLS 1.0",
				ja3: "2aef69b4ba1938c3a400de4188743185", ja4: "t10d360400_77f462745360_a875e5012fde"}},
		},
		{
			// SOCKS5 with username/password to an SSH server: a tunnel
			// without TLS keeps its target.
			file: "testdata/zeek-socks-auth.pcap", candidates: 1, upgrades: 1,
			flows: []wantFlow{{client: "192.168.0.2:55951", app: "socks5", proxyTarget: "192.168.0.2:22", ja4: "-"}},
		},
		{
			// SOCKS5 on port 8124 to www.osnews.com:80, plain HTTP inside.
			file: "testdata/zeek-socks.pcap", candidates: 1, upgrades: 1,
			flows: []wantFlow{{client: "10.0.0.55:53994", app: "socks5", proxyTarget: "www.osnews.com:80", ja4: "-"}},
		},
		{
			// A client to server XMPP stream.
			file: "testdata/zeek-xmpp-starttls.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "198.128.203.95:56048", app: "xmpp+tls", sni: "-", alpn: "-", version: "TLS 1.2",
				ja3: "c369db2c355ad05c76f5660af3179b01", ja4: "t12i910500_383454ac02f4_a1e935682795"}},
		},
		{
			// A server to server stream (port 5269, dialback namespace).
			file: "testdata/zeek-xmpp-dialback-starttls.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "184.73.173.246:1193", app: "xmpp+tls", sni: "-", alpn: "-", version: "TLS 1.2",
				ja3: "37f41521d2ec51e91e9c74649f591954", ja4: "t12i650400_77b304177063_3e4878f5e76c"}},
		},
		{
			// psql with sslmode=require to Amazon RDS: offers TLS 1.3, the
			// server answers TLS 1.2.
			file: "testdata/zeek-psql-aws-ssl-require.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "192.168.123.132:36934", app: "postgresql+tls", sni: "database-1.cyx4x7yvdoay.us-east-1.rds.amazonaws.com", alpn: "-",
				version: "TLS 1.2", ja3: "a3afc2c46ba4a7d7fbe1cfb7a3031c2f", ja4: "t13d311000_e8f1e7e78f70_1f22a2ca17c4", offeredMax: 0x0304, offeredMin: 0x0303}},
		},
		// Generated on loopback with gen/make_captures.sh (OpenSSL 3.0
		// s_client and curl against gen/upgrade_peer.py); the same client
		// stack makes the same JA3 and JA4 in each.
		{
			file: "testdata/ldap-starttls.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "127.0.0.1:49418", app: "ldap+tls", sni: "ldap.upgrade.test", alpn: "-", version: "TLS 1.3",
				ja3: "a3afc2c46ba4a7d7fbe1cfb7a3031c2f", ja4: "t13d311000_e8f1e7e78f70_1f22a2ca17c4"}},
		},
		{
			file: "testdata/xmpp-starttls.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "127.0.0.1:50528", app: "xmpp+tls", sni: "xmpp.upgrade.test", alpn: "-", version: "TLS 1.3",
				ja3: "a3afc2c46ba4a7d7fbe1cfb7a3031c2f", ja4: "t13d311000_e8f1e7e78f70_1f22a2ca17c4"}},
		},
		{
			file: "testdata/postgres-sslrequest.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "127.0.0.1:56526", app: "postgresql+tls", sni: "pg.upgrade.test", alpn: "-", version: "TLS 1.3",
				ja3: "a3afc2c46ba4a7d7fbe1cfb7a3031c2f", ja4: "t13d311000_e8f1e7e78f70_1f22a2ca17c4"}},
		},
		{
			// curl --socks4 to an address: no SNI.
			file: "testdata/socks4.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "127.0.0.1:40540", app: "socks4+tls", proxyTarget: "127.0.0.1:443", sni: "-", alpn: "h2", version: "TLS 1.3",
				ja3: "78f0dc5ac5b19daf131a133cfdee9691", ja4: "t13i3111h2_e8f1e7e78f70_b26ce05bbdd6"}},
		},
		{
			// SOCKS4a: the proxy resolves the name (DSTIP 0.0.0.1).
			file: "testdata/socks4a.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "127.0.0.1:42696", app: "socks4+tls", proxyTarget: "socks4a.upgrade.test:8443", sni: "socks4a.upgrade.test", alpn: "h2", version: "TLS 1.3",
				ja3: "0149f47eabf9a20d0893e2a44e5a6323", ja4: "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6"}},
		},
		{
			file: "testdata/socks5.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "127.0.0.1:48974", app: "socks5+tls", proxyTarget: "socks5.upgrade.test:443", sni: "socks5.upgrade.test", alpn: "h2", version: "TLS 1.3",
				ja3: "0149f47eabf9a20d0893e2a44e5a6323", ja4: "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6"}},
		},
		{
			// Username/password authentication (RFC 1929), an IPv6 target.
			file: "testdata/socks5-auth.pcap", candidates: 1, upgrades: 1, serverHellos: 1,
			flows: []wantFlow{{client: "127.0.0.1:57534", app: "socks5+tls", proxyTarget: "[::1]:8443", sni: "-", alpn: "h2", version: "TLS 1.3",
				ja3: "78f0dc5ac5b19daf131a133cfdee9691", ja4: "t13i3111h2_e8f1e7e78f70_b26ce05bbdd6"}},
		},
		{
			// A warning unrecognized_name alert before the ServerHello
			// (tshark: Alert, Description: Unrecognized Name, then Server
			// Hello 0x0303), not an upgrade.
			file: "testdata/tls-unrecognized-name.pcap", serverHellos: 1,
			flows: []wantFlow{{client: "127.0.0.1:46930", app: "tls", sni: "other.upgrade.test", alpn: "-", version: "TLS 1.2",
				ja3: "871a754af286dfb70c1b53c6887c62e0", ja4: "t12d280700_d943125447b4_e7e480e5a997"}},
		},
		{
			// The first session logs in without TLS; the second sends the
			// SSL request (CLIENT_SSL) and goes to TLS 1.3.
			file: "testdata/mysql.pcapng", candidates: 2, upgrades: 1, noUpgrade: 1, serverHellos: 1,
			flows: []wantFlow{{client: "192.168.88.231:36272", app: "mysql+tls", sni: "-", alpn: "-", version: "TLS 1.3",
				ja3: "dd99f0b11b7a721ecdb698a10a9585cb", ja4: "t13i360900_8b5474408888_1f22a2ca17c4"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := replay(t, tt.file)
			st := r.tls.Stats()
			got := [...]uint64{st.UpgradeCandidates.Load(), st.Upgrades.Load(), st.NoUpgrade.Load(), st.ServerHellos.Load()}
			want := [...]uint64{uint64(tt.candidates), uint64(tt.upgrades), uint64(tt.noUpgrade), uint64(tt.serverHellos)}
			if got != want {
				t.Errorf("upgrade candidates, upgrades, no upgrade, ServerHellos = %v, want %v", got, want)
			}
			checkFlows(t, r, tt.flows)
		})
	}
}

// A server that answers the ClientHello with a fatal alert
// (protocol_version, tshark: "Alert (Level: Fatal, Description: Protocol
// Version)") leaves the client's labels and no version.
func TestFatalAlertCapture(t *testing.T) {
	r := replay(t, "testdata/tls_alert.pcap")
	st := r.tls.Stats()
	if st.Alerts.Load() != 1 || st.Malformed.Load() != 0 || st.ServerHellos.Load() != 0 {
		t.Errorf("alerts %d, malformed %d, ServerHellos %d, want 1, 0, 0", st.Alerts.Load(), st.Malformed.Load(), st.ServerHellos.Load())
	}
	checkFlows(t, r, []wantFlow{{client: "192.168.1.192:63158", app: "tls", sni: "www.google-analytics.com", alpn: "h2", version: "-",
		ja3: "d78489b860c8bf7838a6ff0b4d131541", ja4: "t10d0909h2_61c4dbd01224_cc731f12afbb"}})
}

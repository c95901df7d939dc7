// Package synth writes synthetic contact-center captures: SIP calls with
// G.711 RTP and RTCP, TLS, SMB, SQL Server, CIC client and DNS sessions,
// failed connections and background noise, in pcapng or pcap. The output
// depends only on the Options (math/rand/v2 PCG seeded from Options.Seed,
// no clock), so tests, benchmarks and the README demo can regenerate the
// same bytes.
//
// Packets are produced in timestamp order from a schedule of concurrent
// conversations (a heap of the next packet time of each), so memory stays
// constant and a 3-million-packet capture takes a few seconds.
//
// # Site
//
// Every capture shows the same site, seen from a SPAN port on its core
// switch; hosts beyond the router carry the router's MAC
// (00:00:5e:00:01:0a). The roles, for inventories written against the demo:
//
//	10.10.1.5      sql-server         SQL Server, TCP 1433 (from the CIC server)
//	10.10.1.6      dns-server         DNS, UDP and TCP 53; IPv6 2001:db8:10:1::6
//	10.10.1.10     cic-server         Genesys CIC: SIP 5060 UDP/TCP, Notifier TCP 3952,
//	                                  ICWS TCP 8018, TCP 5597 from the media servers;
//	                                  IPv6 2001:db8:10:1::10
//	10.10.1.11     cic-server-backup  switched off: SYNs to it go unanswered
//	10.10.1.20     media-server       RTP/RTCP 16384-32767; IPv6 2001:db8:10:1::20
//	10.10.1.21     media-server       RTP/RTCP 16384-32767 (calls moved by re-INVITE)
//	10.10.1.30     sip-proxy          SIP trunk to the carrier, UDP 5060 and TLS 5061
//	10.10.1.40     file-server        SMB 3, TCP 445
//	10.10.2.10-249 workstations       agents' PCs; 10.10.2.10-73 also have
//	                                  2001:db8:10:2::a-::49 (low byte = IPv4 host number)
//	10.10.3.10-249 ip-phones          802.1Q VLAN 30 (priority 5), SIP 5060, RTP 2222-2269 (the Polycom VVX range the Genesys document gives);
//	                                  10.10.3.10-73 also 2001:db8:10:3::a-::49;
//	                                  10.10.3.210-249 are switched off (ICMP port unreachable)
//	203.0.113.10   carrier-sbc        SIP signalling of the carrier trunk
//	203.0.113.20   carrier-media      RTP 20000-59999 of the carrier trunk
//	198.51.100.20  api.imagicle.cloud      HTTPS 443; IPv6 2001:db8:ff:20::20
//	198.51.100.30  telescope.tegsoft.com   HTTPS 443; IPv6 2001:db8:ff:30::30
//	198.51.100.40  login.example-idp.com   HTTPS 443; IPv6 2001:db8:ff:40::40
//	198.51.100.50  cdn.example-updates.net HTTPS 443; IPv6 2001:db8:ff:50::50
//
// The opt-in sinch scenario adds a Sinch Contact Center beside it:
//
//	10.10.4.10     sinch-server       Agent Server TCP 21018, Connection Server TCP 21002
//	10.10.4.20     sinch-mrs          Media Routing Server, RTP in the prompt area 8000-8400
//	10.10.4.30     sinch-sip-bridge   SIP Bridge, UDP 5060 from the PSTN gateway
//	10.10.5.10-29  sinch agents       Communication Desktop PCs
//	203.0.113.30   pstn-gateway       SIP and RTP 20000-59999 of the Sinch trunk
//
// Calls run between a phone and the CIC server (either direction, media
// between the phone and a media server) or between the carrier SBC and the
// SIP proxy (media between carrier-media and a media server).
//
// # Demo capture
//
// testdata/demo.pcapng is Generate(w, DemoOptions()) (regenerate with
// go test ./internal/synth -run TestDemoGolden -update, or go run ./cmd/auditor-dev gen
// --demo --out testdata/demo.pcapng). About 5000 packets over 26 s:
// five answered calls (four over UDP, one over TCP) with RTP and RTCP, one
// cancelled and one rejected INVITE, three phone registrations, a SIP-TLS
// handshake from the proxy to the carrier on 5061, HTTPS to the cloud
// services, SMB/TDS/CIC sessions on the catalog ports, DNS over UDP and TCP,
// two IPv6 lookups with HTTPS, and the findings an audit should report:
//
//   - one unanswered SYN (with two retransmissions) from a workstation to
//     10.10.1.11 TCP 3952;
//   - one SYN to 10.10.1.5 TCP 1433 answered by RST;
//   - one SIP OPTIONS from 10.10.1.10 to 10.10.3.210 UDP 5060 answered by
//     ICMP port unreachable;
//   - one telnet session (TCP 23) from a workstation to an IP phone, which
//     no vendor catalog allows;
//   - the Sinch site (four sinch instances): a PSTN call to the SIP Bridge
//     with media to the MRS, a Communication Desktop session with the
//     Connection Server, the MRS reaching the Agent Server, and a Sinch
//     agent PC opening the Genesys Session Manager port, which only
//     Genesys clients may.
package synth

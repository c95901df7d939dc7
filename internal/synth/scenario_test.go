package synth

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// TestScenarios generates each scenario alone and checks it contains what
// its documentation promises.
func TestScenarios(t *testing.T) {
	tests := []struct {
		scenario Scenario
		check    func(t *testing.T, pkts []*pkt, st Stats)
	}{
		{SIPUDP, func(t *testing.T, pkts []*pkt, st Stats) {
			wantSIP(t, pkts, "INVITE", "SIP/2.0 100", "SIP/2.0 180", "SIP/2.0 200", "ACK", "BYE")
			if st.RTPPackets < 2*int(0.5*2/0.02) || st.Calls != 1 {
				t.Errorf("RTP %d, calls %d", st.RTPPackets, st.Calls)
			}
			invite := findSIP(t, pkts, "INVITE")
			for _, want := range []string{"m=audio ", " RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=ptime:20", "c=IN IP4 "} {
				if !strings.Contains(invite.body, want) {
					t.Errorf("offer lacks %q:\n%s", want, invite.body)
				}
			}
		}},
		{SIPTCP, func(t *testing.T, pkts []*pkt, st Stats) {
			wantSIP(t, pkts, "INVITE", "SIP/2.0 200", "ACK", "BYE")
			if n := count(pkts, func(p *pkt) bool { return p.isTCP() && p.dport == 5060 && p.tcp.SYN }); n != 1 {
				t.Errorf("%d SYNs to 5060, want 1", n)
			}
			if !strings.Contains(findSIP(t, pkts, "INVITE").header("Via"), "SIP/2.0/TCP") {
				t.Error("Via does not say TCP")
			}
		}},
		{SIPTCPCoalesced, func(t *testing.T, pkts []*pkt, st Stats) {
			n := count(pkts, func(p *pkt) bool {
				return p.isTCP() && len(p.payload) > 0 && (p.sport == 5060 || p.dport == 5060) && len(parseSIP(t, p.n, p.payload)) == 2
			})
			if n != 1 {
				t.Errorf("%d segments with two SIP messages, want 1", n)
			}
		}},
		{SIPFragmented, func(t *testing.T, pkts []*pkt, st Stats) {
			var frags []*pkt
			for _, p := range pkts {
				if p.fragment {
					frags = append(frags, p)
				}
			}
			if len(frags) < 2 || !frags[0].mf || frags[len(frags)-1].mf || frags[0].fragOff != 0 {
				t.Fatalf("fragments: %d", len(frags))
			}
			var datagram []byte
			for _, f := range frags {
				if f.ipID != frags[0].ipID || int(f.fragOff)*8 != len(datagram) {
					t.Fatalf("packet %d: id %d offset %d after %d bytes", f.n, f.ipID, f.fragOff*8, len(datagram))
				}
				datagram = append(datagram, f.ipBody...)
			}
			if len(datagram) <= 1500 || int(binary.BigEndian.Uint16(datagram[4:])) != len(datagram) {
				t.Fatalf("reassembled %d bytes, UDP length %d", len(datagram), binary.BigEndian.Uint16(datagram[4:]))
			}
			pseudo := append(append(frags[0].src.AsSlice(), frags[0].dst.AsSlice()...), 0, 17, 0, 0)
			binary.BigEndian.PutUint16(pseudo[10:], uint16(len(datagram)))
			if fold(sum(datagram, sum(pseudo, 0))) != 0xffff {
				t.Error("bad UDP checksum over the reassembled datagram")
			}
			msgs := parseSIP(t, frags[0].n, datagram[8:])
			if !strings.HasPrefix(msgs[0].start, "INVITE ") {
				t.Errorf("reassembled %q", msgs[0].start)
			}
		}},
		{SIPReinvite, func(t *testing.T, pkts []*pkt, st Stats) {
			invites := allSIP(t, pkts, "INVITE")
			if len(invites) != 2 || invites[0].header("Call-ID") != invites[1].header("Call-ID") {
				t.Fatalf("%d INVITEs", len(invites))
			}
			answers := allSIP(t, pkts, "SIP/2.0 200")
			before, after := mediaOf(answers[0].body), mediaOf(invites[1].body)
			if invites[0].header("From") != invites[1].header("From") { // re-INVITE from the callee
				before = mediaOf(invites[0].body)
			}
			if before == after {
				t.Errorf("re-INVITE did not move the media: %s", after)
			}
			if st.Flows["rtp"] != 2 {
				t.Errorf("%d RTP flows, want 2 (before and after the move)", st.Flows["rtp"])
			}
		}},
		{SIPHold, func(t *testing.T, pkts []*pkt, st Stats) {
			invites := allSIP(t, pkts, "INVITE")
			if len(invites) != 3 || !strings.Contains(invites[1].body, "a=sendonly") || !strings.Contains(invites[2].body, "a=sendrecv") {
				t.Fatalf("want INVITE, hold (sendonly) and resume (sendrecv); got %d INVITEs", len(invites))
			}
			if !strings.Contains(allSIP(t, pkts, "SIP/2.0 200")[1].body, "a=recvonly") {
				t.Error("hold answer is not recvonly")
			}
			if count(pkts, func(p *pkt) bool { return p.isUDP() && len(p.payload) > 2 && p.payload[1] == 201 }) == 0 {
				t.Error("no RTCP receiver report while held")
			}
		}},
		{SIPT38, func(t *testing.T, pkts []*pkt, st Stats) {
			invites := allSIP(t, pkts, "INVITE")
			if len(invites) != 2 || !strings.Contains(invites[1].body, "m=image ") || !strings.Contains(invites[1].body, " udptl t38") {
				t.Fatal("no re-INVITE to T.38")
			}
			var port uint16
			fmt.Sscanf(invites[1].body[strings.Index(invites[1].body, "m=image "):], "m=image %d", &port)
			n := count(pkts, func(p *pkt) bool { return p.isUDP() && (p.dport == port || p.sport == port) && !isRTP(p) })
			if n < 20 || st.Flows["udptl"] != 1 {
				t.Errorf("%d UDPTL packets to or from %d, %d udptl flows", n, port, st.Flows["udptl"])
			}
		}},
		{SIPIPv6, func(t *testing.T, pkts []*pkt, st Stats) {
			if !strings.Contains(findSIP(t, pkts, "INVITE").body, "c=IN IP6 2001:db8:") {
				t.Error("offer is not IPv6")
			}
			if n := count(pkts, func(p *pkt) bool { return p.v6 && isRTP(p) }); n == 0 || n != st.RTPPackets {
				t.Errorf("%d IPv6 RTP packets of %d", n, st.RTPPackets)
			}
		}},
		{SIPEarlyMedia, func(t *testing.T, pkts []*pkt, st Stats) {
			progress, ok := indexOf(t, pkts, "SIP/2.0 183")
			ok200, _ := indexOf(t, pkts, "SIP/2.0 200")
			if !ok || !strings.HasPrefix(findSIP(t, pkts, "SIP/2.0 183").body, "v=0") {
				t.Fatal("no 183 with SDP")
			}
			if count(pkts[progress:ok200], isRTP) == 0 {
				t.Error("no RTP between 183 and 200")
			}
		}},
		{SIPCancel, func(t *testing.T, pkts []*pkt, st Stats) {
			wantSIP(t, pkts, "INVITE", "CANCEL", "SIP/2.0 487", "ACK")
			if st.RTPPackets != 0 {
				t.Errorf("%d RTP packets in a cancelled call", st.RTPPackets)
			}
			if c := findSIP(t, pkts, "CANCEL"); strings.Contains(c.header("To"), "tag=") {
				t.Errorf("CANCEL To has a tag: %s", c.header("To"))
			}
		}},
		{SIPFailure, func(t *testing.T, pkts []*pkt, st Stats) {
			msgs := sipOf(t, pkts)
			if len(msgs) != 4 || !strings.HasPrefix(msgs[2].start, "SIP/2.0 4") || !strings.HasPrefix(msgs[3].start, "ACK ") {
				t.Errorf("want INVITE, 100, 4xx, ACK")
			}
		}},
		{SIPRegister, func(t *testing.T, pkts []*pkt, st Stats) {
			wantSIP(t, pkts, "REGISTER", "SIP/2.0 401", "SIP/2.0 200")
			if pkts[0].vlan != voiceVLAN {
				t.Errorf("phone traffic on VLAN %d", pkts[0].vlan)
			}
		}},
		{SIPTLS, func(t *testing.T, pkts []*pkt, st Stats) {
			if n := count(pkts, func(p *pkt) bool {
				return p.isTCP() && p.dport == 5061 && len(p.payload) > 5 && p.payload[0] == recordHandshake && p.payload[1] == 3 && p.payload[5] == handshakeClientHello
			}); n != 1 {
				t.Errorf("%d ClientHellos to 5061", n)
			}
		}},
		{TLS, func(t *testing.T, pkts []*pkt, st Stats) {
			wantTCPLifecycle(t, pkts, 443)
			if count(pkts, func(p *pkt) bool {
				return p.isTCP() && len(p.payload) > 5 && p.payload[0] == recordHandshake && p.payload[5] == handshakeServerHello
			}) != 1 {
				t.Error("no ServerHello")
			}
		}},
		{TCP, func(t *testing.T, pkts []*pkt, st Stats) {
			port := pkts[0].dport
			if !strings.Contains(" 445 1433 3952 5597 8018 ", fmt.Sprintf(" %d ", port)) {
				t.Errorf("session to port %d", port)
			}
			wantTCPLifecycle(t, pkts, port)
		}},
		{DNS, func(t *testing.T, pkts []*pkt, st Stats) {
			if len(pkts) != 2 || pkts[0].dport != 53 || pkts[1].sport != 53 {
				t.Fatalf("want query and answer on UDP 53")
			}
			var m layers.DNS
			if err := m.DecodeFromBytes(pkts[1].payload, nil); err != nil || !m.QR || len(m.Answers) != 1 || m.Answers[0].IP.String() != "10.10.1.10" {
				t.Errorf("answer %+v, %v", m.Answers, err)
			}
		}},
		{DNSTCP, func(t *testing.T, pkts []*pkt, st Stats) {
			wantTCPLifecycle(t, pkts, 53)
			for _, p := range pkts {
				if len(p.payload) > 0 && int(binary.BigEndian.Uint16(p.payload)) != len(p.payload)-2 {
					t.Errorf("packet %d: length prefix %d, message %d", p.n, binary.BigEndian.Uint16(p.payload), len(p.payload)-2)
				}
			}
		}},
		{IPv6, func(t *testing.T, pkts []*pkt, st Stats) {
			if n := count(pkts, func(p *pkt) bool { return p.v6 }); n != len(pkts) {
				t.Errorf("%d of %d packets IPv6", n, len(pkts))
			}
			if st.Flows["dns"] != 1 || st.Flows["tls"] != 1 {
				t.Errorf("flows %v", st.Flows)
			}
		}},
		{SYNUnanswered, func(t *testing.T, pkts []*pkt, st Stats) {
			if len(pkts) != 3 {
				t.Fatalf("%d packets, want 3 SYNs", len(pkts))
			}
			for i, d := range []time.Duration{0, time.Second, 3 * time.Second} {
				p := pkts[i]
				if !p.tcp.SYN || p.tcp.ACK || p.tcp.Seq != pkts[0].tcp.Seq || p.ts.Sub(pkts[0].ts) != d || p.dport != 3952 {
					t.Errorf("packet %d: SYN %v seq %d at +%v to %d", p.n, p.tcp.SYN, p.tcp.Seq, p.ts.Sub(pkts[0].ts), p.dport)
				}
			}
		}},
		{SYNRejected, func(t *testing.T, pkts []*pkt, st Stats) {
			if len(pkts) != 2 || !pkts[1].tcp.RST || pkts[1].tcp.Ack != pkts[0].tcp.Seq+1 {
				t.Errorf("want SYN and RST/ACK")
			}
		}},
		{UDPUnreachable, func(t *testing.T, pkts []*pkt, st Stats) {
			if len(pkts) != 2 || pkts[1].icmp == nil {
				t.Fatal("want a datagram and an ICMP error")
			}
			ic := pkts[1].icmp
			if ic.TypeCode.Type() != layers.ICMPv4TypeDestinationUnreachable || ic.TypeCode.Code() != layers.ICMPv4CodePort {
				t.Errorf("ICMP %v", ic.TypeCode)
			}
			q := ic.Payload
			if len(q) < 28 || !bytes.Equal(q[12:16], pkts[0].src.AsSlice()) || binary.BigEndian.Uint16(q[22:]) != pkts[0].dport || !bytes.Equal(q[28:], pkts[0].payload[:len(q)-28]) {
				t.Errorf("quoted datagram does not match packet 1")
			}
		}},
		{Unexpected, func(t *testing.T, pkts []*pkt, st Stats) {
			if pkts[0].dport != 23 {
				t.Errorf("first instance goes to port %d, want telnet", pkts[0].dport)
			}
			wantTCPLifecycle(t, pkts, 23)
		}},
		{WrongDirection, func(t *testing.T, pkts []*pkt, st Stats) {
			if pkts[0].src != netip.MustParseAddr("10.10.1.5") || pkts[0].dst != netip.MustParseAddr("10.10.1.10") {
				t.Errorf("first SYN %v -> %v, want the SQL server opening to the CIC server", pkts[0].src, pkts[0].dst)
			}
			wantTCPLifecycle(t, pkts, 1433)
		}},
		{Noise, func(t *testing.T, pkts []*pkt, st Stats) {
			if pkts[0].arp == nil || pkts[1].arp == nil || pkts[1].arp.Operation != layers.ARPReply {
				t.Error("no ARP exchange")
			}
			if count(pkts, func(p *pkt) bool { return p.icmp != nil && p.icmp.TypeCode.Type() == layers.ICMPv4TypeEchoReply }) != 2 {
				t.Error("want two echo replies")
			}
		}},
		{SYNFlood, func(t *testing.T, pkts []*pkt, st Stats) {
			if len(pkts) != floodBurst || st.Flows["tcp"] != floodBurst {
				t.Fatalf("%d packets, %d flows, want %d SYNs", len(pkts), st.Flows["tcp"], floodBurst)
			}
			sources := map[netip.AddrPort]bool{}
			for _, p := range pkts {
				if !p.isTCP() || !p.tcp.SYN || p.tcp.ACK || p.dst != netip.MustParseAddr("10.10.1.30") || p.dport != floodTarget {
					t.Fatalf("packet %d: %v:%d -> %v:%d is not a SYN to the proxy's %d", p.n, p.src, p.sport, p.dst, p.dport, floodTarget)
				}
				if !netip.MustParsePrefix("100.64.0.0/10").Contains(p.src) || p.sport < 1024 {
					t.Errorf("packet %d: source %v:%d", p.n, p.src, p.sport)
				}
				sources[netip.AddrPortFrom(p.src, p.sport)] = true
			}
			if len(sources) != floodBurst {
				t.Errorf("%d distinct sources for %d SYNs", len(sources), floodBurst)
			}
			if span := pkts[len(pkts)-1].ts.Sub(pkts[0].ts); span > 100*time.Millisecond {
				t.Errorf("burst lasts %v, want a flood (about 20 000 SYNs/s)", span)
			}
		}},
	}
	tests = append(tests, struct {
		scenario Scenario
		check    func(t *testing.T, pkts []*pkt, st Stats)
	}{Sinch, func(t *testing.T, pkts []*pkt, st Stats) {
		// The first instance is the PSTN call: gateway to SIP Bridge,
		// media in the MRS prompt area.
		wantSIP(t, pkts, "INVITE", "SIP/2.0 200", "ACK", "BYE")
		first := pkts[0]
		if first.src != netip.MustParseAddr("203.0.113.30") || first.dst != netip.MustParseAddr("10.10.4.30") || first.dport != 5060 {
			t.Errorf("first packet %v -> %v:%d, want the PSTN gateway's INVITE to the SIP Bridge", first.src, first.dst, first.dport)
		}
		if c := findSIP(t, pkts, "INVITE").body; !strings.Contains(c, "c=IN IP4 203.0.113.30") {
			t.Errorf("offer does not carry the gateway's media address:\n%s", c)
		}
		rtp := count(pkts, func(p *pkt) bool {
			return p.isUDP() && p.dst == netip.MustParseAddr("10.10.4.20") && p.dport >= 8000 && p.dport <= 8400
		})
		if rtp == 0 || st.Calls != 1 {
			t.Errorf("%d RTP packets to the MRS prompt area, %d calls", rtp, st.Calls)
		}
	}})
	if all := len(Scenarios()) + len(OptInScenarios()); len(tests) != all {
		t.Fatalf("%d scenario checks for %d scenarios", len(tests), all)
	}
	for _, tt := range tests {
		t.Run(string(tt.scenario), func(t *testing.T) {
			call := 4 * time.Second
			if tt.scenario == SIPHold {
				call = 60 * time.Second // holds for at least 10 s: longer than the 7.5 s maximum RTCP interval
			}
			pkts, st := generate(t, Options{Seed: 11, Scenarios: []Scenario{tt.scenario}, CallDuration: call})
			if st.Instances[tt.scenario] != 1 || len(st.Instances) != 1 {
				t.Fatalf("instances %v", st.Instances)
			}
			tt.check(t, pkts, st)
		})
	}
}

func count(pkts []*pkt, f func(*pkt) bool) int {
	n := 0
	for _, p := range pkts {
		if f(p) {
			n++
		}
	}
	return n
}

func allSIP(t *testing.T, pkts []*pkt, prefix string) []*sipMessage {
	var out []*sipMessage
	for _, m := range sipOf(t, pkts) {
		if strings.HasPrefix(m.start, prefix) {
			out = append(out, m)
		}
	}
	return out
}

func findSIP(t *testing.T, pkts []*pkt, prefix string) *sipMessage {
	t.Helper()
	ms := allSIP(t, pkts, prefix)
	if len(ms) == 0 {
		t.Fatalf("no SIP %q", prefix)
	}
	return ms[0]
}

func wantSIP(t *testing.T, pkts []*pkt, prefixes ...string) {
	t.Helper()
	for _, p := range prefixes {
		findSIP(t, pkts, p)
	}
}

// indexOf returns the index of the first packet starting a SIP message
// with prefix.
func indexOf(t *testing.T, pkts []*pkt, prefix string) (int, bool) {
	for i, p := range pkts {
		if (p.sport == 5060 || p.dport == 5060) && bytes.HasPrefix(p.payload, []byte(prefix)) {
			return i, true
		}
	}
	return 0, false
}

// mediaOf returns an SDP's connection address and audio port.
func mediaOf(sdp string) string {
	var c, m string
	for l := range strings.SplitSeq(sdp, "\r\n") {
		if strings.HasPrefix(l, "c=") {
			c = l
		}
		if strings.HasPrefix(l, "m=") {
			m = l
		}
	}
	return c + " " + m
}

// wantTCPLifecycle checks a complete TCP session to port: handshake, data,
// FIN both ways, sequence numbers consistent.
func wantTCPLifecycle(t *testing.T, pkts []*pkt, port uint16) {
	t.Helper()
	var tcp []*pkt
	for _, p := range pkts {
		if p.isTCP() && (p.dport == port || p.sport == port) {
			tcp = append(tcp, p)
		}
	}
	if len(tcp) < 5 || !tcp[0].tcp.SYN || tcp[0].tcp.ACK || !tcp[1].tcp.SYN || !tcp[1].tcp.ACK {
		t.Fatalf("no handshake to port %d", port)
	}
	next := map[bool]uint32{true: tcp[0].tcp.Seq, false: tcp[1].tcp.Seq}
	fins := 0
	for _, p := range tcp {
		fromClient := p.dport == port
		if p.tcp.Seq != next[fromClient] {
			t.Fatalf("packet %d: seq %d, want %d", p.n, p.tcp.Seq, next[fromClient])
		}
		if p.tcp.ACK && p.tcp.Ack != next[!fromClient] && !p.tcp.SYN {
			t.Fatalf("packet %d: ack %d, peer's next seq %d", p.n, p.tcp.Ack, next[!fromClient])
		}
		next[fromClient] += uint32(len(p.payload))
		if p.tcp.SYN || p.tcp.FIN {
			next[fromClient]++
		}
		if p.tcp.FIN {
			fins++
		}
	}
	if fins != 2 {
		t.Errorf("%d FINs, want 2", fins)
	}
}

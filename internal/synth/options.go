package synth

import (
	"fmt"
	"strings"
	"time"
)

// Format is the capture file format Generate writes.
type Format int

const (
	// PCAPNG writes pcapng with nanosecond timestamps (the default).
	PCAPNG Format = iota
	// PCAP writes classic libpcap format with microsecond timestamps.
	PCAP
)

func (f Format) String() string {
	switch f {
	case PCAPNG:
		return "pcapng"
	case PCAP:
		return "pcap"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses "pcap" or "pcapng".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "pcapng":
		return PCAPNG, nil
	case "pcap":
		return PCAP, nil
	}
	return 0, fmt.Errorf("unknown capture format %q (want pcap or pcapng)", s)
}

// Scenario names one kind of conversation the generator can produce. Each
// instance of a scenario is one conversation (a call, a TCP session, a DNS
// lookup, ...).
type Scenario string

// The scenarios. SIP calls carry G.711 RTP both ways at 20 ms and RTCP every
// 5 s unless their description says otherwise.
const (
	SIPUDP          Scenario = "sip-udp"           // SIP over UDP 5060; some SDP use a=rtcp-mux or a=rtcp:port
	SIPTCP          Scenario = "sip-tcp"           // SIP over TCP 5060
	SIPTCPCoalesced Scenario = "sip-tcp-coalesced" // SIP over TCP, 100 Trying and 180 Ringing in one segment
	SIPFragmented   Scenario = "sip-fragmented"    // UDP INVITE over 1500 bytes, sent as IPv4 fragments
	SIPReinvite     Scenario = "sip-reinvite"      // re-INVITE moves the media to another media server
	SIPHold         Scenario = "sip-hold"          // re-INVITE a=sendonly (hold), then a=sendrecv
	SIPT38          Scenario = "sip-t38"           // re-INVITE to m=image udptl t38, then UDPTL
	SIPIPv6         Scenario = "sip-ipv6"          // signalling and media over IPv6, c=IN IP6
	SIPEarlyMedia   Scenario = "sip-early-media"   // 183 Session Progress with SDP, media before 200
	SIPCancel       Scenario = "sip-cancel"        // CANCEL, 200, 487, ACK: no media
	SIPFailure      Scenario = "sip-failure"       // 4xx final response: no media
	SIPRegister     Scenario = "sip-register"      // REGISTER, 401, REGISTER, 200 from a phone
	SIPTLS          Scenario = "sip-tls"           // TCP 5061 TLS handshake and records to the carrier
	TLS             Scenario = "tls"               // HTTPS 443 with TLS 1.3 or 1.2 ClientHello/ServerHello
	TCP             Scenario = "tcp"               // TCP sessions on catalog ports 445, 1433, 3952, 5597, 8018
	DNS             Scenario = "dns"               // UDP 53: A, AAAA, CNAME chain, NXDOMAIN
	DNSTCP          Scenario = "dns-tcp"           // TCP 53, length-prefixed
	IPv6            Scenario = "ipv6"              // DNS AAAA and HTTPS over IPv6
	SYNUnanswered   Scenario = "syn-unanswered"    // SYN and two retransmissions (1 s, 3 s), no answer
	SYNRejected     Scenario = "syn-rst"           // SYN answered by RST/ACK
	UDPUnreachable  Scenario = "udp-unreachable"   // SIP OPTIONS answered by ICMP port unreachable
	Unexpected      Scenario = "unexpected"        // telnet 23 or SSH 22 between two site hosts
	WrongDirection  Scenario = "wrong-direction"   // the SQL server opens TCP 1433 on the CIC server: the catalog allows only the reverse
	Noise           Scenario = "noise"             // ARP who-has/is-at and ICMP echo

	// SYNFlood is opt-in (see OptInScenarios): 1000 SYNs per instance at
	// about 20 000/s from spoofed 100.64.0.0/10 addresses and random ports
	// to the SIP proxy's TCP 5061, never answered.
	SYNFlood Scenario = "syn-flood"

	// Sinch is opt-in: a Sinch Contact Center beside the Genesys site
	// (doc.go lists its hosts). Instances cycle through a PSTN call to the
	// SIP Bridge with media to the MRS prompt area, an agent PC's
	// Connection Server session (TCP 21002), the MRS reaching the Agent
	// Server (TCP 21018), and a Sinch agent PC opening the Genesys CIC
	// server's Session Manager (TCP 3952), which only Genesys clients may.
	Sinch Scenario = "sinch"
)

// Scenarios returns every scenario of the default mix, in the order
// Generate schedules them.
func Scenarios() []Scenario { return names(scenarioTable[:]) }

// OptInScenarios returns the scenarios that are not part of the default
// mix (a SYN flood would dominate any capture): Generate writes them only
// when Options.Scenarios names them.
func OptInScenarios() []Scenario { return names(optInTable[:]) }

func names(specs []scenarioSpec) []Scenario {
	out := make([]Scenario, len(specs))
	for i, s := range specs {
		out[i] = s.name
	}
	return out
}

// ParseScenario checks that name is a known scenario.
func ParseScenario(name string) (Scenario, error) {
	for _, s := range append(Scenarios(), OptInScenarios()...) {
		if string(s) == name {
			return s, nil
		}
	}
	return "", fmt.Errorf("unknown scenario %q", name)
}

// DefaultStart is the capture start time when Options.Start is zero.
func DefaultStart() time.Time { return time.Date(2026, time.November, 2, 9, 0, 0, 0, time.UTC) }

// Options say what Generate writes. The zero value is valid: one instance of
// every scenario, pcapng, seed 0.
type Options struct {
	// Seed selects the random sequence: same Options, same bytes.
	Seed uint64

	// Packets is the target packet count. Generate scales the number of
	// instances of each scenario to reach it (within about 10%) but every
	// selected scenario occurs at least once, so a target below that
	// minimum (about 40 000 packets for all scenarios at the default call
	// duration) is exceeded. Zero means exactly one instance of each
	// selected scenario.
	Packets int

	// Start is the first packet's time; zero means 2026-11-02T09:00:00Z.
	Start time.Time

	Format Format

	// Scenarios selects the scenarios to include; empty means all.
	Scenarios []Scenario

	// Counts fixes the number of instances of some selected scenarios;
	// the others are scaled to fill the rest of Packets.
	Counts map[Scenario]int

	// CallDuration is the mean talk time of a call (uniform in 0.5x-1.5x);
	// zero means 30 s.
	CallDuration time.Duration

	// WANInterface writes traffic with an endpoint beyond the site's router
	// on a second pcapng interface ("wan"); ignored for PCAP.
	WANInterface bool
}

// DemoOptions are the options of testdata/demo.pcapng, the README's demo
// capture; doc.go describes what it holds.
func DemoOptions() Options {
	return Options{
		Seed:         2026,
		Packets:      5000,
		CallDuration: 6 * time.Second,
		Scenarios: []Scenario{
			SIPUDP, SIPTCP, SIPCancel, SIPFailure, SIPRegister, SIPTLS, TLS, TCP,
			DNS, DNSTCP, IPv6, SYNUnanswered, SYNRejected, UDPUnreachable, Unexpected, Noise, Sinch,
		},
		Counts: map[Scenario]int{
			SIPUDP: 4, SIPTCP: 1, SIPCancel: 1, SIPFailure: 1, SIPRegister: 3, SIPTLS: 1,
			DNSTCP: 1, IPv6: 2, SYNUnanswered: 1, SYNRejected: 1, UDPUnreachable: 1, Unexpected: 1, Noise: 3,
			Sinch: 4,
		},
	}
}

// Stats describe what Generate wrote.
type Stats struct {
	Packets    int
	Bytes      int64 // frame bytes
	RTPPackets int
	Calls      int // INVITE dialogs, answered or not
	// Flows counts flows by kind: "sip", "rtp", "rtcp", "udptl", "tls"
	// (443 and 5061), "tcp" (other TCP, failed connections included), "dns"
	// (UDP and TCP) are distinct bidirectional 5-tuples; "icmp" counts echo
	// exchanges and unreachable errors, "arp" ARP exchanges.
	Flows map[string]int
	// Instances counts the conversations of each scenario.
	Instances map[Scenario]int
	First     time.Time
	Last      time.Time
}

// TotalFlows sums Flows.
func (s Stats) TotalFlows() int {
	n := 0
	for _, v := range s.Flows {
		n += v
	}
	return n
}

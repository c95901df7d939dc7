package dnsinfo

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const pcapDir = "../../testdata/pcaps/dns"

// segment is one UDP datagram or TCP segment payload from a capture, after
// IP reassembly.
type segment struct {
	frame        int // 1-based, as tshark numbers frames; of the last fragment
	src, dst     netip.Addr
	sport, dport uint16
	tcp          bool
	seq          uint32
	syn          bool
	time         int64
	payload      []byte
	partial      bool // first fragment of a datagram that was never completed
}

// readSegments decodes every UDP and TCP payload of a capture, reassembling
// IPv4 and IPv6 fragments.
func readSegments(t testing.TB, name string) []segment {
	t.Helper()
	f, err := os.Open(filepath.Join(pcapDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defrag4 := ip4defrag.NewIPv4Defragmenter()
	defrag6 := ip6defrag.NewIPv6Defragmenter()
	var out []segment
	for frame := 1; ; frame++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", name, frame, err)
		}
		pkt := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		var src, dst netip.Addr
		var transport gopacket.Packet = pkt
		partial := false
		switch ip := pkt.NetworkLayer().(type) {
		case *layers.IPv4:
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
			if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
				whole, err := defrag4.DefragIPv4(ip)
				switch {
				case err != nil && ip.FragOffset == 0:
					// A first fragment the defragmenter refuses (cut
					// short): dissect what it holds, as tshark does.
					partial = true
					transport = gopacket.NewPacket(ip.Payload, ip.Protocol.LayerType(), gopacket.Default)
				case err != nil || whole == nil:
					continue
				default:
					transport = gopacket.NewPacket(whole.Payload, whole.NextLayerType(), gopacket.Default)
				}
			}
		case *layers.IPv6:
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
			if fg, ok := pkt.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment); ok {
				whole := defrag6.DefragIPv6(ip, fg)
				if whole == nil {
					continue
				}
				transport = gopacket.NewPacket(whole.Payload, whole.NextHeader.LayerType(), gopacket.Default)
			}
		default:
			continue
		}
		s := segment{frame: frame, src: src, dst: dst, time: ci.Timestamp.UnixNano(), partial: partial}
		switch l := transport.Layer(layers.LayerTypeUDP).(type) {
		case *layers.UDP:
			s.sport, s.dport, s.payload = uint16(l.SrcPort), uint16(l.DstPort), l.Payload
		default:
			tcp, ok := transport.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if !ok {
				continue
			}
			s.sport, s.dport, s.payload, s.tcp, s.seq, s.syn = uint16(tcp.SrcPort), uint16(tcp.DstPort), tcp.Payload, true, tcp.Seq, tcp.SYN
		}
		out = append(out, s)
	}
	return out
}

// message is one DNS message found in a capture.
type message struct {
	frame    int
	src, dst netip.Addr
	port     uint16 // server port: 53 (DNS) or 5353 (mDNS)
	tcp      bool
	partial  bool
	time     int64
	data     []byte
}

// tcpDirection reassembles one direction of a TCP connection well enough
// for the test captures: in-order data, retransmissions trimmed, segments
// after a gap held until the gap fills.
type tcpDirection struct {
	next    uint32
	started bool
	stream  []byte
	held    map[uint32][]byte
	broken  bool
}

func (d *tcpDirection) add(seq uint32, syn bool, payload []byte) {
	if syn {
		d.next, d.started = seq+1, true
		return
	}
	if len(payload) == 0 {
		return
	}
	if !d.started {
		d.next, d.started = seq, true
	}
	if ahead := int32(seq - d.next); ahead > 0 {
		if d.held == nil {
			d.held = map[uint32][]byte{}
		}
		d.held[seq] = payload
		return
	} else if -ahead >= int32(len(payload)) {
		return // retransmission of bytes already taken
	} else {
		payload = payload[-ahead:]
	}
	d.stream = append(d.stream, payload...)
	d.next += uint32(len(payload))
	if p, ok := d.held[d.next]; ok {
		delete(d.held, d.next)
		d.add(d.next, false, p)
	}
}

// readMessages returns the DNS (port 53, UDP and TCP) and mDNS (UDP 5353)
// messages of a capture in capture order, TCP ones cut with SplitTCP, and
// the number of TCP framing errors.
func readMessages(t testing.TB, name string) (msgs []message, framingErrs int) {
	t.Helper()
	type dirKey struct{ src, dst netip.AddrPort }
	streams := map[dirKey]*tcpDirection{}
	for _, s := range readSegments(t, name) {
		m := message{frame: s.frame, src: s.src, dst: s.dst, tcp: s.tcp, partial: s.partial, time: s.time}
		switch {
		case s.sport == 53 || s.dport == 53:
			m.port = 53
		case !s.tcp && (s.sport == 5353 || s.dport == 5353):
			m.port = 5353
		default:
			continue
		}
		if !s.tcp {
			m.data = s.payload
			msgs = append(msgs, m)
			continue
		}
		k := dirKey{netip.AddrPortFrom(s.src, s.sport), netip.AddrPortFrom(s.dst, s.dport)}
		d := streams[k]
		if d == nil {
			d = &tcpDirection{}
			streams[k] = d
		}
		d.add(s.seq, s.syn, s.payload)
		for !d.broken {
			msg, rest, err := SplitTCP(d.stream)
			if errors.Is(err, ErrNeedMore) {
				break
			}
			if err != nil {
				t.Logf("%s frame %d: %v", name, s.frame, err)
				framingErrs++
				d.broken = true
				break
			}
			m.data = msg
			msgs = append(msgs, m)
			d.stream = rest
		}
	}
	return msgs, framingErrs
}

// tsharkIsQuery mirrors how truth.tsv counts queries: tshark shows the QR
// flag of any DNS payload of at least 4 bytes, however short the rest.
func tsharkIsQuery(data []byte) (qr, ok bool) {
	if len(data) < 4 {
		return false, false
	}
	return data[2]&0x80 == 0, true
}

func TestCaptures(t *testing.T) {
	tests := []struct {
		file string
		// queries is truth.tsv's dns_queries; responses comes from
		// tshark -Y dns on the same file. Both count port 53 only: the
		// truth script's `-Y dns` filter does not match mDNS (tshark's
		// "mdns" protocol), which mdnsQueries/mdnsResponses count
		// (tshark -Y mdns).
		queries, responses         int
		mdnsQueries, mdnsResponses int
		tcpMessages                int
		// Parse errors, all of kind wantErr.
		parseErrs int
		wantErr   error
	}{
		{file: "bad-dns-traffic.pcap", queries: 220, responses: 162},
		// Every frame is the first fragment of a datagram cut far short
		// of its IP length: each message ends early.
		{file: "../malformed/badpackets.pcap", queries: 0, responses: 91, parseErrs: 93, wantErr: ErrTruncated},
		{file: "dns-edns-ecs.pcap", queries: 20, responses: 65, tcpMessages: 9},
		{file: "dns_doh.pcap"},
		// Counts need IPv4 and IPv6 reassembly and DNS over TCP.
		{file: "dns_fragmented.pcap", queries: 22, responses: 21, tcpMessages: 4},
		{file: "dns_tcp.pcap", queries: 1, responses: 1, tcpMessages: 2},
		// The responses' second question name is longer than 255 bytes.
		{file: "../malformed/malformed_dns.pcap", queries: 2, responses: 4, parseErrs: 4, wantErr: ErrNameTooLong},
		{file: "mdns.pcap", mdnsQueries: 12, mdnsResponses: 6},
		{file: "naptr.pcap", queries: 1, responses: 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			msgs, framingErrs := readMessages(t, tt.file)
			if framingErrs != 0 {
				t.Errorf("%d TCP framing errors", framingErrs)
			}
			var m Message
			var queries, responses, mq, mr, tcpMsgs, parseErrs int
			for _, msg := range msgs {
				if msg.tcp {
					tcpMsgs++
				}
				if qr, ok := tsharkIsQuery(msg.data); ok {
					switch {
					case msg.port == 53 && qr:
						queries++
					case msg.port == 53:
						responses++
					case qr:
						mq++
					default:
						mr++
					}
				}
				if err := Parse(msg.data, &m); err != nil {
					parseErrs++
					if !errors.Is(err, tt.wantErr) {
						t.Errorf("frame %d: %v, want %v", msg.frame, err, tt.wantErr)
					}
				}
			}
			if queries != tt.queries || responses != tt.responses {
				t.Errorf("port 53: %d queries, %d responses; want %d, %d", queries, responses, tt.queries, tt.responses)
			}
			if mq != tt.mdnsQueries || mr != tt.mdnsResponses {
				t.Errorf("mDNS: %d queries, %d responses; want %d, %d", mq, mr, tt.mdnsQueries, tt.mdnsResponses)
			}
			if tcpMsgs != tt.tcpMessages {
				t.Errorf("%d messages over TCP, want %d", tcpMsgs, tt.tcpMessages)
			}
			if parseErrs != tt.parseErrs {
				t.Errorf("%d parse errors, want %d", parseErrs, tt.parseErrs)
			}
		})
	}
}

// TestCaptureCache feeds every response of a capture to a Cache, as the
// pipeline would, and checks names and failures against tshark's view.
func TestCaptureCache(t *testing.T) {
	type lookup struct {
		frame          int // look up one second after this frame
		client, server string
		name           string
		cnames         []string
		exact          bool
	}
	tests := []struct {
		file    string
		lookups []lookup
		// entries is tshark's count (-T json, answer sections of NOERROR
		// responses) of distinct (client, address) pairs plus distinct
		// addresses.
		entries int
		failed  uint64
		// failures lists the top names: name, NXDOMAIN, SERVFAIL counts.
		failureNames int
		topFailure   Failure
	}{
		{file: "dns-edns-ecs.pcap", entries: 91, lookups: []lookup{
			{9, "192.168.120.22", "193.0.6.158", "atlas.ripe.net", []string{"atlas-ui.ripe.net"}, true},
			{3, "74.125.47.13", "80.154.108.230", "ns1.weberdns.de", nil, true},
			// 74.125.73.76 received the same answer: the pair is
			// unknown for an outsider, the address alone is not.
			{5, "10.9.9.9", "80.154.108.230", "ns1.weberdns.de", nil, false},
		}},
		{file: "dns_tcp.pcap", entries: 4, lookups: []lookup{
			{6, "192.168.1.11", "198.199.88.104", "www.tcpdump.org", nil, true},
		}},
		// mDNS announcements go to a multicast group: only the
		// address-only entries, under the records' own names.
		{file: "mdns.pcap", entries: 3, lookups: []lookup{
			{4, "10.0.2.15", "10.0.2.7", "johanna-qemu-virtual-machine.local", nil, false},
			{20, "fd52:429e:c03c:8235::1", "fd52:429e:c03c:8235:883c:d6ff:fee1:4dc4", "johanna-qemu-virtual-machine.local", nil, false},
		}},
		// Truncated responses still give their complete records: the
		// A record before the cut, the NXDOMAIN of every question.
		{file: "../malformed/badpackets.pcap", entries: 71, failed: 18, failureNames: 17,
			topFailure: Failure{Name: "dynamic.libertypr.net", Count: 2, NXDomain: 2, LastRCode: RCodeNameError},
			lookups: []lookup{
				// Four responses (frames 9, 14, 18, 32) carried this
				// address: the last one names it.
				{32, "204.186.80.229", "140.90.113.200", "www.tsunamiready.noaa.gov", nil, true},
			}},
		// A DNSSEC validation failure.
		{file: "dns_fragmented.pcap", entries: 19, failed: 1, failureNames: 1,
			topFailure: Failure{Name: "sigfail.verteiltesysteme.net", Count: 1, ServFail: 1, LastRCode: RCodeServerFailure}},
		{file: "bad-dns-traffic.pcap", failed: 3, failureNames: 3},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			msgs, _ := readMessages(t, tt.file)
			c := NewCache(Config{})
			frameTime := map[int]int64{}
			var m Message
			for _, msg := range msgs {
				frameTime[msg.frame] = msg.time
				if err := Parse(msg.data, &m); err != nil && !errors.Is(err, ErrTruncated) {
					continue
				}
				if m.Response {
					c.Observe(msg.dst, &m, msg.time)
				}
			}
			for _, l := range tt.lookups {
				e, ok := c.LookupEntry(netip.MustParseAddr(l.client), netip.MustParseAddr(l.server), frameTime[l.frame]+1e9)
				if !ok || e.Name != l.name || !slices.Equal(e.CNAMEs, l.cnames) || e.Exact != l.exact {
					t.Errorf("Lookup(%s, %s) = %+v, %v; want %s %v exact=%v", l.client, l.server, e, ok, l.name, l.cnames, l.exact)
				}
			}
			if got := c.Len(); got != tt.entries {
				t.Errorf("%d entries, want %d", got, tt.entries)
			}
			if got := c.Stats().Failed.Load(); got != tt.failed {
				t.Errorf("%d failed responses, want %d", got, tt.failed)
			}
			fails := c.Failures()
			if len(fails) != tt.failureNames {
				t.Errorf("%d failing names, want %d: %+v", len(fails), tt.failureNames, fails)
			}
			if tt.topFailure.Name != "" && len(fails) > 0 {
				got := fails[0]
				got.Last = 0
				if got != tt.topFailure {
					t.Errorf("top failure %+v, want %+v", got, tt.topFailure)
				}
			}
		})
	}
}

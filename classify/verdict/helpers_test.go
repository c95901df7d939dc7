package verdict_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
)

// testCatalog is a small vendor covering every matching rule: overrides,
// both-way entries, ranges with parity, open ranges, dynamic media, cloud
// names and addresses, ICMP, and a flow without a port number.
const testCatalog = `schema: 1
vendor:
  id: acme
  name: ACME contact center
  document: acme-ports.txt
  defaults: {section: Ports}
  roles:
    agent: agent PC
    server: call server
    db: database
    phone: IP phone
    gw: SIP gateway
    cloud: ACME cloud
    monitor: monitoring server
entries:
  - {id: notifier, component: Notifier, from: agent, to: server, transport: tcp, ports: 5597, app: tls, tls: required}
  - {id: stats, component: Stats, from: agent, to: server, transport: udp, ports: 6235, app: stats}
  - {id: sip, component: SIP, from: [phone, server, gw], to: [server, phone, gw], direction: both, transport: both, ports: 5060, app: sip}
  - {id: db, component: Database, from: server, to: db, transport: tcp, ports: 1433-1434, app: sql}
  - {id: media, component: Media, from: phone, to: server, direction: both, transport: udp, ports: [dynamic, 16384-32767], app: rtp}
  - {id: gw-media, component: Gateway media, from: phone, to: gw, direction: both, transport: udp, ports: dynamic, app: rtp}
  - {id: cdt-rtp, component: Desktop RTP, from: phone, to: server, direction: both, transport: udp, ports: 5004-5030/even, app: rtp}
  - {id: cdt-rtcp, component: Desktop RTCP, from: phone, to: server, direction: both, transport: udp, ports: 5005-5031/odd, app: rtcp}
  - {id: trunk, component: Trunk media, from: server, to: gw, transport: udp, ports: ">=1025", app: rtp}
  - {id: cloud-api, component: Cloud API, from: server, to: cloud, transport: tcp, ports: 443, app: https, tls: required, fqdns: ["*.acme.cloud"], cidrs: [192.0.2.0/24]}
  - {id: ping, component: Monitoring, from: monitor, to: server, direction: both, transport: icmp, app: icmp}
  - {id: admin, component: Admin UI, from: agent, to: server, transport: tcp, ports: 8443, app: https, required: false}
  - {id: export, component: Export, from: server, to: db, transport: tcp, ports: unspecified, app: csv}
`

const otherCatalog = `schema: 1
vendor:
  id: other
  name: Other vendor
  document: other.txt
  defaults: {section: Ports}
  roles: {agent: agent PC, server: web server}
entries:
  - {id: web, component: Web, from: agent, to: server, transport: tcp, ports: 8080, app: http}
`

const testInventory = `schema: 1
site: lab
vendors: [acme]
roles:
  agent: [10.1.0.0/24]
  server: [10.0.0.10, 10.0.0.11]
  db: [10.0.0.20, sql.lab.example]
  phone: [10.3.0.0/24]
  gw: [203.0.113.1]
  monitor: [10.0.0.50]
overrides:
  - {entry: acme/notifier, ports: 7597}
allow:
  - {name: backup, from: server, to: db, transport: tcp, ports: 445, app: smb}
ignore:
  - {from: 10.1.0.0/24, to: 10.0.0.20, transport: tcp, ports: 3389, reason: DBA remote desktop}
`

func loadTestCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Load(strings.NewReader(testCatalog), "acme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	other, err := catalog.Load(strings.NewReader(otherCatalog), "other.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Merge(other); err != nil {
		t.Fatal(err)
	}
	return cat
}

// standbyInventory is testInventory with the second server on standby.
var standbyInventory = strings.Replace(testInventory, "schema: 1\n", "schema: 2\nstandby: [10.0.0.11]\n", 1)

func loadTestInventory(t testing.TB, cat *catalog.Catalog) *catalog.Inventory {
	t.Helper()
	return loadInventoryText(t, cat, testInventory)
}

func loadInventoryText(t testing.TB, cat *catalog.Catalog, text string) *catalog.Inventory {
	t.Helper()
	inv, err := catalog.ReadInventory(strings.NewReader(text), "lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Check(cat); err != nil {
		t.Fatal(err)
	}
	return inv
}

// pkt is one packet of a scripted flow: from the client (the first
// address given to play) or the server.
type pkt struct {
	fromClient bool
	flags      uint8
	payload    uint32
}

const (
	syn    = flow.FlagSYN
	synack = flow.FlagSYN | flow.FlagACK
	ack    = flow.FlagACK
	rstack = flow.FlagRST | flow.FlagACK
	finack = flow.FlagFIN | flow.FlagACK
)

// handshake is a complete TCP connection with data.
var handshake = []pkt{{true, syn, 0}, {false, synack, 0}, {true, ack, 0}, {true, ack, 100}, {false, ack, 200}, {true, finack, 0}, {false, finack, 0}}

// exchange is a UDP request and its answer.
var exchange = []pkt{{true, 0, 100}, {false, 0, 100}}

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()

// play runs the packets through a flow table and returns the flow.
func play(t testing.TB, proto uint8, client, server string, pkts []pkt) *flow.Flow {
	return playAt(t, proto, client, server, 0, pkts)
}

func playAt(t testing.TB, proto uint8, client, server string, at time.Duration, pkts []pkt) *flow.Flow {
	t.Helper()
	c, s := netip.MustParseAddrPort(client), netip.MustParseAddrPort(server)
	var out []flow.Flow
	tab := flow.NewTable(flow.DefaultConfig(), func(f *flow.Flow) { out = append(out, *f) })
	// Each side numbers its bytes as a TCP stack does: a retried SYN
	// repeats the first one's number, which keeps it in the connection
	// (a SYN with a new number would start another, as in Zeek).
	next := map[bool]uint32{true: 1000, false: 5000}
	for i, p := range pkts {
		src, dst := c, s
		if !p.fromClient {
			src, dst = s, c
		}
		seq := next[p.fromClient]
		if p.flags&flow.FlagSYN != 0 {
			seq = map[bool]uint32{true: 999, false: 4999}[p.fromClient]
			next[p.fromClient] = seq + 1
		}
		next[p.fromClient] += p.payload
		if p.flags&flow.FlagFIN != 0 {
			next[p.fromClient]++
		}
		k, d := flow.NewKey(proto, src, dst)
		tab.Packet(&flow.Packet{Key: k, Dir: d, Time: epoch + int64(at) + int64(i)*int64(time.Millisecond),
			WireLen: 60 + p.payload, PayloadLen: p.payload, TCPFlags: p.flags, Seq: seq})
	}
	tab.Flush(flow.EndFlush)
	if len(out) != 1 {
		t.Fatalf("%s -> %s: %d flows, want 1", client, server, len(out))
	}
	return &out[0]
}

// unreachable is a UDP datagram answered only by ICMP port unreachable.
func unreachable(t testing.TB, client, server string) *flow.Flow {
	t.Helper()
	c, s := netip.MustParseAddrPort(client), netip.MustParseAddrPort(server)
	var out []flow.Flow
	tab := flow.NewTable(flow.DefaultConfig(), func(f *flow.Flow) { out = append(out, *f) })
	k, d := flow.NewKey(flow.ProtoUDP, c, s)
	tab.Packet(&flow.Packet{Key: k, Dir: d, Time: epoch, WireLen: 100, PayloadLen: 50})
	tab.ICMPUnreachable(k, 3, 3)
	tab.Flush(flow.EndFlush)
	return &out[0]
}

// icmp returns an ICMP(v4) flow of the given originator message type; the
// key's ports are the type and counterpart as the decoder builds them.
func icmp(t testing.TB, src, dst string, typ, code uint8, answered bool) *flow.Flow {
	t.Helper()
	sp, dp, _ := flow.ICMPPorts(flow.ProtoICMP, typ, code)
	pkts := []pkt{{true, 0, 56}}
	if answered {
		pkts = append(pkts, pkt{false, 0, 56})
	}
	return play(t, flow.ProtoICMP, netip.AddrPortFrom(netip.MustParseAddr(src), sp).String(),
		netip.AddrPortFrom(netip.MustParseAddr(dst), dp).String(), pkts)
}

func withMeta(f *flow.Flow, m flow.Meta) *flow.Flow {
	f.Meta = &m
	return f
}

// fakeMedia vouches for UDP flows to one port, as the SIP analysis would
// for a negotiated media stream.
type fakeMedia struct{ port uint16 }

func (m fakeMedia) MatchMedia(f *flow.Flow) (string, bool) {
	if f.Dst().Port() == m.port || f.Src().Port() == m.port {
		return "call-1@lab", true
	}
	return "", false
}

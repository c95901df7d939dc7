package verdict_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/sipcall"
	"github.com/ccaudit/auditor/classify/verdict"
)

// The tests in this file pin verdict rules that a changed condition would
// otherwise alter unseen: each case names the flow that tells the rule
// from its mutation (the package documentation's Tests section lists
// them).

// pinCatalog has one-way entries stating their opener's ports (alone, two
// on a port, after an entry the other way round), two one-way entries on
// one port (and two ICMP ones) the same way round, and a port where an
// entry for other roles comes before one the hosts fit the wrong way
// round.
const pinCatalog = `schema: 1
vendor:
  id: pin
  name: Pin vendor
  document: pin.txt
  defaults: {section: Ports}
  roles: {agent: agent PC, server: call server, rec: recorder}
entries:
  - {id: callback, component: Callback, from: server, to: agent, transport: tcp, ports: 9000, from_ports: 5000-5010, app: http}
  - {id: push, component: Push, from: server, to: agent, transport: tcp, ports: 9100, app: http}
  - {id: push-legacy, component: Legacy push, from: server, to: agent, transport: tcp, ports: 9100, app: http}
  - {id: rec-status, component: Recorder status, from: rec, to: agent, transport: tcp, ports: 9200, app: http}
  - {id: status, component: Status, from: server, to: agent, transport: tcp, ports: 9200, app: http}
  - {id: notify, component: Notify, from: agent, to: server, transport: tcp, ports: 9300, app: http}
  - {id: callback-alt, component: Alternate callback, from: server, to: agent, transport: tcp, ports: 9300, from_ports: 5000, app: http}
  - {id: cb-a, component: Callback A, from: server, to: agent, transport: tcp, ports: 9400, from_ports: 5000, app: http}
  - {id: cb-b, component: Callback B, from: server, to: agent, transport: tcp, ports: 9400, from_ports: 5001, app: http}
  - {id: probe, component: Probe, from: server, to: agent, transport: icmp, app: icmp}
  - {id: probe-legacy, component: Legacy probe, from: server, to: agent, transport: icmp, app: icmp}
`

const pinInventory = `schema: 1
site: lab
vendors: [pin]
roles:
  agent: [10.1.0.5]
  server: [10.0.0.10]
  rec: [10.0.0.30]
`

func pinClassifier(t *testing.T) *verdict.Classifier {
	t.Helper()
	cat, err := catalog.Load(strings.NewReader(pinCatalog), "pin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: loadInventoryText(t, cat, pinInventory)})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

type pinCase struct {
	name string
	flow func(t *testing.T) *flow.Flow
	want want
}

func runPins(t *testing.T, cl *verdict.Classifier, cases []pinCase) {
	t.Helper()
	var r verdict.Result
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			cl.Classify(tt.flow(t), &r)
			check(t, &r, tt.want)
		})
	}
}

func tcpFlow(src, dst string, pkts []pkt) func(t *testing.T) *flow.Flow {
	return func(t *testing.T) *flow.Flow { return play(t, tcp, src, dst, pkts) }
}

func named(src, dst, sni string) func(t *testing.T) *flow.Flow {
	return func(t *testing.T) *flow.Flow { return withMeta(play(t, tcp, src, dst, handshake), flow.Meta{SNI: sni}) }
}

// TestOpenerPorts pins from_ports on a one-way entry: the flow fits it
// only from one of the stated ports (read as a reply without a handshake:
// only to one of them), a flow from another port is
// unexpected and names the entry (the first such) and why; the wrong way
// round the source port is the other side's, so it is a wrong-direction
// finding whatever the port, and a wrong direction outranks a source port
// as the nearest miss.
func TestOpenerPorts(t *testing.T) {
	runPins(t, pinClassifier(t), []pinCase{
		{"from a stated port", tcpFlow("10.0.0.10:5003", "10.1.0.5:9000", handshake),
			want{verdict: verdict.Expected, entry: "pin/callback", by: verdict.ByCatalog, from: "server", to: "agent", reason: "Callback: server -> agent 9000/tcp"}},
		{"from the last stated port", tcpFlow("10.0.0.10:5010", "10.1.0.5:9000", handshake),
			want{verdict: verdict.Expected, entry: "pin/callback", by: verdict.ByCatalog, from: "server", to: "agent", reason: "Callback"}},
		{"from another port", tcpFlow("10.0.0.10:5011", "10.1.0.5:9000", handshake),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "pin/callback", from: "server", to: "agent",
				reason: "server opens 9000/tcp to agent only from ports 5000-5010 (pin/callback): the source port is not one of them", severity: verdict.Medium}},
		{"the wrong way from a stated port", tcpFlow("10.1.0.5:5003", "10.0.0.10:9000", handshake),
			want{verdict: verdict.Unexpected, kind: verdict.KindWrongDirection, entry: "pin/callback", from: "agent", to: "server", reason: "wrong direction", severity: verdict.Medium}},
		{"the wrong way from another port", tcpFlow("10.1.0.5:40000", "10.0.0.10:9000", handshake),
			want{verdict: verdict.Unexpected, kind: verdict.KindWrongDirection, entry: "pin/callback", from: "agent", to: "server", reason: "wrong direction", severity: verdict.Medium}},
		{"no SYN, the reply to a stated port", tcpFlow("10.1.0.5:9000", "10.0.0.10:5003", midstream),
			want{verdict: verdict.Expected, entry: "pin/callback", by: verdict.ByCatalog, from: "agent", to: "server", reason: "responder seen first"}},
		{"no SYN, the reply to another port", tcpFlow("10.1.0.5:9000", "10.0.0.10:5011", midstream),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, from: "agent", to: "server", reason: "no catalog entry allows this port", severity: verdict.Medium}},
		{"two entries stating ports, from neither", tcpFlow("10.0.0.10:6000", "10.1.0.5:9400", handshake),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "pin/cb-a", from: "server", to: "agent", reason: "only from ports 5000 (pin/cb-a)"}},
		{"two entries stating ports, from the second's", tcpFlow("10.0.0.10:5001", "10.1.0.5:9400", handshake),
			want{verdict: verdict.Expected, entry: "pin/cb-b", by: verdict.ByCatalog, from: "server", to: "agent", reason: "Callback B"}},
		{"a wrong direction outranks a source port", tcpFlow("10.0.0.10:6000", "10.1.0.5:9300", handshake),
			want{verdict: verdict.Unexpected, kind: verdict.KindWrongDirection, entry: "pin/notify", from: "server", to: "agent", reason: "(pin/notify)"}},
		{"a stated port after a wrong-way entry", tcpFlow("10.0.0.10:5000", "10.1.0.5:9300", handshake),
			want{verdict: verdict.Expected, entry: "pin/callback-alt", by: verdict.ByCatalog, from: "server", to: "agent", reason: "Alternate callback"}},
	})
}

// TestWrongDirectionEntry pins which entry a wrong-direction finding
// names: the first on the port (or the first ICMP entry) whose roles fit
// the wrong way round, even after an entry for other roles.
func TestWrongDirectionEntry(t *testing.T) {
	runPins(t, pinClassifier(t), []pinCase{
		{"two entries the same way round", tcpFlow("10.1.0.5:40000", "10.0.0.10:9100", handshake),
			want{verdict: verdict.Unexpected, kind: verdict.KindWrongDirection, entry: "pin/push", from: "agent", to: "server", reason: "(pin/push)"}},
		{"after an entry for other roles", tcpFlow("10.1.0.5:40000", "10.0.0.10:9200", handshake),
			want{verdict: verdict.Unexpected, kind: verdict.KindWrongDirection, entry: "pin/status", from: "agent", to: "server", reason: "(pin/status)"}},
		{"two ICMP entries the same way round", func(t *testing.T) *flow.Flow { return icmp(t, "10.1.0.5", "10.0.0.10", 8, 0, true) },
			want{verdict: verdict.Unexpected, kind: verdict.KindWrongDirection, entry: "pin/probe", from: "agent", to: "server", reason: "(pin/probe)", severity: verdict.Medium}},
		{"ICMP the entries' way", func(t *testing.T) *flow.Flow { return icmp(t, "10.0.0.10", "10.1.0.5", 8, 0, true) },
			want{verdict: verdict.Expected, entry: "pin/probe", by: verdict.ByCatalog, from: "server", to: "agent", reason: "Probe"}},
	})
}

// midstream is a TCP connection whose handshake the capture missed, first
// seen from the service side.
var midstream = []pkt{{true, ack, 100}, {false, ack, 100}, {true, ack, 100}}

// TestHandshakeOrdersFlow pins that only a flow without a TCP handshake
// is read with its source port as the service port: a connection whose
// SYN came from the notifier's port is the server opening a connection,
// which no entry allows.
func TestHandshakeOrdersFlow(t *testing.T) {
	cat := loadTestCatalog(t)
	withInv, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: loadTestInventory(t, cat)})
	if err != nil {
		t.Fatal(err)
	}
	runPins(t, withInv, []pinCase{
		{"SYN from the service port", tcpFlow("10.0.0.10:7597", "10.1.0.5:50000", handshake),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, from: "server", to: "agent", reason: "no catalog entry allows this port", severity: verdict.Medium}},
		{"no SYN, first seen from the service port", tcpFlow("10.0.0.10:7597", "10.1.0.5:50000", midstream),
			want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByCatalog, from: "server", to: "agent", reason: "responder seen first"}},
	})
	portOnly, err := verdict.NewClassifier(verdict.Config{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	runPins(t, portOnly, []pinCase{
		{"port-only, SYN from the service port", tcpFlow("10.0.0.10:5597", "10.1.0.5:50000", handshake),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, by: verdict.ByNone, reason: "no catalog entry covers this port", severity: verdict.Low}},
		{"port-only, no SYN, first seen from the service port", tcpFlow("10.0.0.10:5597", "10.1.0.5:50000", midstream),
			want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByPort, reason: "Notifier uses 5597/tcp"}},
	})
}

// TestCloudNeedsFromRole pins that an entry naming its destination by
// address or name still needs the originator on its From side.
func TestCloudNeedsFromRole(t *testing.T) {
	cat := loadTestCatalog(t)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: loadTestInventory(t, cat)})
	if err != nil {
		t.Fatal(err)
	}
	runPins(t, cl, []pinCase{
		{"server to a cloud address", tcpFlow("10.0.0.10:50000", "192.0.2.10:443", handshake),
			want{verdict: verdict.Expected, entry: "acme/cloud-api", by: verdict.ByCatalog, from: "server", to: "cloud", reason: "destination in the entry's cloud addresses"}},
		{"agent to a cloud address", tcpFlow("10.1.0.5:50000", "192.0.2.10:443", handshake),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, from: "agent", reason: "the responder is not in the inventory", severity: verdict.Low}},
		{"unknown host to a cloud address", tcpFlow("10.9.0.1:50000", "192.0.2.10:443", handshake),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, reason: "neither host is in the inventory", severity: verdict.Low}},
		{"server to a cloud name", named("10.0.0.10:50000", "198.51.100.9:443", "api.acme.cloud"),
			want{verdict: verdict.Expected, entry: "acme/cloud-api", by: verdict.ByName, from: "server", to: "cloud", reason: "destination named by DNS or TLS SNI"}},
		{"agent to a cloud name", named("10.1.0.5:50000", "198.51.100.9:443", "api.acme.cloud"),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, from: "agent", reason: "the responder is not in the inventory", severity: verdict.Low}},
	})
}

// TestNameRolesOnlyUnlisted pins that the roles of the name a flow gave
// its responder (TLS SNI here) apply only when the inventory does not
// list the responder's address: the address is the better evidence.
func TestNameRolesOnlyUnlisted(t *testing.T) {
	cat := loadTestCatalog(t)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: loadTestInventory(t, cat)})
	if err != nil {
		t.Fatal(err)
	}
	runPins(t, cl, []pinCase{
		{"listed server, database's name", named("10.1.0.5:50000", "10.0.0.10:7597", "sql.lab.example"),
			want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByCatalog, from: "agent", to: "server", reason: "Notifier"}},
		{"listed server, database's name, database port", named("10.0.0.11:50000", "10.0.0.10:1433", "sql.lab.example"),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "acme/db", from: "server", to: "server", reason: "catalogued for server -> db", severity: verdict.Medium}},
		{"unlisted address, database's name", named("10.0.0.10:50000", "10.9.0.1:1433", "sql.lab.example"),
			want{verdict: verdict.Expected, entry: "acme/db", by: verdict.ByName, from: "server", to: "db", reason: "Database"}},
	})
}

// TestICMPUnexpectedSeverity pins the severity rule of unexpected flows
// through ICMP: medium between two hosts with roles, low when either has
// none.
func TestICMPUnexpectedSeverity(t *testing.T) {
	cat, err := catalog.Load(strings.NewReader(icmpDirCatalog), "probe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: loadInventoryText(t, cat, icmpDirInventory)})
	if err != nil {
		t.Fatal(err)
	}
	echo := func(src, dst string) func(t *testing.T) *flow.Flow {
		return func(t *testing.T) *flow.Flow { return icmp(t, src, dst, 8, 0, true) }
	}
	runPins(t, cl, []pinCase{
		{"both hosts with roles", echo("10.0.0.50", "10.3.0.7"),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, from: "monitor", to: "phone", reason: "no catalog entry allows ICMP", severity: verdict.Medium}},
		{"responder without a role", echo("10.0.0.10", "10.9.9.9"),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, from: "server", reason: "no catalog entry allows ICMP", severity: verdict.Low}},
		{"originator without a role", echo("10.9.9.9", "10.0.0.10"),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, to: "server", reason: "no catalog entry allows ICMP", severity: verdict.Low}},
		{"neither host with a role", echo("10.9.9.9", "10.9.9.8"),
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, reason: "no catalog entry allows ICMP", severity: verdict.Low}},
		{"wrong direction, both with roles", echo("10.0.0.10", "10.0.0.50"),
			want{verdict: verdict.Unexpected, kind: verdict.KindWrongDirection, entry: "probe/probe", from: "server", to: "monitor", reason: "wrong direction", severity: verdict.Medium}},
	})
}

// TestOneWayReasonCountsMedia pins that the media-one-way reason says
// whose media was seen by counting media packets, RTCP reports aside
// (as the call tracker decides one-way): a callee that sent only RTCP
// sent no media.
func TestOneWayReasonCountsMedia(t *testing.T) {
	ep := netip.MustParseAddrPort
	for _, tt := range []struct {
		name   string
		flows  []sipcall.MediaFlow
		reason string
	}{
		{"caller RTP, callee RTCP only", []sipcall.MediaFlow{
			{App: "rtp", FromCaller: sipcall.DirStats{Packets: 500}},
			{App: "rtcp", FromCaller: sipcall.DirStats{Packets: 5}, FromCallee: sipcall.DirStats{Packets: 5}},
		}, "media flowed from the caller only"},
		{"callee RTP, caller RTCP only", []sipcall.MediaFlow{
			{App: "rtp", FromCallee: sipcall.DirStats{Packets: 500}},
			{App: "rtcp", FromCaller: sipcall.DirStats{Packets: 5}},
		}, "media flowed from the callee only"},
		{"RTCP only", []sipcall.MediaFlow{
			{App: "rtcp", FromCaller: sipcall.DirStats{Packets: 5}},
		}, "media flowed one way only"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &sipcall.Call{CallID: "c1@lab", Start: epoch, Answer: epoch + int64(time.Second), End: epoch + int64(time.Minute),
				Media: []sipcall.MediaStream{{Type: "audio", Proto: "RTP/AVP", CallerRTP: ep("10.3.0.7:40000"), CalleeRTP: ep("10.0.0.10:16500"),
					OneWay: true, Flows: tt.flows}}}
			gs := verdict.CallFindings(c)
			if len(gs) != 1 || gs[0].Kind != verdict.KindMediaOneWay || !strings.HasPrefix(gs[0].Reason, tt.reason) {
				t.Fatalf("findings %+v, want one media-one-way whose reason starts %q", gs, tt.reason)
			}
		})
	}
}

package verdict_test

import (
	"strings"
	"testing"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/verdict"
)

// negDirCatalog has a one-way media entry whose ports signalling decides,
// and a one-way and a both-way UDP entry on fixed ports.
const negDirCatalog = `schema: 1
vendor:
  id: oneway
  name: One-way media vendor
  document: oneway.txt
  defaults: {section: Ports}
  roles: {phone: IP phone, gw: SIP gateway, agent: agent PC}
entries:
  - {id: gw-media, component: Gateway media, from: phone, to: gw, transport: udp, ports: dynamic, app: rtp}
  - {id: console, component: Console, from: agent, to: phone, transport: tcp, ports: 8080, app: http}
  - {id: notify, component: Notify, from: gw, to: phone, transport: udp, ports: 5070, app: sip}
  - {id: sync, component: Sync, from: gw, to: agent, direction: both, transport: udp, ports: 7000, app: stats}
`

const negDirInventory = `schema: 1
site: lab
vendors: [oneway]
roles:
  phone: [10.3.0.7]
  gw: [203.0.113.1]
  agent: [10.1.0.5]
`

// TestNegotiatedMediaEitherWay pins the direction rule's exception for
// negotiated media: once signalling set a stream up, it fits a one-way
// entry whichever host sent first, and the roles name the originator's
// side first; hosts whose roles fit neither way get no entry.
func TestNegotiatedMediaEitherWay(t *testing.T) {
	cl := dirRuleClassifier(t)
	var r verdict.Result
	for _, tt := range []struct {
		name, src, dst string
		want           want
	}{
		{"forward", "10.3.0.7:40000", "203.0.113.1:30000",
			want{verdict: verdict.Negotiated, entry: "oneway/gw-media", by: verdict.BySDP, from: "phone", to: "gw", reason: "negotiated in SIP/SDP"}},
		{"gateway sends first", "203.0.113.1:30000", "10.3.0.7:40000",
			want{verdict: verdict.Negotiated, entry: "oneway/gw-media", by: verdict.BySDP, from: "gw", to: "phone", reason: "negotiated in SIP/SDP"}},
		{"no entry between the roles", "10.1.0.5:40000", "203.0.113.1:30000",
			want{verdict: verdict.Negotiated, by: verdict.BySDP, from: "agent", to: "gw", reason: "no catalog entry covers these hosts' roles"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl.Classify(play(t, udp, tt.src, tt.dst, exchange), &r)
			check(t, &r, tt.want)
		})
	}
}

func dirRuleClassifier(t *testing.T) *verdict.Classifier {
	t.Helper()
	cat, err := catalog.Load(strings.NewReader(negDirCatalog), "oneway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inv := loadInventoryText(t, cat, negDirInventory)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv, Media: fakeMedia{30000}})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestReplyDirection pins the direction rule when the responder may have
// been seen first (UDP has no handshake): the entry's port is then the
// first sender's source port and the entry's opener the other host. A
// one-way entry fits only when the other host is its From side, a
// both-way entry either way; the roles still name the first sender first.
func TestReplyDirection(t *testing.T) {
	cl := dirRuleClassifier(t)
	var r verdict.Result
	for _, tt := range []struct {
		name, src, dst string
		want           want
	}{
		{"one-way, the opener's reply", "10.3.0.7:5070", "203.0.113.1:40000",
			want{verdict: verdict.Expected, entry: "oneway/notify", by: verdict.ByCatalog, from: "phone", to: "gw", reason: "responder seen first"}},
		{"one-way, the wrong side on the port", "203.0.113.1:5070", "10.3.0.7:40000",
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, from: "gw", to: "phone", reason: "no catalog entry allows this port"}},
		{"both-way, either side's reply", "203.0.113.1:7000", "10.1.0.5:40000",
			want{verdict: verdict.Expected, entry: "oneway/sync", by: verdict.ByCatalog, from: "gw", to: "agent", reason: "responder seen first"}},
		{"both-way, the other side's reply", "10.1.0.5:7000", "203.0.113.1:40000",
			want{verdict: verdict.Expected, entry: "oneway/sync", by: verdict.ByCatalog, from: "agent", to: "gw", reason: "responder seen first"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl.Classify(play(t, udp, tt.src, tt.dst, exchange), &r)
			check(t, &r, tt.want)
		})
	}
}

package verdict_test

import (
	"strings"
	"testing"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/verdict"
)

// icmpDirCatalog has a one-way ICMP entry (the monitor probes the server)
// and a both-way one (phone and server ping each other).
const icmpDirCatalog = `schema: 1
vendor:
  id: probe
  name: Probe vendor
  document: probe.txt
  defaults: {section: Ports}
  roles: {monitor: monitoring server, server: call server, phone: IP phone}
entries:
  - {id: probe, component: Probe, from: monitor, to: server, transport: icmp, app: icmp}
  - {id: ping, component: Ping, from: phone, to: server, direction: both, transport: icmp, app: icmp}
`

const icmpDirInventory = `schema: 1
site: lab
vendors: [probe]
roles:
  monitor: [10.0.0.50]
  server: [10.0.0.10]
  phone: [10.3.0.7]
`

// TestICMPDirection pins the direction rule for ICMP entries: a one-way
// entry allows only its from role to send the request, a both-way entry
// either side, and a request the wrong way is a wrong-direction finding on
// that entry.
func TestICMPDirection(t *testing.T) {
	cat, err := catalog.Load(strings.NewReader(icmpDirCatalog), "probe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := catalog.ReadInventory(strings.NewReader(icmpDirInventory), "lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Check(cat); err != nil {
		t.Fatal(err)
	}
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		src, dst string
		verdict  verdict.Verdict
		kind     verdict.Kind
		entry    string
		from, to string
	}{
		{"one-way entry, its way", "10.0.0.50", "10.0.0.10", verdict.Expected, "", "probe/probe", "monitor", "server"},
		{"one-way entry, the wrong way", "10.0.0.10", "10.0.0.50", verdict.Unexpected, verdict.KindWrongDirection, "probe/probe", "server", "monitor"},
		{"both-way entry, its from side", "10.3.0.7", "10.0.0.10", verdict.Expected, "", "probe/ping", "phone", "server"},
		{"both-way entry, the other side", "10.0.0.10", "10.3.0.7", verdict.Expected, "", "probe/ping", "server", "phone"},
		{"no entry between these roles", "10.0.0.50", "10.3.0.7", verdict.Unexpected, verdict.KindUnexpected, "", "monitor", "phone"},
	}
	var r verdict.Result
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl.Classify(icmp(t, tt.src, tt.dst, 8, 0, true), &r)
			if r.Verdict != tt.verdict || r.Kind != tt.kind || r.EntryID != tt.entry || r.FromRole != tt.from || r.ToRole != tt.to {
				t.Errorf("%v %q entry %q %s -> %s (%s); want %v %q entry %q %s -> %s",
					r.Verdict, r.Kind, r.EntryID, r.FromRole, r.ToRole, r.Reason, tt.verdict, tt.kind, tt.entry, tt.from, tt.to)
			}
		})
	}
}

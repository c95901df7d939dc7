package catalog

import (
	"reflect"
	"strings"
	"testing"
)

const rolesCatalog = `schema: 1
vendor:
  id: acme
  name: ACME
  document: acme.pdf
  defaults: {section: Ports}
  roles:
    agent: agent server
    chat: chat server
    core: core server
    pc: agent PC
  implies:
    chat: core
    agent: core
entries:
  - {id: a, component: A, from: pc, to: agent, transport: tcp, ports: [9000], app: http, tls: none}
  - {id: b, component: B, from: core, to: core, transport: tcp, ports: [9001], app: http, tls: none}
  - {id: c, component: C, from: [pc, agent], to: core, transport: tcp, ports: [9002], app: http, tls: none}
`

// VendorRoles lists the declared roles by name, inverts implies into
// implied_by (sorted by the implying role), and counts entry ends: an
// entry between two hosts of a role counts twice, and a declared role no
// entry names counts zero.
func TestVendorRoles(t *testing.T) {
	c, err := Load(strings.NewReader(rolesCatalog), "acme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []RoleInfo{
		{Vendor: "acme", Role: "agent", Qualified: "acme/agent", Description: "agent server", Implies: []string{"core"}, Entries: 2},
		{Vendor: "acme", Role: "chat", Qualified: "acme/chat", Description: "chat server", Implies: []string{"core"}},
		{Vendor: "acme", Role: "core", Qualified: "acme/core", Description: "core server", ImpliedBy: []string{"agent", "chat"}, Entries: 3},
		{Vendor: "acme", Role: "pc", Qualified: "acme/pc", Description: "agent PC", Entries: 2},
	}
	if got := c.VendorRoles("acme"); !reflect.DeepEqual(got, want) {
		t.Errorf("VendorRoles:\n got %+v\nwant %+v", got, want)
	}
	if got := c.VendorRoles("nobody"); got != nil {
		t.Errorf("unknown vendor: %+v", got)
	}
	// The built-in vendors: every Sinch server role that implies cc-server
	// is listed under it.
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, ri := range def.VendorRoles("sinch-contact-center") {
		if ri.Role == "cc-server" && (len(ri.ImpliedBy) < 5 || ri.ImpliedBy[0] != "agent-server" || ri.Entries == 0) {
			t.Errorf("cc-server: %+v", ri)
		}
	}
}

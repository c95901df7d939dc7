package engine

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// sipCatalog is a user catalog whose SIP entry listens on port.
func sipCatalog(port string) string {
	return `schema: 1
vendor:
  id: acme-sbc
  name: ACME SBC
  document: acme-sbc-ports.pdf
  defaults: {section: Ports}
  roles:
    sbc: ACME SBC
    phone: Phone
entries:
  - id: signalling
    component: SIP trunk
    from: phone
    to: sbc
    transport: udp
    ports: [` + port + `]
    app: sip
    tls: none
    required: false
`
}

// A reload (SIGHUP) takes the SIP ports of the new catalog: a flow on a
// port only the new catalog names is followed as SIP from its first
// packet. A reload that fails keeps the running ports.
func TestReloadTakesNewSIPPorts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acme.yaml")
	if err := os.WriteFile(path, []byte(sipCatalog("15060")), 0o644); err != nil {
		t.Fatal(err)
	}
	aud, err := New(Config{Catalogs: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if !aud.tracker.IsSIPPort(15060) || aud.tracker.IsSIPPort(25060) {
		t.Fatalf("SIP ports at start: %v", aud.SIPPorts())
	}
	if err := os.WriteFile(path, []byte(sipCatalog("25060")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := aud.Reload(); err != nil {
		t.Fatal(err)
	}
	if aud.tracker.IsSIPPort(15060) || !aud.tracker.IsSIPPort(25060) || !slices.Contains(aud.SIPPorts(), 5060) {
		t.Errorf("SIP ports after reload: %v; want 25060 in, 15060 out, 5060 kept", aud.SIPPorts())
	}
	if err := os.WriteFile(path, []byte("schema: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := aud.Reload(); err == nil {
		t.Fatal("reload of a broken catalog: no error")
	}
	if !aud.tracker.IsSIPPort(25060) {
		t.Errorf("a failed reload changed the SIP ports: %v", aud.SIPPorts())
	}
}

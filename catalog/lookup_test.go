package catalog_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/catalog"
)

// lookupSite moves one entry off its documented port, sizes an area and
// adds an allow rule: each changes what LookupPort answers.
const lookupSite = `schema: 1
site: lab
vendors: [genesys-pureconnect, sinch-contact-center]
roles:
  cic-server: [10.0.0.10]
  workstation: [10.1.0.0/16]
  mrs: [10.2.0.50]
  backup-server: [10.9.0.5]
  file-server: [10.9.0.6]
parameters:
  sinch-contact-center/mrs-max-prompts: 300
overrides:
  - {entry: genesys-pureconnect/notifier-tls, ports: 7597}
allow:
  - {name: nightly-backup, from: backup-server, to: file-server, transport: tcp, ports: 445, app: smb}
`

func TestLookupPort(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := catalog.ReadInventory(strings.NewReader(lookupSite), "lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Check(cat); err != nil {
		t.Fatal(err)
	}
	const gen, sinch = "genesys-pureconnect", "sinch-contact-center"
	tests := []struct {
		name string
		site bool
		q    catalog.PortQuery
		want []string // "id ports", in order
	}{
		{"documented port", false, catalog.PortQuery{Proto: 6, Port: 5597, Vendor: gen}, []string{
			"genesys-pureconnect/notifier-tls 5597",
			"genesys-pureconnect/dialer-ccs-notifier-tcp 5597,6234,2633",
			"genesys-pureconnect/switchover-notifier-tcp 5597,6234,2633",
			"genesys-pureconnect/voicexml-notifier 5597",
		}},
		{"every vendor", false, catalog.PortQuery{Proto: 6, Port: 5597}, []string{
			"genesys-pureconnect/notifier-tls 5597",
			"genesys-pureconnect/dialer-ccs-notifier-tcp 5597,6234,2633",
			"genesys-pureconnect/switchover-notifier-tcp 5597,6234,2633",
			"genesys-pureconnect/voicexml-notifier 5597",
			"imagicle-ucx/ha-full-connectivity any",
		}},
		{"override moves the entry off its port", true, catalog.PortQuery{Proto: 6, Port: 5597, Vendor: gen}, []string{
			"genesys-pureconnect/dialer-ccs-notifier-tcp 5597,6234,2633",
			"genesys-pureconnect/switchover-notifier-tcp 5597,6234,2633",
			"genesys-pureconnect/voicexml-notifier 5597",
		}},
		{"override moves the entry onto its port", true, catalog.PortQuery{Proto: 6, Port: 7597, Vendor: gen}, []string{
			"genesys-pureconnect/notifier-tls 7597",
		}},
		{"no override, no entry on the moved port", false, catalog.PortQuery{Proto: 6, Port: 7597, Vendor: gen}, nil},
		{"transport matters", false, catalog.PortQuery{Proto: 17, Port: 5597, Vendor: gen}, nil},
		{"not tcp or udp", false, catalog.PortQuery{Proto: 1, Port: 5597}, nil},
		{"even port", false, catalog.PortQuery{Proto: 17, Port: 5006, Vendor: sinch}, []string{"sinch-contact-center/cdt-rtp 5004-5030/even"}},
		{"odd port", false, catalog.PortQuery{Proto: 17, Port: 5007, Vendor: sinch}, []string{"sinch-contact-center/cdt-rtcp 5005-5031/odd"}},
		{"area at its defaults", false, catalog.PortQuery{Proto: 17, Port: 8500, Vendor: sinch}, nil},
		{"area sized by the site", true, catalog.PortQuery{Proto: 17, Port: 8500, Vendor: sinch}, []string{"sinch-contact-center/mrs-prompts 8000-8600"}},
		{"area ports as the site has them", true, catalog.PortQuery{Proto: 17, Port: 8100, Vendor: sinch}, []string{"sinch-contact-center/mrs-prompts 8000-8600"}},
		{"allow rule", true, catalog.PortQuery{Proto: 6, Port: 445, Vendor: catalog.SiteVendor}, []string{"site/nightly-backup 445"}},
		{"allow rule needs the inventory", false, catalog.PortQuery{Proto: 6, Port: 445, Vendor: catalog.SiteVendor}, nil},
		{"negotiated ports only when asked", false, catalog.PortQuery{Proto: 17, Port: 3, Vendor: gen}, nil},
		{"negotiated ports, after the port's own, listed once", false, catalog.PortQuery{Proto: 17, Port: 20000, Vendor: gen, Dynamic: true}, []string{
			"genesys-pureconnect/media-server-rtp dynamic,16384-32767",
			"genesys-pureconnect/asr-phone-rtp dynamic,16384-32768",
			"genesys-pureconnect/asr-rtp dynamic,10000-60000",
			"genesys-pureconnect/asr-mrcp-rtp dynamic,16384-32768",
			"genesys-pureconnect/phone-gateway-rtp dynamic",
			"genesys-pureconnect/phone-proxy-rtp dynamic",
			"genesys-pureconnect/tts-mrcp-rtp dynamic,7892-9091",
		}},
		{"negotiated ports of the vendor asked", false, catalog.PortQuery{Proto: 17, Port: 3, Vendor: "tegsoft", Dynamic: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := (*catalog.Inventory)(nil)
			if tt.site {
				site = inv
			}
			var got []string
			for _, m := range cat.LookupPort(site, tt.q) {
				got = append(got, m.Entry.ID+" "+m.Ports.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("LookupPort(%+v):\n got %q\nwant %q", tt.q, got, tt.want)
			}
		})
	}
	// The catalog's own entries are not changed by a site's lookup.
	if e, _ := cat.Entry("genesys-pureconnect/notifier-tls"); e.Ports.String() != "5597" {
		t.Errorf("notifier-tls ports after lookups: %s", e.Ports)
	}
	if n := len(cat.EntriesOf(catalog.SiteVendor)); n != 0 {
		t.Errorf("catalog has %d site entries after lookups", n)
	}
}

func ExampleCatalog_LookupPort() {
	cat, err := catalog.Default()
	if err != nil {
		panic(err)
	}
	inv, err := catalog.ReadInventory(strings.NewReader(`schema: 1
site: lab
vendors: [genesys-pureconnect]
roles:
  cic-server: [10.0.0.10]
  workstation: [10.1.0.0/16]
overrides:
  - {entry: genesys-pureconnect/notifier-tls, ports: 7597}
`), "lab.yaml")
	if err != nil {
		panic(err)
	}
	if err := inv.Check(cat); err != nil {
		panic(err)
	}
	q := catalog.PortQuery{Proto: 6, Port: 7597, Vendor: "genesys-pureconnect"}
	fmt.Println("documented:", len(cat.LookupPort(nil, q)))
	for _, m := range cat.LookupPort(inv, q) {
		fmt.Println("at the site:", m.Entry.ID, m.Ports)
	}
	// Output:
	// documented: 0
	// at the site: genesys-pureconnect/notifier-tls 7597
}

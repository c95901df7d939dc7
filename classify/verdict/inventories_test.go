package verdict_test

import (
	"path/filepath"
	"testing"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/verdict"
)

// exampleFlow is one flow against a worked example inventory of
// testdata/inventories and the verdict docs/inventory.md promises for it.
type exampleFlow struct {
	name           string
	proto          uint8
	client, server string
	media          uint16 // a port SIP/SDP negotiated; 0 for none
	want           want
}

var exampleFlows = map[string][]exampleFlow{
	"genesys-pureconnect": {
		{"agent logs in to the CIC server", tcp, "10.10.2.5:50000", "10.10.1.10:3952", 0,
			want{verdict: verdict.Expected, entry: "genesys-pureconnect/session-manager", by: verdict.ByCatalog, from: "workstation", to: "cic-server"}},
		{"the declared engine's SQL", tcp, "10.10.1.10:50000", "10.10.1.5:1433", 0,
			want{verdict: verdict.Expected, entry: "genesys-pureconnect/mssql", by: verdict.ByCatalog}},
		{"the SQL server opens the CIC server", tcp, "10.10.1.5:50000", "10.10.1.10:1433", 0,
			want{verdict: verdict.Unexpected, kind: verdict.KindWrongDirection, entry: "genesys-pureconnect/mssql", severity: verdict.Medium}},
		{"Polycom RTP negotiated in SIP", udp, "10.10.1.20:16400", "10.10.3.5:2230", 2230,
			want{verdict: verdict.Negotiated, entry: "genesys-pureconnect/phone-rtp-polycom-vvx1500", by: verdict.BySDP, from: "media-server", to: "ip-phone"}},
		{"telnet to a phone", tcp, "10.10.2.5:50000", "10.10.3.5:23", 0,
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, severity: verdict.Medium, from: "workstation", to: "ip-phone"}},
	},
	"sinch-contact-center": {
		{"the MRS is a contact center server for Internal ports", tcp, "10.20.1.20:50000", "10.20.1.10:21018", 0,
			want{verdict: verdict.Expected, entry: "sinch-contact-center/agent-server", by: verdict.ByCatalog, from: "cc-server", to: "agent-server"}},
		{"an agent PC is not", tcp, "10.20.2.5:50000", "10.20.1.10:21018", 0,
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "sinch-contact-center/agent-server", severity: verdict.Medium}},
		{"the client's Connection Server port", tcp, "10.20.2.5:50000", "10.20.1.10:21002", 0,
			want{verdict: verdict.Expected, entry: "sinch-contact-center/connection-server-clients", by: verdict.ByCatalog}},
		{"trunk SIP", udp, "198.51.100.5:5060", "10.20.1.30:5060", 0,
			want{verdict: verdict.Expected, entry: "sinch-contact-center/sip-bridge-trunk", by: verdict.ByCatalog}},
		{"call media in the site's prompt area", udp, "198.51.100.5:30000", "10.20.1.20:8500", 8500,
			want{verdict: verdict.Negotiated, entry: "sinch-contact-center/mrs-prompts", by: verdict.BySDP, from: "pstn-gateway", to: "mrs"}},
		{"call media past the site's prompt area", udp, "198.51.100.5:30000", "10.20.1.20:8700", 8700,
			want{verdict: verdict.Negotiated, kind: verdict.KindMediaOutsideRange, by: verdict.BySDP, severity: verdict.Medium, reason: "8000-8600/udp"}},
	},
	"imagicle-ucx": {
		{"console CTI", tcp, "10.30.2.5:50000", "10.30.1.10:51234", 0,
			want{verdict: verdict.Expected, entry: "imagicle-ucx/console-cti", by: verdict.ByCatalog, from: "console-client", to: "ucx-server"}},
		{"directory sync", tcp, "10.30.1.10:50000", "10.30.1.4:389", 0,
			want{verdict: verdict.Expected, entry: "imagicle-ucx/ldap", by: verdict.ByCatalog}},
		{"a web workstation is not a console", tcp, "10.30.2.200:50000", "10.30.1.10:51234", 0,
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "imagicle-ucx/console-cti", severity: verdict.Medium}},
	},
	"incontact-wfo": {
		{"web portal", tcp, "10.40.2.5:50000", "10.40.1.10:2020", 0,
			want{verdict: verdict.Expected, entry: "incontact-wfo/web-portal-html5", by: verdict.ByCatalog}},
		{"screen recording opened by the server", tcp, "10.40.1.10:50000", "10.40.2.5:5633", 0,
			want{verdict: verdict.Expected, entry: "incontact-wfo/screen-recording", by: verdict.ByCatalog, from: "premises-server", to: "workstation"}},
		{"screen recording opened by the PC", tcp, "10.40.2.5:50000", "10.40.1.10:5633", 0,
			want{verdict: verdict.Unexpected, kind: verdict.KindWrongDirection, entry: "incontact-wfo/screen-recording", severity: verdict.Medium}},
	},
	"tegsoft": {
		{"trunk SIP", udp, "203.0.113.50:5060", "10.50.1.10:5060", 0,
			want{verdict: verdict.Expected, entry: "tegsoft/sip", by: verdict.ByCatalog}},
		{"administrator console", tcp, "10.50.9.5:50000", "10.50.1.10:2222", 0,
			want{verdict: verdict.Expected, entry: "tegsoft/console-ssh", by: verdict.ByCatalog}},
		{"an agent PC on the console port", tcp, "10.50.2.5:50000", "10.50.1.10:2222", 0,
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "tegsoft/support-ssh", severity: verdict.Medium, reason: "not between these hosts' roles"}},
		{"trunk RTP in the documented range", udp, "203.0.113.50:30000", "10.50.1.10:12000", 12000,
			want{verdict: verdict.Negotiated, entry: "tegsoft/rtp", by: verdict.BySDP, from: "sip-peer", to: "tegsoft-server"}},
	},
}

// Each worked example of docs/inventory.md validates, warns about nothing,
// and gives the verdicts the document describes.
func TestExampleInventories(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../../testdata/inventories/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cat.Vendors()) {
		t.Errorf("%d example inventories, want one per vendor (%d)", len(files), len(cat.Vendors()))
	}
	for _, file := range files {
		vendor := filepath.Base(file[:len(file)-len(".yaml")])
		t.Run(vendor, func(t *testing.T) {
			inv, err := catalog.LoadInventory(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := inv.Check(cat); err != nil {
				t.Fatal(err)
			}
			if w := inv.Warnings(cat); len(w) > 0 {
				t.Errorf("warnings: %v", w)
			}
			if len(inv.Vendors) != 1 || inv.Vendors[0] != vendor {
				t.Errorf("vendors %v, want [%s]", inv.Vendors, vendor)
			}
			flows := exampleFlows[vendor]
			if len(flows) == 0 {
				t.Fatalf("no example flows for %s", vendor)
			}
			for _, ef := range flows {
				t.Run(ef.name, func(t *testing.T) {
					cfg := verdict.Config{Catalog: cat, Inventory: inv}
					if ef.media != 0 {
						cfg.Media = fakeMedia{ef.media}
					}
					cl, err := verdict.NewClassifier(cfg)
					if err != nil {
						t.Fatal(err)
					}
					pkts := handshake
					if ef.proto == udp {
						pkts = exchange
					}
					var r verdict.Result
					cl.Classify(play(t, ef.proto, ef.client, ef.server, pkts), &r)
					check(t, &r, ef.want)
				})
			}
		})
	}
}

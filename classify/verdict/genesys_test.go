package verdict_test

import (
	"strings"
	"testing"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/verdict"
)

const genesysSite = `schema: 1
site: paris
vendors: [genesys-pureconnect]
roles:
  cic-server: [10.1.0.10]
  workstation: [10.20.0.0/16]
  ip-phone: [10.30.0.0/16]
overrides:
  - {entry: genesys-pureconnect/notifier-tls, ports: 7597}
`

func genesysClassifier(t testing.TB) (*verdict.Classifier, *catalog.Inventory) {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := catalog.ReadInventory(strings.NewReader(genesysSite), "paris.yaml")
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
	return cl, inv
}

// The Notifier moved to 7597 by the site: the embedded catalog's entry
// follows the override, and the documented 5597 is no longer allowed.
func TestGenesysNotifierOverride(t *testing.T) {
	cl, _ := genesysClassifier(t)
	var r verdict.Result
	cl.Classify(play(t, tcp, "10.20.1.5:50000", "10.1.0.10:7597", handshake), &r)
	check(t, &r, want{verdict: verdict.Expected, entry: "genesys-pureconnect/notifier-tls", by: verdict.ByCatalog, from: "workstation", to: "cic-server"})
	if r.App != "tls" || r.Vendor != "genesys-pureconnect" {
		t.Errorf("app %q vendor %q", r.App, r.Vendor)
	}
	cl.Classify(play(t, tcp, "10.20.1.5:50000", "10.1.0.10:5597", handshake), &r)
	if r.Verdict != verdict.Unexpected {
		t.Errorf("5597 after the override: %v %q", r.Verdict, r.Reason)
	}
	// The Notifier's UDP port is not configurable away: still 6235.
	cl.Classify(play(t, udp, "10.20.1.5:50000", "10.1.0.10:6235", exchange), &r)
	check(t, &r, want{verdict: verdict.Expected, entry: "genesys-pureconnect/notifier-udp", by: verdict.ByCatalog})
}

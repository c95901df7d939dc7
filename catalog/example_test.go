package catalog_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ccaudit/auditor/catalog"
)

func Example() {
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
	// A site index applies the inventory's overrides.
	ix := catalog.NewIndex(cat.EntriesOf("genesys-pureconnect"), catalog.WithPorts(inv.EffectivePorts))
	dst := make([]*catalog.Entry, 0, 8)
	for _, e := range ix.Lookup(6, 7597, dst) {
		fmt.Println(e.ID, e.From.Has("workstation"), e.To, e.Source.Document)
	}
	fmt.Println(inv.RolesOf(netip.MustParseAddr("10.1.2.3")))
	// Output:
	// genesys-pureconnect/notifier-tls true cic-server 000_9e35c2777d8e9ed5.txt
	// [workstation]
}

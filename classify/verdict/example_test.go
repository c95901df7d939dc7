package verdict_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/dnsinfo"
	"github.com/ccaudit/auditor/classify/sipcall"
	"github.com/ccaudit/auditor/classify/verdict"
)

// Wire the classifier where flows leave the flow table (the pipeline's
// OnFlow in auditor replay), aggregate findings, and close the capture
// window at the end to get the missing flows.
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
  sql-server: [10.0.0.5]
  workstation: [10.1.0.0/16]
`), "lab.yaml")
	if err != nil {
		panic(err)
	}
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv,
		Expect: []string{"genesys-pureconnect/session-manager", "genesys-pureconnect/mssql"}})
	if err != nil {
		panic(err)
	}
	findings := verdict.NewFindings(cl, verdict.FindingsConfig{})
	var r verdict.Result // reused: Classify allocates nothing
	table := flow.NewTable(flow.DefaultConfig(), func(f *flow.Flow) {
		cl.Classify(f, &r)
		findings.Observe(f, &r)
		fmt.Printf("%v -> %v %s %q %s\n", f.Src(), f.Dst(), r.Verdict, r.EntryID, r.Reason)
	})

	var now int64
	send := func(src, dst string, flags uint8) {
		now++
		k, d := flow.NewKey(flow.ProtoTCP, netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst))
		table.Packet(&flow.Packet{Key: k, Dir: d, Time: now, TCPFlags: flags})
	}
	// An agent logs in to Session Manager: SYN, SYN-ACK, ACK.
	send("10.1.2.3:50000", "10.0.0.10:3952", flow.FlagSYN)
	send("10.0.0.10:3952", "10.1.2.3:50000", flow.FlagSYN|flow.FlagACK)
	send("10.1.2.3:50000", "10.0.0.10:3952", flow.FlagACK)
	// The CIC server's SQL connection is refused.
	send("10.0.0.10:50001", "10.0.0.5:1433", flow.FlagSYN)
	send("10.0.0.5:1433", "10.0.0.10:50001", flow.FlagRST|flow.FlagACK)
	// Telnet to the CIC server: no catalog allows it.
	send("10.1.2.3:50002", "10.0.0.10:23", flow.FlagSYN)
	table.Flush(flow.EndFlush)
	findings.Finish(0)

	for _, g := range findings.All() {
		where := fmt.Sprintf("%v -> %v:%d", g.Src, g.Dst, g.DstPort)
		if !g.Dst.IsValid() { // missing: no flow, the pairs it was expected between
			where = fmt.Sprintf("%s between %s", g.Ports, strings.Join(g.HostPairs, ", "))
		}
		fmt.Printf("%s %s %q %s\n", g.Severity, g.Kind, g.EntryID, where)
	}
	// Output:
	// 10.1.2.3:50000 -> 10.0.0.10:3952 expected "genesys-pureconnect/session-manager" Session Manager: workstation,iis-server,iwp-server,scheduled-reports-server,soft-phone -> cic-server 3952/tcp
	// 10.0.0.10:50001 -> 10.0.0.5:1433 blocked "genesys-pureconnect/mssql" tcp SYN answered by RST (REJ): nothing listens or a firewall rejects
	// 10.1.2.3:50002 -> 10.0.0.10:23 unexpected "" unexpected attempt, never answered (S0): no catalog entry allows it between these hosts
	// high blocked "genesys-pureconnect/mssql" 10.0.0.10 -> 10.0.0.5:1433
	// high missing "genesys-pureconnect/mssql" 1433,1434/tcp between 10.1.0.0/16 -> 10.0.0.5, 10.0.0.10 -> 10.0.0.5
	// medium unexpected "" 10.1.2.3 -> 10.0.0.10:23
}

// Findings that do not come from one flow: the media problems of a SIP
// call, raised from the call tracker's OnCall, and the failed lookups of
// names the catalog needs, raised at the end of the capture window.
func ExampleCallFindings() {
	cat, err := catalog.Default()
	if err != nil {
		panic(err)
	}
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Vendors: []string{"imagicle-ucx"}})
	if err != nil {
		panic(err)
	}
	findings := verdict.NewFindings(cl, verdict.FindingsConfig{})

	call := &sipcall.Call{CallID: "a84b4c76e66710@pc33", Media: []sipcall.MediaStream{{
		Type: "audio", Proto: "RTP/AVP", OneWay: true,
		CallerRTP: netip.MustParseAddrPort("10.0.0.5:5004"), CalleeRTP: netip.MustParseAddrPort("10.0.9.7:24000"),
	}}}
	for _, g := range verdict.CallFindings(call) { // in sipcall.Config.OnCall
		findings.Raise(g)
	}
	findings.DNSFailures([]dnsinfo.Failure{{Name: "eu.imagicle.cloud", Count: 2, NXDomain: 2}}, 0) // dnsinfo.Cache.Failures()

	for _, g := range findings.All() {
		where := g.ServerName
		if g.Dst.IsValid() {
			where = fmt.Sprintf("%v -> %v:%d (call %s)", g.Src, g.Dst, g.DstPort, g.CallID)
		}
		fmt.Printf("%s %s %s: %s\n", g.Severity, g.Kind, where, g.Reason)
	}
	// Output:
	// high media-one-way 10.0.0.5 -> 10.0.9.7:24000 (call a84b4c76e66710@pc33): media flowed one way only, although both sides said sendrecv
	// medium dns-failure eu.imagicle.cloud: lookups of eu.imagicle.cloud, a name Imagicle Licensing portal needs (imagicle-ucx/cloud-licensing), failed: 2 NXDOMAIN
}

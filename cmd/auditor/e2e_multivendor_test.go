//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/report/parquetout"
)

// The multi-vendor site (testdata/e2e/multivendor-site.yaml). Every host
// is an address on the interface of its namespace; docs/e2e-multivendor.md
// draws the topology.
const (
	mvCIC      = mvPrefix + "10" // Genesys CIC server
	mvIMS      = mvPrefix + "11" // Genesys Interaction Media Server
	mvDNS      = mvPrefix + "13" // the phones' DNS server
	mvGWS      = mvPrefix + "21" // Genesys agent workstation
	mvPhone    = mvPrefix + "31" // Genesys SIP phone (Polycom VVX1500)
	mvSWS      = mvPrefix + "41" // Sinch agent workstation (Communication Desktop)
	mvPSTN     = mvPrefix + "51" // Sinch trunk-side PSTN gateway
	mvAgentCoS = mvPrefix + "60" // Sinch Agent Server + Connection Server
	mvMRS      = mvPrefix + "61" // Sinch Media Routing Server
	mvBridge   = mvPrefix + "62" // Sinch SIP Bridge

	// Media ports the sipp peers offer and answer (-mp).
	mvPhoneRTPIn  = 2222  // Polycom VVX1500 "RTP 2222-2269"
	mvIMSRTPIn    = 20000 // Media Server "RTP 16384-32767"
	mvPhoneRTPOut = 3000  // outside every phone model's range
	mvIMSRTPOut   = 12000 // below the Media Server's range
	mvPSTNRTPIn   = 4000  // the gateway's side: no document states a range
	mvPSTNRTPOut  = 4010  // sipp also binds -mp+2 (video)
	mvMRSRTPIn    = 8100  // in the prompt area 8000-8600 (300 prompts)
	mvMRSRTPOut   = 8700  // past it, and below the recording area 9000-

	mvMaxPkts = 20000
)

// mvTopology: the Genesys clients, the Genesys servers, the Sinch clients
// and two Sinch server namespaces, so that each flow of the test crosses
// the bridge. The SIP servers share a namespace with the media host their
// answers name (sipp -mi must be a local address).
var mvTopology = []mvHostNS{
	{"gc", []string{mvGWS, mvPhone}},
	{"gs", []string{mvCIC, mvIMS, mvDNS}},
	{"sc", []string{mvSWS, mvPSTN}},
	{"ss", []string{mvMRS, mvBridge}},
	{"sa", []string{mvAgentCoS}},
}

// TestE2EMultiVendor runs a Genesys PureConnect and a Sinch Contact Center
// site side by side, real programs making every flow, and checks every
// flow's verdict and attribution and every finding of the replay, with the
// inventory's expect list and without it.
func TestE2EMultiVendor(t *testing.T) {
	began := time.Now()
	n := newMVNet(t, mvTopology, "sipp", "socat", "openssl", "curl", "dnsmasq", "dig", "nft")
	capture := mvTraffic(t, n)
	peers := time.Since(began)

	site, err := os.ReadFile("testdata/e2e/multivendor-site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	withExpect := filepath.Join(n.dir, "site-expect.yaml")
	noExpect := filepath.Join(n.dir, "site-noexpect.yaml")
	cut := strings.Index(string(site), "\nexpect:")
	if cut < 0 {
		t.Fatal("multivendor-site.yaml has no expect list")
	}
	for path, data := range map[string][]byte{withExpect: site, noExpect: site[:cut+1]} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, mode := range []struct {
		name, site string
		findings   []mvFinding
	}{
		{"expect", withExpect, mvFindingsExpect},
		{"no-expect", noExpect, append(append([]mvFinding(nil), mvFindingsExpect...), mvFindingsNoExpect...)},
	} {
		t.Run(mode.name, func(t *testing.T) {
			r := mvReplay(t, capture, mode.site, filepath.Join(n.dir, "out-"+mode.name))
			t.Logf("replay %.3fs", r.sum.Elapsed)
			mvCheckCalls(t, r)
			mvCheckFlows(t, r)
			disputed := mvCheckFindings(t, r, mode.findings)
			// The summary counts the same findings by kind.
			kinds := map[string]uint64{}
			for _, g := range r.findings {
				kinds[g.Kind]++
			}
			if fmt.Sprint(kinds) != fmt.Sprint(r.sum.Findings) {
				t.Errorf("summary findings %v, findings.parquet %v", r.sum.Findings, kinds)
			}
			mainFailed := t.Failed()
			// Each assertion where the auditor disagrees with the documents
			// is a sub-test of its own, named after the disagreement, so
			// the rest above stays meaningful while it fails.
			for _, w := range mode.findings {
				if w.disagree == "" {
					continue
				}
				t.Run("DocumentDisagreement/"+w.disagree, func(t *testing.T) {
					got := disputed[w.disagree]
					switch {
					case w.absent && got != nil:
						t.Errorf("finding %s, but the document does not require it: %s", mvFindingLine(got), w.doc)
					case !w.absent && got == nil:
						t.Errorf("no %s finding for %s", w.kind, w.entry)
					case !w.absent && (got.Vendor != w.vendor || got.EntryID != w.entry || got.HostPairs != w.pairs):
						t.Errorf("finding %s\nwant vendor %q entry %q pairs %q: %s", mvFindingLine(got), w.vendor, w.entry, w.pairs, w.doc)
					}
				})
			}
			if mainFailed {
				mvDump(t, r)
			}
		})
	}
	t.Logf("timing: peers and capture %v, total %v", peers.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

func mvDump(t *testing.T, r *e2eResult) {
	t.Helper()
	for i := range r.flows {
		t.Logf("flow %s", mvFlowLine(&r.flows[i]))
	}
	for i := range r.findings {
		t.Logf("finding %s", mvFindingLine(&r.findings[i]))
	}
}

func mvFlowLine(f *parquetout.FlowRow) string {
	return fmt.Sprintf("%s %s:%d > %s:%d %s %s icmp=%d | %s vendor=%q entry=%q %s -> %s | %s",
		f.Proto, f.SrcIP, f.SrcPort, f.DstIP, f.DstPort, f.State, f.History, f.ICMPUnreach, f.Verdict, f.Vendor, f.EntryID, f.FromRole, f.ToRole, f.Reason)
}

func mvFindingLine(g *parquetout.FindingRow) string {
	return fmt.Sprintf("%s %s %s %s > %s:%d vendor=%q entry=%q pairs=%q | %s",
		g.Kind, g.Severity, g.Proto, g.SrcIP, g.DstIP, g.DstPort, g.Vendor, g.EntryID, g.HostPairs, g.Reason)
}

// mvFlow is one flow the site's traffic makes and what the documents say
// of it. srcPort 0 stands for an ephemeral port; UDP flows match either
// way round (the first sender is the originator).
type mvFlow struct {
	proto         string
	src           string
	srcPort       int32
	dst           string
	dport         int32
	state         string // "" when the state is not the point
	verdict       string
	vendor, entry string
	doc           string // the document's words
}

var mvFlows = []mvFlow{
	// Genesys PureConnect (000_9e35c2777d8e9ed5.txt).
	{"tcp", mvGWS, 0, mvCIC, 3952, "SF", "expected", "genesys-pureconnect", "genesys-pureconnect/session-manager",
		"Client operations: Interaction Desktop -> CIC server, Session Manager TCP 3952"},
	{"tcp", mvGWS, 0, mvCIC, 5597, "SF", "expected", "genesys-pureconnect", "genesys-pureconnect/notifier-tls",
		"Client operations: Notifier TCP 5597 (TLS)"},
	{"tcp", mvGWS, 0, mvIMS, 443, "SF", "expected", "genesys-pureconnect", "genesys-pureconnect/media-server-web-https",
		"Default web interfaces > Interaction Media Server (Software Only): HTTPS 443"},
	{"udp", mvPhone, 5062, mvCIC, 5060, "SF", "expected", "genesys-pureconnect", "genesys-pureconnect/sip",
		"SIP Communication: SIP TCP/UDP 5060 between the phones and the CIC server"},
	{"tcp", mvPhone, 0, mvCIC, 5060, "SF", "expected", "genesys-pureconnect", "genesys-pureconnect/sip",
		"SIP Communication: SIP TCP/UDP 5060"},
	{"udp", mvPhone, mvPhoneRTPIn, mvIMS, mvIMSRTPIn, "SF", "negotiated", "genesys-pureconnect", "genesys-pureconnect/media-server-rtp",
		"Interaction Media Server: RTP Dynamic 16384-32767 (the phone side in Polycom VVX1500's 2222-2269)"},
	{"udp", mvPhone, mvPhoneRTPOut, mvIMS, mvIMSRTPOut, "SF", "negotiated", "genesys-pureconnect", "genesys-pureconnect/media-server-rtp",
		"Interaction Media Server: RTP Dynamic 16384-32767; 12000 is below it"},
	{"udp", mvPhone, 0, mvDNS, 53, "SF", "expected", "genesys-pureconnect", "genesys-pureconnect/phone-dns",
		"IP Phone Operations: DNS UDP 53"},
	{"tcp", mvGWS, 0, mvCIC, 8018, "S0", "blocked", "genesys-pureconnect", "genesys-pureconnect/session-manager-ion",
		"Client operations: Session Manager ION TCP 8018 (dropped by the CIC server's firewall)"},
	{"udp", mvGWS, 0, mvCIC, 6235, "", "blocked", "genesys-pureconnect", "genesys-pureconnect/notifier-udp",
		"Client operations: Notifier UDP 6235 (change log: UDP, not TCP); rejected with ICMP port unreachable"},
	{"tcp", mvCIC, 0, mvGWS, 3952, "SF", "unexpected", "genesys-pureconnect", "genesys-pureconnect/session-manager",
		"Session Manager 3952 is opened by the client to the CIC server, not the reverse"},
	// The ICMP error is judged through the flow it quotes (notifier-udp).
	{"icmp", mvCIC, 0, mvGWS, 3, "", "unclassified", "", "", "ICMP port unreachable for 6235/udp"},

	// Sinch Contact Center (001_7ac725733a5d06a8.txt).
	{"udp", mvPSTN, 5062, mvBridge, 5060, "SF", "expected", "sinch-contact-center", "sinch-contact-center/sip-bridge-trunk",
		"SIP Bridge: UDP 5060 Trunk side"},
	{"tcp", mvPSTN, 0, mvBridge, 5060, "SF", "expected", "sinch-contact-center", "sinch-contact-center/sip-bridge-trunk",
		"SIP Bridge: TCP 5060 Trunk side"},
	{"udp", mvPSTN, mvPSTNRTPIn, mvMRS, mvMRSRTPIn, "SF", "negotiated", "sinch-contact-center", "sinch-contact-center/mrs-prompts",
		"MRS: prompt area from 8000, twice the Maximum Number of Simultaneous Prompts (300): 8000-8600"},
	// No documented range holds 8700: negotiated media without an entry,
	// reported outside the range (see the findings).
	{"udp", mvPSTN, mvPSTNRTPOut, mvMRS, mvMRSRTPOut, "SF", "negotiated", "", "",
		"MRS prompt area 8000-8600, recording area from 9000: 8700 is in neither"},
	{"tcp", mvMRS, 0, mvAgentCoS, 21018, "SF", "expected", "sinch-contact-center", "sinch-contact-center/agent-server",
		"Agent Server: TCP 21018 Internal (the MRS is a contact center server)"},
	{"tcp", mvSWS, 0, mvAgentCoS, 21018, "SF", "unexpected", "sinch-contact-center", "sinch-contact-center/agent-server",
		"Agent Server 21018 is Internal: a workstation is no contact center server"},
	{"tcp", mvSWS, 0, mvAgentCoS, 21002, "REJ", "blocked", "sinch-contact-center", "sinch-contact-center/connection-server-clients",
		"Connection Server: TCP 21002 For clients (reset by the server's firewall)"},

	// Across the vendors: a Sinch agent PC has no Genesys role.
	{"tcp", mvSWS, 0, mvCIC, 3952, "SF", "unexpected", "genesys-pureconnect", "genesys-pureconnect/session-manager",
		"Session Manager 3952 is a Genesys client's port; the Sinch document gives its workstation none"},
	{"udp", mvPhone, 5064, mvBridge, 5060, "", "unexpected", "genesys-pureconnect", "genesys-pureconnect/sip",
		"G SIP Communication draws the phones with the CIC server, SIP proxies and gateways; S gives its SIP Bridge's 5060 to the trunk side only"},
}

func (w *mvFlow) matches(f *parquetout.FlowRow) bool {
	fwd := f.Proto == w.proto && f.SrcIP == w.src && f.DstIP == w.dst && f.DstPort == w.dport && (w.srcPort == 0 || f.SrcPort == w.srcPort)
	rev := w.proto == "udp" && w.srcPort != 0 && f.Proto == "udp" && f.SrcIP == w.dst && f.SrcPort == w.dport && f.DstIP == w.src && f.DstPort == w.srcPort
	return fwd || rev
}

// mvCheckFlows: every flow of the capture is one of mvFlows, once, with
// its verdict, vendor and entry.
func mvCheckFlows(t *testing.T, r *e2eResult) {
	t.Helper()
	seen := make([]int, len(mvFlows))
	for i := range r.flows {
		f := &r.flows[i]
		k := -1
		for j := range mvFlows {
			if mvFlows[j].matches(f) {
				k = j
				break
			}
		}
		if k < 0 {
			t.Errorf("flow the site's traffic does not make: %s", mvFlowLine(f))
			continue
		}
		seen[k]++
		w := &mvFlows[k]
		if f.Verdict != w.verdict || f.Vendor != w.vendor || f.EntryID != w.entry {
			t.Errorf("flow %s\nwant verdict %s vendor %q entry %q (%s)", mvFlowLine(f), w.verdict, w.vendor, w.entry, w.doc)
		}
		if w.state != "" && f.State != w.state {
			t.Errorf("flow %s: state %s, want %s", mvFlowLine(f), f.State, w.state)
		}
		if w.proto == "udp" && w.verdict == "blocked" && f.ICMPUnreach == 0 {
			t.Errorf("flow %s: want ICMP unreachable counted", mvFlowLine(f))
		}
	}
	for j, c := range seen {
		if c != 1 {
			w := &mvFlows[j]
			t.Errorf("%d flows %s %s:%d > %s:%d, want 1 (%s)", c, w.proto, w.src, w.srcPort, w.dst, w.dport, w.doc)
		}
	}
}

// mvCheckCalls: the four calls were answered and their media flowed both
// ways, so no call finding is due.
func mvCheckCalls(t *testing.T, r *e2eResult) {
	t.Helper()
	if len(r.calls) != 4 {
		t.Errorf("%d calls, want 4", len(r.calls))
	}
	for _, c := range r.calls {
		if c.FinalStatus != 200 || c.Findings != "" || len(c.Media) != 1 {
			t.Errorf("call %s %s -> %s over %s: status %d, findings %q, %d streams; want 200, none, 1",
				c.CallID, c.CallerIP, c.CalleeIP, c.Transport, c.FinalStatus, c.Findings, len(c.Media))
		}
	}
}

// mvFinding is one finding the documents call for. A finding where the
// auditor disagrees with the documents names the disagreement: the main
// check then matches it on kind, hosts and port only (absent: tolerates
// it), and the sub-test DocumentDisagreement/<name> asserts the
// document's version.
type mvFinding struct {
	kind, severity string
	vendor, entry  string
	src, dst       string
	dport          int32
	pairs          string
	disagree       string
	absent         bool
	doc            string
}

func (w *mvFinding) matches(g *parquetout.FindingRow) bool {
	if g.Kind != w.kind || g.SrcIP != w.src || g.DstIP != w.dst || g.DstPort != w.dport {
		return false
	}
	if w.disagree != "" {
		// Only what code and documents agree on: kind, hosts, port, and
		// for missing findings the entry.
		return w.kind != "missing" || g.EntryID == w.entry
	}
	return g.Severity == w.severity && g.Vendor == w.vendor && g.EntryID == w.entry && g.HostPairs == w.pairs
}

// mvCheckFindings matches every finding to one wanted finding and reports
// the rest; it returns the findings matched by a disagreement's want.
func mvCheckFindings(t *testing.T, r *e2eResult, want []mvFinding) map[string]*parquetout.FindingRow {
	t.Helper()
	disputed := map[string]*parquetout.FindingRow{}
	used := make([]bool, len(want))
	for i := range r.findings {
		g := &r.findings[i]
		k := -1
		for j := range want {
			if !used[j] && want[j].matches(g) {
				k = j
				break
			}
		}
		if k < 0 {
			t.Errorf("other finding: %s", mvFindingLine(g))
			continue
		}
		used[k] = true
		if want[k].disagree != "" {
			disputed[want[k].disagree] = g
		}
	}
	for j, ok := range used {
		if w := &want[j]; !ok && !w.absent {
			t.Errorf("no finding %s %s vendor=%q entry=%q %s > %s:%d pairs=%q (%s)", w.kind, w.severity, w.vendor, w.entry, w.src, w.dst, w.dport, w.pairs, w.doc)
		}
	}
	return disputed
}

// mvTraffic runs every peer and client of the site and returns the
// capture of the bridge.
func mvTraffic(t *testing.T, n *mvNet) string {
	gc, gs, sc, ss, sa := n.ns["gc"], n.ns["gs"], n.ns["sc"], n.ns["ss"], n.ns["sa"]
	copyPcapPrefix(t, "../../testdata/pcaps/sip-rtp/g711a.pcap", filepath.Join(n.dir, "g711a.pcap"), 50)
	scenario, err := filepath.Abs("testdata/e2e/mv-uac.xml")
	if err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(n.dir, "cert.pem"), filepath.Join(n.dir, "key.pem")
	if out, err := exec.CommandContext(n.ctx, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=cic.mv.test").CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}

	// The firewalls: the CIC server drops Session Manager ION (8018) and
	// rejects Notifier UDP (6235) with ICMP port unreachable; the Sinch
	// Connection Server resets client connections (21002).
	n.nft(gs, `table ip mvfw {
	chain input {
		type filter hook input priority 0; policy accept;
		ip daddr `+mvCIC+` tcp dport 8018 drop
		ip daddr `+mvCIC+` udp dport 6235 reject with icmp type port-unreachable
	}
}
`)
	n.nft(sa, `table ip mvfw {
	chain input {
		type filter hook input priority 0; policy accept;
		ip daddr `+mvAgentCoS+` tcp dport 21002 reject with tcp reset
	}
}
`)

	capture := n.startCapture(mvMaxPkts)

	// Servers.
	listen := func(ns, ip string, port int) {
		p := n.start(ns, "socat", fmt.Sprintf("TCP-LISTEN:%d,bind=%s,reuseaddr,fork", port, ip), "SYSTEM:read line; echo ok")
		n.waitListening(ns, "tcp", port, p)
	}
	listen(gs, mvCIC, 3952)       // Session Manager
	listen(gc, mvGWS, 3952)       // a workstation listening on 3952: the CIC server's wrong-way connection
	listen(sa, mvAgentCoS, 21018) // Sinch Agent Server
	notifier := n.start(gs, "openssl", "s_server", "-accept", mvCIC+":5597", "-cert", cert, "-key", key, "-naccept", "1", "-quiet")
	n.waitListening(gs, "tcp", 5597, notifier)
	web := n.start(gs, "openssl", "s_server", "-accept", mvIMS+":443", "-cert", cert, "-key", key, "-naccept", "1", "-www")
	n.waitListening(gs, "tcp", 443, web)
	dns := n.start(gs, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		"--pid-file=", "--user=root", "--bind-interfaces", "--listen-address="+mvDNS,
		"--address=/cic.mv.test/"+mvCIC, "--log-queries", "--log-facility=-")
	n.waitListening(gs, "udp", 53, dns)
	uas := func(ns, sipIP, transport, mediaIP string, mediaPort int) {
		p := n.start(ns, "sipp", "-sn", "uas", "-nostdin", "-rtp_echo", "-t", transport,
			"-i", sipIP, "-p", "5060", "-mi", mediaIP, "-mp", fmt.Sprint(mediaPort))
		n.waitListening(ns, map[string]string{"u1": "udp", "t1": "tcp"}[transport], 5060, p)
	}
	uas(gs, mvCIC, "u1", mvIMS, mvIMSRTPIn)
	uas(gs, mvCIC, "t1", mvIMS, mvIMSRTPOut)
	uas(ss, mvBridge, "u1", mvMRS, mvMRSRTPIn)
	uas(ss, mvBridge, "t1", mvMRS, mvMRSRTPOut)

	// The four calls run in the background while the other clients run.
	var calls []*e2eProc
	uac := func(ns, ip, transport, to string, sipPort, mediaPort int) {
		calls = append(calls, n.start(ns, "sipp", "-sf", scenario, "-nostdin", "-t", transport,
			"-i", ip, "-p", fmt.Sprint(sipPort), "-mi", ip, "-mp", fmt.Sprint(mediaPort),
			"-m", "1", "-timeout", "20s", "-timeout_error", to+":5060"))
	}
	uac(gc, mvPhone, "u1", mvCIC, 5062, mvPhoneRTPIn)
	uac(gc, mvPhone, "t1", mvCIC, 5063, mvPhoneRTPOut)
	uac(sc, mvPSTN, "u1", mvBridge, 5062, mvPSTNRTPIn)
	uac(sc, mvPSTN, "t1", mvBridge, 5063, mvPSTNRTPOut)

	connect := func(ns, from, to string, port int) {
		t.Helper()
		out, err := n.runIn(ns, "hello\n", 10*time.Second, "socat", "-t", "1", "-",
			fmt.Sprintf("TCP:%s:%d,bind=%s,connect-timeout=3", to, port, from))
		if err != nil || !strings.Contains(out, "ok") {
			t.Fatalf("socat %s -> %s:%d: %v\n%s", from, to, port, err, out)
		}
	}
	connect(gc, mvGWS, mvCIC, 3952)       // Genesys workstation -> Session Manager
	connect(sc, mvSWS, mvCIC, 3952)       // Sinch workstation -> Genesys Session Manager
	connect(gs, mvCIC, mvGWS, 3952)       // CIC server -> workstation: the wrong way
	connect(ss, mvMRS, mvAgentCoS, 21018) // MRS -> Agent Server ("Internal")
	connect(sc, mvSWS, mvAgentCoS, 21018) // Sinch workstation -> Agent Server

	if out := n.run(gc, "openssl", "s_client", "-connect", mvCIC+":5597", "-bind", mvGWS+":0", "-servername", "cic.mv.test"); !strings.Contains(out, "New, TLS") {
		t.Fatalf("s_client to Notifier did not complete a handshake:\n%s", out)
	}
	notifier.wait(t, 5*time.Second)
	if out := n.run(gc, "curl", "-sk", "--max-time", "5", "--interface", mvGWS, "https://"+mvIMS+"/"); !strings.Contains(out, "s_server") {
		t.Fatalf("curl to the Media Server web interface:\n%s", out)
	}
	web.wait(t, 5*time.Second)
	if answer := n.run(gc, "dig", "-b", mvPhone, "@"+mvDNS, "cic.mv.test", "A", "+short", "+time=2", "+tries=2"); strings.TrimSpace(answer) != mvCIC {
		t.Fatalf("dig answered %q, want %s", answer, mvCIC)
	}

	// Blocked attempts: a dropped SYN (S0), a reset (REJ), ICMP port
	// unreachable. Each is one attempt: connect-timeout 2 s lets the SYN
	// be retransmitted once on the same 4-tuple.
	if out, err := n.runIn(gc, "", 10*time.Second, "socat", "-", fmt.Sprintf("TCP:%s:8018,bind=%s,connect-timeout=2", mvCIC, mvGWS)); err == nil {
		t.Fatalf("connect to the dropped port 8018 succeeded:\n%s", out)
	}
	if out, err := n.runIn(sc, "", 10*time.Second, "socat", "-", fmt.Sprintf("TCP:%s:21002,bind=%s,connect-timeout=2", mvAgentCoS, mvSWS)); err == nil || !strings.Contains(out, "refused") {
		t.Fatalf("connect to the rejected port 21002: %v, want connection refused:\n%s", err, out)
	}
	// socat reads the ICMP port unreachable as ECONNREFUSED.
	if out, err := n.runIn(gc, "probe\n", 10*time.Second, "socat", "-t", "1", "-", fmt.Sprintf("UDP:%s:6235,bind=%s", mvCIC, mvGWS)); err == nil || !strings.Contains(out, "refused") {
		t.Fatalf("UDP to the rejected port 6235: %v, want connection refused (ICMP port unreachable):\n%s", err, out)
	}

	// A Genesys phone's SIP to the Sinch SIP Bridge: no document connects
	// them (the sipp uas there ignores an out-of-call OPTIONS).
	options := strings.Join([]string{
		"OPTIONS sip:bridge@" + mvBridge + ":5060 SIP/2.0",
		"Via: SIP/2.0/UDP " + mvPhone + ":5064;branch=z9hG4bK-mv-options",
		"From: <sip:phone@" + mvPhone + ">;tag=mv1",
		"To: <sip:bridge@" + mvBridge + ">",
		"Call-ID: mv-options@" + mvPhone,
		"CSeq: 1 OPTIONS",
		"Max-Forwards: 70",
		"Content-Length: 0",
		"", ""}, "\r\n")
	if out, err := n.runIn(gc, options, 10*time.Second, "socat", "-t", "0.5", "-", fmt.Sprintf("UDP:%s:5060,bind=%s:5064", mvBridge, mvPhone)); err != nil {
		t.Fatalf("socat OPTIONS to the SIP Bridge: %v\n%s", err, out)
	}

	for _, c := range calls {
		c.wait(t, 25*time.Second)
	}
	return capture.stop(t)
}

// mvReplay replays the capture through the CLI against a site inventory.
func mvReplay(t *testing.T, capture, site, out string) *e2eResult {
	t.Helper()
	stdout, stderr, code := runCLI(t, "replay", "--json", "--site", site, "--out", out, capture)
	if code != exitOK {
		t.Fatalf("auditor replay: exit %d\n%s%s", code, stdout, stderr)
	}
	r := &e2eResult{}
	if err := json.Unmarshal([]byte(stdout), &r.sum); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, stdout)
	}
	var err error
	if r.flows, err = parquetout.ReadFlows(filepath.Join(out, "flows.parquet")); err != nil {
		t.Fatal(err)
	}
	if r.findings, err = parquetout.ReadFindings(filepath.Join(out, "findings.parquet")); err != nil {
		t.Fatal(err)
	}
	if r.calls, err = parquetout.ReadCalls(filepath.Join(out, "calls.parquet")); err != nil {
		t.Fatal(err)
	}
	return r
}

const (
	mvG = "genesys-pureconnect"
	mvS = "sinch-contact-center"
)

// mvFindingsExpect: the findings of the replay against the inventory with
// its expect list; the missing ones concern the listed entries only.
var mvFindingsExpect = []mvFinding{
	// Blocked: S0, REJ and ICMP, each on a documented port of its vendor.
	{kind: "blocked", severity: "high", vendor: mvG, entry: mvG + "/session-manager-ion", src: mvGWS, dst: mvCIC, dport: 8018,
		doc: "Session Manager ION TCP 8018: SYN dropped (S0)"},
	{kind: "blocked", severity: "high", vendor: mvG, entry: mvG + "/notifier-udp", src: mvGWS, dst: mvCIC, dport: 6235,
		doc: "Notifier UDP 6235: ICMP port unreachable"},
	{kind: "blocked", severity: "high", vendor: mvS, entry: mvS + "/connection-server-clients", src: mvSWS, dst: mvAgentCoS, dport: 21002,
		doc: "Connection Server TCP 21002 For clients: RST (REJ)"},
	// Unexpected between roles no entry connects, one across the vendors.
	{kind: "unexpected", severity: "medium", vendor: mvG, entry: mvG + "/session-manager", src: mvSWS, dst: mvCIC, dport: 3952,
		doc: "a Sinch workstation is not a Genesys client"},
	{kind: "unexpected", severity: "medium", vendor: mvS, entry: mvS + "/agent-server", src: mvSWS, dst: mvAgentCoS, dport: 21018,
		doc: "Agent Server TCP 21018 Internal: contact center servers only"},
	{kind: "unexpected", severity: "medium", vendor: mvG, entry: mvG + "/sip", src: mvPhone, dst: mvBridge, dport: 5060,
		doc: "a Genesys phone's SIP to the Sinch SIP Bridge: S SIP Bridge UDP 5060 is Trunk side"},
	{kind: "wrong-direction", severity: "medium", vendor: mvG, entry: mvG + "/session-manager", src: mvCIC, dst: mvGWS, dport: 3952,
		doc: "the client opens Session Manager 3952 on the CIC server"},
	// Media outside the documented ranges.
	{kind: "media-outside-documented-range", severity: "medium", vendor: mvG, entry: mvG + "/media-server-rtp", src: mvPhone, dst: mvIMS, dport: mvIMSRTPOut,
		doc: "Interaction Media Server RTP 16384-32767"},
	{kind: "media-outside-documented-range", severity: "medium", vendor: mvS, entry: mvS + "/mrs-prompts", src: mvPSTN, dst: mvMRS, dport: mvMRSRTPOut,
		disagree: "sinch-media-outside-range-without-entry",
		doc:      `"The required port area starts from the First Port of Prompt Area (default value is 8000), and extends to twice the number defined for Maximum Number of Simultaneous Prompts": the finding is about that entry's range, which its reason cites, but carries no vendor or entry`},
	// Missing: the attempts failed.
	{kind: "missing", severity: "high", vendor: mvG, entry: mvG + "/session-manager-ion", pairs: "10.88.0.21 -> 10.88.0.10",
		doc: "the only attempt was dropped"},
	{kind: "missing", severity: "high", vendor: mvG, entry: mvG + "/notifier-udp", pairs: "10.88.0.21 -> 10.88.0.10; 10.88.0.11 -> 10.88.0.10",
		doc: "Notifier is used by the Interaction Desktop and the Media Server; the desktop's attempt was rejected"},
	{kind: "missing", severity: "high", vendor: mvS, entry: mvS + "/connection-server-clients", pairs: "10.88.0.41 -> 10.88.0.60",
		doc: "the client's attempt was reset"},
	// Missing per pair: the desktop's Notifier worked, the Media Server's
	// never happened.
	{kind: "missing", severity: "medium", vendor: mvG, entry: mvG + "/notifier-tls", pairs: "10.88.0.11 -> 10.88.0.10",
		doc: "Notifier TCP 5597 from the Interaction Media Server to the CIC server"},
	{kind: "missing", severity: "medium", vendor: mvS, entry: mvS + "/mrs", pairs: "any cc-server -> 10.88.0.61",
		doc: "MRS TCP 21010 Internal: no contact center server connected"},
	// No mrs-prompts finding: the gateway's call used the prompt area, and
	// "Typically calls from CDT to CDT are point to point ... Also all
	// calls going via a PSTN gateway (on server network) are consuming
	// ports on a MRS server" names no other host that must; the desktop's
	// own media is judged by cdt-rtp. The Agent Server/CoS and the SIP
	// Bridge, contact center servers by implication, send it no RTP.
}

// mvFindingsNoExpect: without expect every required entry whose roles
// have hosts is checked; these are the entries the site's traffic never
// showed, added to mvFindingsExpect.
var mvFindingsNoExpect = []mvFinding{
	mvMissing(mvG, "cic-sip-8060", "10.88.0.31 <-> 10.88.0.10", "SIP Communication: CIC SIP 8060"),
	mvMissing(mvG, "clientapp", "10.88.0.21 -> 10.88.0.10", "Interactive Update: 8094"),
	mvMissing(mvG, "clientconfig", "10.88.0.21 -> 10.88.0.10", "Interactive Update: 8042"),
	mvMissing(mvG, "interactive-update-client", "10.88.0.21 -> 10.88.0.10", "Interactive Update: 8092"),
	mvMissing(mvG, "fax-retrieval-http", "10.88.0.11 -> 10.88.0.10", "Interaction Media Server: fax retrieval HTTP 8112"),
	mvMissing(mvG, "mgmt-hpilo", "10.88.0.21 -> 10.88.0.10", "RDP and Management Interfaces: HP iLO 443 (the Media Server's pair worked through the HTTPS flow)"),
	mvMissing(mvG, "mgmt-http", "10.88.0.21 -> 10.88.0.11", "RDP and Management Interfaces: HTTP 80"),
	mvMissing(mvG, "mgmt-rdp", "10.88.0.21 -> 10.88.0.10; 10.88.0.21 -> 10.88.0.11", "RDP and Management Interfaces: RDP 3389"),
	mvMissing(mvG, "notifier-ion-tls", "10.88.0.21 -> 10.88.0.10; 10.88.0.11 -> 10.88.0.10", "Notifier ION TLS 6234"),
	mvMissing(mvG, "notifier-tcp", "10.88.0.21 -> 10.88.0.10; 10.88.0.11 -> 10.88.0.10", "Notifier TCP 2633"),
	mvMissing(mvG, "prompt-server", "10.88.0.11 -> 10.88.0.10", "Interaction Media Server: Prompt Server 8098"),
	mvMissing(mvG, "recording-retrieval-http", "any cic-server,irrcs -> 10.88.0.11", "Interaction Media Server: recording retrieval HTTP 8102"),
	mvMissing(mvG, "session-manager-ion-tls", "10.88.0.21 -> 10.88.0.10", "Session Manager ION TLS 8019/8109"),
	mvMissing(mvG, "sip-provisioning-http", "10.88.0.31 -> 10.88.0.10", "IP Phone Operations: provisioning HTTP 8088"),
	mvMissing(mvG, "smb", "10.88.0.21 -> 10.88.0.10", "Client operations: SMB 445"),
	mvMissing(mvG, "sso-secure-token-server", "10.88.0.21 <-> 10.88.0.10", "Single Sign-On: Secure Token Server 8043"),
	mvMissing(mvG, "sso-session-manager", "10.88.0.21 <-> 10.88.0.10", "Single Sign-On: Session Manager 8019"),
	// A gateway's media reaches a desktop through the MRS ("all calls
	// going via a PSTN gateway ... are consuming ports on a MRS server"):
	// the desktop's peers are other desktops and the MRS.
	mvMissing(mvS, "cdt-rtp", "any workstation,mrs -> 10.88.0.41", "CDT: UDP 5004-5030 even ports RTP"),
	mvMissing(mvS, "cdt-rtcp", "any workstation,mrs -> 10.88.0.41", "CDT: UDP 5005-5031 odd ports RTCP"),
	mvMissing(mvS, "connection-server-servers", "any cc-server -> 10.88.0.60", "Connection Server: TCP 21017 For servers"),
	mvMissing(mvS, "sip-bridge-gatekeeper", "any cc-server -> 10.88.0.62", "SIP Bridge: TCP 21006 gatekeeper"),
	mvMissing(mvS, "sip-bridge-gateway", "any cc-server -> 10.88.0.62", "SIP Bridge: TCP 21007 gateway"),
	mvMissing(mvS, "sip-bridge-trunk-tls", "10.88.0.51 <-> 10.88.0.62", "SIP Bridge: TLS 5061 Trunk side"),
	// Alternatives the document draws side by side, "HTTP ... /
	// HTTPS ...", "TCP 8102/TLS 8103", "SIP TCP/UDP 5060 ... TLS/TCP
	// 5061": a host pair uses one, so one working variant satisfies the
	// pair and a silent pair gets one finding (the first entry, naming the
	// others), not one per variant.
	mvAlternative("media-server-web-http", "media-server-web-alternatives",
		`Interaction Media Server (Software Only): "HTTP TCP 8084 /WAN  TCP/TLS 443 /WAN", the browser's two ways to one web interface; the HTTPS one worked from 10.88.0.21`),
	mvAlternative("sip-tls", "sip-tls-alternative",
		`IP phone to CIC server: "SIP TCP/UDP 5060 /WAN  TLS/TCP 5061": SIP over UDP and TCP 5060 worked between 10.88.0.31 and 10.88.0.10`),
	mvAlternative("cic-sip-8061-tls", "cic-sip-8061-tls-alternative",
		`"SIP TCP/UDP 8060 /WAN ... TLS/TCP 8061 /WAN": the TLS variant of 8060, whose own finding stands for the pair`),
	mvAlternative("fax-retrieval-https", "fax-retrieval-alternatives",
		`"HTTP Fax Retrieval TCP 8112 /WAN  HTTPS Fax Retrieval TCP 8113 /WAN": fax-retrieval-http's finding stands for the pair`),
	mvAlternative("recording-retrieval-https", "recording-retrieval-alternatives",
		`"HTTP Recording Retrieval TCP 8102/TLS 8103 /WAN": one row, two ports; recording-retrieval-http's finding stands for the pair`),
	mvAlternative("sip-provisioning-https", "sip-provisioning-alternatives",
		`"HTTP (Provisioning) TCP 8088 /WAN  HTTPS (Provisioning) TCP 8089 /WAN": sip-provisioning-http's finding stands for the pair`),
	mvAlternative("sip-bridge-provisioning-https", "sip-bridge-provisioning-alternatives",
		`"HTTP (Provisioning) TCP 8078 /WAN  HTTPS (Provisioning) TCP 8079 /WAN", drawn from the soft phone to the SIP Bridge: this site has neither, so neither variant is required`),
	{kind: "missing", vendor: mvS, entry: mvS + "/mrs-recording", absent: true,
		disagree: "mrs-recording-required-without-server-side-recording",
		doc:      `"Server-side recording and NAT services require relaying all voice streams to a MRS server": the recording area is needed where the site records on the server, which this site does not`},
}

// mvAlternative is a Genesys entry the document draws as an alternative
// of another: no finding of its own is due.
func mvAlternative(entry, disagree, doc string) mvFinding {
	return mvFinding{kind: "missing", vendor: mvG, entry: mvG + "/" + entry, absent: true, disagree: disagree, doc: doc}
}

func mvMissing(vendor, entry, pairs, doc string) mvFinding {
	return mvFinding{kind: "missing", severity: "medium", vendor: vendor, entry: vendor + "/" + entry, pairs: pairs, doc: doc}
}

// TestMultiVendorInventoryValidates: the end-to-end site's inventory is
// one a user can check, without problems or warnings (its hosts share an
// address only where the Sinch document expects component packages on one
// server), and with an unqualified shared role it would not be.
func TestMultiVendorInventoryValidates(t *testing.T) {
	const site = "testdata/e2e/multivendor-site.yaml"
	stdout, stderr, code := runCLI(t, "catalog", "validate", site)
	if code != exitOK || !strings.HasPrefix(stdout, "ok: ") || stderr != "" {
		t.Fatalf("catalog validate %s: exit %d\n%s%s", site, code, stdout, stderr)
	}
	data, err := os.ReadFile(site)
	if err != nil {
		t.Fatal(err)
	}
	unqualified := strings.Replace(string(data), "sinch-contact-center/workstation:", "workstation:", 1)
	path := filepath.Join(t.TempDir(), "unqualified.yaml")
	if err := os.WriteFile(path, []byte(unqualified), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runCLI(t, "catalog", "validate", path)
	if code == exitOK || !strings.Contains(stdout+stderr, `"sinch-contact-center/workstation"`) {
		t.Errorf("catalog validate with an unqualified workstation: exit %d, want a failure naming the qualified roles\n%s%s", code, stdout, stderr)
	}
}

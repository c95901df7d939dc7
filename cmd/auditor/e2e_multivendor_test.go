//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
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
	t.Run("expect", func(t *testing.T) {
		r := mvReplay(t, capture, withExpect, filepath.Join(n.dir, "out-expect"))
		mvDump(t, r)
	})
	t.Run("no-expect", func(t *testing.T) {
		r := mvReplay(t, capture, noExpect, filepath.Join(n.dir, "out-noexpect"))
		mvDump(t, r)
	})
	t.Logf("timing: peers and capture %v, total %v", peers.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

func mvDump(t *testing.T, r *e2eResult) {
	for i := range r.flows {
		f := &r.flows[i]
		t.Logf("FLOW %s %s:%d>%s:%d %s %s | %s %s %s %s->%s", f.Proto, f.SrcIP, f.SrcPort, f.DstIP, f.DstPort, f.State, f.History, f.Verdict, f.Vendor, f.EntryID, f.FromRole, f.ToRole)
	}
	for _, g := range r.findings {
		t.Logf("FINDING %s %s %s %s>%s:%d %s %s pairs=%q ports=%q | %s", g.Kind, g.Severity, g.Proto, g.SrcIP, g.DstIP, g.DstPort, g.Vendor, g.EntryID, g.HostPairs, g.Ports, g.Reason)
	}
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
	if out, err := n.runIn(gc, "probe\n", 10*time.Second, "socat", "-t", "1", "-", fmt.Sprintf("UDP:%s:6235,bind=%s", mvCIC, mvGWS)); err != nil {
		t.Logf("socat udp 6235: %v %s", err, out)
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

var _ = sort.Strings
var _ sync.Mutex

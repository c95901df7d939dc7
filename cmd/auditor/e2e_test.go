//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ccaudit/auditor/report/parquetout"
)

// The end-to-end tests need root, network namespaces and the peers
// (packages sip-tester, dnsmasq-base, bind9-dnsutils, openssl, tcpdump,
// iproute2). Without them they skip, unless AUDITOR_E2E=require.
//
//	sudo go test ./cmd/auditor -run E2E -v

// e2eResult is what a replay of an end-to-end capture produced.
type e2eResult struct {
	sum      replaySummary
	flows    []parquetout.FlowRow
	findings []parquetout.FindingRow
	calls    []parquetout.CallRow
}

// e2eReplay replays a capture through the CLI, as a user would, and reads
// back the summary and the Parquet outputs.
func e2eReplay(t *testing.T, capture string) *e2eResult {
	t.Helper()
	out := filepath.Join(filepath.Dir(capture), "auditor-out")
	stdout, stderr, code := runCLI(t, "replay", "--json", "--out", out, capture)
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
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay summary: %s", stdout)
			for i := range r.flows {
				t.Logf("flow %s", e2eFlowLine(&r.flows[i]))
			}
		}
	})
	return r
}

func e2eFlowLine(f *parquetout.FlowRow) string {
	return fmt.Sprintf("%s %s:%d > %s:%d out=%d in=%d %s %s icmp=%d | %s app=%s sni=%s name=%s tls=%s ja4=%s call=%s",
		f.Proto, f.SrcIP, f.SrcPort, f.DstIP, f.DstPort, f.PacketsOut, f.PacketsIn, f.State, f.History, f.ICMPUnreach,
		f.Verdict, f.App, f.SNI, f.ServerName, f.TLSVersion, f.JA4, f.CallID)
}

// copyPcapPrefix writes the first n packets of src to dst.
func copyPcapPrefix(t *testing.T, src, dst string, n int) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := pcapgo.NewWriter(out)
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: packet %d: %v", src, i+1, err)
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

const (
	e2eCalls    = 5
	e2eSIPPort  = 5060
	e2eUASMedia = 6000 // sipp uas -mp: every call's answer names it
	e2eUACMedia = 7000 // sipp uac -mp: the base of [auto_media_port]
)

// TestE2ESIPCallsWithRTP places concurrent calls with sipp, RTP played by
// the caller and echoed by the callee, and checks that the replay finds
// every call, answered, with media on every negotiated stream, and ties
// each media flow to its call.
func TestE2ESIPCallsWithRTP(t *testing.T) {
	began := time.Now()
	n := newE2ENet(t, "sipp")
	copyPcapPrefix(t, "../../testdata/pcaps/sip-rtp/g711a.pcap", filepath.Join(n.dir, "g711a.pcap"), 50)
	scenario, err := filepath.Abs("testdata/e2e/uac-pcma.xml")
	if err != nil {
		t.Fatal(err)
	}

	capture := n.startCapture(20000)
	uas := n.start(n.server, "sipp", "-sn", "uas", "-nostdin", "-rtp_echo",
		"-i", e2eServerIP, "-p", fmt.Sprint(e2eSIPPort), "-mi", e2eServerIP, "-mp", fmt.Sprint(e2eUASMedia))
	n.waitListening(n.server, "udp", e2eSIPPort, uas)
	n.waitListening(n.server, "udp", e2eUASMedia, uas)
	// All calls overlap: they start 200 ms apart and last 2 s, so the
	// callee's shared media endpoint is expected by several calls at once.
	uac := n.start(n.client, "sipp", "-sf", scenario, "-nostdin",
		"-i", e2eClientIP, "-p", fmt.Sprint(e2eSIPPort), "-mi", e2eClientIP, "-mp", fmt.Sprint(e2eUACMedia),
		"-m", fmt.Sprint(e2eCalls), "-r", fmt.Sprint(e2eCalls), "-l", fmt.Sprint(e2eCalls),
		"-timeout", "20s", "-timeout_error", fmt.Sprintf("%s:%d", e2eServerIP, e2eSIPPort))
	uac.wait(t, 25*time.Second)
	path := capture.stop(t)
	peers := time.Since(began)

	r := e2eReplay(t, path)
	t.Logf("timing: peers and capture %v, replay %.3fs, total %v", peers.Round(time.Millisecond), r.sum.Elapsed, time.Since(began).Round(time.Millisecond))

	if r.sum.Parsers == nil || r.sum.Parsers.SIPCalls != e2eCalls {
		t.Errorf("summary parsers %+v, want %d SIP calls", r.sum.Parsers, e2eCalls)
	}
	if len(r.calls) != e2eCalls {
		t.Fatalf("calls.parquet has %d calls, sipp placed %d", len(r.calls), e2eCalls)
	}
	callIDs := map[string]bool{}
	for _, c := range r.calls {
		callIDs[c.CallID] = true
		where := fmt.Sprintf("call %s", c.CallID)
		if c.FinalStatus != 200 || c.Answer.IsZero() || c.End.IsZero() {
			t.Errorf("%s: final status %d, answered %v, ended %v (%s): want answered with 200 and ended", where, c.FinalStatus, c.Answer, c.End, c.EndReason)
		}
		if c.CallerIP != e2eClientIP || c.CalleeIP != e2eServerIP || c.Transport != "udp" {
			t.Errorf("%s: %s -> %s over %s, want %s -> %s over udp", where, c.CallerIP, c.CalleeIP, c.Transport, e2eClientIP, e2eServerIP)
		}
		if c.Findings != "" || c.StreamsDropped != 0 {
			t.Errorf("%s: findings %q, %d streams dropped", where, c.Findings, c.StreamsDropped)
		}
		if len(c.Media) != 1 {
			t.Errorf("%s: %d media streams, want the one audio stream", where, len(c.Media))
		}
		for _, m := range c.Media {
			if m.Missing || m.OneWay || m.Packets == 0 || m.Flows == 0 {
				t.Errorf("%s: stream %d (%s -> %s): missing=%v one_way=%v flows=%d packets=%d, want RTP both ways",
					where, m.Index, m.CallerRTP, m.CalleeRTP, m.Missing, m.OneWay, m.Flows, m.Packets)
			}
			if callee := fmt.Sprintf("%s:%d", e2eServerIP, e2eUASMedia); m.CalleeRTP != callee {
				t.Errorf("%s: callee RTP %s, want %s from the uas answer", where, m.CalleeRTP, callee)
			}
		}
	}
	if len(callIDs) != e2eCalls {
		t.Errorf("%d distinct Call-IDs in %d calls", len(callIDs), len(r.calls))
	}

	var sip, media int
	mediaCalls := map[string]string{} // caller media endpoint -> call
	for i := range r.flows {
		f := &r.flows[i]
		switch {
		case f.Proto == "udp" && f.SrcPort == e2eSIPPort && f.DstPort == e2eSIPPort:
			sip++
			if f.App != "sip" {
				t.Errorf("SIP flow %s: app %q, want sip", e2eFlowLine(f), f.App)
			}
		case f.Proto == "udp" && (f.SrcPort == e2eUASMedia || f.DstPort == e2eUASMedia):
			media++
			if f.Verdict != "negotiated" || f.App != "rtp" || !callIDs[f.CallID] {
				t.Errorf("media flow %s: want verdict negotiated, app rtp and the Call-ID of a call", e2eFlowLine(f))
			}
			if f.PacketsOut == 0 || f.PacketsIn == 0 {
				t.Errorf("media flow %s: want RTP both ways (uas -rtp_echo)", e2eFlowLine(f))
			}
			caller := fmt.Sprintf("%s:%d", f.SrcIP, f.SrcPort)
			if f.SrcIP != e2eClientIP {
				caller = fmt.Sprintf("%s:%d", f.DstIP, f.DstPort)
			}
			if prev, dup := mediaCalls[caller]; dup {
				t.Errorf("two media flows from %s (calls %s and %s)", caller, prev, f.CallID)
			}
			mediaCalls[caller] = f.CallID
		}
	}
	if sip != 1 {
		t.Errorf("%d SIP flows between the sipp ports, want 1 (sipp uses one UDP socket)", sip)
	}
	if media != e2eCalls {
		t.Errorf("%d media flows, want one per call (%d)", media, e2eCalls)
	}
	// Each call's stream names the caller endpoint the flow it was tied to
	// came from: the shared callee endpoint did not mix the calls up.
	for _, c := range r.calls {
		for _, m := range c.Media {
			if got := mediaCalls[m.CallerRTP]; got != c.CallID {
				t.Errorf("call %s offered %s, but the flow from there carries Call-ID %q", c.CallID, m.CallerRTP, got)
			}
		}
	}
}

const (
	e2eName    = "svc.e2e.test"
	e2eTLS12   = 4412
	e2eTLS13   = 4413
	e2eDNSPort = 53
	e2eRefused = 1433 // a catalog port (SQL Server), so the attempt is judged blocked
	e2eMaxPkts = 5000
)

// TestE2EDNSAndTLS resolves a name with dig from dnsmasq, then connects to
// it with openssl s_client over TLS 1.2 and TLS 1.3, and checks the names,
// versions and fingerprints the replay attaches to the flows.
func TestE2EDNSAndTLS(t *testing.T) {
	began := time.Now()
	n := newE2ENet(t, "dnsmasq", "dig", "openssl")
	cert, key := filepath.Join(n.dir, "cert.pem"), filepath.Join(n.dir, "key.pem")
	if out, err := exec.CommandContext(n.ctx, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN="+e2eName).CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}

	capture := n.startCapture(e2eMaxPkts)
	dns := n.start(n.server, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		"--pid-file=", "--user=root", "--bind-interfaces", "--listen-address="+e2eServerIP,
		"--address=/"+e2eName+"/"+e2eServerIP, "--log-queries", "--log-facility=-")
	servers := map[int]*e2eProc{}
	for port, version := range map[int]string{e2eTLS12: "-tls1_2", e2eTLS13: "-tls1_3"} {
		servers[port] = n.start(n.server, "openssl", "s_server", "-accept", fmt.Sprintf("%s:%d", e2eServerIP, port),
			"-cert", cert, "-key", key, version, "-naccept", "1")
	}
	n.waitListening(n.server, "udp", e2eDNSPort, dns)
	for port, p := range servers {
		n.waitListening(n.server, "tcp", port, p)
	}

	answer := n.run(n.client, "dig", "@"+e2eServerIP, e2eName, "A", "+short", "+time=2", "+tries=2")
	if strings.TrimSpace(answer) != e2eServerIP {
		t.Fatalf("dig %s answered %q, want %s", e2eName, answer, e2eServerIP)
	}
	for _, c := range []struct {
		port    int
		flag    string
		version string
	}{{e2eTLS12, "-tls1_2", "TLSv1.2"}, {e2eTLS13, "-tls1_3", "TLSv1.3"}} {
		out := n.run(n.client, "openssl", "s_client", "-connect", fmt.Sprintf("%s:%d", e2eServerIP, c.port),
			"-servername", e2eName, c.flag)
		if !strings.Contains(out, "New, "+c.version+",") {
			t.Fatalf("s_client to port %d did not negotiate %s:\n%s", c.port, c.version, out)
		}
		// -naccept 1: the server exits once the connection closed, so
		// its close is in the capture too.
		servers[c.port].wait(t, 5*time.Second)
	}
	path := capture.stop(t)
	peers := time.Since(began)

	r := e2eReplay(t, path)
	t.Logf("timing: peers and capture %v, replay %.3fs, total %v", peers.Round(time.Millisecond), r.sum.Elapsed, time.Since(began).Round(time.Millisecond))

	if p := r.sum.Parsers; p == nil || p.DNSQueries < 1 || p.DNSResponses < 1 || p.TLSHandshakes != 2 {
		t.Errorf("summary parsers %+v, want the DNS query and response and 2 TLS client hellos", p)
	}
	var dnsFlows int
	tls := map[int32]*parquetout.FlowRow{}
	for i := range r.flows {
		f := &r.flows[i]
		switch {
		case f.Proto == "udp" && f.DstIP == e2eServerIP && f.DstPort == e2eDNSPort:
			dnsFlows++
			if f.App != "dns" || f.PacketsIn == 0 {
				t.Errorf("DNS flow %s: want app dns, answered", e2eFlowLine(f))
			}
		case f.Proto == "tcp" && f.DstIP == e2eServerIP && (f.DstPort == e2eTLS12 || f.DstPort == e2eTLS13):
			if tls[f.DstPort] != nil {
				t.Errorf("second flow to port %d: %s", f.DstPort, e2eFlowLine(f))
			}
			tls[f.DstPort] = f
		}
	}
	if dnsFlows == 0 {
		t.Error("no DNS flow to dnsmasq")
	}
	for _, c := range []struct {
		port    int32
		version string
		ja4     string
	}{{e2eTLS12, "TLS 1.2", "t12"}, {e2eTLS13, "TLS 1.3", "t13"}} {
		f := tls[c.port]
		if f == nil {
			t.Errorf("no TLS flow to port %d", c.port)
			continue
		}
		if f.SNI != e2eName || f.ServerName != e2eName {
			t.Errorf("TLS flow %s: sni %q, server_name %q, want %s from the ClientHello and the DNS answer", e2eFlowLine(f), f.SNI, f.ServerName, e2eName)
		}
		if f.TLSVersion != c.version || !strings.HasPrefix(f.JA4, c.ja4) {
			t.Errorf("TLS flow %s: tls_version %q ja4 %q, want %s and a JA4 starting %s", e2eFlowLine(f), f.TLSVersion, f.JA4, c.version, c.ja4)
		}
		if f.State != "SF" && f.State != "RSTO" && f.State != "RSTR" {
			t.Errorf("TLS flow %s: state %s, want an established connection", e2eFlowLine(f), f.State)
		}
	}
}

// TestE2ETCPRefused connects to a port nothing listens on, over IPv4 and
// IPv6; the kernel answers the SYN with RST, and the replay must show a
// refused (REJ) attempt, judged blocked on a catalog port.
func TestE2ETCPRefused(t *testing.T) {
	began := time.Now()
	n := newE2ENet(t)
	capture := n.startCapture(e2eMaxPkts)
	targets := []netip.AddrPort{
		netip.AddrPortFrom(netip.MustParseAddr(e2eServerIP), e2eRefused),
		netip.AddrPortFrom(netip.MustParseAddr(e2eServerIP6), e2eRefused),
	}
	for _, to := range targets {
		if err := n.dial(n.client, to.String()); !isRefused(err) {
			t.Fatalf("connect to closed %s: %v, want connection refused", to, err)
		}
	}
	path := capture.stop(t)
	r := e2eReplay(t, path)
	t.Logf("timing: total %v, replay %.3fs", time.Since(began).Round(time.Millisecond), r.sum.Elapsed)

	for _, to := range targets {
		var found int
		for i := range r.flows {
			f := &r.flows[i]
			if f.Proto != "tcp" || f.DstIP != to.Addr().String() || f.DstPort != int32(to.Port()) {
				continue
			}
			found++
			if f.State != "REJ" || f.PacketsOut != 1 || f.PacketsIn != 1 {
				t.Errorf("flow %s: want state REJ, one SYN and one RST", e2eFlowLine(f))
			}
			if f.Verdict != "blocked" {
				t.Errorf("flow %s: verdict %q, want blocked", e2eFlowLine(f), f.Verdict)
			}
		}
		if found != 1 {
			t.Errorf("%d flows to %s, want 1", found, to)
		}
		var blocked bool
		for _, g := range r.findings {
			blocked = blocked || g.Kind == "blocked" && g.DstIP == to.Addr().String() && g.DstPort == int32(to.Port())
		}
		if !blocked {
			t.Errorf("no blocked finding for %s", to)
		}
	}
}

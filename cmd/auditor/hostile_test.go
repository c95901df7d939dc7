package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ccaudit/auditor/internal/duckdbtest"
	"github.com/ccaudit/auditor/internal/wiretest"
	"github.com/ccaudit/auditor/report/parquetout"
	"github.com/ccaudit/auditor/report/safetext"
)

// hostilePcap writes a capture whose every parsed string carries bytes
// that are not UTF-8, and backslashes: a TLS ClientHello (SNI, ALPN), an
// HTTP CONNECT and a SOCKS5 request (proxy target, SNI inside), a SIP
// INVITE (URIs, Call-ID, User-Agent) and a DNS query and answer.
func hostilePcap(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := wiretest.NewWriter(f, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	c, s := netip.MustParseAddr("10.10.2.154"), netip.MustParseAddr("10.10.3.162")
	exchange := func(tcp bool, client, server netip.AddrPort, msgs ...[]byte) {
		if err := w.Exchange(tcp, client, server, msgs...); err != nil {
			t.Fatal(err)
		}
	}

	// TLS: a ClientHello offering SNI and ALPN with bytes that are not
	// UTF-8, from a workstation to a phone of the demo site, which no
	// catalog entry allows: an alert.
	exchange(true, netip.AddrPortFrom(c, 50000), netip.AddrPortFrom(s, 443), wiretest.ClientHello("evil\xba\\.example", "\xba\xad"))

	// An explicit proxy asked by HTTP CONNECT, then by SOCKS5 with a
	// domain name, for a host holding a byte that is not UTF-8, a
	// backslash and a control byte; each tunnel carries a ClientHello
	// whose SNI is that host.
	exchange(true, netip.AddrPortFrom(c, 50001), netip.AddrPortFrom(s, 3128),
		[]byte("CONNECT "+hostileConnectHost+":443 HTTP/1.1\r\nHost: "+hostileConnectHost+":443\r\n\r\n"),
		[]byte("HTTP/1.1 200 Connection established\r\n\r\n"),
		wiretest.ClientHello(hostileConnectHost, "h2"))
	socksReq := append([]byte{5, 1, 0, 3, byte(len(hostileSOCKSHost))}, hostileSOCKSHost...)
	exchange(true, netip.AddrPortFrom(c, 50002), netip.AddrPortFrom(s, 1080),
		[]byte{5, 1, 0}, []byte{5, 0},
		append(socksReq, 0x01, 0xbb), []byte{5, 0, 0, 1, 10, 0, 0, 9, 0x01, 0xbb},
		wiretest.ClientHello(hostileSOCKSHost, "h2"))

	// SIP: an INVITE and its answer.
	invite := "INVITE sip:b\xffob@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n" +
		"From: <sip:al\xbaice@example.com>;tag=1\r\n" +
		"To: <sip:b\xffob@example.com>\r\n" +
		"Call-ID: call\xba1@host\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"User-Agent: Phone\xba\xad \\ v1\r\n" +
		"Content-Length: 0\r\n\r\n"
	ok := "SIP/2.0 200 OK\r\n" +
		"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n" +
		"From: <sip:al\xbaice@example.com>;tag=1\r\n" +
		"To: <sip:b\xffob@example.com>;tag=2\r\n" +
		"Call-ID: call\xba1@host\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Server: PBX\xc3\r\n" +
		"Content-Length: 0\r\n\r\n"
	exchange(false, netip.AddrPortFrom(c, 5060), netip.AddrPortFrom(s, 5060), []byte(invite), []byte(ok))

	// DNS: a query and its answer for a name whose label is not ASCII.
	name := wiretest.DNSName("ev\xbail.example")
	q := append([]byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}, name...)
	q = append(q, 0, 1, 0, 1)
	r := append([]byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}, name...)
	r = append(r, 0, 1, 0, 1)
	r = append(r, name...)
	r = append(r, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 2)
	exchange(false, netip.AddrPortFrom(c, 40000), netip.MustParseAddrPort("10.0.0.53:53"), q, r)
}

// The hosts the proxies are asked for: a byte that is not UTF-8 (0xBA;
// 0xFF, and 0xC3 before an ASCII letter), a backslash (one followed by
// "x", one by "x5C", which an escape applied twice would confuse) and a
// control byte (0x01, ESC).
const (
	hostileConnectHost = "ev\xbail\\x\x01.test"
	hostileSOCKSHost   = "so\xff\xc3ks\\x5C\x1b.test"
)

// checkStrings fails t unless every string field of the rows is valid
// UTF-8 and unescapes.
func checkStrings(t *testing.T, v reflect.Value, path string, seen map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		checkStrings(t, v.Elem(), path, seen)
	case reflect.Struct:
		for i := range v.NumField() {
			checkStrings(t, v.Field(i), path+"."+v.Type().Field(i).Name, seen)
		}
	case reflect.Slice:
		for i := range v.Len() {
			checkStrings(t, v.Index(i), path, seen)
		}
	case reflect.String:
		s := v.String()
		if !utf8.ValidString(s) {
			t.Errorf("%s = %q is not UTF-8", path, s)
		}
		raw, err := safetext.Unescape(s)
		if err != nil {
			t.Errorf("%s = %q does not unescape: %v", path, s, err)
		}
		seen[raw] = true
	}
}

// TestReplayHostileStrings replays a capture whose SNI, ALPN, proxy
// targets, SIP URIs, Call-ID, User-Agent, Server and DNS names carry
// bytes that are not UTF-8: every table reads back with parquet-go as valid UTF-8 holding
// the wire's bytes once unescaped, DuckDB reads every table, and every
// alert is JSON.
func TestReplayHostileStrings(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "hostile.pcap")
	hostilePcap(t, pcap)
	out := filepath.Join(dir, "out")
	alertsPath := filepath.Join(dir, "alerts.ndjson")
	if _, stderr, code := runCLI(t, "replay", "--site", "../../testdata/demo-site.yaml", "--alerts", alertsPath, "--out", out, pcap); code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	seen := map[string]bool{}
	flows, err := parquetout.ReadFlows(filepath.Join(out, "flows.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	checkStrings(t, reflect.ValueOf(flows), "flows", seen)
	findings, err := parquetout.ReadFindings(filepath.Join(out, "findings.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	checkStrings(t, reflect.ValueOf(findings), "findings", seen)
	calls, err := parquetout.ReadCalls(filepath.Join(out, "calls.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	checkStrings(t, reflect.ValueOf(calls), "calls", seen)
	dns, err := parquetout.ReadDNS(filepath.Join(out, "dns.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	checkStrings(t, reflect.ValueOf(dns), "dns", seen)
	// The wire's bytes, recovered by unescaping (DNS names are in RFC
	// 1035 presentation form already: \186 for the byte 0xBA).
	for _, want := range []string{hostileConnectHost + ":443", hostileSOCKSHost + ":443", "evil\xba\\.example", "\xba\xad", "call\xba1@host", "Phone\xba\xad \\ v1", "PBX\xc3", `ev\186il.example`} {
		if !seen[want] {
			t.Errorf("no column holds %q once unescaped", want)
		}
	}
	if len(calls) != 1 || !strings.Contains(calls[0].FromURI, `al\xBAice`) {
		t.Errorf("calls: %+v", calls)
	}

	data, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var ev map[string]any
		if !utf8.ValidString(line) || json.Unmarshal([]byte(line), &ev) != nil {
			t.Errorf("alert is not UTF-8 JSON: %q", line)
		}
		alerts++
	}
	if alerts == 0 || !strings.Contains(string(data), `evil\\xBA\\\\.example`) {
		t.Errorf("%d alerts; the TLS flow's should carry its SNI escaped:\n%s", alerts, data)
	}

	res := duckdbtest.Query(t, []string{
		"SELECT count(*) AS n, count(*) FILTER (WHERE alpn = '\\xBA\\xAD' AND sni = 'evil\\xBA\\\\.example') AS tls FROM '" + out + "/flows.parquet'",
		"SELECT count(*) AS n, max(caller_user_agent) AS ua FROM '" + out + "/calls.parquet'",
		"SELECT count(*) AS n, max(query) AS q FROM '" + out + "/dns.parquet'",
		"SELECT count(*) AS n FROM '" + out + "/findings.parquet'",
		"SELECT dst_port AS port, proxy_target AS target, sni, proxy_target = sni || ':443' AS same FROM '" + out + "/flows.parquet' WHERE proxy_target IS NOT NULL ORDER BY dst_port",
	})
	if r := res[0][0]; r["tls"] != "1" {
		t.Errorf("DuckDB flows: %v", r)
	}
	if r := res[1][0]; r["n"] != "1" || r["ua"] != `Phone\xBA\xAD \\ v1` {
		t.Errorf("DuckDB calls: %v", r)
	}
	if r := res[2][0]; r["n"] != "1" || r["q"] != `ev\\186il.example` {
		t.Errorf("DuckDB dns: %v", r)
	}
	// proxy_target holds the target escaped once, by the rule of every
	// string column (report/parquetout/doc.go): the bytes that are not
	// UTF-8 as \xHH, the backslash doubled, the control bytes as they
	// are; the same text as the SNI of the same host.
	wantTargets := []map[string]any{
		{"port": 1080.0, "target": `so\xFF\xC3ks\\x5C` + "\x1b" + `.test:443`, "sni": `so\xFF\xC3ks\\x5C` + "\x1b" + `.test`, "same": true},
		{"port": 3128.0, "target": `ev\xBAil\\x` + "\x01" + `.test:443`, "sni": `ev\xBAil\\x` + "\x01" + `.test`, "same": true},
	}
	if got := res[4]; !reflect.DeepEqual(got, wantTargets) {
		t.Errorf("DuckDB proxy targets:\n got %#v\nwant %#v", got, wantTargets)
	}
	for i, wire := range []string{hostileSOCKSHost, hostileConnectHost} {
		if raw, err := safetext.Unescape(wantTargets[i]["target"].(string)); err != nil || raw != wire+":443" {
			t.Errorf("%q unescapes to %q (%v), not the request's %q", wantTargets[i]["target"], raw, err, wire+":443")
		}
	}
}

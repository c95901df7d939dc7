package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/internal/duckdbtest"
	"github.com/ccaudit/auditor/internal/wiretest"
	"github.com/ccaudit/auditor/report/parquetout"
	"github.com/ccaudit/auditor/report/safetext"
)

// fuzzServices are the conversations a fuzz input can be: each parser the
// auditor runs on a flow's payload is reached by one of them (DNS, SIP,
// TLS and its upgrades, QUIC, RTP).
var fuzzServices = []struct {
	tcp  bool
	port uint16
}{
	{false, 53}, {true, 53}, {false, 5060}, {true, 5060}, {true, 443}, {false, 443},
	{true, 8080}, {true, 1080}, {true, 25}, {true, 5432}, {true, 3389}, {false, 10000},
}

// maxFuzzMessage bounds each message of a fuzz input, so one replay stays
// a few milliseconds.
const maxFuzzMessage = 4 << 10

// fuzzSeed is a fuzz input: the service, then up to seven messages
// alternating from client to server (an empty one lets the other side
// speak twice), and the app its flow is labelled
// with.
type fuzzSeed struct {
	name    string
	service uint8
	msgs    [7][]byte
	app     string
}

// fuzzSeeds start the fuzzer on well-formed conversations whose strings
// are hostile (bytes that are not UTF-8, backslashes, control bytes), and
// are the inputs TestReplayOutputsReadInDuckDB checks with DuckDB.
func fuzzSeeds() []fuzzSeed {
	name := wiretest.DNSName("ev\xbail\\.example")
	query := append([]byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}, name...)
	query = append(query, 0, 1, 0, 1)
	answer := append([]byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}, name...)
	answer = append(answer, 0, 1, 0, 1)
	answer = append(answer, name...)
	answer = append(answer, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 2)
	tcpDNS := func(m []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(m))), m...) }

	sdp := "v=0\r\no=- 1 1 IN IP4 10.10.2.154\r\ns=\xba\r\nc=IN IP4 10.10.2.154\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
	invite := "INVITE sip:b\xffob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.10.2.154:5060;branch=z9hG4bK1\r\n" +
		"From: <sip:al\xbaice@example.com>;tag=1\r\nTo: <sip:b\xffob@example.com>\r\nCall-ID: call\xba1@host\r\n" +
		"CSeq: 1 INVITE\r\nUser-Agent: Phone\xba\xad \\ v1\x01\r\nContent-Type: application/sdp\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(sdp)) + sdp
	ok := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.10.2.154:5060;branch=z9hG4bK1\r\nFrom: <sip:al\xbaice@example.com>;tag=1\r\n" +
		"To: <sip:b\xffob@example.com>;tag=2\r\nCall-ID: call\xba1@host\r\nCSeq: 1 INVITE\r\nServer: PBX\xc3\r\n" +
		"Content-Type: application/sdp\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(sdp)) + sdp

	hello := wiretest.ClientHello("evil\xba\\.example\x07", "\xba\xad")
	serverHello := wiretest.ServerHello(0x0303, 0xc02f)
	socksTarget := "ev\xbail\\x.test"
	socks := append([]byte{5, 1, 0, 3, byte(len(socksTarget))}, socksTarget...)
	socks = append(socks, 1, 187)
	rtp := append([]byte{0x80, 0, 0, 1, 0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef}, make([]byte, 160)...)
	quic := append([]byte{0xc0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x44, 0xd0}, make([]byte, 1200)...)
	return []fuzzSeed{
		{"dns-udp", 0, [7][]byte{query, answer}, "dns"},
		{"dns-tcp", 1, [7][]byte{tcpDNS(query), tcpDNS(answer)}, "dns"},
		{"sip-udp", 2, [7][]byte{[]byte(invite), []byte(ok)}, "sip"},
		{"sip-tcp", 3, [7][]byte{[]byte(invite), []byte(ok)}, "sip"},
		{"tls", 4, [7][]byte{hello, serverHello}, "tls"},
		// A long-header Initial whose protection does not open: no label.
		{"quic", 5, [7][]byte{quic}, ""},
		{"http-connect", 6, [7][]byte{[]byte("CONNECT " + socksTarget + ":443 HTTP/1.1\r\nUser-Agent: \xba\r\n\r\n"), []byte("HTTP/1.1 200 Connection established\r\n\r\n"), hello, serverHello}, "http-connect+tls"},
		{"socks5", 7, [7][]byte{{5, 1, 0}, {5, 0}, socks, {5, 0, 0, 1, 0, 0, 0, 0, 0, 0}, hello, serverHello}, "socks5+tls"},
		{"smtp-starttls", 8, [7][]byte{nil, []byte("220 mail ESMTP\r\n"), []byte("EHLO \xba\r\nSTARTTLS\r\n"), []byte("250-mail\r\n250 STARTTLS\r\n220 2.0.0 Ready to start TLS\r\n"), hello, serverHello}, "smtp+tls"},
		{"postgres-ssl", 9, [7][]byte{{0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f}, []byte("S"), hello, serverHello}, "postgresql+tls"},
		{"rdp", 10, [7][]byte{{3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0, 1, 0, 8, 0, 3, 0, 0, 0}, {3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 1, 0, 0, 0}, hello, serverHello}, "rdp+tls"},
		{"rtp", 11, [7][]byte{rtp, rtp, rtp}, ""},
	}
}

// replayFuzzInput writes the conversation of one fuzz input, between a
// workstation and a phone of the demo site, replays it and returns the
// run's directory. The capture is well formed, so the replay must not
// fail, whatever the payloads.
func replayFuzzInput(t testing.TB, dir string, service uint8, msgs ...[]byte) string {
	t.Helper()
	svc := fuzzServices[int(service)%len(fuzzServices)]
	for i, m := range msgs {
		if len(m) > maxFuzzMessage {
			msgs[i] = m[:maxFuzzMessage]
		}
	}
	pcap := filepath.Join(dir, "in.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wiretest.NewWriter(f, time.Date(2026, time.November, 2, 9, 0, 0, 0, time.UTC))
	if err == nil {
		client := netip.MustParseAddrPort("10.10.2.154:50000")
		server := netip.AddrPortFrom(netip.MustParseAddr("10.10.3.162"), svc.port)
		if svc.port == 10000 {
			client = netip.AddrPortFrom(client.Addr(), 40000)
		}
		err = w.Exchange(svc.tcp, client, server, msgs...)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	out := filepath.Join(dir, "out")
	cfg := ReplayConfig{Paths: []string{pcap}, Out: out, Table: flow.DefaultConfig(), Workers: 2,
		Audit: Config{Site: demoSite}, Top: 5, CreatedBy: "engine fuzz test"}
	if _, err := Replay(context.Background(), cfg); err != nil {
		t.Fatalf("replay of %d-byte messages to %v port %d: %v", len(msgs[0]), svc.tcp, svc.port, err)
	}
	return out
}

// checkOutputs reads every table of the run in out with parquet-go and
// fails t unless each string is valid UTF-8 that unescapes. It returns
// the rows per table.
func checkOutputs(t testing.TB, out string) map[string]int {
	t.Helper()
	rows := map[string]int{}
	check := func(table string, v any, err error) {
		if err != nil {
			t.Errorf("%s: %v", table, err)
			return
		}
		rv := reflect.ValueOf(v)
		rows[table] = rv.Len()
		if err := validText(rv, table); err != nil {
			t.Error(err)
		}
	}
	flows, err := parquetout.ReadFlows(filepath.Join(out, "flows.parquet"))
	check("flows", flows, err)
	calls, err := parquetout.ReadCalls(filepath.Join(out, "calls.parquet"))
	check("calls", calls, err)
	dns, err := parquetout.ReadDNS(filepath.Join(out, "dns.parquet"))
	check("dns", dns, err)
	tunnels, err := parquetout.ReadTunnels(filepath.Join(out, "tunnels.parquet"))
	check("tunnels", tunnels, err)
	findings, err := parquetout.ReadFindings(filepath.Join(out, "findings.parquet"))
	check("findings", findings, err)
	if rows["flows"] == 0 {
		t.Error("no flow written")
	}
	return rows
}

// validText returns an error for the first string under v that is not
// UTF-8 or does not unescape.
func validText(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			return validText(v.Elem(), path)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if err := validText(v.Field(i), path+"."+v.Type().Field(i).Name); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := validText(v.Index(i), path); err != nil {
				return err
			}
		}
	case reflect.String:
		s := v.String()
		if !utf8.ValidString(s) {
			return fmt.Errorf("%s = %q is not UTF-8", path, s)
		}
		if _, err := safetext.Unescape(s); err != nil {
			return fmt.Errorf("%s = %q does not unescape: %v", path, s, err)
		}
	}
	return nil
}

// FuzzReplayOutputs: whatever a client and a server send each other, the
// replay succeeds and every table it writes reads back with parquet-go,
// its strings valid UTF-8 in the documented escape. DuckDB reads the seeds'
// tables in TestReplayOutputsReadInDuckDB (a DuckDB process per input
// would make the fuzzer crawl).
func FuzzReplayOutputs(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.service, s.msgs[0], s.msgs[1], s.msgs[2], s.msgs[3], s.msgs[4], s.msgs[5], s.msgs[6])
	}
	f.Fuzz(func(t *testing.T, service uint8, a, b, c, d, e, g, h []byte) {
		checkOutputs(t, replayFuzzInput(t, t.TempDir(), service, a, b, c, d, e, g, h))
	})
}

// TestReplayOutputsReadInDuckDB replays each fuzz seed and reads every
// table of every run in DuckDB, as the README's queries do, expecting the
// rows parquet-go read.
func TestReplayOutputsReadInDuckDB(t *testing.T) {
	dir := t.TempDir()
	var stmts []string
	var want []int
	for _, s := range fuzzSeeds() {
		sub := filepath.Join(dir, s.name)
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		out := replayFuzzInput(t, sub, s.service, s.msgs[:]...)
		rows := checkOutputs(t, out)
		// The seeds reach the parsers they are meant to start the
		// fuzzer in.
		if flows, err := parquetout.ReadFlows(filepath.Join(out, "flows.parquet")); err != nil || len(flows) != 1 || flows[0].App != s.app {
			t.Errorf("%s: flows %+v, %v; want one labelled %q", s.name, flows, err, s.app)
		}
		for _, table := range []string{"flows", "calls", "dns", "tunnels", "findings"} {
			// Every column, so DuckDB decodes every page, strings included.
			stmts = append(stmts, fmt.Sprintf("SELECT count(*) AS n, sum(length(CAST(t AS VARCHAR))) AS chars FROM '%s/%s.parquet' t", out, table))
			want = append(want, rows[table])
		}
	}
	res := duckdbtest.Query(t, stmts)
	for i, r := range res {
		if got := fmt.Sprint(r[0]["n"]); got != fmt.Sprint(want[i]) {
			t.Errorf("%s: DuckDB read %s rows, parquet-go %d", strings.Fields(stmts[i])[len(strings.Fields(stmts[i]))-1], got, want[i])
		}
	}
}

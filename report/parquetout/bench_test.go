package parquetout

import (
	"encoding/base64"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
)

// benchFlowRows is about one replay's worth of flows: a row group and a
// partial one, as a large capture writes them.
const benchFlowRows = 141_620

// flowKind is one kind of conversation of a contact-center capture, with
// the classification and metadata the auditor gives it.
type flowKind struct {
	weight                           int // per mille of the flows
	proto, state, history, endReason string
	dstIPs                           []string
	dstPort                          int32
	vlan                             int32
	packets                          [2]int64 // range of packets each way
	payload                          [2]int64 // range of payload bytes per packet
	duration                         time.Duration
	app, verdict, vendor, entry      string
	reason, classifiedBy             string
	sni, serverName, alpn, tls, ja4  string
	ja3                              string
	callID                           bool
}

// benchKinds is the mix of the 2.9 M-packet benchmark capture: mostly
// phone DNS lookups, then HTTPS to cloud services, SQL, SMB, refused
// connections, SIP signalling with its RTP and RTCP, and ICMP.
var benchKinds = []flowKind{
	{weight: 650, proto: "udp", state: "SF", history: "Dd", endReason: "idle",
		dstIPs: []string{"10.10.1.6"}, dstPort: 53, packets: [2]int64{1, 1}, payload: [2]int64{30, 140},
		duration: time.Millisecond, app: "dns", verdict: "expected", vendor: "genesys-pureconnect",
		entry: "genesys-pureconnect/phone-dns", reason: "port-only (no inventory): IP phone DNS uses 53/udp",
		classifiedBy: "parser"},
	{weight: 160, proto: "tcp", state: "SF", history: "ShADdFf", endReason: "closed",
		dstIPs: []string{"198.51.100.20", "198.51.100.30", "198.51.100.40", "198.51.100.50", "10.10.1.10"}, dstPort: 443,
		packets: [2]int64{7, 16}, payload: [2]int64{100, 1200}, duration: 6 * time.Second,
		app: "tls", verdict: "expected", vendor: "genesys-pureconnect",
		entry: "genesys-pureconnect/media-server-web-https", reason: "port-only (no inventory): Interaction Media Server web interface (software only) uses 443/tcp",
		classifiedBy: "name", sni: "api.imagicle.cloud", serverName: "api.imagicle.cloud", alpn: "h2", tls: "TLS 1.3",
		ja4: "t13d1511h2_8daaf6152771_9ced094328c9", ja3: "771,4865-4866-4867,0-23-65281-10-11,29-23-24,0"},
	{weight: 40, proto: "tcp", state: "SF", history: "ShADdFf", endReason: "closed",
		dstIPs: []string{"10.10.1.30"}, dstPort: 1433, packets: [2]int64{8, 30}, payload: [2]int64{50, 900},
		duration: 3 * time.Second, app: "sql", verdict: "expected", vendor: "genesys-pureconnect",
		entry: "genesys-pureconnect/mssql", reason: "port-only (no inventory): Microsoft SQL Server uses 1433/tcp",
		classifiedBy: "parser", serverName: "sql01.example.local"},
	{weight: 30, proto: "tcp", state: "SF", history: "ShADdfFa", endReason: "closed",
		dstIPs: []string{"10.10.1.40"}, dstPort: 445, packets: [2]int64{9, 14}, payload: [2]int64{60, 1400},
		duration: 4 * time.Second, app: "smb", verdict: "expected", vendor: "genesys-pureconnect",
		entry: "genesys-pureconnect/file-share", reason: "port-only (no inventory): Windows file share uses 445/tcp",
		classifiedBy: "parser"},
	{weight: 30, proto: "tcp", state: "SF", history: "ShADdFf", endReason: "closed",
		dstIPs: []string{"10.10.1.10"}, dstPort: 8018, packets: [2]int64{9, 15}, payload: [2]int64{80, 1300},
		duration: 5 * time.Second, app: "ion", verdict: "expected", vendor: "genesys-pureconnect",
		entry: "genesys-pureconnect/notifier-tls", reason: "port-only (no inventory): Notifier uses 8018/tcp",
		classifiedBy: "port"},
	{weight: 30, proto: "tcp", state: "SF", history: "ShADdFf", endReason: "flush",
		dstIPs: []string{"10.10.1.10"}, dstPort: 5597, packets: [2]int64{10, 20}, payload: [2]int64{100, 1400},
		duration: 5 * time.Second, app: "session-manager", verdict: "expected", vendor: "genesys-pureconnect",
		entry: "genesys-pureconnect/session-manager", reason: "port-only (no inventory): Session Manager uses 5597/tcp",
		classifiedBy: "port"},
	{weight: 10, proto: "tcp", state: "REJ", history: "Sr", endReason: "closed",
		dstIPs: []string{"10.10.1.10", "10.10.1.11"}, dstPort: 3389, packets: [2]int64{1, 1}, payload: [2]int64{0, 0},
		duration: time.Millisecond, verdict: "blocked", reason: "no catalog entry for 3389/tcp", classifiedBy: "port"},
	{weight: 20, proto: "udp", state: "SF", history: "Dd", endReason: "idle", vlan: 30,
		dstIPs: []string{"10.10.1.20", "10.10.1.21"}, dstPort: 19969, packets: [2]int64{1, 500}, payload: [2]int64{160, 240},
		duration: 20 * time.Second, app: "rtp", verdict: "negotiated", reason: "media negotiated by SIP call",
		classifiedBy: "sdp", callID: true},
	{weight: 10, proto: "udp", state: "SF", history: "Dd", endReason: "idle", vlan: 30,
		dstIPs: []string{"10.10.1.10"}, dstPort: 5060, packets: [2]int64{4, 12}, payload: [2]int64{300, 1100},
		duration: 30 * time.Second, app: "sip", verdict: "expected", vendor: "genesys-pureconnect",
		entry: "genesys-pureconnect/sip", reason: "port-only (no inventory): SIP signalling uses 5060/udp",
		classifiedBy: "parser", callID: true},
	{weight: 20, proto: "icmp", state: "SF", history: "Dd", endReason: "idle",
		dstIPs: []string{"10.10.1.6", "10.10.1.10"}, dstPort: 0, packets: [2]int64{1, 4}, payload: [2]int64{32, 64},
		duration: 3 * time.Second, verdict: "unexpected", reason: "no catalog entry for icmp", classifiedBy: "port"},
}

// benchFlows returns n rows with the value distributions of a real replay:
// row order is the order flows end, so last_seen rises and first_seen
// mostly does; most hosts are phones and agents talking to a few servers.
func benchFlows(n int) []FlowRow {
	rng := rand.New(rand.NewPCG(1, 2))
	var kinds []*flowKind
	for i := range benchKinds {
		for range benchKinds[i].weight {
			kinds = append(kinds, &benchKinds[i])
		}
	}
	between := func(r [2]int64) int64 { return r[0] + rng.Int64N(r[1]-r[0]+1) }
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	step := 10 * time.Minute / time.Duration(n)
	hash := make([]byte, 20)
	rows := make([]FlowRow, n)
	for i := range rows {
		k := kinds[rng.IntN(len(kinds))]
		r := &rows[i]
		r.LastSeen = start.Add(time.Duration(i) * step).Add(time.Duration(rng.Int64N(int64(time.Millisecond)))).Truncate(time.Microsecond)
		r.FirstSeen = r.LastSeen.Add(-time.Duration(rng.Int64N(int64(k.duration)))).Truncate(time.Microsecond)
		r.Proto = k.proto
		subnet := 2
		if k.vlan != 0 {
			subnet = 3
		}
		r.SrcIP = "10.10." + strconv.Itoa(subnet) + "." + strconv.Itoa(1+rng.IntN(250))
		r.SrcPort = int32(49152 + rng.IntN(16384))
		r.DstIP = k.dstIPs[rng.IntN(len(k.dstIPs))]
		r.DstPort = k.dstPort
		if k.proto == "icmp" {
			r.SrcPort, r.DstPort = 8, 0
		}
		r.PacketsOut, r.PacketsIn = between(k.packets), between(k.packets)
		r.PayloadOut, r.PayloadIn = r.PacketsOut*between(k.payload), r.PacketsIn*between(k.payload)
		r.BytesOut, r.BytesIn = r.PayloadOut+r.PacketsOut*42, r.PayloadIn+r.PacketsIn*42
		r.State, r.History, r.EndReason, r.VLAN = k.state, k.history, k.endReason, k.vlan
		for j := range hash {
			hash[j] = byte(rng.Uint32())
		}
		r.CommunityID = "1:" + base64.StdEncoding.EncodeToString(hash)
		r.App, r.Verdict, r.Vendor, r.EntryID = k.app, k.verdict, k.vendor, k.entry
		r.Reason, r.ClassifiedBy = k.reason, k.classifiedBy
		// Resumed TLS sessions carry no SNI, as a third of them do.
		if k.sni != "" && rng.IntN(3) > 0 {
			r.SNI, r.ServerName, r.ALPN, r.TLSVersion, r.JA4, r.JA3 = k.sni, k.serverName, k.alpn, k.tls, k.ja4, k.ja3
		} else if k.serverName != "" && k.sni == "" {
			r.ServerName = k.serverName
		}
		if k.callID {
			r.CallID = strconv.FormatUint(rng.Uint64(), 16) + "@10.10.1.10"
		}
	}
	return rows
}

// BenchmarkWriteFlows measures the writer end to end on one replay's worth
// of flows: copying rows into the batch, encoding, zstd compression, the
// footer and the sync, at the default compression level.
func BenchmarkWriteFlows(b *testing.B) {
	rows := benchFlows(benchFlowRows)
	path := filepath.Join(b.TempDir(), "flows.parquet")
	b.ReportAllocs()
	for b.Loop() {
		w, err := Create(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for i := range rows {
			if err := w.Write(&rows[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	total := float64(b.N) * float64(len(rows))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/row")
	b.ReportMetric(total/b.Elapsed().Seconds(), "rows/s")
	if st, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(st.Size()), "file-B")
	}
}

func BenchmarkFromFlow(b *testing.B) {
	f := endedFlows(b, flow.ProtoTCP,
		packet{at: t0, src: "10.0.0.1:40000", dst: "10.0.0.2:5060", flags: flow.FlagSYN},
		packet{at: t0 + 1, src: "10.0.0.2:5060", dst: "10.0.0.1:40000", flags: flow.FlagSYN | flow.FlagACK},
	)[0]
	var row FlowRow
	b.ReportAllocs()
	for b.Loop() {
		FromFlow(&f, &row)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}

// BenchmarkFlowRowBuilder is FromFlow as the flows sink runs it, with
// cached addresses and shared Community ID text.
func BenchmarkFlowRowBuilder(b *testing.B) {
	f := endedFlows(b, flow.ProtoTCP,
		packet{at: t0, src: "10.0.0.1:40000", dst: "10.0.0.2:5060", flags: flow.FlagSYN},
		packet{at: t0 + 1, src: "10.0.0.2:5060", dst: "10.0.0.1:40000", flags: flow.FlagSYN | flow.FlagACK},
	)[0]
	var row FlowRow
	var rb FlowRowBuilder
	b.ReportAllocs()
	for b.Loop() {
		rb.Fill(&f, &row)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}

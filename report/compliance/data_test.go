package compliance_test

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/report/parquetout"
)

// The generated night: 2026-11-02 09:00-10:59 UTC at one site, two
// sensors, with one flow, finding and call the day before that a report of
// 2026-11-02 must leave out.
var day = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func at(hour, minute int) time.Time {
	return day.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// tcp is a TCP flow between two endpoints with a verdict.
func tcp(t time.Time, src string, sport int32, dst string, dport int32, state, history, verdict, entry string) parquetout.FlowRow {
	r := parquetout.FlowRow{
		FirstSeen: t, LastSeen: t.Add(3 * time.Second), Proto: "tcp",
		SrcIP: src, SrcPort: sport, DstIP: dst, DstPort: dport,
		PacketsOut: 6, BytesOut: 900, PacketsIn: 5, BytesIn: 1400, PayloadOut: 500, PayloadIn: 1000,
		State: state, History: history, CommunityID: "1:test", EndReason: "closed",
		Verdict: verdict, EntryID: entry, ClassifiedBy: "catalog",
	}
	if entry != "" {
		r.Vendor = "genesys-pureconnect"
	}
	if state == "S0" || state == "REJ" {
		r.PacketsIn, r.BytesIn, r.PayloadOut, r.PayloadIn = 0, 0, 0, 0
	}
	return r
}

// rtp is a UDP media flow; oneWay leaves the responder silent.
func rtp(t time.Time, src string, sport int32, dst string, dport int32, oneWay bool) parquetout.FlowRow {
	r := parquetout.FlowRow{
		FirstSeen: t, LastSeen: t.Add(90 * time.Second), Proto: "udp",
		SrcIP: src, SrcPort: sport, DstIP: dst, DstPort: dport,
		PacketsOut: 4500, BytesOut: 972000, PacketsIn: 4500, BytesIn: 972000, PayloadOut: 774000, PayloadIn: 774000,
		State: "SF", History: "Dd", CommunityID: "1:rtp", EndReason: "idle",
		App: "rtp", Verdict: "negotiated", Vendor: "genesys-pureconnect", EntryID: "genesys-pureconnect/media-server-rtp",
		ClassifiedBy: "sdp", CallID: fmt.Sprintf("call-%d@test", sport),
	}
	if oneWay {
		r.PacketsIn, r.BytesIn, r.PayloadIn, r.History = 0, 0, 0, "D"
	}
	return r
}

// testFlows covers every verdict, a TLS version of each posture, plaintext
// on a TLS port, and media in range, out of range and one-way.
func testFlows() []parquetout.FlowRow {
	var rows []parquetout.FlowRow
	for h := 9; h <= 10; h++ {
		rows = append(rows,
			tcp(at(h, 1), "10.10.2.50", 50001, "10.10.1.10", 3952, "SF", "ShADadFf", "expected", "genesys-pureconnect/session-manager"),
			tcp(at(h, 2), "10.10.2.51", 50002, "10.10.1.10", 3952, "SF", "ShADadFf", "expected", "genesys-pureconnect/session-manager"),
		)
	}
	tls12 := tcp(at(9, 3), "10.10.2.51", 50003, "10.10.1.10", 5597, "SF", "ShADadFf", "expected", "genesys-pureconnect/notifier-tls")
	tls12.TLSVersion, tls12.JA4, tls12.App = "TLS 1.3", "t13d1516h2_8daaf6152771_02713d6af862", "tls"
	tls10 := tcp(at(9, 4), "10.10.3.20", 50004, "10.10.1.10", 5061, "SF", "ShADadFf", "expected", "genesys-pureconnect/sip-tls")
	tls10.TLSVersion, tls10.JA4, tls10.SNI = "TLS 1.0", "t10d0505h1_aaaaaaaaaaaa_bbbbbbbbbbbb", "cic.example.test"
	plain := tcp(at(9, 5), "10.10.2.52", 50005, "10.10.1.10", 5597, "SF", "ShADadFf", "expected", "genesys-pureconnect/notifier-tls")
	// The capture started mid-connection: no SYN, so no judgement on TLS.
	midstream := tcp(at(9, 6), "10.10.2.53", 50006, "10.10.1.10", 5597, "OTH", "^dA", "expected", "genesys-pureconnect/notifier-tls")
	blocked := tcp(at(9, 10), "10.10.2.153", 50010, "10.10.1.11", 3952, "S0", "S", "blocked", "genesys-pureconnect/session-manager")
	rejected := tcp(at(10, 10), "10.10.1.10", 50011, "10.10.1.5", 1433, "REJ", "Sr", "blocked", "genesys-pureconnect/mssql")
	telnet := tcp(at(9, 20), "10.10.2.156", 50020, "10.10.3.113", 23, "SF", "ShADadFf", "unexpected", "")
	telnet.Reason, telnet.FromRole, telnet.ToRole = "no catalog entry allows this port between these hosts' roles", "workstation", "ip-phone"
	telnet2 := telnet
	telnet2.FirstSeen, telnet2.SrcPort = at(10, 20), 50021
	smb := tcp(at(10, 21), "10.10.2.156", 50022, "10.10.2.9", 445, "SF", "ShADadFf", "unexpected", "")
	wrongWay := tcp(at(10, 30), "10.10.1.10", 50030, "10.10.2.60", 3952, "SF", "ShADadFf", "unexpected", "genesys-pureconnect/session-manager")
	wrongWay.Reason = "the entry allows the reverse direction only"
	ping := parquetout.FlowRow{FirstSeen: at(9, 40), LastSeen: at(9, 40), Proto: "icmp", SrcIP: "10.10.2.50", SrcPort: 8,
		DstIP: "10.10.1.10", PacketsOut: 1, BytesOut: 98, PacketsIn: 1, BytesIn: 98, State: "OTH", EndReason: "idle", Verdict: "ignored"}
	yesterday := tcp(day.Add(-30*time.Minute), "10.10.2.156", 50099, "10.10.3.113", 23, "SF", "ShADadFf", "unexpected", "")
	rows = append(rows, tls12, tls10, plain, midstream, blocked, rejected, telnet, telnet2, smb, wrongWay, ping, yesterday,
		rtp(at(9, 30), "10.10.3.20", 16500, "10.10.1.20", 16600, false),
		rtp(at(9, 31), "10.10.3.21", 61010, "10.10.1.20", 61020, false),
		rtp(at(10, 32), "10.10.3.22", 16700, "10.10.1.20", 16800, true),
	)
	return rows
}

// testFindings are what replay's findings.parquet says of testFlows and
// testCalls: one finding of every kind, per capture window (hour) as a
// sensor writes them.
func testFindings(hour int) []parquetout.FindingRow {
	g := func(kind, sev, proto, src, dst string, port int32, entry, reason string, count int64, first, last time.Time) parquetout.FindingRow {
		r := parquetout.FindingRow{Kind: kind, Severity: sev, Proto: proto, SrcIP: src, DstIP: dst, DstPort: port,
			EntryID: entry, Reason: reason, Count: count, FirstSeen: first, LastSeen: last, SeverityRank: severityRanks[sev]}
		if entry != "" {
			r.Vendor = "genesys-pureconnect"
		}
		r.FindingID = testFindingID(kind, proto, src, dst, port, entry)
		return r
	}
	missing := g("missing", "medium", "udp", "", "", 0, "genesys-pureconnect/phone-dns",
		"required by the catalog; no working flow seen between these hosts in the capture window", 1, at(hour, 0), at(hour, 59))
	missing.FromRole, missing.ToRole, missing.HostPairs, missing.Ports = "ip-phone", "dns-server", "10.10.3.0/24 -> 10.10.1.6", "53/udp"
	unobs := g("unobservable", "info", "", "", "", 0, "genesys-pureconnect/phone-gateway-rtp",
		"media negotiated in signalling the auditor does not follow", 1, at(hour, 0), at(hour, 59))
	rows := []parquetout.FindingRow{missing, unobs}
	switch hour {
	case 9:
		telnet := g("unexpected", "medium", "tcp", "10.10.2.156", "10.10.3.113", 23, "", "no catalog entry allows this port between these hosts' roles", 1, at(9, 20), at(9, 20))
		telnet.FromRole, telnet.ToRole = "workstation", "ip-phone"
		telnet.EvidenceFile, telnet.EvidencePackets = "20261102T090000Z-40874d8390167f7b.pcapng", 12
		outside := g("media-outside-documented-range", "medium", "udp", "10.10.1.20", "10.10.3.21", 61010, "genesys-pureconnect/media-server-rtp",
			"negotiated media on a port outside the range documented for ip-phone", 1, at(9, 31), at(9, 31))
		outside.FromRole, outside.ToRole = "media-server", "ip-phone"
		plain := g("plaintext-on-tls-port", "high", "tcp", "10.10.2.52", "10.10.1.10", 5597, "genesys-pureconnect/notifier-tls",
			"TLS required, but the connection exchanged data without a TLS handshake", 1, at(9, 5), at(9, 5))
		// The call findings the engine raises from the call records
		// (verdict.CallFindings): the stream of outside-range@test rated
		// poor.
		poor := g("poor-voice-quality", "medium", "udp", "10.10.3.21", "10.10.1.20", 61020, "",
			"estimated MOS 2.90 (R 57) below 3.10: PCMU, 10.0% loss", 1, at(9, 31).Add(2*time.Second), at(9, 31).Add(95*time.Second))
		poor.App, poor.CallID = "rtp", "outside-range@test"
		rows = append(rows, telnet, outside, plain, poor,
			g("blocked", "high", "tcp", "10.10.2.153", "10.10.1.11", 3952, "genesys-pureconnect/session-manager", "tcp SYN never answered (S0): dropped on the way or host down", 1, at(9, 10), at(9, 10)))
	case 10:
		telnet := g("unexpected", "medium", "tcp", "10.10.2.156", "10.10.3.113", 23, "", "no catalog entry allows this port between these hosts' roles", 1, at(10, 20), at(10, 20))
		telnet.FromRole, telnet.ToRole = "workstation", "ip-phone"
		smb := g("unexpected", "low", "tcp", "10.10.2.156", "10.10.2.9", 445, "", "no catalog entry allows this port; a host is not in the inventory", 1, at(10, 21), at(10, 21))
		mssql := g("missing", "high", "tcp", "", "", 0, "genesys-pureconnect/mssql", "required by the catalog; every attempt seen in the capture window failed (see the blocked findings)", 1, at(10, 0), at(10, 59))
		// more pairs than a cell shows: the rest fold into a details element
		mssql.HostPairs, mssql.Ports = "10.10.1.10 -> 10.10.1.5; 10.10.1.11 -> 10.10.1.5; 10.10.1.12 -> 10.10.1.5; 10.10.1.13 -> 10.10.1.5; 10.10.1.14 -> 10.10.1.5", "1433/tcp"
		oneWay := g("media-one-way", "high", "udp", "10.10.3.22", "10.10.1.20", 16800, "",
			"media flowed from the caller only, although both sides said sendrecv: the callee's media was not seen (dropped by a firewall or NAT, or not captured)",
			1, at(10, 32).Add(2*time.Second), at(10, 32).Add(95*time.Second))
		oneWay.App, oneWay.CallID = "rtp", "one-way@test"
		noMedia := g("media-missing", "medium", "udp", "10.10.3.23", "10.10.1.20", 17000, "",
			"the call was answered and this stream negotiated on both sides, but no media of it was seen: dropped on the way, or the media takes a path the capture does not see",
			1, at(10, 40).Add(2*time.Second), at(10, 40).Add(95*time.Second))
		noMedia.App, noMedia.CallID = "rtp", "no-media@test"
		rows = append(rows, telnet, smb, mssql, oneWay, noMedia,
			g("blocked", "high", "tcp", "10.10.1.10", "10.10.1.5", 1433, "genesys-pureconnect/mssql", "tcp SYN answered by RST (REJ): nothing listens or a firewall rejects", 1, at(10, 10), at(10, 10)),
			g("wrong-direction", "medium", "tcp", "10.10.1.10", "10.10.2.60", 3952, "genesys-pureconnect/session-manager", "the entry allows the reverse direction only", 1, at(10, 30), at(10, 30)))
	}
	return rows
}

// severityRanks are the verdict engine's severity_rank values.
var severityRanks = map[string]int32{"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

// testFindingID stands in for the engine's finding_id (16 hex digits
// over what findings aggregate by); the report only needs it stable.
func testFindingID(fields ...any) string {
	h := fnv.New64a()
	fmt.Fprint(h, fields...)
	return fmt.Sprintf("%016x", h.Sum64())
}

// yesterdayFinding is outside the report's window; it is a row of a file
// written before finding_id and severity_rank.
func yesterdayFinding() parquetout.FindingRow {
	return parquetout.FindingRow{Kind: "unexpected", Severity: "medium", Proto: "tcp", SrcIP: "10.10.2.156", DstIP: "10.10.3.113", DstPort: 2323,
		Reason: "no catalog entry allows this port between these hosts' roles", Count: 4, FirstSeen: day.Add(-time.Hour), LastSeen: day.Add(-time.Minute)}
}

func testCalls() []parquetout.CallRow {
	call := func(id string, start time.Time, status int32, media ...parquetout.CallMediaRow) parquetout.CallRow {
		c := parquetout.CallRow{CallID: id, FromURI: "sip:2001@test", ToURI: "sip:+15550100@test",
			CallerIP: "10.10.3.20", CallerPrt: 5060, CalleeIP: "10.10.1.10", CalleePrt: 5060, Transport: "udp",
			Start: start, FinalStatus: status, EndReason: "bye", Codecs: "PCMU,telephone-event", Media: media}
		if status < 300 {
			c.Answer, c.End = start.Add(2*time.Second), start.Add(95*time.Second)
		} else {
			c.End, c.EndReason, c.Codecs = start.Add(time.Second), "rejected", ""
		}
		return c
	}
	audio := func(caller, callee string, packets, lost int64, jitter float64) parquetout.CallMediaRow {
		return parquetout.CallMediaRow{Type: "audio", Proto: "RTP/AVP", CallerRTP: caller, CalleeRTP: callee,
			CallerDirection: "sendrecv", CalleeDirection: "sendrecv", Codecs: "PCMU", Flows: 1, Packets: packets,
			Bytes: packets * 214, Lost: lost, JitterMillis: jitter}
	}
	rated := func(c parquetout.CallRow, mos, r, loss, worst float64, poor bool) parquetout.CallRow {
		c.MOS, c.RFactor = &mos, &r
		c.Media[0].PoorQuality = poor
		c.Media[0].CallerToCallee = &parquetout.CallQualityRow{Expected: 9000, LossPercent: loss, MOS: mos, RFactor: r, WorstMOS: worst, BurstR: 1}
		return c
	}
	oneWay := audio("10.10.3.22:16700", "10.10.1.20:16800", 4500, 0, 3.1)
	oneWay.OneWay = true
	missing := audio("10.10.3.23:16900", "10.10.1.20:17000", 0, 0, 0)
	missing.Missing, missing.Flows = true, 0
	return []parquetout.CallRow{
		rated(call("good@test", at(9, 30), 200, audio("10.10.3.20:16500", "10.10.1.20:16600", 9000, 12, 4.2)), 4.40, 92.9, 0.13, 4.38, false),
		rated(call("outside-range@test", at(9, 31), 200, audio("10.10.3.21:61010", "10.10.1.20:61020", 9000, 900, 38.5)), 2.90, 56.6, 10, 2.1, true),
		rated(call("one-way@test", at(10, 32), 200, oneWay), 4.41, 93.2, 0, 4.41, false),
		call("no-media@test", at(10, 40), 200, missing),
		call("busy@test", at(10, 45), 486),
		call("yesterday@test", day.Add(-2*time.Hour), 200, audio("10.10.3.20:16500", "10.10.1.20:16600", 100, 0, 1)),
	}
}

func writeTable[T any](t *testing.T, path, schema string, rows []T, md map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := parquetout.NewTableWriter[T](path, schema, parquetout.Options{Version: "test", CreatedBy: "compliance test", Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeFlat lays the data out as replay does: one file per table.
func writeFlat(t *testing.T) string {
	dir := t.TempDir()
	findings := append(testFindings(9), testFindings(10)...)
	findings = append(findings, yesterdayFinding())
	writeTable(t, filepath.Join(dir, "flows.parquet"), parquetout.SchemaVersion, testFlows(), nil)
	writeTable(t, filepath.Join(dir, "findings.parquet"), parquetout.FindingsSchema, findings, nil)
	writeTable(t, filepath.Join(dir, "calls.parquet"), parquetout.CallsSchema, testCalls(), nil)
	return dir
}

// writeHive lays the data out as two capturing sensors do: Hive
// partitions by date and hour, one file per sensor, table and rotation.
// Sensor a records its capture counters; sensor b does not. Each sensor
// sees half the flows, and both report the findings of their windows.
func writeHive(t *testing.T) string {
	dir := t.TempDir()
	type part struct {
		flows    []parquetout.FlowRow
		findings []parquetout.FindingRow
		calls    []parquetout.CallRow
	}
	parts := map[string]*part{} // "date=.../hour=..|sensor"
	get := func(tm time.Time, sensor string) *part {
		k := tm.Format("date=2006-01-02/hour=15") + "|" + sensor
		if parts[k] == nil {
			parts[k] = &part{}
		}
		return parts[k]
	}
	for i, f := range testFlows() {
		f.Sensor = []string{"sensor-a", "sensor-b"}[i%2]
		p := get(f.FirstSeen, f.Sensor)
		p.flows = append(p.flows, f)
	}
	for _, h := range []int{9, 10} {
		for _, g := range testFindings(h) {
			// Both sensors see the missing entries; the flow findings come
			// from the sensor that saw the flow.
			sensors := []string{"sensor-a"}
			if g.Kind == "missing" || g.Kind == "unobservable" {
				sensors = append(sensors, "sensor-b")
			}
			for _, s := range sensors {
				g.Sensor = s
				p := get(g.FirstSeen, s)
				p.findings = append(p.findings, g)
			}
		}
	}
	y := yesterdayFinding()
	y.Sensor = "sensor-b"
	get(y.FirstSeen, "sensor-b").findings = append(get(y.FirstSeen, "sensor-b").findings, y)
	for _, c := range testCalls() {
		c.Sensor = "sensor-b"
		p := get(c.Start, "sensor-b")
		p.calls = append(p.calls, c)
	}
	for k, p := range parts {
		sub, sensor, _ := strings.Cut(k, "|")
		var md map[string]string
		if sensor == "sensor-a" {
			md = map[string]string{"auditor.capture.packets_received": "1000000", "auditor.capture.packets_dropped": "250"}
		}
		base := filepath.Join(dir, filepath.FromSlash(sub))
		if len(p.flows) > 0 {
			// Rotation: the hour's flows in two files.
			half := len(p.flows) / 2
			writeTable(t, filepath.Join(base, "flows-"+sensor+"-0001.parquet"), parquetout.SchemaVersion, p.flows[:half], md)
			writeTable(t, filepath.Join(base, "flows-"+sensor+"-0002.parquet"), parquetout.SchemaVersion, p.flows[half:], md)
		}
		if len(p.findings) > 0 {
			writeTable(t, filepath.Join(base, "findings-"+sensor+"-0001.parquet"), parquetout.FindingsSchema, p.findings, nil)
		}
		if len(p.calls) > 0 {
			writeTable(t, filepath.Join(base, "calls-"+sensor+"-0001.parquet"), parquetout.CallsSchema, p.calls, nil)
		}
	}
	return dir
}

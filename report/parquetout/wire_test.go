package parquetout

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// The wire forms must describe exactly the columns of the row types that
// readers (and ReadTable) use.
func TestWireSchemasMatchRows(t *testing.T) {
	tests := []struct {
		name      string
		row, wire any
	}{
		{"flows", new(FlowRow), new(flowWire)},
		{"findings", new(FindingRow), new(findingWire)},
		{"calls", new(CallRow), new(callWire)},
		{"dns", new(DNSRow), new(dnsWire)},
		{"tunnels", new(TunnelRow), new(tunnelWire)},
	}
	for _, tt := range tests {
		row := parquet.SchemaOf(tt.row)
		wire := parquet.NewSchema(row.Name(), parquet.SchemaOf(tt.wire))
		if r, w := row.String(), wire.String(); r != w {
			t.Errorf("%s: wire schema differs from the row's:\nrow:  %s\nwire: %s", tt.name, r, w)
		}
	}
}

// nullPattern is empty (NULL) for every row but 2 and 3 of each 64: a
// non-null run that ends inside a word with as many non-null bits left as
// its offset, which parquet-go v0.32 writes as present zero values when
// the column is a non-pointer optional field (see wire.go).
func nullPattern(i int) bool { return i%64 != 2 && i%64 != 3 }

// TestOptionalColumnsKeepNulls writes that pattern to each table and reads
// the definition levels back: an empty optional value must be NULL.
func TestOptionalColumnsKeepNulls(t *testing.T) {
	dir := t.TempDir()
	const n = 256
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	flows, err := Create(filepath.Join(dir, "flows.parquet"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	findings, err := CreateFindings(filepath.Join(dir, "findings.parquet"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	calls, err := CreateCalls(filepath.Join(dir, "calls.parquet"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		fr := FlowRow{Proto: "udp", FirstSeen: start, LastSeen: start}
		gr := FindingRow{Kind: "unexpected", FirstSeen: start, LastSeen: start}
		cr := CallRow{CallID: "c"}
		if !nullPattern(i) {
			fr.ServerName, fr.CallID = "pbx.example", "c@x"
			gr.ServerName, gr.DstPort = "pbx.example", 5060
			cr.CallerUA, cr.Answer = "phone", start
			cr.Media = []CallMediaRow{{Type: "audio", CallerRTP: "10.0.0.1:4000"}}
		} else {
			cr.Media = []CallMediaRow{{Type: "audio"}}
		}
		if err := flows.Write(&fr); err != nil {
			t.Fatal(err)
		}
		if err := findings.Write(&gr); err != nil {
			t.Fatal(err)
		}
		if err := calls.Write(&cr); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []interface{ Close() error }{flows, findings, calls} {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}

	type flowNulls struct {
		ServerName *string `parquet:"server_name,optional"`
		CallID     *string `parquet:"call_id,optional"`
	}
	type findingNulls struct {
		ServerName *string `parquet:"server_name,optional"`
		DstPort    *int32  `parquet:"dst_port,optional"`
	}
	type mediaNulls struct {
		CallerRTP *string `parquet:"caller_rtp,optional"`
	}
	type callNulls struct {
		CallerUA *string      `parquet:"caller_user_agent,optional"`
		Answer   *int64       `parquet:"answer_time,optional"`
		Media    []mediaNulls `parquet:"media,list"`
	}
	fl, err := parquet.ReadFile[flowNulls](filepath.Join(dir, "flows.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	gl, err := parquet.ReadFile[findingNulls](filepath.Join(dir, "findings.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := parquet.ReadFile[callNulls](filepath.Join(dir, "calls.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fl) != n || len(gl) != n || len(cl) != n {
		t.Fatalf("read %d, %d, %d rows, want %d", len(fl), len(gl), len(cl), n)
	}
	for i := range n {
		null := nullPattern(i)
		got := []bool{fl[i].ServerName == nil, fl[i].CallID == nil, gl[i].ServerName == nil, gl[i].DstPort == nil,
			cl[i].CallerUA == nil, cl[i].Answer == nil, len(cl[i].Media) == 1 && cl[i].Media[0].CallerRTP == nil}
		for c, isNull := range got {
			if isNull != null {
				t.Errorf("row %d column %d: NULL %v, want %v", i, c, isNull, null)
			}
		}
	}
}

// The NULL rules the row types' wire tags declare: severity_rank is
// written for info's 0; dst_port 0 is a value beside a destination (ICMP
// echo's counterpart type) and NULL without one; a DNS rcode_num 0
// (NOERROR) is a value when answered, NULL when not; latency is NULL
// unless both times were seen.
func TestWireNullRules(t *testing.T) {
	var fw findingWire
	g := FindingRow{Kind: "unexpected", Proto: "icmp", DstIP: "10.0.0.2"}
	g.wire(&fw, new(wireArena))
	if fw.SeverityRank == nil || *fw.SeverityRank != 0 {
		t.Errorf("severity_rank of an info finding: %v, want 0", fw.SeverityRank)
	}
	if fw.DstPort == nil || *fw.DstPort != 0 {
		t.Errorf("dst_port 0 beside dst_ip: %v, want 0", fw.DstPort)
	}
	g = FindingRow{Kind: "missing", DstPort: 0}
	g.wire(&fw, new(wireArena))
	if fw.DstPort != nil {
		t.Errorf("dst_port without dst_ip: %d, want NULL", *fw.DstPort)
	}
	g = FindingRow{Kind: "missing", DstPort: 5061}
	g.wire(&fw, new(wireArena))
	if fw.DstPort == nil || *fw.DstPort != 5061 {
		t.Errorf("dst_port 5061 without dst_ip: %v, want 5061", fw.DstPort)
	}

	var dw dnsWire
	d := DNSRow{Answered: true, RCode: "NOERROR", LatencyMillis: 0, HasLatency: true}
	d.wire(&dw, new(wireArena))
	if dw.RCodeNum == nil || *dw.RCodeNum != 0 || dw.RCode == nil || dw.LatencyMillis == nil {
		t.Errorf("answered NOERROR: rcode_num %v rcode %v latency %v, want 0, NOERROR, 0", dw.RCodeNum, dw.RCode, dw.LatencyMillis)
	}
	d = DNSRow{Answered: false, LatencyMillis: 3}
	d.wire(&dw, new(wireArena))
	if dw.RCodeNum != nil || dw.RCode != nil || dw.LatencyMillis != nil {
		t.Errorf("unanswered: rcode_num %v rcode %v latency %v, want NULLs", dw.RCodeNum, dw.RCode, dw.LatencyMillis)
	}
}

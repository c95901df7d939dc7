package parquetout

import (
	"strings"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
)

// FindingsSchema names the findings.parquet schema; it follows the same
// versioning rule as SchemaVersion.
const FindingsSchema = "findings/1"

// FindingRow is one row of findings.parquet: a problem, aggregated over the
// flows (or capture windows) that showed it. Optional columns are NULL when
// not applicable: a missing entry has no hosts, only host pairs.
type FindingRow struct {
	Kind     string `parquet:"kind,dict"`
	Severity string `parquet:"severity,dict"`

	Proto   string `parquet:"proto,optional,dict"`
	SrcIP   string `parquet:"src_ip,optional,dict"`
	DstIP   string `parquet:"dst_ip,optional,dict"`
	DstPort int32  `parquet:"dst_port,optional" wire:"zeroif=DstIP"`

	Vendor   string `parquet:"vendor,optional,dict"`
	EntryID  string `parquet:"entry_id,optional,dict"`
	FromRole string `parquet:"from_role,optional,dict"`
	ToRole   string `parquet:"to_role,optional,dict"`
	App      string `parquet:"app,optional,dict"`
	Reason   string `parquet:"reason,dict"`

	SNI        string `parquet:"sni,optional,dict"`
	ServerName string `parquet:"server_name,optional,dict"`
	CallID     string `parquet:"call_id,optional"`

	Count     int64     `parquet:"count"`
	FirstSeen time.Time `parquet:"first_seen,timestamp(microsecond:utc)"`
	LastSeen  time.Time `parquet:"last_seen,timestamp(microsecond:utc)"`

	HostPairs string `parquet:"host_pairs,optional"`
	Ports     string `parquet:"ports,optional,dict"`
	Sensor    string `parquet:"sensor,optional,dict"`

	// FindingID names the finding stably (verdict.Finding.ID); the
	// evidence file, when --evidence kept packets for it, is named by it.
	FindingID       string `parquet:"finding_id"`
	EvidenceFile    string `parquet:"evidence_file,optional"`
	EvidencePackets int32  `parquet:"evidence_packets"`

	// SeverityRank orders severity: 0 info, 1 low, 2 medium, 3 high,
	// 4 critical. Sorting by the severity text puts medium before high;
	// ORDER BY severity_rank DESC puts what to fix first on top.
	SeverityRank int32 `parquet:"severity_rank,optional" wire:"always"`
}

// CreateFindings opens findings.parquet for writing.
func CreateFindings(path string, opts Options) (*TableWriter[FindingRow], error) {
	return NewTableWriter[FindingRow](path, FindingsSchema, opts)
}

// ReadFindings reads a findings.parquet file back.
func ReadFindings(path string) ([]FindingRow, error) {
	return ReadTable[FindingRow](path, FindingsSchema)
}

// FindingRowOf is finding g as a row of findings.parquet, captured by
// sensor; the evidence columns are left for the evidence writer's file
// (named by FindingID).
func FindingRowOf(g *verdict.Finding, sensor string) FindingRow {
	row := FindingRow{
		Kind:       string(g.Kind),
		Severity:   g.Severity.String(),
		DstPort:    int32(g.DstPort),
		Vendor:     g.Vendor,
		EntryID:    g.EntryID,
		FromRole:   g.FromRole,
		ToRole:     g.ToRole,
		App:        g.App,
		Reason:     g.Reason,
		SNI:        g.SNI,
		ServerName: g.ServerName,
		CallID:     g.CallID,
		Count:      toInt64(g.Count),
		FirstSeen:  unixMicro(g.FirstSeen),
		LastSeen:   unixMicro(g.LastSeen),
		HostPairs:  strings.Join(g.HostPairs, "; "),
		Ports:      g.Ports,
		Sensor:     sensor,
		FindingID:  g.ID(),

		SeverityRank: int32(g.Severity),
	}
	if g.Proto != 0 {
		row.Proto = flow.ProtoName(g.Proto)
	}
	if g.Src.IsValid() {
		row.SrcIP = g.Src.String()
	}
	if g.Dst.IsValid() {
		row.DstIP = g.Dst.String()
	}
	return row
}

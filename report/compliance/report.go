package compliance

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SchemaVersion names the JSON form of a Report. It changes when a field a
// later run reads back (--previous) is renamed or removed.
const SchemaVersion = "compliance-report/1"

// Report is everything a compliance report shows, in the order it shows
// it. Its JSON form is the report's machine-readable output and what
// --previous reads back the next night.
type Report struct {
	Schema      string    `json:"schema"`
	GeneratedAt time.Time `json:"generated_at"`
	Input       string    `json:"input"`
	// Provenance says which build of auditor made the report and what it
	// judged against.
	Provenance Provenance `json:"provenance,omitzero"`
	// Window is the requested window; Data is the span the rows in it
	// actually cover.
	Window Window `json:"window"`
	Data   Window `json:"data"`

	Compliant bool          `json:"compliant"`
	Sites     []SiteVerdict `json:"sites"`

	Verdicts       []Count `json:"flows_by_verdict"`
	FindingsByKind []Count `json:"findings_by_kind"`
	Changes        Changes `json:"changes"`

	Entries       []EntryStatus `json:"entries"`
	TopUnexpected []Finding     `json:"top_unexpected"`
	TopTalkers    []Talker      `json:"top_talkers"`
	Media         Media         `json:"media"`
	Calls         *Calls        `json:"calls,omitempty"`
	TLS           TLS           `json:"tls"`
	Capture       Capture       `json:"capture"`
	Timeline      Timeline      `json:"timeline"`

	// Findings are all findings of the window, merged across files and
	// sensors by Key, most severe first.
	Findings []Finding `json:"findings"`

	// Glossary explains each verdict, finding kind and connection state
	// the report shows.
	Glossary []Term `json:"glossary"`
}

// Count is a named number, kept as a list so the JSON order is the
// report's.
type Count struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// SiteVerdict is the one-line answer for a site, with one per vendor.
type SiteVerdict struct {
	Site      string          `json:"site"`
	Compliant bool            `json:"compliant"`
	Flows     int64           `json:"flows"`
	Issues    []Count         `json:"issues"`
	Vendors   []VendorVerdict `json:"vendors"`
}

// VendorVerdict sums a site's flows and problems attributed to one vendor's
// catalog entries. Vendor "" collects what no entry allows.
type VendorVerdict struct {
	Vendor     string  `json:"vendor"`
	Compliant  bool    `json:"compliant"`
	Expected   int64   `json:"expected"`
	Negotiated int64   `json:"negotiated"`
	Blocked    int64   `json:"blocked"`
	Unexpected int64   `json:"unexpected"`
	Entries    int     `json:"entries_seen"`
	Missing    int     `json:"entries_missing"`
	Issues     []Count `json:"issues"`
}

// Finding is one finding of findings.parquet merged over the files of the
// window.
type Finding struct {
	// Key identifies the finding across reports: its FindingID, or for
	// findings read only from files written before that column, kind,
	// protocol, hosts, port and entry joined by "|"; never the sensor or
	// the times.
	Key string `json:"key"`
	// FindingID is the verdict engine's stable id of the finding
	// (findings.parquet finding_id), empty from older files.
	FindingID string `json:"finding_id,omitempty"`
	Kind      string `json:"kind"`
	Severity  string `json:"severity"`
	// SeverityRank is the engine's order of severity (0 info to 4
	// critical), the highest of the merged rows; reports sort by it.
	SeverityRank int32     `json:"severity_rank"`
	Site         string    `json:"site"`
	Proto        string    `json:"proto,omitempty"`
	Src          string    `json:"src,omitempty"`
	Dst          string    `json:"dst,omitempty"`
	DstPort      int32     `json:"dst_port,omitempty"`
	Vendor       string    `json:"vendor,omitempty"`
	EntryID      string    `json:"entry_id,omitempty"`
	FromRole     string    `json:"from_role,omitempty"`
	ToRole       string    `json:"to_role,omitempty"`
	App          string    `json:"app,omitempty"`
	Reason       string    `json:"reason"`
	SNI          string    `json:"sni,omitempty"`
	ServerName   string    `json:"server_name,omitempty"`
	CallID       string    `json:"call_id,omitempty"`
	Count        int64     `json:"count"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	HostPairs    string    `json:"host_pairs,omitempty"`
	Ports        string    `json:"ports,omitempty"`
	Sensors      []string  `json:"sensors,omitempty"`
	// EvidenceFiles are the pcapng files --evidence wrote for the finding,
	// one per window that had packets of it.
	EvidenceFiles []string `json:"evidence_files,omitempty"`
	// EvidencePackets sums the packets the evidence files hold, over
	// every window (files past the listed ones included).
	EvidencePackets int64 `json:"evidence_packets,omitempty"`
}

// Flow renders the finding's flow or, for missing entries, its ports and
// host pairs.
func (f *Finding) Flow() string {
	if f.Src == "" && f.Dst == "" {
		return strings.TrimSpace(f.Ports + " " + f.HostPairs)
	}
	s := f.Src + " -> " + f.Dst
	if f.DstPort != 0 || f.Proto == "tcp" || f.Proto == "udp" {
		s += fmt.Sprintf(":%d", f.DstPort)
	}
	if f.Proto != "" {
		s = f.Proto + " " + s
	}
	return s
}

// Roles renders "from -> to", or "-" when neither role is known.
func (f *Finding) Roles() string {
	if f.FromRole == "" && f.ToRole == "" {
		return "-"
	}
	return cmp.Or(f.FromRole, "?") + " -> " + cmp.Or(f.ToRole, "?")
}

// Changes compares the findings with a previous report's by Key.
type Changes struct {
	// Previous says what was compared against: the previous report's
	// generation time and window, or why nothing was.
	Previous string    `json:"previous"`
	Compared bool      `json:"compared"`
	New      []Finding `json:"new"`
	Resolved []Finding `json:"resolved"`
}

// EntryStatus is what the window showed of one catalog entry.
type EntryStatus struct {
	ID     string `json:"id"`
	Vendor string `json:"vendor"`
	// Status is seen, blocked, missing, intermittent (missing in some
	// capture windows, seen in others), partly-blocked, unobservable or
	// unexpected-only (only flows on its ports between the wrong roles).
	Status         string   `json:"status"`
	Required       bool     `json:"required"`
	Seen           int64    `json:"seen"`
	Blocked        int64    `json:"blocked"`
	MissingWindows int64    `json:"missing_windows"`
	Unexpected     int64    `json:"unexpected"`
	Ports          string   `json:"ports,omitempty"`
	HostPairs      []string `json:"host_pairs"`
}

// Talker is a source host of unexpected flows.
type Talker struct {
	Host         string `json:"host"`
	Site         string `json:"site"`
	Flows        int64  `json:"flows"`
	Bytes        int64  `json:"bytes"`
	Destinations int    `json:"destinations"`
	TopPort      string `json:"top_port"`
}

// Media is the media compliance of the window: negotiated RTP against the
// documented port ranges.
type Media struct {
	// Source is "calls" when calls.parquet files were read (negotiated
	// SDP ports), else "flows" (media flows the parsers recognised).
	Source  string `json:"source"`
	Streams int64  `json:"streams"`
	// OutOfRange counts the media-outside-documented-range findings.
	OutOfRange int64 `json:"out_of_range"`
	// OneWay and Missing count the streams the call tracker judged one
	// way or never seen (calls.parquet one_way, missing). Without call
	// records (Source "flows") they are not judged and stay 0.
	OneWay  int64       `json:"one_way"`
	Missing int64       `json:"missing"`
	Ranges  []PortRange `json:"documented_ranges"`
	// Ports are the observed media ports, binned for the chart.
	Ports    []PortBin   `json:"ports"`
	Examples []MediaFlow `json:"out_of_range_examples"`
}

// PortRange is a documented media port range of a site's vendors
// (verdict.DocumentedMediaPorts).
type PortRange struct {
	Entry string `json:"entry"`
	Lo    uint16 `json:"lo"`
	Hi    uint16 `json:"hi"`
	// Parity is "even" or "odd" when the range holds only its even or
	// odd ports (RTP and RTCP of one area), empty for every port.
	Parity string `json:"parity,omitempty"`
	// Side is "from" when the range is the ports the entry's From side
	// sends from (its from_ports), empty for its To side's.
	Side string `json:"side,omitempty"`
}

// Text renders the range as "lo-hi", with "/even" or "/odd", and
// " (from side)" for a From side's range.
func (r PortRange) Text() string {
	s := fmt.Sprintf("%d-%d", r.Lo, r.Hi)
	if r.Parity != "" {
		s += "/" + r.Parity
	}
	if r.Side != "" {
		s += " (" + r.Side + " side)"
	}
	return s
}

// OneWayText is the count of one-way streams, or "–" when there were no
// call records to judge them.
func (md *Media) OneWayText() string {
	if md.Source != "calls" {
		return "–"
	}
	return fmt.Sprint(md.OneWay)
}

// PortBin counts observed media endpoints whose port is in [Lo, Hi]: in a
// documented range of the site (catalog membership, parity included),
// outside every range but constrained by none (the other side of a
// stream: the verdict engine judges a stream by the documented range of
// the host it is sent to), and judged out of its documented range by a
// media-outside-documented-range finding, whichever of the first two its
// port alone would give. So the chart's red is exactly what the findings
// count.
type PortBin struct {
	Lo            uint16 `json:"lo"`
	Hi            uint16 `json:"hi"`
	InRange       int64  `json:"in_range"`
	Unconstrained int64  `json:"unconstrained"`
	OutOfRange    int64  `json:"out_of_range"`
}

// MediaFlow is a media stream or flow shown as an example.
type MediaFlow struct {
	Site   string `json:"site"`
	Flow   string `json:"flow"`
	CallID string `json:"call_id,omitempty"`
	Issue  string `json:"issue"`
}

// Calls summarises calls.parquet.
type Calls struct {
	Total      int64   `json:"total"`
	Answered   int64   `json:"answered"`
	Failed     int64   `json:"failed"`
	EndReasons []Count `json:"end_reasons"`
	Codecs     []Count `json:"codecs"`
	// Packets and Lost are RTP totals over all streams; MaxJitterMillis
	// the worst interarrival jitter of any stream.
	Packets         int64      `json:"packets"`
	Lost            int64      `json:"lost"`
	MaxJitterMillis float64    `json:"max_jitter_ms"`
	Problems        []CallLine `json:"problem_calls"`
	// Voice rates the calls whose RTP the auditor saw; nil when none.
	Voice *Voice `json:"voice_quality,omitempty"`
}

// CallLine is one call with a media problem.
type CallLine struct {
	CallID string    `json:"call_id"`
	Site   string    `json:"site"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Start  time.Time `json:"start"`
	Status int32     `json:"status"`
	Codecs string    `json:"codecs,omitempty"`
	Issues string    `json:"issues"`
}

// TLS is the TLS posture: versions negotiated and plaintext flows on
// entries that require TLS.
type TLS struct {
	Versions  []TLSVersion `json:"versions"`
	Plaintext int64        `json:"plaintext_flows"`
	// PlaintextFlows are the worst plaintext host pairs.
	PlaintextFlows []PlainFlow `json:"plaintext"`
	// Judged is false without a catalog: TLS policies are not known.
	Judged bool `json:"judged"`
}

// TLSVersion counts flows by negotiated version.
type TLSVersion struct {
	Version string `json:"version"`
	Flows   int64  `json:"flows"`
	Servers int    `json:"servers"`
	Weak    bool   `json:"weak"`
}

// PlainFlow is a host pair that spoke without TLS on an entry requiring it.
type PlainFlow struct {
	Site    string `json:"site"`
	Flow    string `json:"flow"`
	EntryID string `json:"entry_id"`
	Flows   int64  `json:"flows"`
}

// Capture describes what was read: files, sensors and capture loss.
type Capture struct {
	FilesRead    int      `json:"files_read"`
	FilesSkipped int      `json:"files_outside_window"`
	Errors       []string `json:"errors"`
	Flows        int64    `json:"flows"`
	Sensors      []Sensor `json:"sensors"`
	// LossRecorded is false when no file carried the capture counters;
	// the report then says "not recorded" rather than zero.
	LossRecorded bool  `json:"loss_recorded"`
	Received     int64 `json:"packets_received"`
	Dropped      int64 `json:"packets_dropped"`
	// SIPLimits sums what the SIP tracker refused or dropped at its
	// bounds; nil when no flows file recorded it.
	SIPLimits *SIPLimits `json:"sip_limits,omitempty"`
}

// SIPLimits counts the SIP tracker's drops by reason.
type SIPLimits struct {
	CallsRefused      int64 `json:"calls_refused"`      // INVITEs past the concurrent-call cap
	StreamsDropped    int64 `json:"streams_dropped"`    // media streams past the per-call or per-SDP cap
	MessagesOversized int64 `json:"messages_oversized"` // SIP messages over the size bound
}

// SIPLimitsText states the SIP tracker's drops, or "" when not recorded.
func (c *Capture) SIPLimitsText() string {
	l := c.SIPLimits
	if l == nil {
		return ""
	}
	if *l == (SIPLimits{}) {
		return "SIP tracker limits: none hit."
	}
	return fmt.Sprintf("SIP tracker limits: %d calls refused (concurrent-call cap), %d media streams dropped (per-call and per-SDP caps), %d oversized SIP messages dropped: calls and media in those were not followed.",
		l.CallsRefused, l.StreamsDropped, l.MessagesOversized)
}

// Sensor is one sensor's share of the window.
type Sensor struct {
	Name         string `json:"name"`
	Files        int    `json:"files"`
	Flows        int64  `json:"flows"`
	LossRecorded bool   `json:"loss_recorded"`
	Received     int64  `json:"packets_received"`
	Dropped      int64  `json:"packets_dropped"`
}

// Timeline is findings over time: per bucket, the flows (or windows) of
// each finding kind that started in it.
type Timeline struct {
	Bucket  string           `json:"bucket"`
	Kinds   []string         `json:"kinds"`
	Buckets []TimelineBucket `json:"buckets"`
}

// TimelineBucket is one bar of the chart; Counts follow Timeline.Kinds.
type TimelineBucket struct {
	Start  time.Time `json:"start"`
	Counts []int64   `json:"counts"`
}

// EncodeJSON writes the report as indented JSON.
func (r *Report) EncodeJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeJSON reads a report written by EncodeJSON, refusing other schemas.
func DecodeJSON(data []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("decode report: schema %q, want %q", r.Schema, SchemaVersion)
	}
	return &r, nil
}

// Provenance traces a report to the tool and the inputs that made it.
type Provenance struct {
	// Tool is the auditor version (with its VCS revision when known).
	Tool string `json:"tool"`
	// CatalogDocuments are the vendor documents the catalog encodes.
	CatalogDocuments []string `json:"catalog_documents"`
	// Inventories are the site inventories given, with their files'
	// SHA-256.
	Inventories []InventoryHash `json:"inventories,omitempty"`
}

// InventoryHash names one inventory file by site and content hash.
type InventoryHash struct {
	Site   string `json:"site"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// Text is the one-line form the Markdown and HTML reports show.
func (p Provenance) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "auditor %s · catalog: %s", p.Tool, strings.Join(p.CatalogDocuments, ", "))
	for _, inv := range p.Inventories {
		sum := inv.SHA256
		if len(sum) > 12 {
			sum = sum[:12]
		}
		fmt.Fprintf(&b, " · inventory %s sha256:%s", inv.Site, sum)
	}
	return b.String()
}

package parquetout

import (
	"time"

	"github.com/ccaudit/auditor/report/safetext"
	"github.com/parquet-go/parquet-go"
)

// Rows reach parquet-go in their wire form: the same columns, with every
// optional column a pointer into the row (nil for NULL) instead of a value
// whose zero means NULL.
//
// parquet-go v0.32 writes a batch of rows with a non-pointer optional
// column by scanning a bitmap of its non-null rows for runs; when a
// non-null run ends inside a 64-row word and the rest of that word holds
// as many non-null bits as the run's offset, the scan skips to the next
// word and writes the null rows in between as present: empty strings,
// zero times and zero ports where NULLs belong (about 0.1% of the rows of
// a replay, depending on row order). Pointer columns take another path.
// TestOptionalColumnsKeepNulls writes that pattern.

// wireRow is a row type and the conversion to its wire form W.
type wireRow[T, W any] interface {
	*T
	wire(*W)
}

// opt points at v, or is nil when v is the zero value (NULL).
func opt[V comparable](v *V) *V {
	var zero V
	if *v == zero {
		return nil
	}
	return v
}

// optStr is opt for strings, escaped by safetext so that the file holds
// valid UTF-8 whatever bytes the wire put in the row. A clean string is
// not copied: the pointer points into the row.
func optStr(v *string) *string {
	if *v == "" {
		return nil
	}
	if safetext.Clean(*v) {
		return v
	}
	e := safetext.String(*v)
	return &e
}

// str is a required string column's value, escaped.
func str(v string) string { return safetext.String(v) }

// optTime is opt for times: the zero time is NULL.
func optTime(t *time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return t
}

// wireWriter writes rows of type T through their wire form W.
type wireWriter[T any, W any, PT wireRow[T, W]] struct {
	pw  *parquet.GenericWriter[W]
	buf []W
}

func (w *wireWriter[T, W, PT]) write(rows []T) error {
	buf := w.buf[:0]
	for i := range rows {
		buf = append(buf, *new(W))
		PT(&rows[i]).wire(&buf[len(buf)-1])
	}
	_, err := w.pw.Write(buf)
	clear(buf) // the pointers point into rows, which the caller reuses
	w.buf = buf[:0]
	return err
}

func (w *wireWriter[T, W, PT]) setKeyValueMetadata(k, v string) { w.pw.SetKeyValueMetadata(k, v) }
func (w *wireWriter[T, W, PT]) close() error                    { return w.pw.Close() }

// flowWire is flows.parquet's schema: flowWriter (flowcols.go) takes the
// schema from an empty file parquet-go writes with it, and tests write
// through it the reference file flowWriter's are compared with.
type flowWire struct {
	FirstSeen time.Time `parquet:"first_seen,timestamp(microsecond:utc),delta"`
	LastSeen  time.Time `parquet:"last_seen,timestamp(microsecond:utc),delta"`

	Proto   string `parquet:"proto,dict"`
	SrcIP   string `parquet:"src_ip,dict"`
	SrcPort int32  `parquet:"src_port,delta"`
	DstIP   string `parquet:"dst_ip,dict"`
	DstPort int32  `parquet:"dst_port"`

	PacketsOut int64 `parquet:"packets_out"`
	BytesOut   int64 `parquet:"bytes_out"`
	PacketsIn  int64 `parquet:"packets_in"`
	BytesIn    int64 `parquet:"bytes_in"`
	PayloadOut int64 `parquet:"payload_out"`
	PayloadIn  int64 `parquet:"payload_in"`

	State       string `parquet:"state,dict"`
	History     string `parquet:"history,dict"`
	VLAN        int32  `parquet:"vlan,delta"`
	CommunityID string `parquet:"community_id"`
	EndReason   string `parquet:"end_reason,dict"`
	ICMPUnreach int32  `parquet:"icmp_unreach,delta"`

	App          *string `parquet:"app,optional,dict"`
	Verdict      *string `parquet:"verdict,optional,dict"`
	Vendor       *string `parquet:"vendor,optional,dict"`
	EntryID      *string `parquet:"entry_id,optional,dict"`
	Reason       *string `parquet:"reason,optional,dict"`
	ClassifiedBy *string `parquet:"classified_by,optional,dict"`
	FromRole     *string `parquet:"from_role,optional,dict"`
	ToRole       *string `parquet:"to_role,optional,dict"`

	SNI        *string `parquet:"sni,optional,dict"`
	ServerName *string `parquet:"server_name,optional,dict"`
	ALPN       *string `parquet:"alpn,optional,dict"`
	TLSVersion *string `parquet:"tls_version,optional,dict"`
	JA4        *string `parquet:"ja4,optional,dict"`
	JA3        *string `parquet:"ja3,optional,dict"`
	CallID     *string `parquet:"call_id,optional"`

	Sensor *string `parquet:"sensor,optional,dict"`

	Tunnel      *string `parquet:"tunnel,optional,dict"`
	ProxyTarget *string `parquet:"proxy_target,optional,dict"`
	SeqBytesOut int64   `parquet:"seq_bytes_out"`
	SeqBytesIn  int64   `parquet:"seq_bytes_in"`

	DNSQuery *string `parquet:"dns_query,optional,dict"`
	DNSRCode *string `parquet:"dns_rcode,optional,dict"`
}

func (r *FlowRow) wire(w *flowWire) {
	*w = flowWire{
		FirstSeen: r.FirstSeen, LastSeen: r.LastSeen,
		Proto: str(r.Proto), SrcIP: str(r.SrcIP), SrcPort: r.SrcPort, DstIP: str(r.DstIP), DstPort: r.DstPort,
		PacketsOut: r.PacketsOut, BytesOut: r.BytesOut, PacketsIn: r.PacketsIn, BytesIn: r.BytesIn,
		PayloadOut: r.PayloadOut, PayloadIn: r.PayloadIn,
		State: str(r.State), History: str(r.History), VLAN: r.VLAN, CommunityID: str(r.CommunityID),
		EndReason: str(r.EndReason), ICMPUnreach: r.ICMPUnreach,
		App: optStr(&r.App), Verdict: optStr(&r.Verdict), Vendor: optStr(&r.Vendor), EntryID: optStr(&r.EntryID),
		Reason: optStr(&r.Reason), ClassifiedBy: optStr(&r.ClassifiedBy), FromRole: optStr(&r.FromRole), ToRole: optStr(&r.ToRole),
		SNI: optStr(&r.SNI), ServerName: optStr(&r.ServerName), ALPN: optStr(&r.ALPN), TLSVersion: optStr(&r.TLSVersion),
		JA4: optStr(&r.JA4), JA3: optStr(&r.JA3), CallID: optStr(&r.CallID),
		Sensor: optStr(&r.Sensor), Tunnel: optStr(&r.Tunnel), ProxyTarget: optStr(&r.ProxyTarget),
		SeqBytesOut: r.SeqBytesOut, SeqBytesIn: r.SeqBytesIn,
		DNSQuery: optStr(&r.DNSQuery), DNSRCode: optStr(&r.DNSRCode),
	}
}

type findingWire struct {
	Kind     string `parquet:"kind,dict"`
	Severity string `parquet:"severity,dict"`

	Proto   *string `parquet:"proto,optional,dict"`
	SrcIP   *string `parquet:"src_ip,optional,dict"`
	DstIP   *string `parquet:"dst_ip,optional,dict"`
	DstPort *int32  `parquet:"dst_port,optional"`

	Vendor   *string `parquet:"vendor,optional,dict"`
	EntryID  *string `parquet:"entry_id,optional,dict"`
	FromRole *string `parquet:"from_role,optional,dict"`
	ToRole   *string `parquet:"to_role,optional,dict"`
	App      *string `parquet:"app,optional,dict"`
	Reason   string  `parquet:"reason,dict"`

	SNI        *string `parquet:"sni,optional,dict"`
	ServerName *string `parquet:"server_name,optional,dict"`
	CallID     *string `parquet:"call_id,optional"`

	Count     int64     `parquet:"count"`
	FirstSeen time.Time `parquet:"first_seen,timestamp(microsecond:utc)"`
	LastSeen  time.Time `parquet:"last_seen,timestamp(microsecond:utc)"`

	HostPairs *string `parquet:"host_pairs,optional"`
	Ports     *string `parquet:"ports,optional,dict"`
	Sensor    *string `parquet:"sensor,optional,dict"`

	FindingID       string  `parquet:"finding_id"`
	EvidenceFile    *string `parquet:"evidence_file,optional"`
	EvidencePackets int32   `parquet:"evidence_packets"`

	// Optional only so that files written before the column existed
	// read back; every row written has it, info's 0 included.
	SeverityRank *int32 `parquet:"severity_rank,optional"`
}

func (r *FindingRow) wire(w *findingWire) {
	*w = findingWire{
		Kind: str(r.Kind), Severity: str(r.Severity),
		Proto: optStr(&r.Proto), SrcIP: optStr(&r.SrcIP), DstIP: optStr(&r.DstIP), DstPort: opt(&r.DstPort),
		Vendor: optStr(&r.Vendor), EntryID: optStr(&r.EntryID), FromRole: optStr(&r.FromRole), ToRole: optStr(&r.ToRole),
		App: optStr(&r.App), Reason: str(r.Reason),
		SNI: optStr(&r.SNI), ServerName: optStr(&r.ServerName), CallID: optStr(&r.CallID),
		Count: r.Count, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen,
		HostPairs: optStr(&r.HostPairs), Ports: optStr(&r.Ports), Sensor: optStr(&r.Sensor),
		FindingID: str(r.FindingID), EvidenceFile: optStr(&r.EvidenceFile), EvidencePackets: r.EvidencePackets,
		SeverityRank: &r.SeverityRank,
	}
}

type callWire struct {
	CallID    string  `parquet:"call_id"`
	FromURI   string  `parquet:"from_uri"`
	ToURI     string  `parquet:"to_uri"`
	CallerUA  *string `parquet:"caller_user_agent,optional,dict"`
	CalleeUA  *string `parquet:"callee_user_agent,optional,dict"`
	CallerIP  string  `parquet:"caller_ip,dict"`
	CallerPrt int32   `parquet:"caller_port"`
	CalleeIP  string  `parquet:"callee_ip,dict"`
	CalleePrt int32   `parquet:"callee_port"`
	Transport string  `parquet:"transport,dict"`

	Start  *time.Time `parquet:"start_time,timestamp(microsecond:utc),optional"`
	Answer *time.Time `parquet:"answer_time,timestamp(microsecond:utc),optional"`
	End    *time.Time `parquet:"end_time,timestamp(microsecond:utc),optional"`

	FinalStatus    int32   `parquet:"final_status"`
	EndReason      string  `parquet:"end_reason,dict"`
	Reinvites      int32   `parquet:"reinvites"`
	Codecs         *string `parquet:"codecs,optional,dict"`
	Findings       *string `parquet:"findings,optional,dict"`
	StreamsDropped int32   `parquet:"streams_dropped"`

	MOS     *float64 `parquet:"mos,optional"`
	RFactor *float64 `parquet:"r_factor,optional"`

	Media []mediaWire `parquet:"media,list"`

	Sensor *string `parquet:"sensor,optional,dict"`
}

func (r *CallRow) wire(w *callWire) {
	*w = callWire{
		CallID: str(r.CallID), FromURI: str(r.FromURI), ToURI: str(r.ToURI),
		CallerUA: optStr(&r.CallerUA), CalleeUA: optStr(&r.CalleeUA),
		CallerIP: str(r.CallerIP), CallerPrt: r.CallerPrt, CalleeIP: str(r.CalleeIP), CalleePrt: r.CalleePrt, Transport: str(r.Transport),
		Start: optTime(&r.Start), Answer: optTime(&r.Answer), End: optTime(&r.End),
		FinalStatus: r.FinalStatus, EndReason: str(r.EndReason), Reinvites: r.Reinvites,
		Codecs: optStr(&r.Codecs), Findings: optStr(&r.Findings), StreamsDropped: r.StreamsDropped,
		MOS: r.MOS, RFactor: r.RFactor,
		Sensor: optStr(&r.Sensor),
	}
	if len(r.Media) > 0 {
		w.Media = make([]mediaWire, len(r.Media))
		for i := range r.Media {
			r.Media[i].wire(&w.Media[i])
		}
	}
}

type mediaWire struct {
	Index           int32   `parquet:"index"`
	Type            string  `parquet:"type"`
	Proto           string  `parquet:"proto"`
	CallerRTP       *string `parquet:"caller_rtp,optional"`
	CallerRTCP      *string `parquet:"caller_rtcp,optional"`
	CalleeRTP       *string `parquet:"callee_rtp,optional"`
	CalleeRTCP      *string `parquet:"callee_rtcp,optional"`
	CallerDirection *string `parquet:"caller_direction,optional"`
	CalleeDirection *string `parquet:"callee_direction,optional"`
	Codecs          *string `parquet:"codecs,optional"`
	Observed        *string `parquet:"observed,optional"`
	Flows           int32   `parquet:"flows"`
	Packets         int64   `parquet:"packets"`
	Bytes           int64   `parquet:"bytes"`
	Lost            int64   `parquet:"lost"`
	JitterMillis    float64 `parquet:"jitter_ms"`
	Missing         bool    `parquet:"missing"`
	OneWay          bool    `parquet:"one_way"`

	PoorQuality    bool            `parquet:"poor_quality"`
	CallerToCallee *CallQualityRow `parquet:"caller_to_callee,optional"`
	CalleeToCaller *CallQualityRow `parquet:"callee_to_caller,optional"`
}

func (r *CallMediaRow) wire(w *mediaWire) {
	*w = mediaWire{
		Index: r.Index, Type: str(r.Type), Proto: str(r.Proto),
		CallerRTP: optStr(&r.CallerRTP), CallerRTCP: optStr(&r.CallerRTCP), CalleeRTP: optStr(&r.CalleeRTP), CalleeRTCP: optStr(&r.CalleeRTCP),
		CallerDirection: optStr(&r.CallerDirection), CalleeDirection: optStr(&r.CalleeDirection),
		Codecs: optStr(&r.Codecs), Observed: optStr(&r.Observed),
		Flows: r.Flows, Packets: r.Packets, Bytes: r.Bytes, Lost: r.Lost, JitterMillis: r.JitterMillis,
		Missing: r.Missing, OneWay: r.OneWay,
		PoorQuality: r.PoorQuality, CallerToCallee: r.CallerToCallee, CalleeToCaller: r.CalleeToCaller,
	}
}

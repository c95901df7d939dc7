package parquetout

import (
	"math"
	"net/netip"
	"time"
	"unsafe"

	"github.com/ccaudit/auditor/capture/flow"
)

// SchemaVersion names the flows.parquet schema. It changes, as "flows/2",
// whenever a column is renamed, retyped or removed, so readers can refuse
// files they would misread; adding an optional column keeps it.
const SchemaVersion = "flows/1"

// FlowRow is one row of flows.parquet; doc.go describes the columns. The
// field order is the column order.
//
// The optional string columns are stored as NULL when the Go string is
// empty: parquet-go treats the zero value of a non-pointer optional field as
// null, which gives SQL users IS NULL without making Go callers allocate a
// *string per set field.
//
// Integer columns are stored plain, which zstd compresses well, except
// src_port, an ephemeral port with nothing to compress that delta encoding
// bit-packs, and vlan and icmp_unreach, nearly constant, which it packs to
// almost nothing before the compressor sees them.
type FlowRow struct {
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

	// Classification, filled by the classifier after FromFlow.
	App          string `parquet:"app,optional,dict"`
	Verdict      string `parquet:"verdict,optional,dict"`
	Vendor       string `parquet:"vendor,optional,dict"`
	EntryID      string `parquet:"entry_id,optional,dict"`
	Reason       string `parquet:"reason,optional,dict"`
	ClassifiedBy string `parquet:"classified_by,optional,dict"`
	FromRole     string `parquet:"from_role,optional,dict"`
	ToRole       string `parquet:"to_role,optional,dict"`

	// Protocol metadata, from flow.Meta.
	SNI        string `parquet:"sni,optional,dict"`
	ServerName string `parquet:"server_name,optional,dict"`
	ALPN       string `parquet:"alpn,optional,dict"`
	TLSVersion string `parquet:"tls_version,optional,dict"`
	JA4        string `parquet:"ja4,optional,dict"`
	JA3        string `parquet:"ja3,optional,dict"`
	CallID     string `parquet:"call_id,optional"`

	Sensor string `parquet:"sensor,optional,dict"`

	// Tunnel is the innermost tunnel the flow's first packet came out of
	// (decode.TunnelID's form, "gre 10.0.0.1->10.0.0.2"); from flow.Meta.
	Tunnel string `parquet:"tunnel,optional,dict"`
	// ProxyTarget is the host:port an explicit proxy (HTTP CONNECT,
	// SOCKS) was asked to reach, from flow.Meta.
	ProxyTarget string `parquet:"proxy_target,optional,dict"`
	// Payload bytes by sequence numbers, as Zeek's orig_bytes/resp_bytes.
	SeqBytesOut int64 `parquet:"seq_bytes_out"`
	SeqBytesIn  int64 `parquet:"seq_bytes_in"`
	// A DNS flow's own question (flow.Meta.DNSQuery, DNSRCode).
	DNSQuery string `parquet:"dns_query,optional,dict"`
	DNSRCode string `parquet:"dns_rcode,optional,dict"`
}

// FromFlow overwrites every field of row with what the flow table knows
// about f: endpoints, counters, state, times and the parser metadata in
// f.Meta. The classification columns (verdict, vendor, entry_id, reason,
// classified_by, from_role, to_role) and sensor are cleared for the caller
// to set afterwards, so a reused row never carries the previous flow's
// values. App comes from f.Meta and may be overridden.
//
// Times are truncated to the microsecond the file stores, so a row read back
// equals the row written.
//
// It allocates the address, history and Community ID strings; everything
// else is shared with f or a constant.
func FromFlow(f *flow.Flow, row *FlowRow) {
	fromFlow(f, row, nil)
}

// FlowRowBuilder fills flow rows as FromFlow does, reusing the text of
// recently seen addresses (addrCache) instead of formatting and
// allocating two per row, and carving Community IDs out of a shared
// buffer instead of allocating one per row. Not safe for concurrent use;
// the zero value is ready.
type FlowRowBuilder struct {
	addrs *addrCache
	ids   communityIDs
	// hists are recent history strings, in slots by hashes of their text:
	// a few histories make most rows ("Dd", "ShADadFf"), and the row that
	// repeats one shares its string, which the column's dictionary then
	// recognizes by its address instead of hashing it.
	hists   [histSlots]string
	histBuf []byte // scratch: the history being looked up
}

const histSlots = 64

// Fill is FromFlow.
func (b *FlowRowBuilder) Fill(f *flow.Flow, row *FlowRow) {
	if b.addrs == nil {
		b.addrs = new(addrCache)
	}
	fromFlow(f, row, b)
}

// communityIDs hands out Community ID texts carved from slabs, one
// allocation per idSlab bytes instead of one per row.
type communityIDs struct {
	buf []byte
}

// idSlab is how many bytes of Community IDs are allocated at a time: 136
// rows' worth.
const idSlab = 4 << 10

// text is flow.CommunityID.
func (c *communityIDs) text(proto uint8, src, dst netip.AddrPort) string {
	if cap(c.buf)-len(c.buf) < flow.CommunityIDLen {
		c.buf = make([]byte, 0, idSlab)
	}
	start := len(c.buf)
	c.buf = flow.AppendCommunityID(c.buf, proto, src, dst, 0)
	id := c.buf[start:]
	// The string's bytes are never written again: later IDs are appended
	// after them, and a full slab is replaced, not reused, so it lives as
	// long as any row's string points into it.
	return unsafe.String(unsafe.SliceData(id), len(id))
}

// history is f.History(), the string of the same history seen before
// when its slot still holds it.
func (b *FlowRowBuilder) history(f *flow.Flow) string {
	b.histBuf = f.AppendHistory(b.histBuf[:0])
	h := uint32(2166136261) // FNV-1a
	for _, c := range b.histBuf {
		h = (h ^ uint32(c)) * 16777619
	}
	// Two slots a history, the first taken while it is free: two
	// frequent ones that share a first slot do not take turns evicting
	// each other.
	slot := &b.hists[h%histSlots]
	if *slot == string(b.histBuf) {
		return *slot
	}
	if *slot != "" {
		slot = &b.hists[h>>16%histSlots]
		if *slot == string(b.histBuf) {
			return *slot
		}
	}
	*slot = string(b.histBuf)
	return *slot
}

// fromFlow is FromFlow, with addresses, Community ID and history from b
// when it is not nil.
func fromFlow(f *flow.Flow, row *FlowRow, b *FlowRowBuilder) {
	src, dst := f.Src(), f.Dst()
	proto := f.Key.Proto()
	var srcIP, dstIP, id, history string
	if b != nil {
		srcIP, dstIP = b.addrs.text(src.Addr()), b.addrs.text(dst.Addr())
		id = b.ids.text(proto, src, dst)
		history = b.history(f)
	} else {
		srcIP, dstIP = src.Addr().String(), dst.Addr().String()
		id = flow.CommunityID(proto, src, dst, 0)
		history = f.History()
	}
	*row = FlowRow{
		FirstSeen:   unixMicro(f.First),
		LastSeen:    unixMicro(f.Last),
		Proto:       flow.ProtoName(proto),
		SrcIP:       srcIP,
		SrcPort:     int32(src.Port()),
		DstIP:       dstIP,
		DstPort:     int32(dst.Port()),
		PacketsOut:  toInt64(f.Orig.Packets),
		BytesOut:    toInt64(f.Orig.Bytes),
		PacketsIn:   toInt64(f.Resp.Packets),
		BytesIn:     toInt64(f.Resp.Bytes),
		PayloadOut:  toInt64(f.Orig.Payload),
		PayloadIn:   toInt64(f.Resp.Payload),
		State:       f.State(),
		History:     history,
		VLAN:        int32(f.VLAN),
		CommunityID: id,
		EndReason:   f.End.String(),
		ICMPUnreach: int32(min(f.ICMPUnreach, math.MaxInt32)),
	}
	seqOut, seqIn := f.SeqBytes()
	row.SeqBytesOut, row.SeqBytesIn = toInt64(seqOut), toInt64(seqIn)
	if m := f.Meta; m != nil {
		row.App = m.App
		row.SNI = m.SNI
		row.ServerName = m.ServerName
		row.ALPN = m.ALPN
		row.TLSVersion = m.TLSVersion
		row.JA4 = m.JA4
		row.JA3 = m.JA3
		row.CallID = m.CallID
		row.Tunnel = m.Tunnel
		row.ProxyTarget = m.ProxyTarget
		row.DNSQuery = m.DNSQuery
		row.DNSRCode = m.DNSRCode
	}
}

// unixMicro converts unix nanoseconds to a UTC time truncated to the
// microsecond, rounding toward negative infinity like the file's integer
// microseconds do.
func unixMicro(ns int64) time.Time {
	us := ns / 1000
	if ns%1000 < 0 {
		us--
	}
	return time.UnixMicro(us).UTC()
}

// toInt64 saturates instead of wrapping. The counters are signed INT64 in
// the file because SQL users sum and subtract them, and no real counter
// reaches 2^63.
func toInt64(v uint64) int64 { return int64(min(v, math.MaxInt64)) }

package parquetout

import (
	"strings"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

// DNSSchema names the dns.parquet schema; it follows the same versioning
// rule as SchemaVersion.
const DNSSchema = "dns/1"

// DNSRow is one row of dns.parquet: a DNS query and its response
// (docs/schema-dns.md describes the columns). An unanswered query has
// NULL response columns; a response whose query was not seen has a NULL
// query_time and latency.
type DNSRow struct {
	Time         time.Time `parquet:"ts,timestamp(microsecond:utc),delta"`
	QueryTime    time.Time `parquet:"query_time,timestamp(microsecond:utc),optional"`
	ResponseTime time.Time `parquet:"response_time,timestamp(microsecond:utc),optional"`
	// LatencyMillis is response_time - query_time; NULL unless both were
	// seen (HasLatency).
	LatencyMillis float64 `parquet:"latency_ms,optional" wire:"if=HasLatency"`
	HasLatency    bool    `parquet:"-"`

	Proto      string `parquet:"proto,dict"`
	Service    string `parquet:"service,dict"`
	ClientIP   string `parquet:"client_ip,dict"`
	ClientPort int32  `parquet:"client_port"`
	ServerIP   string `parquet:"server_ip,dict"`
	ServerPort int32  `parquet:"server_port"`

	TransID int32  `parquet:"trans_id"`
	Opcode  int32  `parquet:"opcode"`
	Query   string `parquet:"query,optional,dict"`
	QType   string `parquet:"qtype,optional,dict"`
	QClass  int32  `parquet:"qclass"`

	Answered bool   `parquet:"answered"`
	RCode    string `parquet:"rcode,optional,dict" wire:"if=Answered"`
	RCodeNum int32  `parquet:"rcode_num,optional" wire:"if=Answered"`
	Flags    string `parquet:"flags,optional,dict"`

	Answers      []DNSAnswerRow `parquet:"answers,list"`
	CNAMEChain   []string       `parquet:"cname_chain,list" parquet-element:",dict"`
	OtherAnswers int32          `parquet:"other_answers"`

	CommunityID string `parquet:"community_id"`
	Sensor      string `parquet:"sensor,optional,dict"`
}

// DNSAnswerRow is an A, AAAA or CNAME record of a response.
type DNSAnswerRow struct {
	Name string `parquet:"name,dict"`
	Type string `parquet:"type,dict"`
	TTL  int64  `parquet:"ttl"`
	// Data is the address of an A or AAAA record, the canonical name of
	// a CNAME.
	Data string `parquet:"data,dict"`
}

// CreateDNS opens dns.parquet for writing.
func CreateDNS(path string, opts Options) (*TableWriter[DNSRow], error) {
	return NewTableWriter[DNSRow](path, DNSSchema, opts)
}

// ReadDNS reads a dns.parquet file back. A NULL latency reads as 0 with
// HasLatency false only when query_time or response_time is NULL.
func ReadDNS(path string) ([]DNSRow, error) {
	rows, err := ReadTable[DNSRow](path, DNSSchema)
	for i := range rows {
		rows[i].HasLatency = !rows[i].QueryTime.IsZero() && !rows[i].ResponseTime.IsZero()
	}
	return rows, err
}

// FromDNS fills row from a transaction, overwriting every field.
func FromDNS(t *dnsinfo.Transaction, row *DNSRow) {
	fromDNS(t, row, nil)
}

// DNSRowBuilder fills DNS rows as FromDNS does, reusing the text of the
// header flags (at most 64 sets) rather than building it per row. Not
// safe for concurrent use; the zero value is ready.
//
// Address texts are formatted per row: a cache of them keyed by
// netip.Addr measured slower on the benchmark capture (map lookups over
// many distinct clients and answers) than netip.Addr.String.
type DNSRowBuilder struct {
	flagNames map[dnsinfo.Flags]string
}

// Fill is FromDNS.
func (b *DNSRowBuilder) Fill(t *dnsinfo.Transaction, row *DNSRow) {
	fromDNS(t, row, b)
}

func (b *DNSRowBuilder) flags(f dnsinfo.Flags) string {
	if b == nil {
		return flagString(f)
	}
	f &= dnsinfo.FlagAA | dnsinfo.FlagTC | dnsinfo.FlagRD | dnsinfo.FlagRA | dnsinfo.FlagAD | dnsinfo.FlagCD
	s, ok := b.flagNames[f]
	if !ok {
		if b.flagNames == nil {
			b.flagNames = make(map[dnsinfo.Flags]string)
		}
		s = flagString(f)
		b.flagNames[f] = s
	}
	return s
}

func fromDNS(t *dnsinfo.Transaction, row *DNSRow, b *DNSRowBuilder) {
	*row = DNSRow{
		QueryTime: optionalTime(t.QueryTime), ResponseTime: optionalTime(t.ResponseTime),
		Proto: flow.ProtoName(t.Proto), Service: t.Service,
		ClientIP: addrString(t.Client.Addr()), ClientPort: int32(t.Client.Port()),
		ServerIP: addrString(t.Server.Addr()), ServerPort: int32(t.Server.Port()),
		TransID: int32(t.ID), Opcode: int32(t.Opcode), Query: t.Name, QClass: int32(t.Class),
		Answered: t.Answered(), Flags: b.flags(t.Flags),
		CNAMEChain: t.CNAMEChain(), OtherAnswers: int32(t.OtherAnswers),
		CommunityID: t.CommunityID,
	}
	if row.CommunityID == "" && t.Client.IsValid() && t.Server.IsValid() {
		row.CommunityID = flow.CommunityID(t.Proto, t.Client, t.Server, 0)
	}
	row.Time = row.QueryTime
	if row.Time.IsZero() {
		row.Time = row.ResponseTime
	}
	if t.Name != "" || t.Type != 0 {
		row.QType = t.Type.String()
	}
	if t.Answered() {
		row.RCode, row.RCodeNum = t.RCode.String(), int32(t.RCode)
		if t.QueryTime != 0 {
			row.HasLatency = true
			row.LatencyMillis = float64(t.ResponseTime-t.QueryTime) / 1e6
		}
	}
	if len(t.Answers) > 0 {
		row.Answers = make([]DNSAnswerRow, len(t.Answers))
		for i := range t.Answers {
			a := &t.Answers[i]
			data := a.Target
			if a.Type != dnsinfo.TypeCNAME {
				data = addrString(a.Addr)
			}
			row.Answers[i] = DNSAnswerRow{Name: a.Name, Type: a.Type.String(), TTL: int64(a.TTL), Data: data}
		}
	}
}

// flagString lists the header flags set, in header order: "aa tc rd ra
// ad cd".
func flagString(f dnsinfo.Flags) string {
	var b strings.Builder
	for _, fl := range []struct {
		bit  dnsinfo.Flags
		name string
	}{{dnsinfo.FlagAA, "aa"}, {dnsinfo.FlagTC, "tc"}, {dnsinfo.FlagRD, "rd"}, {dnsinfo.FlagRA, "ra"}, {dnsinfo.FlagAD, "ad"}, {dnsinfo.FlagCD, "cd"}} {
		if f&fl.bit != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(fl.name)
		}
	}
	return b.String()
}

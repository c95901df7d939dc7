package parquetout

import (
	"net/netip"
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
//
// The times and the answers' TTLs are delta encoded and the strings of
// the answer and alias lists dictionary encoded: a replay spent more CPU
// compressing them plain than building the rows, for larger files.
type DNSRow struct {
	Time         time.Time `parquet:"ts,timestamp(microsecond:utc),delta"`
	QueryTime    time.Time `parquet:"query_time,timestamp(microsecond:utc),optional,delta"`
	ResponseTime time.Time `parquet:"response_time,timestamp(microsecond:utc),optional,delta"`
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
	TTL  int64  `parquet:"ttl,delta"`
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

// DNSRowBuilder fills DNS rows as FromDNS does, cheaper per row: it
// reuses the text of the header flags (flagTexts) and of recently seen
// addresses (addrCache), and carves the rows' answer lists, CNAME chains
// and Community IDs out of blocks it allocates a few thousand elements at
// a time. A block is never written again once carved, so a row keeps its lists
// however long the writer holds it, unless ReuseLists is set. Not safe
// for concurrent use; the zero value is ready.
type DNSRowBuilder struct {
	// ReuseLists has every row's answer list and CNAME chain be the
	// builder's own two lists, valid until the next Fill: for a caller
	// that writes each row before filling the next (a TableWriter copies
	// a DNS row's values into its columns as Write takes it), which then
	// writes a row's answers to memory still in the cache rather than to
	// a fresh part of a block.
	ReuseLists bool

	flagTexts *flagTexts
	addrs     *addrCache
	answers   []DNSAnswerRow // the unused rest of the current block; ReuseLists: the list
	chains    []string       // the unused rest of the current block; ReuseLists: the chain
	ids       communityIDs
	// names are the texts of recent names, by their text: see name.
	names map[string]string
}

// nameCacheMax bounds DNSRowBuilder.names; past it the cache starts over.
const nameCacheMax = 4096

// name returns the builder's copy of s. The DNS dissector makes each
// transaction's names anew, so the dictionary columns could only tell a
// row's names from the last row's by hashing them, once per column; one
// string per name instead lets them find it by its address (strDict's
// seen slots), and the builder hashes it once. A copy, not s, is kept:
// s is part of its whole response's text.
func (b *DNSRowBuilder) name(s string) string {
	if b == nil || s == "" {
		return s
	}
	if c, ok := b.names[s]; ok {
		return c
	}
	if b.names == nil || len(b.names) >= nameCacheMax {
		b.names = make(map[string]string)
	}
	c := strings.Clone(s)
	b.names[c] = c
	return c
}

// sameName returns the name of row that t's name s is, found by
// comparing s with the names row was filled with, the builder's copy of
// s when it is none of them.
func (b *DNSRowBuilder) sameName(s string, t *dnsinfo.Transaction, row *DNSRow) string {
	if s == t.Name {
		return row.Query
	}
	for i := range t.Answers {
		a := &t.Answers[i]
		if a.Type == dnsinfo.TypeCNAME && s == a.Target {
			return row.Answers[i].Data
		}
	}
	return b.name(s)
}

// answerBlock is how many answers, and chainBlock how many CNAME chain
// names, DNSRowBuilder allocates at a time.
const (
	answerBlock = 4096
	chainBlock  = 4096
)

// Fill is FromDNS.
func (b *DNSRowBuilder) Fill(t *dnsinfo.Transaction, row *DNSRow) {
	if b.addrs == nil {
		b.addrs, b.flagTexts = new(addrCache), newFlagTexts()
	}
	fromDNS(t, row, b)
}

// communityID is flow.CommunityID, from the builder's slabs when there
// is a builder.
func (b *DNSRowBuilder) communityID(proto uint8, client, server netip.AddrPort) string {
	if b == nil {
		return flow.CommunityID(proto, client, server, 0)
	}
	return b.ids.text(proto, client, server)
}

func (b *DNSRowBuilder) addr(a netip.Addr) string {
	if b == nil || !a.IsValid() {
		return addrString(a)
	}
	return b.addrs.text(a)
}

// answerList returns a list of n answers for a row.
func (b *DNSRowBuilder) answerList(n int) []DNSAnswerRow {
	if b == nil {
		return make([]DNSAnswerRow, n)
	}
	if b.ReuseLists {
		if cap(b.answers) < n {
			b.answers = make([]DNSAnswerRow, n)
		}
		return b.answers[:n:n]
	}
	if len(b.answers) < n {
		b.answers = make([]DNSAnswerRow, max(answerBlock, n))
	}
	l := b.answers[:n:n]
	b.answers = b.answers[n:]
	return l
}

// cnameChain is t.CNAMEChain(), carved out of the builder's block
// instead of allocated a row at a time. cnames counts t's CNAME records,
// which bound the chain's length (maxChainLen).
func (b *DNSRowBuilder) cnameChain(t *dnsinfo.Transaction, cnames int) []string {
	if b == nil {
		return t.CNAMEChain()
	}
	if cnames == 0 {
		return nil
	}
	if b.ReuseLists {
		l := t.AppendCNAMEChain(b.chains[:0])
		b.chains = l[:0]
		if len(l) == 0 {
			return nil
		}
		return l[:len(l):len(l)]
	}
	n := maxChainLen(cnames)
	if len(b.chains) < n {
		b.chains = make([]string, max(chainBlock, n))
	}
	// The capacity holds the longest chain: the append stays in the block.
	l := t.AppendCNAMEChain(b.chains[:0:n])
	if len(l) == 0 {
		return nil
	}
	l = l[:len(l):len(l)]
	b.chains = b.chains[len(l):]
	return l
}

// maxChainLen bounds the length of the CNAME chain of a response with
// cnames CNAME records: the question name, at most one target per record
// before a name repeats, and the repeated name. The bound is reached
// when a record aliases the question name to itself: CNAMEChain's first
// step does not look for a loop, so the name appears three times.
func maxChainLen(cnames int) int { return cnames + 2 }

func (b *DNSRowBuilder) flags(f dnsinfo.Flags) string {
	if b == nil {
		return flagString(f)
	}
	return b.flagTexts[flagIndex(f)]
}

// flagBits are the header flags a row lists.
const flagBits = dnsinfo.FlagAA | dnsinfo.FlagTC | dnsinfo.FlagRD | dnsinfo.FlagRA | dnsinfo.FlagAD | dnsinfo.FlagCD

// flagTexts are flagString's texts of every set of flagBits, by
// flagIndex: an index instead of a map lookup per row.
type flagTexts [flagBits>>4 + 1]string

func newFlagTexts() *flagTexts {
	t := new(flagTexts)
	for i := range t {
		t[i] = flagString(dnsinfo.Flags(i) << 4)
	}
	return t
}

// flagIndex is f's index in flagTexts: flagBits are bits 4 to 10.
func flagIndex(f dnsinfo.Flags) int { return int(f&flagBits) >> 4 }

func fromDNS(t *dnsinfo.Transaction, row *DNSRow, b *DNSRowBuilder) {
	*row = DNSRow{
		QueryTime: optionalTime(t.QueryTime), ResponseTime: optionalTime(t.ResponseTime),
		Proto: flow.ProtoName(t.Proto), Service: t.Service,
		ClientIP: b.addr(t.Client.Addr()), ClientPort: int32(t.Client.Port()),
		ServerIP: b.addr(t.Server.Addr()), ServerPort: int32(t.Server.Port()),
		TransID: int32(t.ID), Opcode: int32(t.Opcode), Query: b.name(t.Name), QClass: int32(t.Class),
		Answered: t.Answered(), Flags: b.flags(t.Flags),
		OtherAnswers: int32(t.OtherAnswers),
		CommunityID:  t.CommunityID,
	}
	if row.CommunityID == "" && t.Client.IsValid() && t.Server.IsValid() {
		row.CommunityID = b.communityID(t.Proto, t.Client, t.Server)
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
	cnames := 0
	if len(t.Answers) > 0 {
		row.Answers = b.answerList(len(t.Answers))
		for i := range t.Answers {
			a := &t.Answers[i]
			var data string
			if a.Type == dnsinfo.TypeCNAME {
				cnames++
				data = b.name(a.Target)
			} else {
				data = b.addr(a.Addr)
			}
			// An owner is most often the question's name or the
			// previous record's target: the same text, without a lookup.
			name := a.Name
			switch {
			case b == nil:
			case name == t.Name:
				name = row.Query
			case i > 0 && t.Answers[i-1].Type == dnsinfo.TypeCNAME && name == t.Answers[i-1].Target:
				name = row.Answers[i-1].Data
			default:
				name = b.name(name)
			}
			row.Answers[i] = DNSAnswerRow{Name: name, Type: a.Type.String(), TTL: int64(a.TTL), Data: data}
		}
	}
	row.CNAMEChain = b.cnameChain(t, cnames)
	if b != nil {
		for i, c := range row.CNAMEChain {
			row.CNAMEChain[i] = b.sameName(c, t, row)
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

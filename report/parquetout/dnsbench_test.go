package parquetout

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

func benchTx() *dnsinfo.Transaction {
	return &dnsinfo.Transaction{
		QueryTime: t0, ResponseTime: t0 + 2_500_000, Client: netip.MustParseAddrPort("10.1.2.3:50000"), Server: netip.MustParseAddrPort("10.0.0.53:53"),
		Proto: flow.ProtoUDP, Service: "dns", ID: 77, Name: "api.example.com", Type: dnsinfo.TypeA, Class: 1,
		Flags: dnsinfo.FlagRD | dnsinfo.FlagRA,
		Answers: []dnsinfo.TxAnswer{
			{Name: "api.example.com", Type: dnsinfo.TypeCNAME, TTL: 300, Target: "edge.cdn.net"},
			{Name: "edge.cdn.net", Type: dnsinfo.TypeA, TTL: 60, Addr: netip.MustParseAddr("192.0.2.1")},
		},
	}
}

func BenchmarkFromDNS(b *testing.B) {
	tx := benchTx()
	var r DNSRow
	b.ReportAllocs()
	for b.Loop() {
		FromDNS(tx, &r)
	}
}

func BenchmarkDNSRowBuilder(b *testing.B) {
	tx := benchTx()
	var r DNSRow
	var rb DNSRowBuilder
	b.ReportAllocs()
	for b.Loop() {
		rb.Fill(tx, &r)
	}
}

// BenchmarkDNSWire turns a batch of rows into their wire form as the
// table writer does, list elements in one arena.
func BenchmarkDNSWire(b *testing.B) {
	var r DNSRow
	var rb DNSRowBuilder
	rb.Fill(benchTx(), &r)
	w := make([]dnsWire, batchRows)
	var a wireArena
	b.ReportAllocs()
	for b.Loop() {
		var n arenaSize
		for range w {
			r.wireSize(&n)
		}
		a.reserve(n)
		for i := range w {
			r.wire(&w[i], &a)
		}
		a.reset()
	}
}

// benchParsedDNSTxs is benchDNSTxs with each transaction's strings made
// as the DNS dissector makes them: the question name a copy of its own,
// the answers' names and targets one string per response (SetQuestion,
// SetResponse), so no two rows share a name's bytes. Its questions ask
// for a dozen names, as the benchmark capture's 92 k transactions do
// (ten), rather than benchDNSTxs' 1200.
func benchParsedDNSTxs(n int) []*dnsinfo.Transaction {
	txs := benchDNSTxs(n)
	names := map[string]string{}
	for i, t := range txs {
		name, ok := names[t.Name]
		if !ok {
			name = fmt.Sprintf("svc%d.site.example.com", len(names)%12)
			names[t.Name] = name
		}
		m := dnsinfo.Message{
			Header:    dnsinfo.Header{ID: t.ID, Response: true, Opcode: t.Opcode, RCode: t.RCode, Flags: t.Flags},
			Questions: []dnsinfo.Question{{Name: []byte(name), Type: t.Type, Class: t.Class}},
		}
		for _, a := range t.Answers {
			owner := a.Name
			if owner == t.Name {
				owner = name
			}
			m.Answers = append(m.Answers, dnsinfo.Answer{Name: []byte(owner), Type: a.Type, Class: 1, TTL: a.TTL, Addr: a.Addr, Target: []byte(a.Target)})
		}
		p := &dnsinfo.Transaction{
			Client: t.Client, Server: t.Server, Proto: t.Proto, Service: t.Service,
			QueryTime: t.QueryTime, Flags: t.Flags,
		}
		p.SetQuestion(&m, "")
		if t.Answered() {
			p.SetResponse(&m, t.ResponseTime)
		}
		txs[i] = p
	}
	return txs
}

// BenchmarkDNSParsedRowsBuiltAndWritten is BenchmarkDNSRowsBuiltAndWritten
// with benchParsedDNSTxs' strings, which the dictionaries cannot tell
// apart by address.
func BenchmarkDNSParsedRowsBuiltAndWritten(b *testing.B) {
	benchDNSRowsWritten(b, benchParsedDNSTxs(92_350))
}

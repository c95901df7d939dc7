package parquetout

import (
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

package parquetout

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

// benchDNSTxs returns n transactions shaped like the benchmark capture's:
// a few hundred phones asking two resolvers for a few hundred names,
// mostly answered with an address or a CNAME and its addresses (about
// 1.7 answers a row), some names unknown, some queries unanswered.
func benchDNSTxs(n int) []*dnsinfo.Transaction {
	rng := rand.New(rand.NewPCG(3, 4))
	servers := []netip.AddrPort{netip.MustParseAddrPort("10.10.1.6:53"), netip.MustParseAddrPort("10.10.1.7:53")}
	txs := make([]*dnsinfo.Transaction, n)
	for i := range txs {
		t := &dnsinfo.Transaction{
			Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 10, 2, byte(1 + rng.IntN(250))}), uint16(49152+rng.IntN(16384))),
			Server: servers[rng.IntN(len(servers))],
			Proto:  flow.ProtoUDP, Service: "dns", ID: uint16(rng.Uint32()), Type: dnsinfo.TypeA, Class: 1,
			Flags:     dnsinfo.FlagRD,
			Name:      fmt.Sprintf("svc%d.site%d.example.com", rng.IntN(300), rng.IntN(4)),
			QueryTime: t0 + int64(i)*4_000_000 + rng.Int64N(1_000_000),
		}
		if rng.IntN(5) == 0 {
			t.Type = dnsinfo.TypeAAAA
		}
		if rng.IntN(40) == 0 { // unanswered
			txs[i] = t
			continue
		}
		t.ResponseTime = t.QueryTime + 200_000 + rng.Int64N(5_000_000)
		t.Flags |= dnsinfo.FlagRA
		addr := func(k int) netip.Addr {
			if t.Type == dnsinfo.TypeAAAA {
				return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(k >> 8), 15: byte(k)})
			}
			return netip.AddrFrom4([4]byte{198, 51, byte(k >> 8), byte(k)})
		}
		switch k := rng.IntN(20); {
		case k < 2:
			t.RCode = dnsinfo.RCodeNameError
		case k < 12:
			t.Answers = append(t.Answers, dnsinfo.TxAnswer{Name: t.Name, Type: t.Type, TTL: 300, Addr: addr(rng.IntN(400))})
		default:
			target := fmt.Sprintf("edge%d.cdn.example.net", rng.IntN(40))
			t.Answers = append(t.Answers, dnsinfo.TxAnswer{Name: t.Name, Type: dnsinfo.TypeCNAME, TTL: 3600, Target: target})
			for range 1 + rng.IntN(2) {
				t.Answers = append(t.Answers, dnsinfo.TxAnswer{Name: target, Type: t.Type, TTL: 60, Addr: addr(rng.IntN(400))})
			}
		}
		txs[i] = t
	}
	return txs
}

// BenchmarkDNSRowsBuiltAndWritten is the dns.parquet sink's work per
// transaction: the row built from it and written, compressed and closed.
func BenchmarkDNSRowsBuiltAndWritten(b *testing.B) {
	benchDNSRowsWritten(b, benchDNSTxs(92_350))
}

// benchDNSRowsWritten builds and writes the rows of txs to a dns.parquet
// file per iteration, reporting ns/row.
func benchDNSRowsWritten(b *testing.B, txs []*dnsinfo.Transaction) {
	path := filepath.Join(b.TempDir(), "dns.parquet")
	b.ReportAllocs()
	for b.Loop() {
		w, err := CreateDNS(path, Options{RowGroupRows: 16 << 10})
		if err != nil {
			b.Fatal(err)
		}
		var rb DNSRowBuilder
		var row DNSRow
		for _, t := range txs {
			rb.Fill(t, &row)
			if err := w.Write(&row); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*float64(len(txs))), "ns/row")
}

// benchEndedFlows returns n ended flows shaped as benchFlows' rows: the
// flow table's own flows for each row's endpoints, packets and times, with
// its parser metadata.
func benchEndedFlows(tb testing.TB, n int) ([]flow.Flow, []FlowRow) {
	rows := benchFlows(n)
	flows := make([]flow.Flow, 0, n)
	tab := flow.NewTable(flow.Config{}, func(f *flow.Flow) { flows = append(flows, *f) })
	for i := range rows {
		r := &rows[i]
		proto := flow.ProtoUDP
		switch r.Proto {
		case "tcp":
			proto = flow.ProtoTCP
		case "icmp":
			proto = flow.ProtoICMP
		}
		src := netip.AddrPortFrom(netip.MustParseAddr(r.SrcIP), uint16(r.SrcPort))
		dst := netip.AddrPortFrom(netip.MustParseAddr(r.DstIP), uint16(r.DstPort))
		k, d := flow.NewKey(proto, src, dst)
		before := len(flows)
		send := func(at int64, dir flow.Dir, flags uint8, payload uint32) {
			p := flow.Packet{Key: k, Dir: dir, Time: at, WireLen: 42 + payload, PayloadLen: payload, TCPFlags: flags, VLAN: uint16(r.VLAN)}
			tab.Packet(&p)
		}
		first, last := r.FirstSeen.UnixNano(), r.LastSeen.UnixNano()
		if proto == flow.ProtoTCP {
			send(first, d, flow.FlagSYN, 0)
			send(first+1000, d.Flip(), flow.FlagSYN|flow.FlagACK, 0)
			send(first+2000, d, flow.FlagACK|flow.FlagPSH, uint32(r.PayloadOut))
			send(first+3000, d.Flip(), flow.FlagACK|flow.FlagPSH, uint32(r.PayloadIn))
			send(last-1000, d, flow.FlagFIN|flow.FlagACK, 0)
			send(last, d.Flip(), flow.FlagFIN|flow.FlagACK, 0)
		} else {
			send(first, d, 0, uint32(r.PayloadOut))
			send(last, d.Flip(), 0, uint32(r.PayloadIn))
		}
		tab.Flush(flow.EndFlush)
		for j := before; j < len(flows); j++ {
			m := &flow.Meta{App: r.App, SNI: r.SNI, ServerName: r.ServerName, ALPN: r.ALPN, TLSVersion: r.TLSVersion, JA4: r.JA4, JA3: r.JA3, CallID: r.CallID}
			flows[j].Meta = m
		}
	}
	if len(flows) != n {
		tb.Fatalf("%d flows from %d rows", len(flows), n)
	}
	return flows, rows
}

// BenchmarkFlowRowsBuiltAndWritten is the flows.parquet sink's work per
// ended flow: FromFlow, the classification columns, and the write.
func BenchmarkFlowRowsBuiltAndWritten(b *testing.B) {
	flows, rows := benchEndedFlows(b, benchFlowRows)
	path := filepath.Join(b.TempDir(), "flows.parquet")
	b.ReportAllocs()
	for b.Loop() {
		w, err := Create(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		var row FlowRow
		var rb FlowRowBuilder
		for i := range flows {
			rb.Fill(&flows[i], &row)
			r := &rows[i]
			row.Verdict, row.ClassifiedBy, row.Vendor, row.EntryID, row.Reason = r.Verdict, r.ClassifiedBy, r.Vendor, r.EntryID, r.Reason
			if err := w.Write(&row); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*float64(len(flows))), "ns/row")
}

package parquetout

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

func TestFromDNS(t *testing.T) {
	client, server := netip.MustParseAddrPort("10.1.2.3:50000"), netip.MustParseAddrPort("10.0.0.53:53")
	answered := &dnsinfo.Transaction{
		QueryTime: t0, ResponseTime: t0 + 2_500_000, Client: client, Server: server, Proto: flow.ProtoUDP, Service: "dns",
		ID: 77, Name: "api.example.com", Type: dnsinfo.TypeA, Class: 1, RCode: dnsinfo.RCodeSuccess,
		Flags: dnsinfo.FlagRD | dnsinfo.FlagRA | dnsinfo.FlagAD,
		Answers: []dnsinfo.TxAnswer{
			{Name: "api.example.com", Type: dnsinfo.TypeCNAME, TTL: 300, Target: "edge.cdn.net"},
			{Name: "edge.cdn.net", Type: dnsinfo.TypeA, TTL: 60, Addr: netip.MustParseAddr("192.0.2.1")},
		},
		OtherAnswers: 1,
	}
	var r DNSRow
	FromDNS(answered, &r)
	k, _ := flow.NewKey(flow.ProtoUDP, client, server)
	f := flow.Flow{Key: k}
	if r.CommunityID != f.CommunityID() || r.CommunityID != flow.CommunityID(flow.ProtoUDP, server, client, 0) {
		t.Errorf("community id %q, the flow's %q", r.CommunityID, f.CommunityID())
	}
	want := DNSRow{
		Time: unixMicro(t0), QueryTime: unixMicro(t0), ResponseTime: unixMicro(t0 + 2_500_000), LatencyMillis: 2.5, HasLatency: true,
		Proto: "udp", Service: "dns", ClientIP: "10.1.2.3", ClientPort: 50000, ServerIP: "10.0.0.53", ServerPort: 53,
		TransID: 77, Query: "api.example.com", QType: "A", QClass: 1, Answered: true, RCode: "NOERROR", Flags: "rd ra ad",
		Answers:    []DNSAnswerRow{{"api.example.com", "CNAME", 300, "edge.cdn.net"}, {"edge.cdn.net", "A", 60, "192.0.2.1"}},
		CNAMEChain: []string{"api.example.com", "edge.cdn.net"}, OtherAnswers: 1, CommunityID: r.CommunityID,
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("answered:\n got %+v\nwant %+v", r, want)
	}

	unanswered := &dnsinfo.Transaction{QueryTime: t0, Client: client, Server: server, Proto: flow.ProtoUDP, Service: "dns",
		Name: "nx.example.com", Type: dnsinfo.TypeAAAA, Flags: dnsinfo.FlagRD}
	FromDNS(unanswered, &r)
	if r.Answered || r.RCode != "" || !r.ResponseTime.IsZero() || r.HasLatency || r.Time != unixMicro(t0) || r.Flags != "rd" {
		t.Errorf("unanswered: %+v", r)
	}
	stray := &dnsinfo.Transaction{ResponseTime: t0 + 1000, Client: client, Server: server, Proto: flow.ProtoUDP, Service: "mdns",
		Name: "printer.local", Type: dnsinfo.TypeA, RCode: dnsinfo.RCodeNameError}
	var s DNSRow
	FromDNS(stray, &s)
	if !s.Answered || s.HasLatency || !s.QueryTime.IsZero() || s.Time != unixMicro(t0+1000) || s.RCode != "NXDOMAIN" || s.RCodeNum != 3 {
		t.Errorf("response without query: %+v", s)
	}

	// NULLs where the transaction lacks a half; the rest reads back.
	path := filepath.Join(t.TempDir(), "dns.parquet")
	FromDNS(answered, &want)
	writeTable(t, path, DNSSchema, want, r, s)
	got, err := ReadDNS(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !reflect.DeepEqual(got[0], want) || got[1].HasLatency || got[1].RCode != "" || got[2].HasLatency || !got[2].QueryTime.IsZero() {
		t.Errorf("read back %+v", got)
	}
	md, err := ReadMetadata(path)
	if err != nil || md[MetaSchema] != DNSSchema {
		t.Errorf("schema %q, %v", md[MetaSchema], err)
	}
}

// The builder's remembered flag texts give the rows FromDNS gives, for
// every combination of header bits.
func TestDNSRowBuilderMatchesFromDNS(t *testing.T) {
	var b DNSRowBuilder
	server := netip.MustParseAddrPort("10.0.0.53:53")
	for i := range 5000 {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(40000+i%1000))
		if i%3 == 0 {
			client = netip.MustParseAddrPort("[2001:db8::7]:5353")
		}
		tx := &dnsinfo.Transaction{
			QueryTime: t0, ResponseTime: t0 + int64(i), Client: client, Server: server, Proto: flow.ProtoUDP, Service: "dns",
			ID: uint16(i), Name: "api.example.com", Type: dnsinfo.TypeA, Class: 1, Flags: dnsinfo.Flags(i) & 0x7ff,
			Answers: []dnsinfo.TxAnswer{{Name: "api.example.com", Type: dnsinfo.TypeA, TTL: 60, Addr: client.Addr()}},
		}
		var got, want DNSRow
		b.Fill(tx, &got)
		FromDNS(tx, &want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("transaction %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
}

// The builder's rows equal FromDNS's for responses with CNAME chains,
// loops and names of any case, and keep their chains across the
// builder's chain blocks: a row filled before is unchanged by the rows
// filled after it.
func TestDNSRowBuilderChainsMatchFromDNS(t *testing.T) {
	var b DNSRowBuilder
	txs := chainTxs(3 * chainBlock)
	rows := make([]DNSRow, len(txs))
	for i, tx := range txs {
		b.Fill(tx, &rows[i])
	}
	for i, tx := range txs {
		var want DNSRow
		FromDNS(tx, &want)
		if !reflect.DeepEqual(rows[i], want) {
			t.Fatalf("transaction %d:\n got %+v\nwant %+v", i, rows[i], want)
		}
	}
}

// A builder with ReuseLists fills each row as FromDNS does, though every
// row's lists are the same memory, and a file written a row at a time
// from one reused row holds each row's own answers and chain: Write
// copies them before the next Fill overwrites them.
func TestDNSRowBuilderReuseLists(t *testing.T) {
	b := DNSRowBuilder{ReuseLists: true}
	txs := chainTxs(2000)
	path := filepath.Join(t.TempDir(), "dns.parquet")
	w, err := CreateDNS(path, Options{RowGroupRows: 700})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]DNSRow, len(txs))
	var row DNSRow
	for i, tx := range txs {
		b.Fill(tx, &row)
		FromDNS(tx, &want[i])
		if !reflect.DeepEqual(row, want[i]) {
			t.Fatalf("transaction %d:\n got %+v\nwant %+v", i, row, want[i])
		}
		if err := w.Write(&row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDNS(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d rows, wrote %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		// The file keeps microseconds and reads empty lists as nil.
		if len(g.Answers) != len(w.Answers) || !slices.Equal(g.CNAMEChain, w.CNAMEChain) ||
			(len(w.Answers) > 0 && !reflect.DeepEqual(g.Answers, w.Answers)) || g.Query != w.Query || g.TransID != w.TransID {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// chainTxs are n transactions with CNAME chains (some looping, some not
// from the question name, names of any case) and addresses.
func chainTxs(n int) []*dnsinfo.Transaction {
	server := netip.MustParseAddrPort("10.0.0.53:53")
	txs := make([]*dnsinfo.Transaction, n)
	for i := range txs {
		q := fmt.Sprintf("svc%d.example.com", i%7)
		tx := &dnsinfo.Transaction{
			QueryTime: t0, ResponseTime: t0 + int64(i), Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 40000),
			Server: server, Proto: flow.ProtoUDP, Service: "dns", ID: uint16(i), Name: q, Type: dnsinfo.TypeA, Class: 1,
		}
		owner := q
		if i%5 == 1 {
			owner = strings.ToUpper(q) // matched case-insensitively
		}
		for j := range i % 4 {
			next := fmt.Sprintf("edge%d.cdn%d.example.net", i, j)
			if i%11 == 3 && j == 2 {
				next = q // a loop back to the question
			}
			tx.Answers = append(tx.Answers, dnsinfo.TxAnswer{Name: owner, Type: dnsinfo.TypeCNAME, TTL: uint32(j), Target: next})
			owner = next
		}
		if i%13 == 5 {
			// CNAMEs, none from the question name: no chain.
			tx.Answers = append(tx.Answers, dnsinfo.TxAnswer{Name: "other.example", Type: dnsinfo.TypeCNAME, Target: "x.example"})
		}
		for j := range i % 3 {
			tx.Answers = append(tx.Answers, dnsinfo.TxAnswer{Name: owner, Type: dnsinfo.TypeA, TTL: 60, Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(j)})})
		}
		txs[i] = tx
	}
	return txs
}

// A chain is never longer than maxChainLen of its CNAME records, the
// room cnameChain leaves for it in its block: a record aliasing its own
// owner, chains that loop, and the longest chain CNAMEChain follows fit,
// even at the very end of a block.
func TestCNAMEChainFitsItsBound(t *testing.T) {
	cname := func(from, to string) dnsinfo.TxAnswer {
		return dnsinfo.TxAnswer{Name: from, Type: dnsinfo.TypeCNAME, TTL: 60, Target: to}
	}
	long := []dnsinfo.TxAnswer{}
	for i := range 40 {
		long = append(long, cname(fmt.Sprint("n", i), fmt.Sprint("n", i+1)))
	}
	for _, answers := range [][]dnsinfo.TxAnswer{
		{cname("n0", "n0")},
		{cname("n0", "a"), cname("a", "a")},
		{cname("n0", "a"), cname("a", "n0")},
		{cname("n0", "a"), cname("a", "b"), cname("b", "a")},
		long,
	} {
		tx := &dnsinfo.Transaction{Name: "n0", Answers: answers}
		chain := tx.CNAMEChain()
		if len(chain) > maxChainLen(len(answers)) {
			t.Errorf("%v: chain %q longer than %d", answers, chain, maxChainLen(len(answers)))
		}
		var b DNSRowBuilder
		var row DNSRow
		b.Fill(tx, &row)
		b.chains = make([]string, maxChainLen(len(answers))) // the end of a block
		b.Fill(tx, &row)
		if !reflect.DeepEqual(row.CNAMEChain, chain) {
			t.Errorf("%v: chain %q, want %q", answers, row.CNAMEChain, chain)
		}
	}
}

// Rows written in several batches through the answer-list arena read
// back with each row's own answers and chain, whatever its neighbours'
// list lengths.
func TestDNSAnswerArenaAcrossBatches(t *testing.T) {
	var b DNSRowBuilder
	rows := make([]DNSRow, 3*batchRows+17)
	for i := range rows {
		tx := &dnsinfo.Transaction{
			QueryTime: t0 + int64(i)*1000, ResponseTime: t0 + int64(i)*1000 + 500, Proto: flow.ProtoUDP, Service: "dns",
			Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), 40000),
			Server: netip.MustParseAddrPort("10.0.0.53:53"), ID: uint16(i), Name: fmt.Sprintf("q%d.example.com", i), Type: dnsinfo.TypeA, Class: 1,
		}
		prev := tx.Name
		for j := range i % 4 {
			next := fmt.Sprintf("c%d-%d.example.net", i, j)
			tx.Answers = append(tx.Answers, dnsinfo.TxAnswer{Name: prev, Type: dnsinfo.TypeCNAME, TTL: uint32(j), Target: next})
			prev = next
		}
		for j := range i % 3 {
			tx.Answers = append(tx.Answers, dnsinfo.TxAnswer{Name: prev, Type: dnsinfo.TypeA, TTL: uint32(i), Addr: netip.AddrFrom4([4]byte{192, 0, byte(i), byte(j)})})
		}
		b.Fill(tx, &rows[i])
	}
	path := filepath.Join(t.TempDir(), "dns.parquet")
	writeTable(t, path, DNSSchema, rows...)
	got, err := ReadDNS(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("read %d rows, wrote %d", len(got), len(rows))
	}
	for i := range rows {
		if !reflect.DeepEqual(got[i].Answers, rows[i].Answers) && len(got[i].Answers)+len(rows[i].Answers) > 0 ||
			!reflect.DeepEqual(got[i].CNAMEChain, rows[i].CNAMEChain) && len(got[i].CNAMEChain)+len(rows[i].CNAMEChain) > 0 {
			t.Fatalf("row %d: answers %+v chain %q, wrote %+v %q", i, got[i].Answers, got[i].CNAMEChain, rows[i].Answers, rows[i].CNAMEChain)
		}
	}
}

// The builder gives every row one string per name, a copy of none of the
// transaction's: two transactions' equal names, made anew each as the
// DNS dissector makes them, are the same string in both rows, in every
// column they appear in, and the cache of names stays bounded.
func TestDNSRowBuilderSharesNames(t *testing.T) {
	var b DNSRowBuilder
	fresh := func(s string) string { return string([]byte(s)) }
	tx := func() *dnsinfo.Transaction {
		return &dnsinfo.Transaction{
			QueryTime: t0, ResponseTime: t0 + 1, Client: netip.MustParseAddrPort("10.1.0.1:40000"),
			Server: netip.MustParseAddrPort("10.0.0.53:53"), Proto: flow.ProtoUDP, Name: fresh("api.example.com"), Type: dnsinfo.TypeA,
			Answers: []dnsinfo.TxAnswer{
				{Name: fresh("api.example.com"), Type: dnsinfo.TypeCNAME, Target: fresh("edge.cdn.net")},
				{Name: fresh("edge.cdn.net"), Type: dnsinfo.TypeA, Addr: netip.MustParseAddr("192.0.2.1")},
			},
		}
	}
	same := func(a, b string) bool { return a == b && unsafe.StringData(a) == unsafe.StringData(b) }
	t1, t2 := tx(), tx()
	var r1, r2 DNSRow
	b.Fill(t1, &r1)
	r1.Answers, r1.CNAMEChain = slices.Clone(r1.Answers), slices.Clone(r1.CNAMEChain)
	b.Fill(t2, &r2)
	if unsafe.StringData(r1.Query) == unsafe.StringData(t1.Name) || unsafe.StringData(r1.Answers[0].Data) == unsafe.StringData(t1.Answers[0].Target) {
		t.Fatal("a row keeps a transaction's own name")
	}
	for _, p := range [][2]string{
		{r1.Query, r2.Query}, {r1.Query, r1.Answers[0].Name}, {r1.Query, r1.CNAMEChain[0]},
		{r1.Answers[0].Data, r2.Answers[0].Data}, {r1.Answers[0].Data, r1.Answers[1].Name}, {r1.Answers[0].Data, r1.CNAMEChain[1]},
		{r2.Query, r2.CNAMEChain[0]}, {r2.Answers[1].Name, r2.CNAMEChain[1]},
	} {
		if !same(p[0], p[1]) {
			t.Errorf("%q and %q are not one string", p[0], p[1])
		}
	}
	var r DNSRow
	for i := range nameCacheMax + 10 {
		x := tx()
		x.Name = fmt.Sprintf("n%d.example.com", i)
		b.Fill(x, &r)
		if len(b.names) > nameCacheMax {
			t.Fatalf("%d names cached, the bound is %d", len(b.names), nameCacheMax)
		}
	}
}

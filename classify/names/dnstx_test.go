package names

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"unsafe"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

// dnsMsg builds a DNS message: a query for name/typ when rcode < 0, else
// a response with that rcode and the given answer records.
func dnsMsg(id uint16, name string, typ dnsinfo.Type, rcode int, answers ...[]byte) []byte {
	bits := uint16(0x0100) // RD
	if rcode >= 0 {
		bits |= 0x8000 | 0x0080 | uint16(rcode) // QR, RA
	}
	b := binary.BigEndian.AppendUint16(nil, id)
	b = binary.BigEndian.AppendUint16(b, bits)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(answers)))
	b = append(b, 0, 0, 0, 0)
	b = appendWireName(b, name)
	b = binary.BigEndian.AppendUint16(b, uint16(typ))
	b = binary.BigEndian.AppendUint16(b, 1)
	for _, a := range answers {
		b = append(b, a...)
	}
	return b
}

func appendWireName(b []byte, name string) []byte {
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			b = append(b, byte(i-start))
			b = append(b, name[start:i]...)
			start = i + 1
		}
	}
	return append(b, 0)
}

func rr(name string, typ dnsinfo.Type, ttl uint32, rdata []byte) []byte {
	b := appendWireName(nil, name)
	b = binary.BigEndian.AppendUint16(b, uint16(typ))
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
	return append(b, rdata...)
}

// txFlow is a flow of the DNS dissector whose packets carry times.
type txFlow struct {
	d   *DNS
	f   flow.Flow
	pkt decode.Packet
	on  bool
}

func newTxFlow(d *DNS, proto uint8, client, server string) *txFlow {
	k, dir := keyOf(proto, client, server)
	return &txFlow{d: d, f: flow.Flow{Key: k, OrigDir: dir}}
}

func (tf *txFlow) send(fromOrig bool, at int64, payload []byte) {
	dir := tf.f.OrigDir
	if !fromOrig {
		dir = dir.Flip()
	}
	tf.pkt = decode.Packet{Packet: flow.Packet{Key: tf.f.Key, Dir: dir, Time: at}, Payload: payload}
	if tf.f.First == 0 {
		tf.f.First = at
		tf.on = tf.d.Start(&tf.f, &tf.pkt)
	}
	if tf.on {
		tf.on = tf.d.Packet(&tf.f, &tf.pkt, fromOrig)
	}
}

func collectTx(cfg DNSConfig) (*DNS, *[]*dnsinfo.Transaction) {
	var got []*dnsinfo.Transaction
	cfg.OnTransaction = func(t *dnsinfo.Transaction) { got = append(got, t) }
	return NewDNS(nil, cfg), &got
}

// TestDNSTransactions pins the pairing: by ID, name and type within a
// flow; client and server by role, not by who sent first; unanswered
// queries reported when the flow ends; responses without a query on
// their own; a retransmitted query ends the first one unanswered.
func TestDNSTransactions(t *testing.T) {
	const ms = int64(1e6)
	addrA := rr("www.example.com", dnsinfo.TypeCNAME, 300, appendWireName(nil, "edge.cdn.net"))
	addrB := rr("edge.cdn.net", dnsinfo.TypeA, 60, []byte{192, 0, 2, 7})
	d, got := collectTx(DNSConfig{})
	f := newTxFlow(d, flow.ProtoUDP, "10.0.0.1:40000", "10.0.0.53:53")
	f.send(true, 1000*ms, dnsMsg(7, "www.example.com", dnsinfo.TypeA, -1))
	f.send(true, 1001*ms, dnsMsg(8, "www.example.com", dnsinfo.TypeAAAA, -1))
	f.send(true, 1002*ms, dnsMsg(9, "nx.example.com", dnsinfo.TypeA, -1))
	// Answers out of order; the AAAA query is never answered.
	f.send(false, 1030*ms, dnsMsg(9, "nx.example.com", dnsinfo.TypeA, 3))
	f.send(false, 1040*ms, dnsMsg(7, "www.example.com", dnsinfo.TypeA, 0, addrA, addrB))
	// Same ID, other name: not this query's answer.
	f.send(false, 1050*ms, dnsMsg(8, "other.example.com", dnsinfo.TypeAAAA, 0))
	if len(*got) != 3 {
		t.Fatalf("%d transactions before the flow ended, want 3", len(*got))
	}
	f.d.End(&f.f)
	if len(*got) != 4 {
		t.Fatalf("%d transactions after End, want 4", len(*got))
	}
	client, server := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.53:53")
	nx, ok, stray, open := (*got)[0], (*got)[1], (*got)[2], (*got)[3]
	if nx.Name != "nx.example.com" || nx.RCode != dnsinfo.RCodeNameError || nx.QueryTime != 1002*ms || nx.ResponseTime != 1030*ms {
		t.Errorf("NXDOMAIN transaction %+v", nx)
	}
	if ok.Client != client || ok.Server != server || ok.Service != "dns" || ok.Proto != flow.ProtoUDP {
		t.Errorf("endpoints %v -> %v %s/%d", ok.Client, ok.Server, ok.Service, ok.Proto)
	}
	if ok.ID != 7 || ok.Type != dnsinfo.TypeA || ok.QueryTime != 1000*ms || ok.ResponseTime != 1040*ms || len(ok.Answers) != 2 {
		t.Errorf("answered transaction %+v", ok)
	}
	if c := ok.CNAMEChain(); !reflect.DeepEqual(c, []string{"www.example.com", "edge.cdn.net"}) {
		t.Errorf("CNAME chain %q", c)
	}
	if ok.Answers[1].Addr != netip.MustParseAddr("192.0.2.7") || ok.Answers[1].TTL != 60 || ok.Answers[0].Target != "edge.cdn.net" {
		t.Errorf("answers %+v", ok.Answers)
	}
	if stray.QueryTime != 0 || stray.ResponseTime != 1050*ms || stray.Name != "other.example.com" || stray.Client != client || stray.Server != server {
		t.Errorf("response without a query: %+v", stray)
	}
	if open.Answered() || open.ID != 8 || open.QueryTime != 1001*ms {
		t.Errorf("unanswered query %+v", open)
	}
	st := d.Stats()
	if st.Transactions.Load() != 4 || st.Unanswered.Load() != 1 || st.ResponsesUnmatched.Load() != 1 {
		t.Errorf("stats: %d transactions, %d unanswered, %d unmatched", st.Transactions.Load(), st.Unanswered.Load(), st.ResponsesUnmatched.Load())
	}
	if f.f.Meta.DNSQuery != "www.example.com" || f.f.Meta.DNSRCode != "NOERROR" {
		t.Errorf("flow's own question %q %q, want the first query and its answer's code", f.f.Meta.DNSQuery, f.f.Meta.DNSRCode)
	}
	if d.txFlows != 0 {
		t.Errorf("%d flows pending after End", d.txFlows)
	}
}

// A flow's slot of pending queries goes back when its last one is
// answered, not only when the flow ends, and the next flow reuses it.
func TestDNSTransactionSlotReuse(t *testing.T) {
	d, got := collectTx(DNSConfig{})
	for i := range 3 {
		f := newTxFlow(d, flow.ProtoUDP, fmt.Sprintf("10.0.0.1:%d", 41000+i), "10.0.0.53:53")
		f.send(true, 1, dnsMsg(1, "a.example", dnsinfo.TypeA, -1))
		f.send(true, 2, dnsMsg(2, "b.example", dnsinfo.TypeA, -1))
		f.send(false, 3, dnsMsg(1, "a.example", dnsinfo.TypeA, 0))
		if d.txFlows != 1 || f.f.Meta.DNSPending == 0 {
			t.Fatalf("flow %d: slot released with a query pending (%d in use)", i, d.txFlows)
		}
		f.send(false, 4, dnsMsg(2, "b.example", dnsinfo.TypeA, 0))
		if d.txFlows != 0 || f.f.Meta.DNSPending != 0 {
			t.Fatalf("flow %d: slot %d kept after the last answer (%d in use)", i, f.f.Meta.DNSPending, d.txFlows)
		}
		// A later query on the flow claims a slot again and is paired.
		f.send(true, 5, dnsMsg(3, "c.example", dnsinfo.TypeA, -1))
		f.send(false, 6, dnsMsg(3, "c.example", dnsinfo.TypeA, 3))
		d.End(&f.f)
	}
	if len(d.txSlab) != 2 {
		t.Errorf("slab of %d slots for flows one at a time, want 2 (slot 0 and one)", len(d.txSlab))
	}
	if len(*got) != 9 {
		t.Fatalf("%d transactions, want 9", len(*got))
	}
	for _, tx := range *got {
		if !tx.Answered() || tx.QueryTime == 0 {
			t.Errorf("transaction %s id %d not paired: %+v", tx.Name, tx.ID, tx)
		}
	}
}

// A flow whose only query got NXDOMAIN says so; a retransmission closes
// the first attempt unanswered; past MaxPending the oldest query goes.
func TestDNSTransactionLimits(t *testing.T) {
	d, got := collectTx(DNSConfig{MaxPending: 2})
	f := newTxFlow(d, flow.ProtoUDP, "10.0.0.1:40001", "10.0.0.53:53")
	f.send(true, 1, dnsMsg(1, "a.example", dnsinfo.TypeA, -1))
	f.send(true, 2, dnsMsg(1, "a.example", dnsinfo.TypeA, -1)) // retransmission
	if len(*got) != 1 || (*got)[0].QueryTime != 1 || (*got)[0].Answered() {
		t.Fatalf("retransmission: %d transactions", len(*got))
	}
	f.send(true, 3, dnsMsg(2, "b.example", dnsinfo.TypeA, -1))
	f.send(true, 4, dnsMsg(3, "c.example", dnsinfo.TypeA, -1)) // evicts the retransmitted a.example
	if len(*got) != 2 || (*got)[1].QueryTime != 2 || d.Stats().PendingEvicted.Load() != 1 {
		t.Fatalf("eviction: %d transactions, %d evicted", len(*got), d.Stats().PendingEvicted.Load())
	}
	f.send(false, 5, dnsMsg(3, "c.example", dnsinfo.TypeA, 3))
	if (*got)[2].Name != "c.example" || (*got)[2].RCode != dnsinfo.RCodeNameError {
		t.Fatalf("answer after eviction %+v", (*got)[2])
	}
	if f.f.Meta.DNSQuery != "a.example" || f.f.Meta.DNSRCode != "" {
		t.Errorf("flow question %q rcode %q: the first query was never answered", f.f.Meta.DNSQuery, f.f.Meta.DNSRCode)
	}
	// An mDNS announcement is a response without a query.
	m := newTxFlow(d, flow.ProtoUDP, "10.0.0.9:5353", "224.0.0.251:5353")
	m.send(true, 6, dnsMsg(0, "printer.local", dnsinfo.TypeA, 0))
	if last := (*got)[len(*got)-1]; last.Service != "mdns" || last.Server != netip.MustParseAddrPort("10.0.0.9:5353") {
		t.Errorf("mDNS announcement %+v", last)
	}
}

// Over TCP the pairing is the same, and a flow given up on (broken
// framing both ways) reports its pending queries at once.
func TestDNSTransactionsTCP(t *testing.T) {
	d, got := collectTx(DNSConfig{})
	f := newTxFlow(d, flow.ProtoTCP, "10.0.0.1:40002", "10.0.0.53:53")
	q := dnsMsg(5, "tcp.example", dnsinfo.TypeTXT, -1)
	r := dnsMsg(5, "tcp.example", dnsinfo.TypeTXT, 0)
	f.send(true, 10, append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...))
	f.send(false, 20, append(binary.BigEndian.AppendUint16(nil, uint16(len(r))), r...))
	if len(*got) != 1 || (*got)[0].Proto != flow.ProtoTCP || (*got)[0].ResponseTime != 20 {
		t.Fatalf("TCP transaction: %d", len(*got))
	}
	d.End(&f.f)
	if d.txFlows != 0 {
		t.Error("state left after End")
	}
}

// A response without a question section (a server rejecting the query
// with FORMERR, REFUSED or NOTIMP may omit it) answers the pending query
// with its ID, as Zeek pairs them: one row, not an unanswered query and a
// stray response. One whose ID matches no query stays on its own.
func TestDNSResponseWithoutQuestion(t *testing.T) {
	const ms = int64(1e6)
	rejected := func(id uint16, rcode uint16) []byte {
		b := binary.BigEndian.AppendUint16(nil, id)
		b = binary.BigEndian.AppendUint16(b, 0x8000|0x0100|0x0080|rcode)
		return append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	d, got := collectTx(DNSConfig{})
	f := newTxFlow(d, flow.ProtoUDP, "10.0.0.1:40000", "10.0.0.53:53")
	f.send(true, 1000*ms, dnsMsg(5, "formerr.example", dnsinfo.TypeA, -1))
	f.send(true, 1001*ms, dnsMsg(6, "other.example", dnsinfo.TypeA, -1))
	f.send(false, 1010*ms, rejected(5, 1))
	f.send(false, 1020*ms, rejected(9, 5))
	f.d.End(&f.f)
	if len(*got) != 3 {
		t.Fatalf("%d transactions, want 3", len(*got))
	}
	paired, stray, open := (*got)[0], (*got)[1], (*got)[2]
	if paired.Name != "formerr.example" || paired.ID != 5 || !paired.Answered() || paired.RCode != dnsinfo.RCode(1) ||
		paired.QueryTime != 1000*ms || paired.ResponseTime != 1010*ms {
		t.Errorf("rejected query %+v, want formerr.example answered FORMERR", paired)
	}
	if stray.ID != 9 || stray.QueryTime != 0 || stray.RCode != dnsinfo.RCode(5) {
		t.Errorf("response to no query %+v", stray)
	}
	if open.ID != 6 || open.Answered() {
		t.Errorf("query 6 %+v, want unanswered", open)
	}
	if f.f.Meta.DNSQuery != "formerr.example" || f.f.Meta.DNSRCode != "FORMERR" {
		t.Errorf("flow's question %q %q, want formerr.example FORMERR", f.f.Meta.DNSQuery, f.f.Meta.DNSRCode)
	}
}

// A response answers only a query that was sent to its sender. An mDNS
// host probes its name to the group and then announces it on the same
// 5353 tuple (RFC 6762 section 8): the announcement is a row of its own,
// the announcer as server, not the answer to the host's own probe.
func TestDNSAnnouncementAnswersNoOwnProbe(t *testing.T) {
	const ms = int64(1e6)
	announce := func() []byte {
		b := binary.BigEndian.AppendUint16(nil, 0)
		b = binary.BigEndian.AppendUint16(b, 0x8400) // QR, AA
		b = append(b, 0, 0, 0, 1, 0, 0, 0, 0)
		return append(b, rr("printer.local", dnsinfo.TypeA, 120, []byte{192, 168, 1, 20})...)
	}
	d, got := collectTx(DNSConfig{})
	f := newTxFlow(d, flow.ProtoUDP, "192.168.1.20:5353", "224.0.0.251:5353")
	f.send(true, 1000*ms, dnsMsg(0, "printer.local", dnsinfo.Type(255), -1))
	f.send(true, 1500*ms, announce())
	f.d.End(&f.f)
	if len(*got) != 2 {
		t.Fatalf("%d rows, want the probe and the announcement", len(*got))
	}
	ann, probe := (*got)[0], (*got)[1] // the announcement at once, the probe when the flow ends
	if probe.Answered() || probe.Name != "printer.local" {
		t.Errorf("probe %+v, want unanswered", probe)
	}
	host, group := netip.MustParseAddrPort("192.168.1.20:5353"), netip.MustParseAddrPort("224.0.0.251:5353")
	if !ann.Answered() || ann.QueryTime != 0 || ann.Server != host || ann.Client != group || len(ann.Answers) != 1 {
		t.Errorf("announcement %+v, want a row of its own from the announcer", ann)
	}
}

// A bad record after the question loses only itself and what follows: the
// response still answers its query, with its rcode and the good records
// before the fault, and the parse error is counted.
func TestDNSResponseWithABadRecord(t *testing.T) {
	const ms = int64(1e6)
	d, got := collectTx(DNSConfig{})
	f := newTxFlow(d, flow.ProtoUDP, "10.0.0.1:40000", "10.0.0.53:53")
	f.send(true, 1000*ms, dnsMsg(6, "b.example", dnsinfo.TypeA, -1))
	f.send(false, 1010*ms, dnsMsg(6, "b.example", dnsinfo.TypeA, 0,
		rr("b.example", dnsinfo.TypeA, 60, []byte{1, 2, 3, 4}),
		rr("b.example", dnsinfo.Type(99), 60, nil),
		rr("b.example", dnsinfo.TypeA, 60, []byte{1, 2, 3, 4, 5})))
	f.d.End(&f.f)
	if len(*got) != 1 {
		t.Fatalf("%d rows, want 1", len(*got))
	}
	tx := (*got)[0]
	if !tx.Answered() || tx.RCode != dnsinfo.RCode(0) || len(tx.Answers) != 1 || tx.Answers[0].Addr != netip.MustParseAddr("1.2.3.4") || tx.OtherAnswers != 1 {
		t.Errorf("transaction %+v, want answered NOERROR with the good A record and one other", tx)
	}
	if n := d.Stats().ParseErrors.Load(); n != 1 {
		t.Errorf("%d parse errors counted, want 1", n)
	}
}

// TestDNSQueryStrings checks that flows asking for one name share its
// string, which their transactions use too, and that names crowding the
// dissector's few slots each keep their own.
func TestDNSQueryStrings(t *testing.T) {
	d, got := collectTx(DNSConfig{})
	var flows []*txFlow
	for i := range 600 {
		name := "same.example"
		if i%2 == 1 {
			name = fmt.Sprintf("host%d.example", i)
		}
		f := newTxFlow(d, flow.ProtoUDP, fmt.Sprintf("10.0.%d.%d:40000", i/250, i%250+1), "10.0.0.53:53")
		f.send(true, int64(i+1), dnsMsg(uint16(i), name, dnsinfo.TypeA, -1))
		if f.f.Meta.DNSQuery != name {
			t.Fatalf("flow %d: question %q, want %q", i, f.f.Meta.DNSQuery, name)
		}
		flows = append(flows, f)
	}
	for i, f := range flows {
		f.d.End(&f.f)
		if tx := (*got)[i]; tx.Name != f.f.Meta.DNSQuery || unsafe.StringData(tx.Name) != unsafe.StringData(f.f.Meta.DNSQuery) {
			t.Fatalf("flow %d: transaction name %q is not the flow's %q", i, tx.Name, f.f.Meta.DNSQuery)
		}
	}
	// Two flows in a row asking for one name share its string.
	var same [2]string
	for i := range same {
		f := newTxFlow(d, flow.ProtoUDP, fmt.Sprintf("10.1.0.%d:40000", i+1), "10.0.0.53:53")
		f.send(true, 1000, dnsMsg(1, "same.example", dnsinfo.TypeA, -1))
		same[i] = f.f.Meta.DNSQuery
	}
	if unsafe.StringData(same[0]) != unsafe.StringData(same[1]) {
		t.Error("two flows asking for one name have a string each")
	}
}

// BenchmarkDNSTransactions runs DNS flows of one query and its answer (a
// CNAME and an address), as a site's clients make them, through the
// dissector, its transactions recycled as the engine recycles them and
// its stage committed every 128 flows.
func BenchmarkDNSTransactions(b *testing.B) {
	var free []*dnsinfo.Transaction
	cache := dnsinfo.NewCache(dnsinfo.Config{})
	d := NewDNS(cache, DNSConfig{
		OnTransaction: func(t *dnsinfo.Transaction) {
			t.Reset()
			free = append(free, t)
		},
		NewTransaction: func() *dnsinfo.Transaction {
			if n := len(free); n > 0 {
				t := free[n-1]
				free = free[:n-1]
				return t
			}
			return new(dnsinfo.Transaction)
		},
	})
	type exchange struct{ query, response []byte }
	var exchanges []exchange
	for i := range 10 {
		name := fmt.Sprintf("host%d.example.com", i)
		edge := fmt.Sprintf("edge%d.cdn.example.net", i)
		exchanges = append(exchanges, exchange{
			dnsMsg(uint16(i), name, dnsinfo.TypeA, -1),
			dnsMsg(uint16(i), name, dnsinfo.TypeA, 0,
				rr(name, dnsinfo.TypeCNAME, 300, appendWireName(nil, edge)),
				rr(edge, dnsinfo.TypeA, 60, []byte{192, 0, 2, byte(i)})),
		})
	}
	type endpoints struct {
		k   flow.Key
		dir flow.Dir
	}
	var flows []endpoints
	for i := range 1024 {
		k, dir := keyOf(flow.ProtoUDP, fmt.Sprintf("10.0.%d.%d:%d", i/250, i%250+1, 40000+i), "10.0.0.53:53")
		flows = append(flows, endpoints{k, dir})
	}
	const ms = int64(1e6)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		fl, x := flows[n%len(flows)], exchanges[n%len(exchanges)]
		tf := txFlow{d: d, f: flow.Flow{Key: fl.k, OrigDir: fl.dir}}
		at := int64(n) * ms
		tf.send(true, at, x.query)
		tf.send(false, at+ms, x.response)
		d.End(&tf.f)
		if n++; n%128 == 0 {
			cache.Commit(at)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/transaction")
}

package dnsinfo

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"unsafe"
)

func cname(from, to string) TxAnswer {
	return TxAnswer{Name: from, Type: TypeCNAME, TTL: 60, Target: to}
}

func TestCNAMEChain(t *testing.T) {
	long := []TxAnswer{}
	for i := range maxChain + 5 {
		long = append(long, cname(fmt.Sprint("n", i), fmt.Sprint("n", i+1)))
	}
	for _, tc := range []struct {
		name    string
		q       string
		answers []TxAnswer
		want    []string
	}{
		{"no answers", "a.example", nil, nil},
		{"address only", "a.example", []TxAnswer{{Name: "a.example", Type: TypeA, Addr: netip.MustParseAddr("192.0.2.1")}}, nil},
		{"two steps, out of order", "a.example", []TxAnswer{cname("b.example", "c.example"), cname("a.example", "b.example")},
			[]string{"a.example", "b.example", "c.example"}},
		{"other owner", "a.example", []TxAnswer{cname("x.example", "y.example")}, nil},
		{"loop stops", "a.example", []TxAnswer{cname("a.example", "b.example"), cname("b.example", "a.example")},
			[]string{"a.example", "b.example", "a.example"}},
		{"bounded", "n0", long, nil},
	} {
		tx := Transaction{Name: tc.q, Answers: tc.answers}
		got := tx.CNAMEChain()
		if tc.name == "bounded" {
			if len(got) != maxChain+1 {
				t.Errorf("%s: chain of %d, want %d", tc.name, len(got), maxChain+1)
			}
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// SetResponse copies the answers' names out of the message's arena, so
// the next Parse into the message does not change them.
func TestSetResponseCopies(t *testing.T) {
	var m Message
	if err := Parse(cnameResponse(), &m); err != nil {
		t.Fatal(err)
	}
	var tx Transaction
	tx.SetQuestion(&m, "")
	tx.SetResponse(&m, 42)
	want := make([]TxAnswer, len(m.Answers))
	for i, a := range m.Answers {
		want[i] = TxAnswer{Name: string(a.Name), Type: a.Type, TTL: a.TTL, Addr: a.Addr, Target: string(a.Target)}
	}
	wantName := string(m.Questions[0].Name)
	for i := range m.names {
		m.names[i] = 'X'
	}
	if !reflect.DeepEqual(tx.Answers, want) || tx.Name != wantName || tx.ResponseTime != 42 || !tx.Answered() {
		t.Errorf("transaction %+v, want answers %+v name %q", tx, want, wantName)
	}
	// A name equal to the question's is taken as it is, not copied again.
	if err := Parse(cnameResponse(), &m); err != nil {
		t.Fatal(err)
	}
	interned := string(m.Questions[0].Name)
	var tx2 Transaction
	tx2.SetQuestion(&m, interned)
	if unsafe.StringData(tx2.Name) != unsafe.StringData(interned) {
		t.Error("the question's name was copied though the caller had it")
	}
	tx2.SetQuestion(&m, "other.example")
	if tx2.Name != interned {
		t.Errorf("name %q, want the question's %q", tx2.Name, interned)
	}
}

// AppendCNAMEChain appends CNAMEChain's names after what dst holds, and
// looks for a loop among the appended names only.
func TestAppendCNAMEChain(t *testing.T) {
	tx := Transaction{Name: "a.example", Answers: []TxAnswer{cname("a.example", "b.example"), cname("b.example", "c.example")}}
	dst := []string{"b.example", "x.example"}
	got := tx.AppendCNAMEChain(dst)
	want := []string{"b.example", "x.example", "a.example", "b.example", "c.example"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("appended %q, want %q", got, want)
	}
	if c := tx.CNAMEChain(); !reflect.DeepEqual(c, want[2:]) {
		t.Errorf("CNAMEChain %q, want %q", c, want[2:])
	}
	// No chain from the question name: nothing appended, and no chain.
	other := Transaction{Name: "q.example", Answers: []TxAnswer{cname("x.example", "y.example")}}
	if got := other.AppendCNAMEChain(dst); len(got) != len(dst) {
		t.Errorf("appended %q for a question without CNAME", got[len(dst):])
	}
	if c := other.CNAMEChain(); c != nil {
		t.Errorf("CNAMEChain %q, want nil", c)
	}
	// A loop ends the chain with the name seen again.
	loop := Transaction{Name: "a.example", Answers: []TxAnswer{cname("a.example", "b.example"), cname("b.example", "a.example")}}
	if got := loop.AppendCNAMEChain([]string{"a.example"}); !reflect.DeepEqual(got, []string{"a.example", "a.example", "b.example", "a.example"}) {
		t.Errorf("loop: %q", got)
	}
}

// An answer's owner name equal to the question's, the previous record's
// or that record's CNAME target shares that string instead of a copy of
// its own: a response whose records all belong to the question name
// allocates nothing once the transaction's answer list has grown.
func TestSetResponseSharesOwnerNames(t *testing.T) {
	var m Message
	if err := Parse(cnameResponse(), &m); err != nil {
		t.Fatal(err)
	}
	var tx Transaction
	tx.SetQuestion(&m, "")
	tx.SetResponse(&m, 42)
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) && len(a) == len(b) }
	a := tx.Answers
	if len(a) != 4 || a[0].Name != "www.example.com" || a[1].Name != "cdn.example.com" || a[2].Name != "edge.example.com" || a[3].Name != "edge.example.com" {
		t.Fatalf("answers %+v", a)
	}
	if !same(a[0].Name, tx.Name) || !same(a[1].Name, a[0].Target) || !same(a[2].Name, a[1].Target) || !same(a[3].Name, a[2].Name) {
		t.Errorf("owner names not shared: %+v", a)
	}

	// Two A records of the question name, in a message parsed again.
	msg := cat(
		header(7, bitsResponse, 1, 2, 0, 0),
		question(wireName("api.example.com"), TypeA),
		record(ptr(12), TypeA, 1, 60, ip("192.0.2.1")),
		record(ptr(12), TypeA, 1, 60, ip("192.0.2.2")),
	)
	if err := Parse(msg, &m); err != nil {
		t.Fatal(err)
	}
	name := string(m.Questions[0].Name)
	var tx2 Transaction
	tx2.SetQuestion(&m, name)
	tx2.SetResponse(&m, 42) // grows the answer list
	if n := testing.AllocsPerRun(100, func() { tx2.SetResponse(&m, 42) }); n != 0 {
		t.Errorf("%v allocations for answers of the question name", n)
	}
	if len(tx2.Answers) != 2 || !same(tx2.Answers[0].Name, name) || !same(tx2.Answers[1].Name, name) || tx2.Answers[1].Addr != netip.MustParseAddr("192.0.2.2") {
		t.Errorf("answers %+v", tx2.Answers)
	}
}

// BenchmarkSetResponse fills a transaction from a response with a CNAME
// chain and from one with an address of the question name, as the DNS
// dissector does for each response.
func BenchmarkSetResponse(b *testing.B) {
	msgs := [][]byte{cnameResponse(), cat(
		header(7, bitsResponse, 1, 1, 0, 0),
		question(wireName("api.example.com"), TypeA),
		record(ptr(12), TypeA, 1, 60, ip("192.0.2.1")),
	)}
	ms := make([]Message, len(msgs))
	for i := range msgs {
		if err := Parse(msgs[i], &ms[i]); err != nil {
			b.Fatal(err)
		}
	}
	var tx Transaction
	b.ReportAllocs()
	for b.Loop() {
		for i := range ms {
			tx.Reset()
			tx.SetQuestion(&ms[i], "")
			tx.SetResponse(&ms[i], 42)
		}
	}
}

// FuzzTransaction fills a transaction from any message: its answers
// carry the message's names whether shared or copied, and its CNAME
// chain is no longer than two names more than the CNAME records
// (parquetout's DNSRowBuilder leaves that much room for it).
func FuzzTransaction(f *testing.F) {
	f.Add(cnameResponse())
	f.Add(cat(header(7, bitsResponse, 1, 2, 0, 0), question(wireName("a.example"), TypeA),
		record(ptr(12), TypeCNAME, 1, 60, ptr(12)), record(ptr(12), TypeA, 1, 60, ip("192.0.2.1"))))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if Parse(data, &m) != nil {
			return
		}
		var tx Transaction
		tx.SetQuestion(&m, "")
		tx.SetResponse(&m, 1)
		cnames := 0
		for i, a := range m.Answers {
			got := tx.Answers[i]
			if got.Name != string(a.Name) || got.Target != string(a.Target) || got.Type != a.Type || got.Addr != a.Addr || got.TTL != a.TTL {
				t.Fatalf("answer %d: %+v from %q %v %q", i, got, a.Name, a.Type, a.Target)
			}
			if a.Type == TypeCNAME {
				cnames++
			}
		}
		chain := tx.CNAMEChain()
		if len(chain) > cnames+2 {
			t.Fatalf("chain %q from %d CNAME records", chain, cnames)
		}
		if app := tx.AppendCNAMEChain([]string{"x"}); !reflect.DeepEqual(app[1:], chain) && len(chain)+len(app) > 1 {
			t.Fatalf("appended %q, chain %q", app[1:], chain)
		}
	})
}

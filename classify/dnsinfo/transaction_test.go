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

package dnsinfo

import (
	"net/netip"
	"slices"
	"strings"
)

// Transaction is one DNS query and its response, as a passive observer
// pairs them: by flow, transaction ID, question name and type. Either
// half may be missing: a query nobody answered (before the flow ended),
// or a response whose query the capture did not see. Its strings are
// copies, owned by the Transaction.
type Transaction struct {
	// QueryTime and ResponseTime are unix nanoseconds; 0 when that
	// message was not seen.
	QueryTime, ResponseTime int64
	// Client sent the query (or received the response); Server answered.
	Client, Server netip.AddrPort
	// Proto is the transport's IP protocol number (UDP or TCP).
	Proto uint8
	// Service is "dns", "mdns" or "llmnr", by port.
	Service string
	ID      uint16
	Opcode  Opcode
	// Name and Type are the first question's, Name in presentation form
	// (see Parse); empty and 0 for a message without a question.
	Name  string
	Type  Type
	Class Class
	// RCode and Flags are the response's; Flags is the query's when
	// there was no response.
	RCode RCode
	Flags Flags
	// Answers are the response's A, AAAA and CNAME records, in message
	// order; OtherAnswers counts the answer records of other types.
	Answers      []TxAnswer
	OtherAnswers int
	// CommunityID is the Community ID v1 of the flow that carried it, when
	// the producer computed it; flow.CommunityID(Proto, Client, Server, 0)
	// gives it, as the ID does not depend on the endpoints' order.
	CommunityID string
}

// TxAnswer is an A, AAAA or CNAME record of a Transaction's response.
type TxAnswer struct {
	Name string
	Type Type
	TTL  uint32
	// Addr is an A or AAAA record's address, Target a CNAME's canonical
	// name.
	Addr   netip.Addr
	Target string
}

// Reset zeroes t for reuse, keeping the capacity of its answers.
func (t *Transaction) Reset() {
	clear(t.Answers)
	*t = Transaction{Answers: t.Answers[:0]}
}

// Answered reports whether the response was seen.
func (t *Transaction) Answered() bool { return t.ResponseTime != 0 }

// CNAMEChain is the alias chain the answers give from the question name:
// the question name, then each CNAME target in turn; nil when the
// question name has no CNAME. It stops at a loop and after maxChain
// steps, as the cache does.
func (t *Transaction) CNAMEChain() []string {
	n := 0
	for i := range t.Answers {
		if t.Answers[i].Type == TypeCNAME {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	// The chain has at most one step per CNAME record: one allocation
	// instead of growing it step by step, and none without a chain.
	chain := t.AppendCNAMEChain(make([]string, 0, min(n, maxChain)+1))
	if len(chain) == 0 {
		return nil
	}
	return chain
}

// AppendCNAMEChain appends CNAMEChain's names to dst, for a caller that
// keeps the chains of many transactions in one array; it appends nothing
// when the question name has no CNAME.
func (t *Transaction) AppendCNAMEChain(dst []string) []string {
	start := len(dst)
	name := t.Name
	for range maxChain {
		next := ""
		for i := range t.Answers {
			a := &t.Answers[i]
			// The names are most often equal byte for byte: a comparison
			// that is quicker than EqualFold's when they are.
			if a.Type == TypeCNAME && (a.Name == name || strings.EqualFold(a.Name, name)) {
				next = a.Target
				break
			}
		}
		if next == "" {
			break
		}
		if len(dst) == start {
			dst = append(dst, name)
		} else {
			for _, seen := range dst[start:] {
				if strings.EqualFold(seen, next) {
					return append(dst, next)
				}
			}
		}
		dst = append(dst, next)
		name = next
	}
	return dst
}

// SetQuestion fills the question fields from m's first question. name,
// when it equals the question's name, is used rather than a new copy.
func (t *Transaction) SetQuestion(m *Message, name string) {
	t.ID, t.Opcode = m.ID, m.Opcode
	if len(m.Questions) > 0 {
		q := &m.Questions[0]
		if name != string(q.Name) {
			name = string(q.Name)
		}
		t.Name, t.Type, t.Class = name, q.Type, q.Class
	}
}

// SetResponse fills the response fields from m. An answer's owner name
// is most often the question's, the previous record's or that record's
// CNAME target: it then shares that string. The other names share one copy of the
// message's names, so a response costs at most two allocations for any
// number of records, and one whose records all belong to the question
// name only the answer list's, if it has none yet.
func (t *Transaction) SetResponse(m *Message, at int64) {
	t.ResponseTime, t.RCode, t.Flags = at, m.RCode, m.Flags
	t.OtherAnswers = m.OtherAnswers
	if len(m.Answers) == 0 {
		return
	}
	n := 0
	for i := range m.Answers {
		if t.ownerShared(m, i) == ownerCopied {
			n += len(m.Answers[i].Name)
		}
		n += len(m.Answers[i].Target)
	}
	var names string
	if n > 0 {
		var b strings.Builder
		b.Grow(n)
		for i := range m.Answers {
			if t.ownerShared(m, i) == ownerCopied {
				b.Write(m.Answers[i].Name)
			}
			b.Write(m.Answers[i].Target)
		}
		names = b.String()
	}
	t.Answers = slices.Grow(t.Answers[:0], len(m.Answers))[:len(m.Answers)]
	off := 0
	for i := range m.Answers {
		a := &m.Answers[i]
		var name string
		switch t.ownerShared(m, i) {
		case ownerQuestion:
			name = t.Name
		case ownerPrevName:
			name = t.Answers[i-1].Name
		case ownerPrevTarget:
			name = t.Answers[i-1].Target
		default:
			name = names[off : off+len(a.Name)]
			off += len(a.Name)
		}
		target := names[off : off+len(a.Target)]
		off += len(a.Target)
		t.Answers[i] = TxAnswer{Name: name, Type: a.Type, TTL: a.TTL, Addr: a.Addr, Target: target}
	}
}

// Where an answer's owner name comes from (ownerShared).
const (
	ownerCopied     = iota // a copy of the message's bytes
	ownerQuestion          // t.Name
	ownerPrevName          // the previous answer's Name
	ownerPrevTarget        // the previous answer's Target
)

// ownerShared tells where answer i of m takes its owner name from: a
// string t already has with the same bytes, or a copy. SetResponse's
// passes must agree on it, so they all ask here.
func (t *Transaction) ownerShared(m *Message, i int) int {
	name := m.Answers[i].Name
	switch {
	case string(name) == t.Name:
		return ownerQuestion
	case i == 0:
		return ownerCopied
	case string(name) == string(m.Answers[i-1].Name):
		return ownerPrevName
	case len(m.Answers[i-1].Target) > 0 && string(name) == string(m.Answers[i-1].Target):
		return ownerPrevTarget
	}
	return ownerCopied
}

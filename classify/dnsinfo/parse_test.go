package dnsinfo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// Wire builders for hand-made messages.

func header(id, bits, qd, an, ns, ar uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(
		binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(
			binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, id), bits), qd), an), ns), ar)
}

// wireName encodes a dotted name; "" is the root.
func wireName(name string) []byte {
	var b []byte
	if name != "" {
		for _, l := range strings.Split(name, ".") {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
	}
	return append(b, 0)
}

func ptr(off int) []byte { return []byte{0xc0 | byte(off>>8), byte(off)} }

func question(name []byte, typ Type) []byte {
	return append(bytes.Clone(name), byte(typ>>8), byte(typ), 0, 1)
}

func record(name []byte, typ Type, class uint16, ttl uint32, rdata []byte) []byte {
	b := bytes.Clone(name)
	b = binary.BigEndian.AppendUint16(b, uint16(typ))
	b = binary.BigEndian.AppendUint16(b, class)
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
	return append(b, rdata...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func ip(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

const (
	bitsQuery    = 0x0100 // RD
	bitsResponse = 0x8180 // QR RD RA
)

// cnameResponse answers www.example.com with a two-step CNAME chain, an A
// and an AAAA record, every name compressed against earlier ones, and an
// EDNS OPT record advertising 1232 bytes.
func cnameResponse() []byte {
	const qname = 12 // offset of the question name
	return cat(
		header(0xbeef, bitsResponse, 1, 4, 0, 1),
		question(wireName("www.Example.COM"), TypeA),
		// qname is 17 bytes: the first record starts at 33.
		record(ptr(qname), TypeCNAME, 1, 300, cat([]byte{3, 'c', 'd', 'n'}, ptr(qname+4))),  // cdn.example.com at 45
		record(ptr(45), TypeCNAME, 1, 60, cat([]byte{4, 'e', 'd', 'g', 'e'}, ptr(qname+4))), // edge.example.com at 63
		record(ptr(63), TypeA, 1, 120, ip("192.0.2.10")),
		record(ptr(63), TypeAAAA, 1, 120, ip("2001:db8::10")),
		record(wireName(""), TypeOPT, 1232, 0, nil),
	)
}

func TestParse(t *testing.T) {
	type answer struct {
		name, typ, addr, target string
		ttl                     uint32
	}
	tests := []struct {
		name      string
		msg       []byte
		header    Header
		questions []string // "name TYPE"
		answers   []answer
		other     int
		authority int
		edns      uint16
	}{{
		name:      "query",
		msg:       cat(header(1, bitsQuery, 1, 0, 0, 0), question(wireName("Www.Example.Com"), TypeAAAA)),
		header:    Header{ID: 1, Flags: FlagRD, QDCount: 1},
		questions: []string{"www.example.com AAAA"},
	}, {
		name: "cname chain with compression",
		msg:  cnameResponse(),
		header: Header{ID: 0xbeef, Response: true, Flags: FlagRD | FlagRA,
			QDCount: 1, ANCount: 4, ARCount: 1},
		questions: []string{"www.example.com A"},
		answers: []answer{
			{"www.example.com", "CNAME", "invalid IP", "cdn.example.com", 300},
			{"cdn.example.com", "CNAME", "invalid IP", "edge.example.com", 60},
			{"edge.example.com", "A", "192.0.2.10", "", 120},
			{"edge.example.com", "AAAA", "2001:db8::10", "", 120},
		},
		edns: 1232,
	}, {
		name: "NAPTR answer and NS authority skipped",
		msg: cat(header(7, bitsResponse|uint16(FlagAA), 1, 2, 1, 0),
			question(wireName("4.3.2.1.e164.arpa"), TypeNAPTR),
			record(ptr(12), TypeNAPTR, 1, 60, cat([]byte{0, 100, 0, 10, 1, 'u', 7}, []byte("E2U+sip"), []byte{0}, wireName(""))),
			record(ptr(12), TypeA, 1, 60, ip("198.51.100.7")),
			record(ptr(20), TypeNS, 1, 60, wireName("ns.example"))),
		header: Header{ID: 7, Response: true, Flags: FlagAA | FlagRD | FlagRA,
			QDCount: 1, ANCount: 2, NSCount: 1},
		questions: []string{"4.3.2.1.e164.arpa NAPTR"},
		answers:   []answer{{"4.3.2.1.e164.arpa", "A", "198.51.100.7", "", 60}},
		other:     1,
		authority: 1,
	}, {
		name: "NXDOMAIN with extended rcode bits from OPT",
		msg: cat(header(9, 0x8183, 1, 0, 0, 1), question(wireName("nope.example"), TypeA),
			record(wireName(""), TypeOPT, 4096, 1<<24, nil)),
		header:    Header{ID: 9, Response: true, RCode: 16 + RCodeNameError, Flags: FlagRD | FlagRA, QDCount: 1, ARCount: 1},
		questions: []string{"nope.example A"},
		edns:      4096,
	}, {
		// Names that point to the question's are copied from it, not
		// decoded again: whole, after labels of their own, in a CNAME's
		// rdata, escaped, and the pointers elsewhere are decoded.
		name: "names pointing to the question",
		msg: cat(header(4, bitsResponse, 1, 5, 0, 0),
			question([]byte{3, 'W', 'w', 'W', 3, 'a', '.', 'b', 4, 'T', 'e', 's', 't', 0}, TypeA),
			record(ptr(12), TypeA, 1, 10, ip("192.0.2.1")),
			record(cat([]byte{4, 'H', 'o', 's', 't'}, ptr(12)), TypeA, 1, 20, ip("192.0.2.2")),
			record(ptr(12), TypeCNAME, 1, 30, cat([]byte{1, 'c'}, ptr(12))),
			record(ptr(12), TypeCNAME, 1, 40, ptr(12)),
			record(ptr(16), TypeA, 1, 50, ip("192.0.2.3"))),
		header:    Header{ID: 4, Response: true, Flags: FlagRD | FlagRA, QDCount: 1, ANCount: 5},
		questions: []string{`www.a\.b.test A`},
		answers: []answer{
			{`www.a\.b.test`, "A", "192.0.2.1", "", 10},
			{`host.www.a\.b.test`, "A", "192.0.2.2", "", 20},
			{`www.a\.b.test`, "CNAME", "invalid IP", `c.www.a\.b.test`, 30},
			{`www.a\.b.test`, "CNAME", "invalid IP", `www.a\.b.test`, 40},
			{`a\.b.test`, "A", "192.0.2.3", "", 50},
		},
	}, {
		name: "names pointing to a one-letter question",
		msg: cat(header(5, bitsResponse, 1, 2, 0, 0), question(wireName("a"), TypeA),
			record(ptr(12), TypeA, 1, 10, ip("192.0.2.1")),
			record(cat([]byte{1, 'b'}, ptr(12)), TypeA, 1, 20, ip("192.0.2.2"))),
		header:    Header{ID: 5, Response: true, Flags: FlagRD | FlagRA, QDCount: 1, ANCount: 2},
		questions: []string{"a A"},
		answers:   []answer{{"a", "A", "192.0.2.1", "", 10}, {"b.a", "A", "192.0.2.2", "", 20}},
	}, {
		name: "names pointing to a root question",
		msg: cat(header(6, bitsResponse, 1, 2, 0, 0), question(wireName(""), TypeA),
			record(ptr(12), TypeA, 1, 10, ip("192.0.2.1")),
			record(cat([]byte{1, 'b'}, ptr(12)), TypeA, 1, 20, ip("192.0.2.2"))),
		header:    Header{ID: 6, Response: true, Flags: FlagRD | FlagRA, QDCount: 1, ANCount: 2},
		questions: []string{". A"},
		answers:   []answer{{".", "A", "192.0.2.1", "", 10}, {"b", "A", "192.0.2.2", "", 20}},
	}, {
		name:      "root and escaped labels",
		msg:       cat(header(2, 0, 2, 0, 0, 0), question(wireName(""), TypeNS), question([]byte{4, 'a', '.', ' ', 0xff, 2, 'B', '\\', 0}, TypeTXT)),
		header:    Header{ID: 2, QDCount: 2},
		questions: []string{". NS", `a\.\032\255.b\\ TXT`},
	}, {
		name:      "opcode and trailing bytes",
		msg:       cat(header(3, 5<<11, 1, 0, 0, 0), question(wireName("zone.example"), TypeSOA), []byte{0, 0, 0}),
		header:    Header{ID: 3, Opcode: OpcodeUpdate, QDCount: 1},
		questions: []string{"zone.example SOA"},
	}, {
		name:      "mDNS cache-flush class",
		msg:       cat(header(0, 0x8400, 0, 1, 0, 0), record(wireName("host.local"), TypeA, 0x8001, 120, ip("10.0.0.5"))),
		header:    Header{Response: true, Flags: FlagAA, ANCount: 1},
		questions: nil,
		answers:   []answer{{"host.local", "A", "10.0.0.5", "", 120}},
	}}
	var m Message
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Parse(tt.msg, &m); err != nil {
				t.Fatal(err)
			}
			if m.Header != tt.header {
				t.Errorf("header %+v, want %+v", m.Header, tt.header)
			}
			var qs []string
			for _, q := range m.Questions {
				qs = append(qs, string(q.Name)+" "+q.Type.String())
			}
			if strings.Join(qs, ",") != strings.Join(tt.questions, ",") {
				t.Errorf("questions %q, want %q", qs, tt.questions)
			}
			var as []answer
			for _, a := range m.Answers {
				as = append(as, answer{string(a.Name), a.Type.String(), a.Addr.String(), string(a.Target), a.TTL})
			}
			if len(as) != len(tt.answers) {
				t.Fatalf("answers %+v, want %+v", as, tt.answers)
			}
			for i := range as {
				if as[i] != tt.answers[i] {
					t.Errorf("answer %d %+v, want %+v", i, as[i], tt.answers[i])
				}
			}
			if m.OtherAnswers != tt.other || m.Authority != tt.authority {
				t.Errorf("other %d authority %d, want %d %d", m.OtherAnswers, m.Authority, tt.other, tt.authority)
			}
			if m.EDNS != (tt.edns != 0) || m.UDPSize != tt.edns {
				t.Errorf("EDNS %v/%d, want %d", m.EDNS, m.UDPSize, tt.edns)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	name255 := wireName(strings.Join([]string{long63, long63, long63, strings.Repeat("b", 61)}, "."))
	if len(name255) != 255 {
		t.Fatalf("name255 is %d bytes", len(name255))
	}
	name257 := wireName(strings.Join([]string{long63, long63, long63, long63}, "."))
	q := question(wireName("a.example"), TypeA) // 15 bytes at 12
	tests := []struct {
		name    string
		msg     []byte
		want    error // nil: must parse
		answers int   // answers kept before the error
	}{
		{"empty", nil, ErrTruncated, 0},
		{"short header", header(1, 0, 0, 0, 0, 0)[:11], ErrTruncated, 0},
		{"count beyond data", header(1, 0, 1, 0, 0, 0), ErrTruncated, 0},
		{"question name cut", cat(header(1, 0, 1, 0, 0, 0), wireName("a.example")[:5]), ErrTruncated, 0},
		{"question type cut", cat(header(1, 0, 1, 0, 0, 0), wireName("a.example"), []byte{0, 1}), ErrTruncated, 0},
		{"label runs past end", cat(header(1, 0, 1, 0, 0, 0), []byte{40, 'a', 'b'}), ErrTruncated, 0},
		{"pointer cut", cat(header(1, 0, 1, 0, 0, 0), []byte{0xc0}), ErrTruncated, 0},
		{"pointer to itself", cat(header(1, 0, 1, 0, 0, 0), ptr(12), []byte{0, 1, 0, 1}), ErrPointerLoop, 0},
		{"two pointers in a loop", cat(header(1, 0, 1, 0, 0, 0), ptr(14), ptr(12), []byte{0, 1, 0, 1}), ErrPointerLoop, 0},
		{"label then loop back", cat(header(1, 0, 1, 0, 0, 0), []byte{1, 'x'}, ptr(12), []byte{0, 1, 0, 1}), ErrNameTooLong, 0},
		{"pointer beyond message", cat(header(1, 0, 1, 0, 0, 0), ptr(0x3fff), []byte{0, 1, 0, 1}), ErrBadPointer, 0},
		{"extended label type", cat(header(1, 0, 1, 0, 0, 0), []byte{0x41, 0}, []byte{0, 1, 0, 1}), ErrBadLabel, 0},
		{"name of 255 bytes", cat(header(1, 0, 1, 0, 0, 0), question(name255, TypeA)), nil, 0},
		{"name of 257 bytes", cat(header(1, 0, 1, 0, 0, 0), question(name257, TypeA)), ErrNameTooLong, 0},
		{"long through compression", cat(header(1, 0, 2, 0, 0, 0), question(name255, TypeA),
			question(cat([]byte{1, 'x'}, ptr(12)), TypeA)), ErrNameTooLong, 0},
		{"A rdata of 5 bytes", cat(header(1, 0x8000, 1, 1, 0, 0), q, record(ptr(12), TypeA, 1, 1, []byte{1, 2, 3, 4, 5})), ErrBadRData, 0},
		{"AAAA rdata of 4 bytes", cat(header(1, 0x8000, 1, 1, 0, 0), q, record(ptr(12), TypeAAAA, 1, 1, ip("192.0.2.1"))), ErrBadRData, 0},
		{"CNAME target past rdata", cat(header(1, 0x8000, 1, 1, 0, 0), q, record(ptr(12), TypeCNAME, 1, 1, []byte{3, 'a', 'b', 'c'}), []byte{0}), ErrTruncated, 0},
		{"CNAME rdata longer than target", cat(header(1, 0x8000, 1, 1, 0, 0), q, record(ptr(12), TypeCNAME, 1, 1, cat(ptr(12), []byte{0}))), ErrBadRData, 0},
		{"rdata cut", cat(header(1, 0x8000, 1, 1, 0, 0), q, record(ptr(12), TypeA, 1, 1, ip("192.0.2.1"))[:14]), ErrTruncated, 0},
		{"record header cut", cat(header(1, 0x8000, 1, 1, 0, 0), q, ptr(12), []byte{0, 1, 0}), ErrTruncated, 0},
		{"skipped record cut", cat(header(1, 0x8000, 1, 1, 0, 0), q, record(ptr(12), TypeTXT, 1, 1, []byte{3, 'a', 'b', 'c'})[:15]), ErrTruncated, 0},
		{"additional cut keeps answers", cat(header(1, 0x8000, 1, 1, 0, 1), q,
			record(ptr(12), TypeA, 1, 1, ip("192.0.2.1")), []byte{0, 0, 41}), ErrTruncated, 1},
	}
	var m Message
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Parse(tt.msg, &m)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Parse = %v, want %v", err, tt.want)
			}
			if len(m.Answers) != tt.answers {
				t.Errorf("%d answers kept, want %d", len(m.Answers), tt.answers)
			}
			// A fault after the question section says so: the header and
			// question are good (a caller keeps the response).
			if afterQuestion := err != nil && len(m.Questions) == int(m.QDCount) && len(tt.msg) >= 12; errors.Is(err, ErrRecord) != afterQuestion {
				t.Errorf("ErrRecord %v, want %v (questions %d of %d)", errors.Is(err, ErrRecord), afterQuestion, len(m.Questions), m.QDCount)
			}
		})
	}
}

// TestParsePrefixes parses every prefix of a rich message: each must fail
// cleanly with ErrTruncated, never panic, and only the whole must succeed.
func TestParsePrefixes(t *testing.T) {
	msg := cnameResponse()
	var m Message
	for n := range len(msg) {
		if err := Parse(msg[:n], &m); !errors.Is(err, ErrTruncated) {
			t.Errorf("prefix of %d bytes: %v", n, err)
		}
	}
	if err := Parse(msg, &m); err != nil {
		t.Fatal(err)
	}
}

func TestParseAllocs(t *testing.T) {
	msg := cnameResponse()
	var m Message
	if err := Parse(msg, &m); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := Parse(msg, &m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Parse allocates %.1f times per message on a reused Message", allocs)
	}
}

func BenchmarkParse(b *testing.B) {
	msgs, _ := readMessages(b, "dns-edns-ecs.pcap")
	var size int
	for _, msg := range msgs {
		size += len(msg.data)
	}
	var m Message
	b.SetBytes(int64(size / len(msgs)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		_ = Parse(msgs[n%len(msgs)].data, &m)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pkts/s")
}

package dnsinfo

import (
	"net/netip"
	"strconv"
)

// Type is a resource record type (RFC 1035 section 3.2.2 and the IANA
// registry).
type Type uint16

const (
	TypeA      Type = 1
	TypeNS     Type = 2
	TypeCNAME  Type = 5
	TypeSOA    Type = 6
	TypePTR    Type = 12
	TypeMX     Type = 15
	TypeTXT    Type = 16
	TypeAAAA   Type = 28
	TypeSRV    Type = 33
	TypeNAPTR  Type = 35
	TypeDNAME  Type = 39
	TypeOPT    Type = 41
	TypeDS     Type = 43
	TypeRRSIG  Type = 46
	TypeNSEC   Type = 47
	TypeDNSKEY Type = 48
	TypeNSEC3  Type = 50
	TypeSVCB   Type = 64
	TypeHTTPS  Type = 65
	TypeANY    Type = 255
)

// String gives the mnemonic, or TYPEnnn (RFC 3597) for types without one here.
func (t Type) String() string {
	switch t {
	case TypeA:
		return "A"
	case TypeNS:
		return "NS"
	case TypeCNAME:
		return "CNAME"
	case TypeSOA:
		return "SOA"
	case TypePTR:
		return "PTR"
	case TypeMX:
		return "MX"
	case TypeTXT:
		return "TXT"
	case TypeAAAA:
		return "AAAA"
	case TypeSRV:
		return "SRV"
	case TypeNAPTR:
		return "NAPTR"
	case TypeDNAME:
		return "DNAME"
	case TypeOPT:
		return "OPT"
	case TypeDS:
		return "DS"
	case TypeRRSIG:
		return "RRSIG"
	case TypeNSEC:
		return "NSEC"
	case TypeDNSKEY:
		return "DNSKEY"
	case TypeNSEC3:
		return "NSEC3"
	case TypeSVCB:
		return "SVCB"
	case TypeHTTPS:
		return "HTTPS"
	case TypeANY:
		return "ANY"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// ClassINET is the Internet class. In mDNS the class's top bit is the
// cache-flush (answers) or unicast-response (questions) flag, so compare
// Class&ClassMask with ClassINET.
const (
	ClassINET Class = 1
	ClassMask Class = 0x7fff
)

// Class is a resource record class.
type Class uint16

// Opcode is the kind of query in the header (0 = standard query).
type Opcode uint8

const (
	OpcodeQuery  Opcode = 0
	OpcodeStatus Opcode = 2
	OpcodeNotify Opcode = 4
	OpcodeUpdate Opcode = 5
)

// RCode is a response code. With an EDNS OPT record it is the 12-bit
// extended code (RFC 6891 section 6.1.3).
type RCode uint16

const (
	RCodeSuccess        RCode = 0
	RCodeFormatError    RCode = 1
	RCodeServerFailure  RCode = 2
	RCodeNameError      RCode = 3 // NXDOMAIN
	RCodeNotImplemented RCode = 4
	RCodeRefused        RCode = 5
)

func (r RCode) String() string {
	switch r {
	case RCodeSuccess:
		return "NOERROR"
	case RCodeFormatError:
		return "FORMERR"
	case RCodeServerFailure:
		return "SERVFAIL"
	case RCodeNameError:
		return "NXDOMAIN"
	case RCodeNotImplemented:
		return "NOTIMP"
	case RCodeRefused:
		return "REFUSED"
	case 6:
		return "YXDOMAIN"
	case 7:
		return "YXRRSET"
	case 8:
		return "NXRRSET"
	case 9:
		return "NOTAUTH"
	case 10:
		return "NOTZONE"
	case 16:
		return "BADVERS"
	}
	return "RCODE" + strconv.Itoa(int(r))
}

// Flags are the single-bit header flags, in their header positions.
type Flags uint16

const (
	FlagCD Flags = 1 << 4  // checking disabled
	FlagAD Flags = 1 << 5  // authentic data
	FlagRA Flags = 1 << 7  // recursion available
	FlagRD Flags = 1 << 8  // recursion desired
	FlagTC Flags = 1 << 9  // truncated: the client should retry over TCP
	FlagAA Flags = 1 << 10 // authoritative answer
)

// Header is the fixed 12-byte message header.
type Header struct {
	ID       uint16
	Response bool // QR bit
	Opcode   Opcode
	RCode    RCode
	Flags    Flags

	// Section counts as the header claims them; the parsed sections hold
	// what was really there.
	QDCount, ANCount, NSCount, ARCount uint16
}

// Question is one entry of the question section. Name is in presentation
// form, lower case, without the trailing dot ("." for the root); it aliases
// the Message's name arena and is valid until the next Parse into it.
type Question struct {
	Name  []byte
	Type  Type
	Class Class
}

// Answer is an A, AAAA or CNAME record of the answer section. Name and
// Target alias the Message's name arena like Question.Name.
type Answer struct {
	Name  []byte
	Type  Type
	Class Class
	TTL   uint32
	Addr  netip.Addr // A and AAAA
	// Target is the canonical name of a CNAME record.
	Target []byte
}

// Message is a parsed DNS message. Reuse one Message across Parse calls:
// its slices and name arena keep their capacity, so once they have grown to
// the size of the traffic Parse allocates nothing.
type Message struct {
	Header
	Questions []Question
	// Answers holds the A, AAAA and CNAME records of the answer section, in
	// message order.
	Answers []Answer
	// OtherAnswers counts answer-section records of other types (NAPTR,
	// SRV, TXT, RRSIG, ...), parsed for their length and skipped.
	OtherAnswers int
	// Authority and Additional count the records of those sections, which
	// are parsed for their length and skipped.
	Authority, Additional int
	// EDNS is set when the additional section held an OPT pseudo-record;
	// UDPSize is the payload size it advertised.
	EDNS    bool
	UDPSize uint16

	// names is the arena all Name and Target slices point into.
	names []byte
	// qname is the first question's name when it has labels and no
	// pointer, qwire the length of its wire form; the names that point
	// to it share or copy it.
	qname []byte
	qwire int
}

func (m *Message) reset() {
	m.Header = Header{}
	m.Questions = m.Questions[:0]
	m.Answers = m.Answers[:0]
	m.OtherAnswers, m.Authority, m.Additional = 0, 0, 0
	m.EDNS, m.UDPSize = false, 0
	m.names = m.names[:0]
	m.qname, m.qwire = nil, 0
}

package dnsinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Parse errors. Parse wraps them with the section, record index and byte
// offset, so callers can count by reason with errors.Is.
var (
	ErrTruncated   = errors.New("message truncated")
	ErrNameTooLong = errors.New("name longer than 255 bytes")
	ErrPointerLoop = errors.New("too many compression pointers")
	ErrBadPointer  = errors.New("compression pointer beyond message")
	ErrBadLabel    = errors.New("reserved label type")
	ErrBadRData    = errors.New("record data length does not fit its type")
	// ErrRecord wraps a fault in a record after the question section: the
	// header, the question and the records before it are good, and m
	// holds them.
	ErrRecord = errors.New("bad record")
)

const (
	headerLen = 12
	// maxNameWire is RFC 1035's limit on a name's wire form, length
	// octets and the root's zero octet included.
	maxNameWire = 255
	// maxPointers bounds the compression pointers followed in one name. A
	// name has at most 127 labels and a sane encoder uses one pointer, so
	// this only trips on loops, which it turns into a cheap error.
	maxPointers = 127
	rrFixedLen  = 10 // type, class, TTL, RDLENGTH
)

type section uint8

const (
	secQuestion section = iota
	secAnswer
	secAuthority
	secAdditional
)

func (s section) String() string {
	return [...]string{"question", "answer", "authority", "additional"}[s]
}

// Parse decodes msg into m, replacing what m held. It keeps the question
// section and the A, AAAA and CNAME records of the answer section, and walks
// every other record only to find where the next one starts. Names are
// decoded into m's reusable arena, so a reused m costs no allocation once
// the arena has grown to the traffic's names.
//
// On error m holds the complete records parsed before the fault: a
// response cut by the snap length after its answer section still has its
// answers, and may be given to Cache.Observe.
func Parse(msg []byte, m *Message) error {
	m.reset()
	if len(msg) < headerLen {
		return fmt.Errorf("dns: header of %d bytes: %w", len(msg), ErrTruncated)
	}
	bits := binary.BigEndian.Uint16(msg[2:])
	m.ID = binary.BigEndian.Uint16(msg)
	m.Response = bits&0x8000 != 0
	m.Opcode = Opcode(bits>>11) & 0xf
	m.RCode = RCode(bits & 0xf)
	m.Flags = Flags(bits) & (FlagAA | FlagTC | FlagRD | FlagRA | FlagAD | FlagCD)
	m.QDCount = binary.BigEndian.Uint16(msg[4:])
	m.ANCount = binary.BigEndian.Uint16(msg[6:])
	m.NSCount = binary.BigEndian.Uint16(msg[8:])
	m.ARCount = binary.BigEndian.Uint16(msg[10:])

	off := headerLen
	for i := 0; i < int(m.QDCount); i++ {
		next, err := m.parseQuestion(msg, off)
		if err != nil {
			return sectionError(secQuestion, i, off, err)
		}
		off = next
	}
	counts := [...]uint16{secAnswer: m.ANCount, secAuthority: m.NSCount, secAdditional: m.ARCount}
	for sec := secAnswer; sec <= secAdditional; sec++ {
		for i := 0; i < int(counts[sec]); i++ {
			next, err := m.parseRecord(msg, off, sec)
			if err != nil {
				return sectionError(sec, i, off, err)
			}
			off = next
		}
	}
	return nil
}

func sectionError(sec section, i, off int, err error) error {
	if sec == secQuestion {
		return fmt.Errorf("dns: %s record %d at offset %d: %w", sec, i, off, err)
	}
	return fmt.Errorf("dns: %s record %d at offset %d: %w: %w", sec, i, off, ErrRecord, err)
}

func (m *Message) parseQuestion(msg []byte, off int) (int, error) {
	start := off
	name, off, err := m.readName(msg, off)
	if err != nil {
		return 0, err
	}
	if off+4 > len(msg) {
		return 0, ErrTruncated
	}
	if start == headerLen && off-start > 1 {
		// The first question's name, in labels only (there is nothing
		// before it to point to), and not the root, which adds nothing
		// to a name that points to it: decodeName copies it for the
		// names that do.
		if _, pointer, _ := skipName(msg, start); !pointer {
			m.qname, m.qwire = name, off-start
		}
	}
	m.Questions = append(m.Questions, Question{
		Name:  name,
		Type:  Type(binary.BigEndian.Uint16(msg[off:])),
		Class: Class(binary.BigEndian.Uint16(msg[off+2:])),
	})
	return off + 4, nil
}

// parseRecord reads one resource record at off and returns where the next
// starts. The owner name is skipped first and decoded only for kept types,
// so skipped records put nothing into the arena.
func (m *Message) parseRecord(msg []byte, off int, sec section) (int, error) {
	fixed, _, err := skipName(msg, off)
	if err != nil {
		return 0, err
	}
	if fixed+rrFixedLen > len(msg) {
		return 0, ErrTruncated
	}
	typ := Type(binary.BigEndian.Uint16(msg[fixed:]))
	class := Class(binary.BigEndian.Uint16(msg[fixed+2:]))
	ttl := binary.BigEndian.Uint32(msg[fixed+4:])
	rdlen := int(binary.BigEndian.Uint16(msg[fixed+8:]))
	rdata := fixed + rrFixedLen
	end := rdata + rdlen
	if end > len(msg) {
		return 0, ErrTruncated
	}

	switch sec {
	case secAuthority:
		m.Authority++
		return end, nil
	case secAdditional:
		m.Additional++
		if typ == TypeOPT {
			m.EDNS = true
			m.UDPSize = uint16(class)
			// The OPT TTL's top octet holds the upper 8 bits of a 12-bit RCODE.
			m.RCode |= RCode(ttl>>24) << 4
		}
		return end, nil
	}

	switch typ {
	case TypeA, TypeAAAA, TypeCNAME:
	default:
		m.OtherAnswers++
		return end, nil
	}
	rec := Answer{Type: typ, Class: class, TTL: ttl}
	switch typ {
	case TypeA:
		if rdlen != 4 {
			return 0, ErrBadRData
		}
		rec.Addr = netip.AddrFrom4([4]byte(msg[rdata:end]))
	case TypeAAAA:
		if rdlen != 16 {
			return 0, ErrBadRData
		}
		rec.Addr = netip.AddrFrom16([16]byte(msg[rdata:end]))
	case TypeCNAME:
		// Only the rdata may hold the target's own labels; a pointer
		// may still lead anywhere earlier in the message.
		target, next, err := m.readName(msg[:end], rdata)
		if err != nil {
			return 0, err
		}
		if next != end {
			return 0, ErrBadRData
		}
		rec.Target = target
	}
	rec.Name, _, err = m.readName(msg, off)
	if err != nil {
		return 0, err
	}
	m.Answers = append(m.Answers, rec)
	return end, nil
}

// skipName returns the offset just past the name at off without decoding
// it: the labels up to the terminating zero or the first pointer, and
// whether it was a pointer.
func skipName(msg []byte, off int) (next int, pointer bool, err error) {
	for {
		if off >= len(msg) {
			return 0, false, ErrTruncated
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				return off + 1, false, nil
			}
			off += 1 + c
		case 0xc0:
			if off+2 > len(msg) {
				return 0, false, ErrTruncated
			}
			return off + 2, true, nil
		default:
			return 0, false, ErrBadLabel
		}
	}
}

// readName decodes the possibly compressed name at off into the arena and
// returns it with the offset just past the name where it starts (not where
// its pointers lead). The name is lower-cased: resolvers echo the
// randomized case of 0x20-encoded queries, and the cache must not care.
// Bytes that would make the presentation form ambiguous are escaped
// RFC 1035 style (\. \\ \DDD).
func (m *Message) readName(msg []byte, off int) (name []byte, next int, err error) {
	start := len(m.names)
	name, next, err = m.decodeName(msg, off, start)
	if err != nil {
		m.names = m.names[:start]
	}
	return name, next, err
}

func (m *Message) decodeName(msg []byte, off, start int) (name []byte, next int, err error) {
	next = -1
	wire := 1 // the root's zero octet
	for hops := 0; ; {
		if off >= len(msg) {
			return nil, 0, ErrTruncated
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				if next < 0 {
					next = off + 1
				}
				if len(m.names) == start {
					m.names = append(m.names, '.')
				}
				return m.names[start:len(m.names):len(m.names)], next, nil
			}
			wire += 1 + c
			if wire > maxNameWire {
				return nil, 0, ErrNameTooLong
			}
			if off+1+c > len(msg) {
				return nil, 0, ErrTruncated
			}
			if len(m.names) > start {
				m.names = append(m.names, '.')
			}
			m.names = appendLabel(m.names, msg[off+1:off+1+c])
			off += 1 + c
		case 0xc0:
			if off+2 > len(msg) {
				return nil, 0, ErrTruncated
			}
			if next < 0 {
				next = off + 2
			}
			if hops++; hops > maxPointers {
				return nil, 0, ErrPointerLoop
			}
			off = int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
			if off >= len(msg) {
				return nil, 0, ErrBadPointer
			}
			if off == headerLen && m.qname != nil {
				// Most answers' owner names point to the question's:
				// it was decoded once, from labels that all lie before
				// any record, so copy it rather than decode it again.
				if wire += m.qwire - 1; wire > maxNameWire {
					return nil, 0, ErrNameTooLong
				}
				if len(m.names) == start {
					return m.qname, next, nil
				}
				m.names = append(m.names, '.')
				m.names = append(m.names, m.qname...)
				return m.names[start:len(m.names):len(m.names)], next, nil
			}
		default:
			return nil, 0, ErrBadLabel
		}
	}
}

// appendLabel appends label in presentation form: lower case, escaped
// where a byte would make it ambiguous. Most labels need no escape, so
// it maps bytes through labelBytes into room made once, and leaves a
// label to appendEscaped from its first byte that needs one.
func appendLabel(dst, label []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, len(label))[:n+len(label)]
	out := dst[n:]
	for i, b := range label {
		c := labelBytes[b]
		if c == 0 {
			return appendEscaped(dst[:n+i], label[i:])
		}
		out[i] = c
	}
	return dst
}

// labelBytes maps a label byte to its presentation form, upper case to
// lower, and the bytes that need an escape to 0 (itself one of them). It
// is never written.
var labelBytes = func() (t [256]byte) {
	for b := range t {
		switch {
		case b == '.' || b == '\\' || b <= ' ' || b >= 0x7f:
		case 'A' <= b && b <= 'Z':
			t[b] = byte(b) + ('a' - 'A')
		default:
			t[b] = byte(b)
		}
	}
	return t
}()

func appendEscaped(dst, label []byte) []byte {
	for _, b := range label {
		switch {
		case 'A' <= b && b <= 'Z':
			dst = append(dst, b+('a'-'A'))
		case b == '.' || b == '\\':
			dst = append(dst, '\\', b)
		case b <= ' ' || b >= 0x7f:
			dst = append(dst, '\\', '0'+b/100, '0'+b/10%10, '0'+b%10)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

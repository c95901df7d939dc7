package tlsinfo

import (
	"errors"
	"fmt"
)

// Sentinel errors. Parse errors that carry detail wrap one of these, so test
// them with errors.Is.
var (
	// ErrNeedMore means the bytes end before the message is complete; call
	// again with more of the stream.
	ErrNeedMore = errors.New("tlsinfo: need more data")
	// ErrNotTLS means the first bytes cannot start a TLS (or SSLv2) stream.
	ErrNotTLS = errors.New("tlsinfo: not TLS")
	// ErrUnexpectedMessage means the stream is TLS but does not start with
	// the handshake message asked for (a ServerHello given to
	// ParseClientHello, application data, an alert...).
	ErrUnexpectedMessage = errors.New("tlsinfo: unexpected TLS message")
	// ErrMalformed means a length or field contradicts the TLS encoding.
	ErrMalformed = errors.New("tlsinfo: malformed handshake")
	// ErrTooLarge means a handshake message exceeds MaxHandshakeLen.
	ErrTooLarge = errors.New("tlsinfo: handshake message too large")
	// ErrFatalAlert means the peer sent a fatal alert where a hello was
	// expected: the handshake failed, no hello follows.
	ErrFatalAlert = errors.New("tlsinfo: fatal alert before the hello")
)

// maxLeadingRecords bounds the alert and ChangeCipherSpec records skipped
// before a ServerHello; a server sends one warning at most.
const maxLeadingRecords = 8

// MaxHandshakeLen bounds reassembly of one handshake message. Real
// ClientHellos stay far below it (post-quantum key shares and padding bring
// them to a few KiB); certificate chains rarely exceed it.
const MaxHandshakeLen = 64 << 10

// maxRecordLen is the largest TLSCiphertext length RFC 8446 allows
// (2^14 + 256); TLS 1.2 allowed 2^14 + 2048, so accept that.
const maxRecordLen = 1<<14 + 2048

// TLS record content types (RFC 8446 section 5.1, RFC 9146).
const (
	recordChangeCipherSpec = 20
	recordAlert            = 21
	recordHandshake        = 22
	recordMax              = 25 // tls12_cid
)

// Handshake message types.
const (
	typeClientHello = 1
	typeServerHello = 2
	typeCertificate = 11
)

// errOtherRecord reports that the run of handshake records ended with a
// record of another content type.
var errOtherRecord = errors.New("tlsinfo: non-handshake record")

// recordHeader validates the record header at b[off:] and returns its content
// type and the offset just past the record. It returns ErrNeedMore when the
// record is incomplete and an ErrMalformed-wrapped error when the header cannot
// be a TLS record header.
func recordHeader(b []byte, off int) (typ uint8, end int, err error) {
	rest := b[off:]
	if len(rest) == 0 {
		return 0, 0, ErrNeedMore
	}
	if rest[0] < recordChangeCipherSpec || rest[0] > recordMax {
		return 0, 0, fmt.Errorf("%w: record content type %d at offset %d", ErrMalformed, rest[0], off)
	}
	if len(rest) >= 2 && rest[1] != 3 {
		return 0, 0, fmt.Errorf("%w: record version major %d at offset %d", ErrMalformed, rest[1], off)
	}
	if len(rest) < 5 {
		return 0, 0, ErrNeedMore
	}
	n := int(rest[3])<<8 | int(rest[4])
	if n > maxRecordLen {
		return 0, 0, fmt.Errorf("%w: record length %d at offset %d", ErrMalformed, n, off)
	}
	if len(rest) < 5+n {
		return 0, 0, ErrNeedMore
	}
	return rest[0], off + 5 + n, nil
}

// handshakeStream gathers the payload of consecutive handshake records so
// messages split over records read as one byte string. While a single record
// suffices the stream is a view of the input; from the second record on it
// is copied into buf, which the caller keeps to reuse its capacity.
type handshakeStream struct {
	in     []byte
	next   int // offset in in of the first record not yet consumed
	data   []byte
	buf    []byte
	copied bool
}

func (s *handshakeStream) reset(in []byte, buf []byte) {
	*s = handshakeStream{in: in, buf: buf[:0]}
}

// ensure gathers records until at least n handshake bytes are available.
func (s *handshakeStream) ensure(n int) error {
	for len(s.data) < n {
		typ, end, err := recordHeader(s.in, s.next)
		if err != nil {
			return err
		}
		if typ != recordHandshake {
			return errOtherRecord
		}
		payload := s.in[s.next+5 : end]
		switch {
		case !s.copied && len(s.data) == 0:
			s.data = payload
		default:
			if !s.copied {
				s.buf = append(s.buf[:0], s.data...)
				s.copied = true
			}
			s.buf = append(s.buf, payload...)
			s.data = s.buf
		}
		s.next = end
	}
	return nil
}

// message returns the body of the handshake message at off, gathering records
// as needed, and checks its type against want.
func (s *handshakeStream) message(off int, want uint8) (body []byte, err error) {
	if err := s.ensure(off + 4); err != nil {
		return nil, err
	}
	h := s.data[off:]
	if h[0] != want {
		return nil, fmt.Errorf("%w: handshake type %d, want %d", ErrUnexpectedMessage, h[0], want)
	}
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if n > MaxHandshakeLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
	}
	if err := s.ensure(off + 4 + n); err != nil {
		return nil, err
	}
	return s.data[off+4 : off+4+n], nil
}

// peekFirstMessage rejects early, from an incomplete first record, a stream
// whose first handshake message is of the wrong type or too large, so the
// caller stops buffering it.
func peekFirstMessage(b []byte, want uint8) error {
	if len(b) < 6 {
		return nil
	}
	payload := b[5:]
	if n := int(b[3])<<8 | int(b[4]); n < len(payload) {
		payload = payload[:n]
	}
	if len(payload) >= 1 && payload[0] != want {
		return fmt.Errorf("%w: handshake type %d, want %d", ErrUnexpectedMessage, payload[0], want)
	}
	if len(payload) >= 4 {
		if n := int(payload[1])<<16 | int(payload[2])<<8 | int(payload[3]); n > MaxHandshakeLen {
			return fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
		}
	}
	return nil
}

// skipLeadingRecords returns the offset of the first record in b that is
// neither an alert nor a ChangeCipherSpec. Some servers send a warning
// alert (unrecognized_name, RFC 6066 section 3) before their ServerHello,
// and middlebox-compatible TLS 1.3 peers a ChangeCipherSpec. A fatal alert
// yields ErrFatalAlert (the handshake is over), an incomplete record
// ErrNeedMore.
func skipLeadingRecords(b []byte) (int, error) {
	off := 0
	for range maxLeadingRecords {
		rest := b[off:]
		if len(rest) == 0 || rest[0] != recordAlert && rest[0] != recordChangeCipherSpec {
			return off, nil
		}
		typ, end, err := recordHeader(b, off)
		if err != nil {
			if errors.Is(err, ErrMalformed) {
				return 0, ErrNotTLS
			}
			return 0, err
		}
		const fatal = 2
		if typ == recordAlert && end-off >= 7 && rest[5] == fatal {
			return 0, fmt.Errorf("%w: description %d", ErrFatalAlert, rest[6])
		}
		off = end
	}
	return 0, fmt.Errorf("%w: more than %d alert and ChangeCipherSpec records before the hello", ErrMalformed, maxLeadingRecords)
}

// startsTLS reports whether b can begin a TLS record stream of handshake
// records: content type 22, version major 3.
func startsTLS(b []byte) error {
	if len(b) == 0 {
		return ErrNeedMore
	}
	if b[0] != recordHandshake || len(b) >= 2 && b[1] != 3 {
		return ErrNotTLS
	}
	if len(b) >= 5 && int(b[3])<<8|int(b[4]) > maxRecordLen {
		return ErrNotTLS
	}
	return nil
}

// reader is a bounds-checked cursor over a handshake body. A short read sets
// bad and returns zero values, so parsers check bad once per field group.
type reader struct {
	b   []byte
	off int
	bad bool
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) u8() uint8 {
	if r.left() < 1 {
		r.bad = true
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) u16() uint16 {
	if r.left() < 2 {
		r.bad = true
		return 0
	}
	v := uint16(r.b[r.off])<<8 | uint16(r.b[r.off+1])
	r.off += 2
	return v
}

func (r *reader) u24() int {
	if r.left() < 3 {
		r.bad = true
		return 0
	}
	v := int(r.b[r.off])<<16 | int(r.b[r.off+1])<<8 | int(r.b[r.off+2])
	r.off += 3
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || r.left() < n {
		r.bad = true
		r.off = len(r.b)
		return nil
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v
}

// vec8 and vec16 read a length-prefixed vector.
func (r *reader) vec8() []byte  { return r.bytes(int(r.u8())) }
func (r *reader) vec16() []byte { return r.bytes(int(r.u16())) }

// appendU16s decodes a vector of big-endian uint16 values.
func appendU16s(dst []uint16, b []byte) ([]uint16, bool) {
	if len(b)%2 != 0 {
		return dst, false
	}
	for i := 0; i < len(b); i += 2 {
		dst = append(dst, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return dst, true
}

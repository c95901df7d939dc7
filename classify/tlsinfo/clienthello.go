package tlsinfo

import (
	"fmt"
)

// Transport is the protocol that carried a hello; JA4 encodes it in its
// first character.
type Transport uint8

const (
	TransportTCP  Transport = iota // TLS over TCP, JA4 "t"
	TransportQUIC                  // QUIC CRYPTO frames, JA4 "q"
	TransportDTLS                  // DTLS over UDP, JA4 "d"
)

// ClientHello holds the fields of a parsed ClientHello. Byte-slice fields are
// views (see the package documentation); lists keep wire order and include
// GREASE values, which only the fingerprints drop.
type ClientHello struct {
	Transport Transport
	// SSLv2 is set for an SSL 2.0-format CLIENT-HELLO (the backward
	// compatible hello of RFC 5246 appendix E.2), which has no extensions.
	SSLv2 bool
	// RecordVersion is the version of the first record (0 for SSLv2).
	RecordVersion uint16
	// LegacyVersion is client_version; TLS 1.3 clients send 0x0303 here and
	// list their real versions in SupportedVersions.
	LegacyVersion uint16
	Random        [32]byte
	SessionID     []byte
	CipherSuites  []uint16
	// V2CipherSpecs holds the 24-bit cipher specs of an SSLv2 hello; those
	// whose first byte is zero are TLS suites and also appear in CipherSuites.
	V2CipherSpecs      []uint32
	CompressionMethods []byte
	// Extensions lists extension types in the order sent.
	Extensions []uint16

	// HasSNI reports that the server_name extension is present, even if it
	// carries no host_name.
	HasSNI bool
	// ServerName is the first host_name of the server_name extension.
	ServerName          []byte
	ALPN                [][]byte
	SupportedVersions   []uint16
	SupportedGroups     []uint16
	ECPointFormats      []uint8
	SignatureAlgorithms []uint16
	KeyShareGroups      []uint16
	// ECH reports an encrypted_client_hello extension (0xfe0d); ServerName
	// is then the outer, public name.
	ECH bool

	// Length is the handshake message body length.
	Length int
	// End is the offset in the parsed bytes just past the record holding the
	// hello's last byte: where the caller resumes to find later records.
	End int

	stream  handshakeStream
	scratch []byte
	sorted  []uint16
}

func (h *ClientHello) reset() {
	*h = ClientHello{
		SessionID:           h.SessionID[:0],
		CipherSuites:        h.CipherSuites[:0],
		V2CipherSpecs:       h.V2CipherSpecs[:0],
		CompressionMethods:  h.CompressionMethods[:0],
		Extensions:          h.Extensions[:0],
		ALPN:                h.ALPN[:0],
		SupportedVersions:   h.SupportedVersions[:0],
		SupportedGroups:     h.SupportedGroups[:0],
		ECPointFormats:      h.ECPointFormats[:0],
		SignatureAlgorithms: h.SignatureAlgorithms[:0],
		KeyShareGroups:      h.KeyShareGroups[:0],
		stream:              handshakeStream{buf: h.stream.buf},
		scratch:             h.scratch,
		sorted:              h.sorted,
	}
}

// SNI returns a copy of ServerName as a string ("" when absent).
func (h *ClientHello) SNI() string { return string(h.ServerName) }

// ALPNStrings returns a copy of the ALPN protocol list.
func (h *ClientHello) ALPNStrings() []string {
	if len(h.ALPN) == 0 {
		return nil
	}
	s := make([]string, len(h.ALPN))
	for i, p := range h.ALPN {
		s[i] = string(p)
	}
	return s
}

// Version returns the highest non-GREASE version of supported_versions, or
// LegacyVersion when the extension is absent: the version the client
// actually offers.
func (h *ClientHello) Version() uint16 {
	var best uint16
	for _, v := range h.SupportedVersions {
		if !IsGREASE(v) && v > best {
			best = v
		}
	}
	if best == 0 {
		return h.LegacyVersion
	}
	return best
}

// ParseClientHello parses the ClientHello at the start of b, which holds one
// direction of a TLS stream from a record boundary. It returns ErrNeedMore
// when b ends before the hello (and the record that completes it) does, and
// ErrNotTLS when b cannot start a TLS or SSLv2 stream. h is overwritten;
// reuse it to parse without allocating.
func ParseClientHello(b []byte, h *ClientHello) error {
	h.reset()
	if len(b) > 0 && b[0]&0x80 != 0 {
		return parseSSLv2ClientHello(b, h)
	}
	if err := startsTLS(b); err != nil {
		return err
	}
	if err := peekFirstMessage(b, typeClientHello); err != nil {
		return err
	}
	h.RecordVersion = uint16(safeByte(b, 1))<<8 | uint16(safeByte(b, 2))
	s := &h.stream
	s.reset(b, s.buf)
	body, err := s.message(0, typeClientHello)
	if err == errOtherRecord {
		err = fmt.Errorf("%w: non-handshake record inside ClientHello", ErrMalformed)
	}
	if err != nil {
		return err
	}
	h.Length = len(body)
	h.End = s.next
	if err := h.parseBody(body); err != nil {
		return fmt.Errorf("client hello: %w", err)
	}
	return nil
}

func safeByte(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

// parseBody decodes a ClientHello body (after the 4-byte handshake header);
// QUIC and TLS share it.
func (h *ClientHello) parseBody(body []byte) error {
	r := reader{b: body}
	h.LegacyVersion = r.u16()
	copy(h.Random[:], r.bytes(32))
	h.SessionID = r.vec8()
	suites := r.vec16()
	h.CompressionMethods = r.vec8()
	if r.bad {
		return fmt.Errorf("%w: truncated fixed fields", ErrMalformed)
	}
	if len(h.SessionID) > 32 {
		return fmt.Errorf("%w: session id length %d", ErrMalformed, len(h.SessionID))
	}
	var ok bool
	if h.CipherSuites, ok = appendU16s(h.CipherSuites, suites); !ok || len(suites) == 0 {
		return fmt.Errorf("%w: cipher suites length %d", ErrMalformed, len(suites))
	}
	if r.left() == 0 {
		return nil // SSL 3.0 style hello without extensions
	}
	exts := r.vec16()
	if r.bad || r.left() != 0 {
		return fmt.Errorf("%w: extensions length at offset %d", ErrMalformed, 4+r.off)
	}
	return h.parseExtensions(exts, 4+len(body)-len(exts))
}

func (h *ClientHello) parseExtensions(exts []byte, base int) error {
	r := reader{b: exts}
	for r.left() > 0 {
		at := base + r.off
		typ := r.u16()
		data := r.vec16()
		if r.bad {
			return fmt.Errorf("%w: extension header at offset %d", ErrMalformed, at)
		}
		h.Extensions = append(h.Extensions, typ)
		if !h.parseExtension(typ, data) {
			return fmt.Errorf("%w: extension 0x%04x at offset %d", ErrMalformed, typ, at)
		}
	}
	return nil
}

// parseExtension decodes the extensions fingerprints and reports need; it
// returns false when the content contradicts its own length fields.
func (h *ClientHello) parseExtension(typ uint16, data []byte) bool {
	r := reader{b: data}
	var ok bool
	switch typ {
	case ExtServerName:
		h.HasSNI = true
		if len(data) == 0 {
			return true // empty in a resumed hello is tolerated by servers
		}
		list := reader{b: r.vec16()}
		for list.left() > 0 {
			nameType := list.u8()
			name := list.vec16()
			if list.bad {
				return false
			}
			if nameType == 0 && h.ServerName == nil {
				h.ServerName = name
			}
		}
	case ExtALPN:
		list := reader{b: r.vec16()}
		for list.left() > 0 {
			p := list.vec8()
			if list.bad {
				return false
			}
			h.ALPN = append(h.ALPN, p)
		}
	case ExtSupportedGroups:
		if h.SupportedGroups, ok = appendU16s(h.SupportedGroups, r.vec16()); !ok {
			return false
		}
	case ExtECPointFormats:
		h.ECPointFormats = append(h.ECPointFormats, r.vec8()...)
	case ExtSignatureAlgorithms:
		if h.SignatureAlgorithms, ok = appendU16s(h.SignatureAlgorithms, r.vec16()); !ok {
			return false
		}
	case ExtSupportedVersions:
		if h.SupportedVersions, ok = appendU16s(h.SupportedVersions, r.vec8()); !ok {
			return false
		}
	case ExtKeyShare:
		list := reader{b: r.vec16()}
		for list.left() > 0 {
			g := list.u16()
			list.vec16()
			if list.bad {
				return false
			}
			h.KeyShareGroups = append(h.KeyShareGroups, g)
		}
	case ExtEncryptedClientHello:
		h.ECH = true
		return true
	default:
		return true
	}
	return !r.bad && r.left() == 0
}

// parseSSLv2ClientHello decodes the SSL 2.0 CLIENT-HELLO that old clients
// send to reach SSLv2 and TLS servers alike (RFC 5246 appendix E.2). Only
// the two-byte record header form is valid for it.
func parseSSLv2ClientHello(b []byte, h *ClientHello) error {
	if len(b) >= 3 && b[2] != typeClientHello {
		return ErrNotTLS
	}
	if len(b) >= 5 && !(b[3] == 0 && b[4] == 2) && b[3] != 3 {
		return ErrNotTLS
	}
	if len(b) < 2 {
		return ErrNeedMore
	}
	n := int(b[0]&0x7f)<<8 | int(b[1])
	if n < 9 {
		return ErrNotTLS
	}
	if len(b) < 2+n {
		return ErrNeedMore
	}
	h.SSLv2 = true
	h.Length = n
	h.End = 2 + n
	r := reader{b: b[3 : 2+n]}
	h.LegacyVersion = r.u16()
	specLen := int(r.u16())
	sidLen := int(r.u16())
	challengeLen := int(r.u16())
	specs := r.bytes(specLen)
	h.SessionID = r.bytes(sidLen)
	challenge := r.bytes(challengeLen)
	if r.bad || specLen%3 != 0 || challengeLen < 16 || challengeLen > 32 {
		return fmt.Errorf("%w: SSLv2 client hello lengths", ErrMalformed)
	}
	for i := 0; i < len(specs); i += 3 {
		spec := uint32(specs[i])<<16 | uint32(specs[i+1])<<8 | uint32(specs[i+2])
		h.V2CipherSpecs = append(h.V2CipherSpecs, spec)
		if specs[i] == 0 {
			h.CipherSuites = append(h.CipherSuites, uint16(spec))
		}
	}
	// The challenge becomes the right-aligned TLS random (RFC 5246 E.2).
	copy(h.Random[32-len(challenge):], challenge)
	return nil
}

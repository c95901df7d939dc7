package tlsinfo

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// helloRetryRandom is the ServerHello.random that marks a HelloRetryRequest:
// SHA-256("HelloRetryRequest") (RFC 8446 section 4.1.3).
var helloRetryRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// ServerHello holds a parsed ServerHello and, for TLS 1.2 and older full
// handshakes, what the Certificate message that follows says about the
// server.
type ServerHello struct {
	// SSLv2 is set for an SSL 2.0 SERVER-HELLO.
	SSLv2         bool
	RecordVersion uint16
	LegacyVersion uint16
	// Version is the negotiated version: the supported_versions extension
	// when present (TLS 1.3), else LegacyVersion.
	Version     uint16
	Random      [32]byte
	SessionID   []byte
	CipherSuite uint16
	// V2CipherSpecs lists the cipher specs of an SSLv2 SERVER-HELLO.
	V2CipherSpecs []uint32
	Compression   uint8
	Extensions    []uint16
	// ALPN is the protocol the server selected (empty when none).
	ALPN          []byte
	KeyShareGroup uint16
	// HelloRetryRequest marks a TLS 1.3 HelloRetryRequest: the client will
	// send a second ClientHello on the same connection.
	HelloRetryRequest bool

	// Certificate describes the first (leaf) certificate of the server's
	// chain; nil when the chain is encrypted (TLS 1.3), absent (resumption,
	// anonymous suites) or not in the parsed bytes.
	Certificate *Certificate

	// End is the offset just past the last record parsed.
	End int

	stream  handshakeStream
	scratch []byte
}

// Certificate summarises the server's leaf certificate.
type Certificate struct {
	Subject     string
	Issuer      string
	CommonName  string
	DNSNames    []string
	IPAddresses []netip.Addr
	NotBefore   time.Time
	NotAfter    time.Time
	// SerialNumber in lower-case hex.
	SerialNumber string
	// SHA256 is the fingerprint of the DER encoding.
	SHA256 [32]byte
	// SelfSigned reports that issuer and subject are the same name.
	SelfSigned bool
	// ChainLength counts the certificates the server sent.
	ChainLength int
	// ParseError is set when crypto/x509 rejected the DER; only SHA256 and
	// ChainLength are meaningful then.
	ParseError error
}

func (s *ServerHello) reset() {
	*s = ServerHello{
		Extensions:    s.Extensions[:0],
		V2CipherSpecs: s.V2CipherSpecs[:0],
		stream:        handshakeStream{buf: s.stream.buf},
		scratch:       s.scratch,
	}
}

// ParseServerHello parses the ServerHello at the start of b, which holds the
// server's direction of a TLS stream from a record boundary. For TLS 1.2 and
// older it goes on to the Certificate message, so ErrNeedMore can come after
// the ServerHello fields are already filled in: a caller that stops
// buffering early can still use them when Version is non-zero.
//
// It returns nil once the server's cleartext part is decided: after the
// ServerHello for TLS 1.3 and HelloRetryRequest, after the Certificate for a
// full TLS 1.2 handshake, or when the next message is not a Certificate
// (resumption, anonymous key exchange).
//
// Warning alerts and ChangeCipherSpec records before the ServerHello are
// skipped (End counts them); a fatal alert there yields ErrFatalAlert.
func ParseServerHello(b []byte, s *ServerHello) error {
	s.reset()
	start, err := skipLeadingRecords(b)
	if err != nil {
		return err
	}
	err = parseServerHello(b[start:], s)
	if s.End > 0 {
		s.End += start
	}
	return err
}

func parseServerHello(b []byte, s *ServerHello) error {
	if len(b) > 0 && b[0]&0x80 != 0 {
		return parseSSLv2ServerHello(b, s)
	}
	if err := startsTLS(b); err != nil {
		return err
	}
	if err := peekFirstMessage(b, typeServerHello); err != nil {
		return err
	}
	s.RecordVersion = uint16(safeByte(b, 1))<<8 | uint16(safeByte(b, 2))
	st := &s.stream
	st.reset(b, st.buf)
	body, err := st.message(0, typeServerHello)
	if err == errOtherRecord {
		err = fmt.Errorf("%w: non-handshake record inside ServerHello", ErrMalformed)
	}
	if err != nil {
		return err
	}
	s.End = st.next
	if err := s.parseBody(body); err != nil {
		return fmt.Errorf("server hello: %w", err)
	}
	if s.HelloRetryRequest || s.Version >= VersionTLS13 && s.Version < VersionDTLS13 {
		return nil
	}

	off := 4 + len(body)
	certBody, err := st.message(off, typeCertificate)
	switch {
	case err == nil:
	case err == ErrNeedMore:
		return err
	case err == errOtherRecord:
		return nil // ChangeCipherSpec: an abbreviated (resumed) handshake
	case errors.Is(err, ErrUnexpectedMessage):
		return nil // ServerKeyExchange or ServerHelloDone: no certificate
	default:
		return fmt.Errorf("certificate: %w", err)
	}
	s.End = st.next
	c, err := parseCertificateList(certBody)
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	s.Certificate = c
	return nil
}

func (s *ServerHello) parseBody(body []byte) error {
	r := reader{b: body}
	s.LegacyVersion = r.u16()
	copy(s.Random[:], r.bytes(32))
	s.SessionID = r.vec8()
	s.CipherSuite = r.u16()
	s.Compression = r.u8()
	if r.bad || len(s.SessionID) > 32 {
		return fmt.Errorf("%w: truncated fixed fields", ErrMalformed)
	}
	s.Version = s.LegacyVersion
	s.HelloRetryRequest = s.Random == helloRetryRandom
	if r.left() == 0 {
		return nil
	}
	exts := r.vec16()
	if r.bad || r.left() != 0 {
		return fmt.Errorf("%w: extensions length", ErrMalformed)
	}
	er := reader{b: exts}
	for er.left() > 0 {
		typ := er.u16()
		data := er.vec16()
		if er.bad {
			return fmt.Errorf("%w: extension header", ErrMalformed)
		}
		s.Extensions = append(s.Extensions, typ)
		d := reader{b: data}
		switch typ {
		case ExtSupportedVersions:
			s.Version = d.u16()
		case ExtALPN:
			list := reader{b: d.vec16()}
			s.ALPN = list.vec8()
			if list.bad || list.left() != 0 {
				d.bad = true
			}
		case ExtKeyShare:
			// A HelloRetryRequest names only the group; a ServerHello adds
			// the key exchange.
			s.KeyShareGroup = d.u16()
			if !s.HelloRetryRequest {
				d.vec16()
			}
		default:
			continue
		}
		if d.bad || d.left() != 0 {
			return fmt.Errorf("%w: extension 0x%04x", ErrMalformed, typ)
		}
	}
	return nil
}

// parseCertificateList decodes a TLS 1.2 Certificate body and the leaf
// certificate in it.
func parseCertificateList(body []byte) (*Certificate, error) {
	r := reader{b: body}
	list := reader{b: r.bytes(r.u24())}
	if r.bad || r.left() != 0 {
		return nil, fmt.Errorf("%w: certificate list length", ErrMalformed)
	}
	var leaf []byte
	n := 0
	for list.left() > 0 {
		der := list.bytes(list.u24())
		if list.bad {
			return nil, fmt.Errorf("%w: certificate %d length", ErrMalformed, n)
		}
		if n == 0 {
			leaf = der
		}
		n++
	}
	if n == 0 {
		return nil, nil // the server sent an empty chain
	}
	c := describeCertificate(leaf)
	c.ChainLength = n
	return c, nil
}

func describeCertificate(der []byte) *Certificate {
	c := &Certificate{SHA256: sha256.Sum256(der)}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		c.ParseError = err
		return c
	}
	c.Subject = cert.Subject.String()
	c.Issuer = cert.Issuer.String()
	c.CommonName = cert.Subject.CommonName
	c.DNSNames = cert.DNSNames
	for _, ip := range cert.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			c.IPAddresses = append(c.IPAddresses, a.Unmap())
		}
	}
	c.NotBefore = cert.NotBefore
	c.NotAfter = cert.NotAfter
	if cert.SerialNumber != nil {
		c.SerialNumber = hex.EncodeToString(cert.SerialNumber.Bytes())
	}
	c.SelfSigned = bytes.Equal(cert.RawSubject, cert.RawIssuer)
	return c
}

// parseSSLv2ServerHello decodes an SSL 2.0 SERVER-HELLO, which carries the
// server certificate directly.
func parseSSLv2ServerHello(b []byte, s *ServerHello) error {
	const sslv2ServerHello = 4
	if len(b) >= 3 && b[2] != sslv2ServerHello {
		return ErrNotTLS
	}
	if len(b) < 2 {
		return ErrNeedMore
	}
	n := int(b[0]&0x7f)<<8 | int(b[1])
	if n < 11 {
		return ErrNotTLS
	}
	if len(b) < 2+n {
		return ErrNeedMore
	}
	s.SSLv2 = true
	s.End = 2 + n
	r := reader{b: b[3 : 2+n]}
	r.u8() // session_id_hit
	certType := r.u8()
	s.LegacyVersion = r.u16()
	s.Version = s.LegacyVersion
	certLen := int(r.u16())
	specLen := int(r.u16())
	r.u16() // connection_id length
	cert := r.bytes(certLen)
	specs := r.bytes(specLen)
	if r.bad || specLen%3 != 0 {
		return fmt.Errorf("server hello: %w: SSLv2 lengths", ErrMalformed)
	}
	for i := 0; i < len(specs); i += 3 {
		s.V2CipherSpecs = append(s.V2CipherSpecs, uint32(specs[i])<<16|uint32(specs[i+1])<<8|uint32(specs[i+2]))
	}
	const x509Certificate = 1
	if certType == x509Certificate && len(cert) > 0 {
		s.Certificate = describeCertificate(cert)
		s.Certificate.ChainLength = 1
	}
	return nil
}

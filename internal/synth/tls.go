package synth

import (
	"encoding/binary"
	"math/rand/v2"
)

// TLS constants from RFC 8446 (and RFC 5246 for TLS 1.2).
const (
	recordHandshake        = 22
	recordChangeCipherSpec = 20
	recordApplicationData  = 23

	handshakeClientHello       = 1
	handshakeServerHello       = 2
	handshakeServerHelloDone   = 14
	handshakeClientKeyExchange = 16

	extServerName           = 0
	extSupportedGroups      = 10
	extECPointFormats       = 11
	extSignatureAlgorithms  = 13
	extALPN                 = 16
	extExtendedMasterSecret = 23
	extSessionTicket        = 35
	extSupportedVersions    = 43
	extPSKKeyExchangeModes  = 45
	extKeyShare             = 51
	extRenegotiationInfo    = 0xff01

	groupX25519    = 0x001d
	groupSecp256r1 = 0x0017

	versionTLS12 = 0x0303
	versionTLS13 = 0x0304

	suiteAES128GCMSHA256          = 0x1301
	suiteECDHERSAWithAES128GCM256 = 0xc02f
)

// builder appends TLS wire structures; vec8/16/24 write a length-prefixed
// vector whose body f appends.
type builder []byte

func (b *builder) u8(v uint8)     { *b = append(*b, v) }
func (b *builder) u16(v uint16)   { *b = append(*b, byte(v>>8), byte(v)) }
func (b *builder) bytes(p []byte) { *b = append(*b, p...) }

func (b *builder) vec(size int, f func()) {
	at := len(*b)
	*b = append(*b, make([]byte, size)...)
	f()
	n := len(*b) - at - size
	for i := size - 1; i >= 0; i-- {
		(*b)[at+i] = byte(n)
		n >>= 8
	}
}
func (b *builder) vec8(f func())  { b.vec(1, f) }
func (b *builder) vec16(f func()) { b.vec(2, f) }
func (b *builder) vec24(f func()) { b.vec(3, f) }

func (b *builder) ext(typ uint16, f func()) {
	b.u16(typ)
	b.vec16(f)
}

// record wraps a body in a TLS record header.
func (b *builder) record(typ uint8, version uint16, f func()) {
	b.u8(typ)
	b.u16(version)
	b.vec16(f)
}

func randomBytes(rng *rand.Rand, n int) []byte {
	p := make([]byte, n+7)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(p[i:], rng.Uint64())
	}
	return p[:n:n]
}

// clientHello is a browser-like ClientHello offering TLS 1.3 and 1.2 (or
// only 1.2 when tls13 is false), with SNI and, when alpn is non-empty, ALPN.
func clientHello(rng *rand.Rand, sni string, alpn []string, tls13 bool) (hello, sessionID []byte) {
	sessionID = randomBytes(rng, 32)
	var b builder
	// The record layer says TLS 1.0 for the first ClientHello, as RFC 8446
	// section 5.1 allows for compatibility with old middleboxes.
	b.record(recordHandshake, 0x0301, func() {
		b.u8(handshakeClientHello)
		b.vec24(func() {
			b.u16(versionTLS12)
			b.bytes(randomBytes(rng, 32))
			b.vec8(func() { b.bytes(sessionID) })
			b.vec16(func() {
				if tls13 {
					b.u16(0x1301)
					b.u16(0x1302)
					b.u16(0x1303)
				}
				for _, s := range []uint16{0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035} {
					b.u16(s)
				}
			})
			b.vec8(func() { b.u8(0) })
			b.vec16(func() {
				b.ext(extServerName, func() {
					b.vec16(func() {
						b.u8(0) // host_name
						b.vec16(func() { b.bytes([]byte(sni)) })
					})
				})
				b.ext(extExtendedMasterSecret, func() {})
				b.ext(extRenegotiationInfo, func() { b.u8(0) })
				b.ext(extSupportedGroups, func() {
					b.vec16(func() { b.u16(groupX25519); b.u16(groupSecp256r1); b.u16(0x0018) })
				})
				b.ext(extECPointFormats, func() { b.vec8(func() { b.u8(0) }) })
				b.ext(extSessionTicket, func() {})
				if len(alpn) > 0 {
					b.ext(extALPN, func() {
						b.vec16(func() {
							for _, p := range alpn {
								b.vec8(func() { b.bytes([]byte(p)) })
							}
						})
					})
				}
				b.ext(extSignatureAlgorithms, func() {
					b.vec16(func() {
						for _, s := range []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601} {
							b.u16(s)
						}
					})
				})
				if tls13 {
					b.ext(extKeyShare, func() {
						b.vec16(func() {
							b.u16(groupX25519)
							b.vec16(func() { b.bytes(randomBytes(rng, 32)) })
						})
					})
					b.ext(extPSKKeyExchangeModes, func() { b.vec8(func() { b.u8(1) }) })
					b.ext(extSupportedVersions, func() {
						b.vec8(func() { b.u16(versionTLS13); b.u16(versionTLS12) })
					})
				}
			})
		})
	})
	return b, sessionID
}

// serverFlight is the server's first flight. For TLS 1.3: ServerHello,
// the compatibility ChangeCipherSpec and the encrypted rest of the
// handshake as application data (RFC 8446 section 5). For TLS 1.2:
// ServerHello and ServerHelloDone (the certificate is left out; the
// auditor reads only the hellos).
func serverFlight(rng *rand.Rand, sessionID []byte, tls13 bool, alpn string) []byte {
	var b builder
	b.record(recordHandshake, versionTLS12, func() {
		b.u8(handshakeServerHello)
		b.vec24(func() {
			b.u16(versionTLS12)
			b.bytes(randomBytes(rng, 32))
			b.vec8(func() { b.bytes(sessionID) })
			if tls13 {
				b.u16(suiteAES128GCMSHA256)
			} else {
				b.u16(suiteECDHERSAWithAES128GCM256)
			}
			b.u8(0)
			b.vec16(func() {
				if tls13 {
					b.ext(extSupportedVersions, func() { b.u16(versionTLS13) })
					b.ext(extKeyShare, func() {
						b.u16(groupX25519)
						b.vec16(func() { b.bytes(randomBytes(rng, 32)) })
					})
					return
				}
				b.ext(extRenegotiationInfo, func() { b.u8(0) })
				b.ext(extExtendedMasterSecret, func() {})
				b.ext(extECPointFormats, func() { b.vec8(func() { b.u8(0) }) })
				if alpn != "" {
					b.ext(extALPN, func() { b.vec16(func() { b.vec8(func() { b.bytes([]byte(alpn)) }) }) })
				}
			})
		})
		if !tls13 {
			b.u8(handshakeServerHelloDone)
			b.vec24(func() {})
		}
	})
	if tls13 {
		b.record(recordChangeCipherSpec, versionTLS12, func() { b.u8(1) })
		b.record(recordApplicationData, versionTLS12, func() { b.bytes(randomBytes(rng, 2400+rng.IntN(1600))) })
	}
	return b
}

// clientFinish is the client's second flight: for TLS 1.2 the key exchange,
// ChangeCipherSpec and encrypted Finished; for 1.3 ChangeCipherSpec and the
// encrypted Finished.
func clientFinish(rng *rand.Rand, tls13 bool) []byte {
	var b builder
	if !tls13 {
		b.record(recordHandshake, versionTLS12, func() {
			b.u8(handshakeClientKeyExchange)
			b.vec24(func() { b.vec8(func() { b.bytes(randomBytes(rng, 32)) }) })
		})
		b.record(recordChangeCipherSpec, versionTLS12, func() { b.u8(1) })
		b.record(recordHandshake, versionTLS12, func() { b.bytes(randomBytes(rng, 40)) })
		return b
	}
	b.record(recordChangeCipherSpec, versionTLS12, func() { b.u8(1) })
	b.record(recordApplicationData, versionTLS12, func() { b.bytes(randomBytes(rng, 53)) })
	return b
}

// serverFinish is a TLS 1.2 server's ChangeCipherSpec and encrypted
// Finished.
func serverFinish(rng *rand.Rand) []byte {
	var b builder
	b.record(recordChangeCipherSpec, versionTLS12, func() { b.u8(1) })
	b.record(recordHandshake, versionTLS12, func() { b.bytes(randomBytes(rng, 40)) })
	return b
}

// appData is n bytes of application data split into records of at most
// 16 KiB plus the AEAD overhead.
func appData(rng *rand.Rand, n int) []byte {
	var b builder
	for n > 0 {
		m := min(n, 16384)
		b.record(recordApplicationData, versionTLS12, func() { b.bytes(randomBytes(rng, m+17)) })
		n -= m
	}
	return b
}

package tlsinfo

import "fmt"

// Protocol versions as they appear on the wire.
const (
	VersionSSL20  uint16 = 0x0002
	VersionSSL30  uint16 = 0x0300
	VersionTLS10  uint16 = 0x0301
	VersionTLS11  uint16 = 0x0302
	VersionTLS12  uint16 = 0x0303
	VersionTLS13  uint16 = 0x0304
	VersionDTLS10 uint16 = 0xfeff
	VersionDTLS12 uint16 = 0xfefd
	VersionDTLS13 uint16 = 0xfefc
)

// Extension types the parser decodes.
const (
	ExtServerName           uint16 = 0x0000
	ExtSupportedGroups      uint16 = 0x000a
	ExtECPointFormats       uint16 = 0x000b
	ExtSignatureAlgorithms  uint16 = 0x000d
	ExtALPN                 uint16 = 0x0010
	ExtSupportedVersions    uint16 = 0x002b
	ExtKeyShare             uint16 = 0x0033
	ExtEncryptedClientHello uint16 = 0xfe0d
)

// VersionName returns the conventional name of a protocol version, such as
// "TLS 1.2" or "SSL 3.0"; unknown values are shown in hex.
func VersionName(v uint16) string {
	switch v {
	case VersionSSL20:
		return "SSL 2.0"
	case VersionSSL30:
		return "SSL 3.0"
	case VersionTLS10:
		return "TLS 1.0"
	case VersionTLS11:
		return "TLS 1.1"
	case VersionTLS12:
		return "TLS 1.2"
	case VersionTLS13:
		return "TLS 1.3"
	case VersionDTLS10:
		return "DTLS 1.0"
	case VersionDTLS12:
		return "DTLS 1.2"
	case VersionDTLS13:
		return "DTLS 1.3"
	}
	if IsGREASE(v) {
		return fmt.Sprintf("GREASE (0x%04x)", v)
	}
	return fmt.Sprintf("unknown (0x%04x)", v)
}

// IsGREASE reports whether v is one of the reserved values of RFC 8701
// (0x0a0a, 0x1a1a ... 0xfafa) that clients sprinkle into cipher, extension,
// group, version and signature lists to keep servers tolerant. Fingerprints
// ignore them because clients pick them at random.
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

package tlsinfo

import "encoding/binary"

// Fingerprints are a ClientHello's JA3 (lower-case hex) and JA4.
type Fingerprints struct {
	JA3, JA4 string
}

// FingerprintCache remembers the fingerprints of the ClientHellos it has
// seen, keyed by every field either fingerprint reads. A network's clients
// run a handful of TLS stacks, so most hellos repeat those fields and
// differ only in random, session ID, server name and key shares, which
// neither fingerprint hashes. Computing them (two SHA-256, an MD5, the hex
// and two strings) is a few microseconds a hello; a hit is one map lookup
// and allocates nothing, the strings being shared with earlier flows.
//
// A FingerprintCache holds at most its bound and starts over when full.
// It is not safe for concurrent use: give each pipeline worker its own.
type FingerprintCache struct {
	max int
	m   map[string]Fingerprints
	key []byte
}

// DefaultFingerprintCacheSize bounds a cache made with size 0: far more
// client TLS stacks than a site runs, at a few hundred bytes each.
const DefaultFingerprintCacheSize = 1024

// NewFingerprintCache returns a cache of at most size hellos (0 means
// DefaultFingerprintCacheSize).
func NewFingerprintCache(size int) *FingerprintCache {
	if size <= 0 {
		size = DefaultFingerprintCacheSize
	}
	return &FingerprintCache{max: size, m: make(map[string]Fingerprints)}
}

// Of returns h's fingerprints, as h.JA3Hex and h.JA4 compute them.
func (c *FingerprintCache) Of(h *ClientHello) Fingerprints {
	c.key = h.appendFingerprintKey(c.key[:0])
	if fp, ok := c.m[string(c.key)]; ok {
		return fp
	}
	fp := Fingerprints{JA3: h.JA3Hex(), JA4: h.JA4()}
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[string(c.key)] = fp
	return fp
}

// Len is the number of hellos remembered.
func (c *FingerprintCache) Len() int { return len(c.m) }

// appendFingerprintKey appends every field JA3 and JA4 read, each list
// prefixed with its length so that no two hellos share a key: transport,
// legacy and supported versions, SNI presence, cipher suites, extensions,
// supported groups, point formats, signature algorithms and the first ALPN
// value.
func (h *ClientHello) appendFingerprintKey(dst []byte) []byte {
	dst = append(dst, byte(h.Transport))
	dst = binary.LittleEndian.AppendUint16(dst, h.LegacyVersion)
	if h.HasSNI {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	for _, list := range [...][]uint16{h.SupportedVersions, h.CipherSuites, h.Extensions, h.SupportedGroups, h.SignatureAlgorithms} {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(list)))
		for _, v := range list {
			dst = binary.LittleEndian.AppendUint16(dst, v)
		}
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(h.ECPointFormats)))
	dst = append(dst, h.ECPointFormats...)
	if len(h.ALPN) > 0 {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(h.ALPN[0])))
		dst = append(dst, h.ALPN[0]...)
	} else {
		dst = binary.LittleEndian.AppendUint32(dst, 1<<31)
	}
	return dst
}

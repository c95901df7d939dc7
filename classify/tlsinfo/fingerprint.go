package tlsinfo

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
)

// JA3 (github.com/salesforce/ja3): the decimal fields
// SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats,
// values '-'-joined, GREASE removed, MD5-hashed.
//
// For an SSLv2-format hello the ciphers are the specs that map to TLS suites
// (CipherSuites); JA3 defines nothing for pure SSLv2 specs.

// AppendJA3 appends the JA3 string of the hello (the MD5 input) to dst.
func (h *ClientHello) AppendJA3(dst []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(h.LegacyVersion), 10)
	dst = append(dst, ',')
	dst = appendDecimals(dst, h.CipherSuites)
	dst = append(dst, ',')
	dst = appendDecimals(dst, h.Extensions)
	dst = append(dst, ',')
	dst = appendDecimals(dst, h.SupportedGroups)
	dst = append(dst, ',')
	for i, f := range h.ECPointFormats {
		if i > 0 {
			dst = append(dst, '-')
		}
		dst = strconv.AppendUint(dst, uint64(f), 10)
	}
	return dst
}

// JA3 returns the JA3 fingerprint: the MD5 of AppendJA3's string.
func (h *ClientHello) JA3() [16]byte {
	h.scratch = h.AppendJA3(h.scratch[:0])
	return md5.Sum(h.scratch)
}

// JA3Hex returns the JA3 fingerprint in the usual lower-case hex form.
func (h *ClientHello) JA3Hex() string {
	sum := h.JA3()
	return hex.EncodeToString(sum[:])
}

// AppendJA3S appends the JA3S string SSLVersion,Cipher,SSLExtensions.
func (s *ServerHello) AppendJA3S(dst []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(s.LegacyVersion), 10)
	dst = append(dst, ',')
	dst = strconv.AppendUint(dst, uint64(s.CipherSuite), 10)
	dst = append(dst, ',')
	return appendDecimals(dst, s.Extensions)
}

// JA3S returns the JA3S fingerprint: the MD5 of AppendJA3S's string.
func (s *ServerHello) JA3S() [16]byte {
	s.scratch = s.AppendJA3S(s.scratch[:0])
	return md5.Sum(s.scratch)
}

// JA3SHex returns the JA3S fingerprint in lower-case hex.
func (s *ServerHello) JA3SHex() string {
	sum := s.JA3S()
	return hex.EncodeToString(sum[:])
}

func appendDecimals(dst []byte, vs []uint16) []byte {
	first := true
	for _, v := range vs {
		if IsGREASE(v) {
			continue
		}
		if !first {
			dst = append(dst, '-')
		}
		first = false
		dst = strconv.AppendUint(dst, uint64(v), 10)
	}
	return dst
}

// JA4 (github.com/FoxIO-LLC/ja4, technical_details/JA4.md), for example
// t13d1516h2_8daaf6152771_b186095e22b6:
//
//	a: transport t/q/d, version, SNI d/i, cipher count, extension count,
//	   first and last character of the first ALPN value
//	b: SHA-256 of the sorted cipher list, 12 hex digits
//	c: SHA-256 of the sorted extension list without SNI and ALPN, then '_'
//	   and the signature algorithms in wire order, 12 hex digits
//
// GREASE values are ignored everywhere.

// AppendJA4 appends the JA4 fingerprint to dst.
func (h *ClientHello) AppendJA4(dst []byte) []byte {
	dst = h.appendJA4a(dst)
	dst = append(dst, '_')
	h.scratch = h.appendJA4b(h.scratch[:0])
	dst = appendTruncatedSHA256(dst, h.scratch)
	dst = append(dst, '_')
	h.scratch = h.appendJA4c(h.scratch[:0])
	return appendTruncatedSHA256(dst, h.scratch)
}

// JA4 returns the JA4 fingerprint.
func (h *ClientHello) JA4() string {
	var buf [36]byte
	return string(h.AppendJA4(buf[:0]))
}

// AppendJA4Raw appends the unhashed form of JA4 (JA4_r in the FoxIO tools),
// handy to see why two fingerprints differ.
func (h *ClientHello) AppendJA4Raw(dst []byte) []byte {
	dst = h.appendJA4a(dst)
	dst = append(dst, '_')
	dst = h.appendJA4b(dst)
	dst = append(dst, '_')
	return h.appendJA4c(dst)
}

func (h *ClientHello) appendJA4a(dst []byte) []byte {
	switch h.Transport {
	case TransportQUIC:
		dst = append(dst, 'q')
	case TransportDTLS:
		dst = append(dst, 'd')
	default:
		dst = append(dst, 't')
	}
	dst = append(dst, ja4Version(h.Version())...)
	if h.HasSNI {
		dst = append(dst, 'd')
	} else {
		dst = append(dst, 'i')
	}
	dst = appendCount(dst, h.CipherSuites)
	dst = appendCount(dst, h.Extensions)
	return appendALPNChars(dst, h.ALPN)
}

func ja4Version(v uint16) string {
	switch v {
	case VersionTLS13:
		return "13"
	case VersionTLS12:
		return "12"
	case VersionTLS11:
		return "11"
	case VersionTLS10:
		return "10"
	case VersionSSL30:
		return "s3"
	case VersionSSL20:
		return "s2"
	case VersionDTLS10:
		return "d1"
	case VersionDTLS12:
		return "d2"
	case VersionDTLS13:
		return "d3"
	}
	return "00"
}

func appendCount(dst []byte, vs []uint16) []byte {
	n := 0
	for _, v := range vs {
		if !IsGREASE(v) {
			n++
		}
	}
	n = min(n, 99)
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

func appendALPNChars(dst []byte, alpn [][]byte) []byte {
	if len(alpn) == 0 || len(alpn[0]) == 0 {
		return append(dst, '0', '0')
	}
	p := alpn[0]
	first, last := p[0], p[len(p)-1]
	if isAlnum(first) && isAlnum(last) {
		return append(dst, first, last)
	}
	// Non-alphanumeric bytes would make the fingerprint unprintable, so the
	// spec takes the first and last digit of the value's hex form instead.
	const digits = "0123456789abcdef"
	return append(dst, digits[first>>4], digits[last&0x0f])
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

func (h *ClientHello) appendJA4b(dst []byte) []byte {
	h.sorted = appendSortedNonGREASE(h.sorted[:0], h.CipherSuites, false)
	return appendHexList(dst, h.sorted)
}

func (h *ClientHello) appendJA4c(dst []byte) []byte {
	h.sorted = appendSortedNonGREASE(h.sorted[:0], h.Extensions, true)
	if len(h.sorted) == 0 {
		return dst
	}
	dst = appendHexList(dst, h.sorted)
	sigs := false
	for _, v := range h.SignatureAlgorithms {
		if IsGREASE(v) {
			continue
		}
		if !sigs {
			dst = append(dst, '_')
		} else {
			dst = append(dst, ',')
		}
		sigs = true
		dst = appendHex4(dst, v)
	}
	return dst
}

func appendSortedNonGREASE(dst, vs []uint16, dropNameAndALPN bool) []uint16 {
	for _, v := range vs {
		if IsGREASE(v) || dropNameAndALPN && (v == ExtServerName || v == ExtALPN) {
			continue
		}
		dst = append(dst, v)
	}
	slices.Sort(dst)
	return dst
}

func appendHexList(dst []byte, vs []uint16) []byte {
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendHex4(dst, v)
	}
	return dst
}

func appendHex4(dst []byte, v uint16) []byte {
	const digits = "0123456789abcdef"
	return append(dst, digits[v>>12], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf])
}

// appendTruncatedSHA256 appends the first 12 hex digits of SHA-256(in), or
// twelve zeros for an empty list so that "no values" stands out.
func appendTruncatedSHA256(dst, in []byte) []byte {
	if len(in) == 0 {
		return append(dst, "000000000000"...)
	}
	sum := sha256.Sum256(in)
	var out [12]byte
	hex.Encode(out[:], sum[:6])
	return append(dst, out[:]...)
}

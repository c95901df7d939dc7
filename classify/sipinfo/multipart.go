package sipinfo

import (
	"bytes"
	"strings"
)

// sdpPart returns the session description carried by a body: the body
// itself for application/sdp, or the first application/sdp part of a
// multipart body (RFC 5621). params is the Content-Type parameter text.
func sdpPart(contentType, params string, body []byte) []byte {
	switch {
	case len(body) == 0:
		return nil
	case contentType == "application/sdp":
		return body
	case contentType == "" && bytes.HasPrefix(body, []byte("v=0")):
		// Content-Type is mandatory with a body, but some gateways omit it.
		return body
	case strings.HasPrefix(contentType, "multipart/"):
		if b := boundary(params); b != "" {
			return multipartSDP(body, b)
		}
	}
	return nil
}

// boundary returns the boundary parameter, unquoted.
func boundary(params string) string {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "boundary") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v
	}
	return ""
}

// multipartSDP walks the parts between "--boundary" delimiter lines and
// returns the content of the first one whose Content-Type is
// application/sdp. Nested multiparts are not searched.
func multipartSDP(body []byte, boundary string) []byte {
	delim := []byte("--" + boundary)
	start := delimiterAt(body, delim, 0)
	for start >= 0 {
		// Skip the rest of the delimiter line (transport padding).
		nl := bytes.IndexByte(body[start:], '\n')
		if nl < 0 {
			return nil
		}
		partStart := start + nl + 1
		if bytes.HasPrefix(body[start+len(delim):], []byte("--")) {
			return nil // close delimiter
		}
		next := delimiterAt(body, delim, partStart)
		partEnd := len(body)
		if next >= 0 {
			// The CRLF before a delimiter belongs to the delimiter.
			partEnd = next
			if partEnd > partStart && body[partEnd-1] == '\n' {
				partEnd--
			}
			if partEnd > partStart && body[partEnd-1] == '\r' {
				partEnd--
			}
		}
		if content, ok := sdpContent(body[partStart:partEnd]); ok {
			return content
		}
		start = next
	}
	return nil
}

// delimiterAt finds delim at the start of a line at or after from.
func delimiterAt(body, delim []byte, from int) int {
	for from <= len(body) {
		i := bytes.Index(body[from:], delim)
		if i < 0 {
			return -1
		}
		i += from
		if i == 0 || body[i-1] == '\n' {
			return i
		}
		from = i + 1
	}
	return -1
}

// sdpContent splits a body part into headers and content and reports
// whether it is application/sdp. A part without headers defaults to
// text/plain (RFC 2046 section 5.1), so it is not SDP.
func sdpContent(part []byte) ([]byte, bool) {
	isSDP := false
	for len(part) > 0 {
		nl := bytes.IndexByte(part, '\n')
		if nl < 0 {
			return nil, false
		}
		line := bytes.TrimRight(part[:nl], "\r")
		part = part[nl+1:]
		if len(line) == 0 {
			return part, isSDP
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("content-type")) || bytes.EqualFold(name, []byte("c")) {
			mt, _, _ := bytes.Cut(value, []byte(";"))
			isSDP = bytes.EqualFold(bytes.TrimSpace(mt), []byte("application/sdp"))
		}
	}
	return nil, false
}

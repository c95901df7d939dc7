package sipinfo

import "bytes"

// Skimmed is what Skim reads of a message.
type Skimmed struct {
	IsRequest bool
	// Method is a request's method, or the method a response's CSeq names.
	Method string
	// CallID is the Call-ID value; it aliases the payload.
	CallID []byte
}

// maxCSeq is the largest sequence number RFC 3261 section 8.1.1.5 allows,
// above which sipgo rejects the CSeq field.
const maxCSeq = 1<<31 - 1

// Skim reads a message's start line, its Call-ID and, of a response, the
// method its CSeq names, and nothing else: a tenth of ParseMessage's cost,
// enough for a caller to tell a message of no dialog it follows (a
// registration, a keep-alive OPTIONS) from one it must parse.
//
// It accepts only plainly formed messages: every header line ended by
// CRLF, no folded line, a header section that ends, exactly one Call-ID
// field (long or compact form) that is not empty, a method from the IANA
// registry and, in a response, exactly one well-formed CSeq. It reports
// false for anything else, and the caller parses the message. What it
// accepts, ParseMessage, when it parses the message, reads the same:
// the same Call-ID, the same IsRequest, and Method equal to Method or
// CSeqMethod (FuzzSkim checks this).
func Skim(payload []byte) (s Skimmed, ok bool) {
	end := bytes.Index(payload, []byte("\r\n\r\n"))
	if end < 0 {
		return s, false
	}
	rest := payload[:end+2] // the start line and header lines, each with its CRLF
	first, callIDs, cseqs := true, 0, 0
	for len(rest) > 0 {
		cr := bytes.IndexByte(rest, '\r')
		if cr < 0 || rest[cr+1] != '\n' {
			return s, false
		}
		line := rest[:cr]
		rest = rest[cr+2:]
		if len(line) == 0 || bytes.IndexByte(line, '\n') >= 0 {
			// A bare LF: ParseMessage rewrites such header sections.
			return s, false
		}
		if first {
			first = false
			if s.IsRequest, s.Method, ok = startLine(line); !ok {
				return s, false
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			return s, false // folded
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return s, false
		}
		// sipgo trims the name with bytes.TrimSpace; the IPv6 fix-up
		// (bracketIPv6), which must leave Call-ID alone, trims spaces
		// and tabs on the right only. A name they would see differently
		// is not plain.
		raw := line[:colon]
		name := bytes.TrimSpace(raw)
		isCallID, isCSeq := asciiFold(name, "call-id") || asciiFold(name, "i"), asciiFold(name, "cseq")
		if !isCallID && !isCSeq {
			continue
		}
		if !bytes.Equal(bytes.TrimRight(raw, " \t"), name) {
			return s, false
		}
		value := bytes.TrimSpace(line[colon+1:])
		switch {
		case isCallID:
			callIDs++
			s.CallID = value
		case !s.IsRequest:
			cseqs++
			method, ok := cseqMethod(value)
			if !ok {
				return s, false
			}
			s.Method = method
		}
	}
	if callIDs != 1 || len(s.CallID) == 0 || !s.IsRequest && cseqs != 1 {
		return Skimmed{}, false
	}
	return s, true
}

// startLine reads a request's method or recognises a status line.
func startLine(line []byte) (isRequest bool, method string, ok bool) {
	if bytes.HasPrefix(line, []byte("SIP/2.0 ")) {
		return false, "", true
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return false, "", false
	}
	method = methodName(line[:sp])
	return true, method, method != ""
}

// cseqMethod reads a CSeq value the way sipgo does: a sequence number
// up to maxCSeq, one space or tab, and the method, here a registered one.
func cseqMethod(v []byte) (string, bool) {
	i := bytes.IndexAny(v, " \t")
	if i < 1 || i > 10 {
		return "", false
	}
	n := 0
	for _, c := range v[:i] {
		if !isDigit(c) {
			return "", false
		}
		n = n*10 + int(c-'0')
	}
	if n > maxCSeq {
		return "", false
	}
	m := methodName(v[i+1:])
	return m, m != ""
}

// asciiFold reports whether b equals the lower-case ASCII name, ignoring
// ASCII case, as sipgo matches header names.
func asciiFold(b []byte, name string) bool {
	if len(b) != len(name) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

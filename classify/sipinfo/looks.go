package sipinfo

import "bytes"

// maxStartLine bounds how far Looks searches for the end of the start
// line; RFC 3261 sets no limit, but real request URIs stay far below it.
const maxStartLine = 1024

// Looks reports whether payload starts with a SIP start line: a request
// line "METHOD uri SIP/2.0" for a method registered for SIP, or a status
// line "SIP/2.0 NNN reason". It allocates nothing and reads at most the
// first line, so it is cheap enough to try on every unknown payload.
// HTTP and SSDP ("NOTIFY * HTTP/1.1", "M-SEARCH * HTTP/1.1") do not match:
// their version is not SIP/2.0 and "*" is not a SIP request URI.
func Looks(payload []byte) bool {
	// A start line opens with a method or "SIP/2.0" and a space. Most
	// payloads tried here are not SIP (any UDP flow's first datagram):
	// rejecting them on their first bytes spares the search for a line
	// end, which in binary data runs to maxStartLine.
	head := payload[:min(len(payload), maxToken+1)]
	tok := bytes.IndexByte(head, ' ')
	if tok < 0 || string(head[:tok]) != "SIP/2.0" && !knownMethod(head[:tok]) {
		return false
	}
	line := payload
	if len(line) > maxStartLine {
		line = line[:maxStartLine]
	}
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		// A line ends in CRLF or, leniently, LF. A CR followed by anything
		// else ends no line; a CR that is the last byte may be a message
		// cut by the snap length.
		if line[i] == '\r' && i+1 < len(line) && line[i+1] != '\n' {
			return false
		}
		line = line[:i]
	} else if len(payload) > maxStartLine {
		return false
	}
	if bytes.HasPrefix(line, []byte("SIP/2.0 ")) {
		return isStatus(line[len("SIP/2.0 "):])
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || !knownMethod(line[:sp]) {
		return false
	}
	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return false
	}
	uri, version := rest[:sp], rest[sp+1:]
	return isURI(uri) && string(version) == "SIP/2.0"
}

// isStatus checks "NNN" followed by the end of line or " reason".
func isStatus(b []byte) bool {
	if len(b) < 3 || (len(b) > 3 && b[3] != ' ') {
		return false
	}
	return b[0] >= '1' && b[0] <= '6' && isDigit(b[1]) && isDigit(b[2])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isURI accepts "scheme:rest" with a letter-led scheme (sip, sips, tel,
// urn, ...): enough to reject "*" and "/" of HTTP-style request targets.
func isURI(b []byte) bool {
	colon := bytes.IndexByte(b, ':')
	if colon < 1 || colon == len(b)-1 {
		return false
	}
	c := b[0] | 0x20
	if c < 'a' || c > 'z' {
		return false
	}
	for _, c := range b[1:colon] {
		c |= 0x20
		if (c < 'a' || c > 'z') && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// maxToken is the length of the longest token a start line opens with:
// "SUBSCRIBE".
const maxToken = len("SUBSCRIBE")

// knownMethod reports whether m is a method from the IANA SIP methods
// registry. Methods are case sensitive (RFC 3261 section 7.1).
func knownMethod(m []byte) bool { return methodName(m) != "" }

// methodName returns m as a string when it is a method from the IANA SIP
// methods registry, without allocating, and "" otherwise.
func methodName(m []byte) string {
	switch string(m) {
	case "INVITE":
		return "INVITE"
	case "ACK":
		return "ACK"
	case "BYE":
		return "BYE"
	case "CANCEL":
		return "CANCEL"
	case "OPTIONS":
		return "OPTIONS"
	case "REGISTER":
		return "REGISTER"
	case "PRACK":
		return "PRACK"
	case "SUBSCRIBE":
		return "SUBSCRIBE"
	case "NOTIFY":
		return "NOTIFY"
	case "PUBLISH":
		return "PUBLISH"
	case "INFO":
		return "INFO"
	case "REFER":
		return "REFER"
	case "MESSAGE":
		return "MESSAGE"
	case "UPDATE":
		return "UPDATE"
	}
	return ""
}

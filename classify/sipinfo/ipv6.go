package sipinfo

import (
	"bytes"
	"net/netip"
)

// bracketIPv6 rewrites IPv6 literals written without brackets in the start
// line and header fields ("sip:alice@fe80:0:0:0:1:2:3:4:5060"). RFC 3261
// requires "[fe80::...]", sipgo enforces it, but some phones do not, and
// the message is still a call to account for. A trailing group that makes
// a ninth group, or that follows a complete address, is read as the port.
// Call-ID is left alone. It returns the payload unchanged and false when
// nothing was rewritten.
func bracketIPv6(payload []byte) ([]byte, bool) {
	hdr := headerLen(payload)
	var out []byte
	last := 0 // payload bytes before last are already in out
	lineStart := true
	for i := 0; i < hdr; {
		if lineStart && isCallID(payload[i:hdr]) {
			// Call-ID is an opaque identifier matched byte for byte
			// across the dialog: never rewrite it.
			nl := bytes.IndexByte(payload[i:hdr], '\n')
			if nl < 0 {
				break
			}
			i += nl + 1
			continue
		}
		lineStart = payload[i] == '\n'
		if !isAddrChar(payload[i]) {
			i++
			continue
		}
		j := i
		for j < hdr && isAddrChar(payload[j]) {
			j++
		}
		run := payload[i:j]
		start := i
		i = j
		if bytes.Count(run, []byte(":")) < 2 || (start > 0 && payload[start-1] == '[') {
			continue
		}
		// The colon after a URI scheme ("sip:") joins the run.
		if run[0] == ':' && (len(run) < 2 || run[1] != ':') {
			run, start = run[1:], start+1
		}
		addr, port, ok := splitIPv6(run)
		if !ok {
			continue
		}
		out = append(out, payload[last:start]...)
		out = append(out, '[')
		out = append(out, addr...)
		out = append(out, ']')
		if len(port) > 0 {
			out = append(out, ':')
			out = append(out, port...)
		}
		last = j
	}
	if out == nil {
		return payload, false
	}
	return append(out, payload[last:]...), true
}

// mayHoldBareIPv6 reports whether hdr has a run of the characters an
// address is written with that holds two colons or more: the runs
// bracketIPv6 considers. Two colons of one run have only such characters
// between them.
func mayHoldBareIPv6(hdr []byte) bool {
	prev := -1
	for i := 0; i < len(hdr); i++ {
		c := bytes.IndexByte(hdr[i:], ':')
		if c < 0 {
			return false
		}
		c += i
		if prev >= 0 {
			j := c - 1
			for j > prev && isAddrChar(hdr[j]) {
				j--
			}
			if j == prev {
				return true
			}
		}
		prev, i = c, c
	}
	return false
}

// isCallID reports whether line is a Call-ID header field (long or compact).
func isCallID(line []byte) bool {
	name, _, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return false
	}
	name = bytes.TrimRight(name, " \t")
	return bytes.EqualFold(name, []byte("call-id")) || bytes.EqualFold(name, []byte("i"))
}

func isAddrChar(c byte) bool {
	return isDigit(c) || c == ':' || c == '.' || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

// splitIPv6 reads run as an IPv6 address, or an address and a port.
func splitIPv6(run []byte) (addr, port []byte, ok bool) {
	if isIPv6(run) {
		return run, nil, true
	}
	i := bytes.LastIndexByte(run, ':')
	if i <= 0 || i == len(run)-1 || len(run)-i-1 > 5 {
		return nil, nil, false
	}
	for _, c := range run[i+1:] {
		if !isDigit(c) {
			return nil, nil, false
		}
	}
	if !isIPv6(run[:i]) {
		return nil, nil, false
	}
	return run[:i], run[i+1:], true
}

func isIPv6(b []byte) bool {
	a, err := netip.ParseAddr(string(b))
	return err == nil && a.Is6()
}

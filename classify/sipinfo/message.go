// Package sipinfo extracts what a flow auditor needs from SIP signalling
// (RFC 3261): who calls whom (Call-ID, From/To tags, CSeq), which transport
// the hop used (top Via), which software spoke (User-Agent, Server), and
// the SDP body that announces the media flows.
//
// Parsing is delegated to github.com/emiago/sipgo, which handles the header
// grammar, folding, comma-separated values and the compact header forms
// (i, f, t, v, m, l, c). Its types stay inside this package: callers get
// the flat Message. SIP is low-rate signalling next to the media it sets
// up, so ParseMessage allocates (one Message, its strings and a copy of the
// body); the per-packet hot path should call Looks first, which does not.
//
// Transport glue lives here too: Framer splits a TCP byte stream into
// messages (RFC 3261 section 18.3) and UnwrapWebSocket recovers SIP from
// WebSocket frames (RFC 7118). SCTP (RFC 4168) needs no framing beyond the
// SCTP DATA chunk: each user message is one SIP message.
package sipinfo

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// ErrNotSIP means the payload does not start with a SIP start line.
var ErrNotSIP = errors.New("sipinfo: not a SIP message")

// Message is the part of a SIP request or response the auditor uses.
// Strings are copies: a Message does not alias the payload it came from.
type Message struct {
	IsRequest bool

	// Method and RequestURI are set for requests.
	Method     string
	RequestURI string

	// StatusCode and Reason are set for responses.
	StatusCode int
	Reason     string

	From, To Address
	CallID   string

	CSeq       uint32
	CSeqMethod string // the method a response answers

	Via Via // the top Via: the hop that sent this message

	Contact     string // URI of the first Contact
	UserAgent   string // User-Agent (usually requests)
	Server      string // Server (usually responses)
	ContentType string // media type without parameters, lower case

	// ContentLength is the Content-Length header, -1 when absent or not a
	// number.
	ContentLength int

	// Body is the message body. When Content-Length claims more bytes than
	// the payload holds, Body is what there is and BodyTruncated is set.
	Body          []byte
	BodyTruncated bool

	// SDP is the session description: the body itself for application/sdp,
	// the application/sdp part of a multipart body (SIP-I, SIP-T, or
	// location conveyance), or nil.
	SDP []byte

	// BadHeaders counts header fields that could not be parsed and were
	// skipped; the fields that depend on them are left empty.
	BadHeaders int
}

// Address is a From or To header field.
type Address struct {
	URI string
	Tag string
}

// Via is the top Via header field.
type Via struct {
	Transport string // UDP, TCP, TLS, SCTP, WS, WSS (upper case)
	Host      string
	Port      int // 0 when absent
	Branch    string
}

// Response reports whether the message is a response to method.
func (m *Message) Response(method string) bool {
	return !m.IsRequest && m.CSeqMethod == method
}

// ParseMessage parses one complete SIP message, as carried in a UDP
// datagram, an SCTP user message, a WebSocket message or a Framer result.
//
// It first parses strictly. If a header field is malformed (a From URI
// sipgo rejects, Content-Length: bad, ...) it parses again keeping the
// other fields, and counts the bad ones in BadHeaders: a message with one
// broken header is still a call to account for. Header sections with bare
// LF line ends are normalised to CRLF, and IPv6 literals written without
// brackets are bracketed, before sipgo sees them.
func ParseMessage(payload []byte) (m *Message, err error) {
	// sipgo is written for endpoints that talk to well-behaved peers; a
	// passive tap feeds it whatever crosses the wire. A panic in it must
	// cost one message, not the process.
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("sipinfo: sipgo panicked on a %d byte message: %v", len(payload), r)
		}
	}()
	if !Looks(payload) {
		return nil, ErrNotSIP
	}
	payload = crlfHeaders(payload)

	bad := 0
	msg, _, err := sip.NewParser().Parse(payload, false)
	if err != nil && !errors.Is(err, sip.ErrParseReadBodyIncomplete) {
		if fixed, ok := bracketIPv6(payload); ok {
			payload = fixed
			msg, _, err = sip.NewParser().Parse(payload, false)
		}
	}
	if err != nil && !errors.Is(err, sip.ErrParseReadBodyIncomplete) {
		msg, _, err = sip.NewParser(sip.WithHeadersParsers(tolerantParsers(&bad))).Parse(payload, false)
	}
	truncated := false
	if errors.Is(err, sip.ErrParseReadBodyIncomplete) && msg != nil {
		truncated = true
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("sipinfo: parse: %w", err)
	}

	m = &Message{BadHeaders: bad, ContentLength: -1, BodyTruncated: truncated}
	switch msg := msg.(type) {
	case *sip.Request:
		m.IsRequest = true
		m.Method = string(msg.Method)
		m.RequestURI = msg.Recipient.String()
		m.ContentType = mediaType(msg.ContentType())
	case *sip.Response:
		m.StatusCode = msg.StatusCode
		m.Reason = msg.Reason
		m.ContentType = mediaType(msg.ContentType())
	}
	fill(m, msg)

	m.Body = msg.Body()
	if truncated {
		// sipgo sizes the body by Content-Length; keep only what arrived.
		if have := len(payload) - headerLen(payload); have >= 0 && have < len(m.Body) {
			m.Body = m.Body[:have]
		}
	}
	m.SDP = sdpPart(m.ContentType, contentTypeParams(msg), m.Body)
	return m, nil
}

func fill(m *Message, msg sip.Message) {
	if h := msg.From(); h != nil {
		m.From = Address{URI: h.Address.String(), Tag: param(h.Params, "tag")}
	} else if v := rawValue(msg, "from", "f"); v != "" {
		m.From = lenientAddress(v)
	}
	if h := msg.To(); h != nil {
		m.To = Address{URI: h.Address.String(), Tag: param(h.Params, "tag")}
	} else if v := rawValue(msg, "to", "t"); v != "" {
		m.To = lenientAddress(v)
	}
	if h := msg.CallID(); h != nil {
		m.CallID = h.Value()
	}
	if h := msg.CSeq(); h != nil {
		m.CSeq = h.SeqNo
		m.CSeqMethod = string(h.MethodName)
	}
	if h := msg.Via(); h != nil {
		m.Via = Via{Transport: strings.ToUpper(h.Transport), Host: h.Host, Port: h.Port, Branch: param(h.Params, "branch")}
	} else if v := rawValue(msg, "via", "v"); v != "" {
		m.Via = lenientVia(v)
	}
	if h := msg.ContentLength(); h != nil {
		m.ContentLength = int(*h)
	}
	for _, h := range msg.GetHeaders("contact") {
		if c, ok := h.(*sip.ContactHeader); ok {
			m.Contact = c.Address.String()
			break
		}
	}
	if m.Contact == "" {
		if v := rawValue(msg, "contact", "m"); v != "" {
			m.Contact = lenientAddress(v).URI
		}
	}
	if h := firstHeader(msg, "user-agent"); h != nil {
		m.UserAgent = h.Value()
	}
	if h := firstHeader(msg, "server"); h != nil {
		m.Server = h.Value()
	}
}

func contentTypeParams(msg sip.Message) string {
	h := firstHeader(msg, "content-type")
	if h == nil {
		return ""
	}
	v := h.Value()
	if i := strings.IndexByte(v, ';'); i >= 0 {
		return v[i+1:]
	}
	return ""
}

func firstHeader(msg sip.Message, name string) sip.Header {
	if hs := msg.GetHeaders(name); len(hs) > 0 {
		return hs[0]
	}
	return nil
}

func param(p sip.HeaderParams, key string) string {
	v, _ := p.Get(key)
	return v
}

// mediaType returns the type/subtype of a Content-Type value in lower case.
func mediaType(h *sip.ContentTypeHeader) string {
	if h == nil {
		return ""
	}
	v := h.Value()
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// tolerantParsers wraps sipgo's header parsers so that a malformed field
// becomes an opaque header (counted in *bad) instead of failing the whole
// message.
func tolerantParsers(bad *int) map[string]sip.HeaderParser {
	def := sip.DefaultHeadersParser()
	out := make(map[string]sip.HeaderParser, len(def))
	for name, parse := range def {
		out[name] = func(lowerName []byte, value string) (sip.Header, error) {
			h, err := parse(lowerName, value)
			if err == nil || isCommaSplit(err) {
				return h, err
			}
			*bad++
			return sip.NewHeader(string(lowerName), value), nil
		}
	}
	return out
}

// isCommaSplit recognises sipgo's signal that a header value holds several
// comma-separated entries. The type is unexported, so its text is matched;
// TestMultiValueVia fails if sipgo changes it.
func isCommaSplit(err error) bool { return err.Error() == "comma detected" }

// crlfHeaders returns payload with a bare-LF header section rewritten to
// CRLF, which sipgo requires. Most payloads are returned unchanged.
func crlfHeaders(payload []byte) []byte {
	nl := bytes.IndexByte(payload, '\n')
	if nl <= 0 || payload[nl-1] == '\r' {
		return payload
	}
	end := bytes.Index(payload, []byte("\n\n"))
	if end < 0 {
		end = len(payload)
	} else {
		end += 2
	}
	out := make([]byte, 0, len(payload)+bytes.Count(payload[:end], []byte("\n")))
	for _, c := range payload[:end] {
		if c == '\n' {
			out = append(out, '\r')
		}
		if c != '\r' {
			out = append(out, c)
		}
	}
	return append(out, payload[end:]...)
}

// headerLen returns the length of the header section including the blank
// line, or len(payload) when it is not terminated.
func headerLen(payload []byte) int {
	if i := bytes.Index(payload, []byte("\r\n\r\n")); i >= 0 {
		return i + 4
	}
	return len(payload)
}

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
func ParseMessage(payload []byte) (*Message, error) {
	return parseMessage(payload, false)
}

// ParseDialog is ParseMessage for a caller that follows dialogs and
// their media, not routes: it leaves Via, Contact and RequestURI empty
// and has sipgo parse neither those fields nor Max-Forwards, Route,
// Record-Route, Refer-To and Referred-By, about a third of ParseMessage's
// cost. It parses the messages ParseMessage parses, and every other field
// is what ParseMessage returns (FuzzParseDialog checks both), but
// BadHeaders, which counts only the fields it parses. (Should sipgo panic
// on a field ParseDialog skips, only ParseMessage would fail; the fuzzing
// found no such field.)
//
// The fields it skips could make sipgo reject a header that holds an
// IPv6 literal without brackets, and ParseMessage then brackets every
// such literal, in the fields ParseDialog keeps too. So a header section
// with a run that may be one is handed to ParseMessage.
func ParseDialog(payload []byte) (*Message, error) {
	return parseMessage(payload, true)
}

// dialogParser is strictParser without the header parsers of the fields
// ParseDialog skips, which become opaque headers.
var dialogParser = sip.NewParser(sip.WithHeadersParsers(dialogHeaders(sip.DefaultHeadersParser())))

// dialogHeaders returns the parsers of parsers that ParseDialog uses.
func dialogHeaders(parsers map[string]sip.HeaderParser) map[string]sip.HeaderParser {
	out := make(map[string]sip.HeaderParser)
	for name, parse := range parsers {
		switch fieldOf(name) {
		case fieldFrom, fieldFromCompact, fieldTo, fieldToCompact, fieldCallID, fieldCallIDCompact, fieldCSeq,
			fieldContentType, fieldContentTypeCompact, fieldContentLength, fieldContentLengthCompact:
			out[name] = parse
		}
	}
	return out
}

func parseMessage(payload []byte, dialog bool) (m *Message, err error) {
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
	strict := strictParser
	if dialog {
		if mayHoldBareIPv6(payload[:headerLen(payload)]) {
			dialog = false
		} else {
			strict = dialogParser
		}
	}

	bad := 0
	msg, err := parse(strict, payload)
	if err != nil && !errors.Is(err, sip.ErrParseReadBodyIncomplete) {
		if fixed, ok := bracketIPv6(payload); ok {
			payload = fixed
			msg, err = parse(strict, payload)
		}
	}
	if err != nil && !errors.Is(err, sip.ErrParseReadBodyIncomplete) {
		headers := sip.DefaultHeadersParser()
		if dialog {
			headers = dialogHeaders(headers)
		}
		msg, err = parse(sip.NewParser(sip.WithHeadersParsers(tolerantParsers(headers, &bad))), payload)
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
	ctypeParams := fill(m, msg, dialog)

	m.Body = msg.Body()
	if truncated {
		// sipgo sizes the body by Content-Length; keep only what arrived.
		if have := len(payload) - headerLen(payload); have >= 0 && have < len(m.Body) {
			m.Body = m.Body[:have]
		}
	}
	m.SDP = sdpPart(m.ContentType, ctypeParams, m.Body)
	return m, nil
}

// strictParser parses with sipgo's own header parsers. sipgo only reads
// a Parser while parsing, so one serves every goroutine.
var strictParser = sip.NewParser()

// parse returns the message p finds in payload.
func parse(p *sip.Parser, payload []byte) (parsedMessage, error) {
	msg, _, err := p.Parse(payload, false)
	switch msg := msg.(type) {
	case *sip.Request:
		return msg, err
	case *sip.Response:
		return msg, err
	case nil:
		return nil, err
	}
	return nil, fmt.Errorf("sipgo returned a %T", msg)
}

// parsedMessage is what sip.Request and sip.Response have in common
// beyond sip.Message.
type parsedMessage interface {
	sip.Message
	Headers() []sip.Header
	ContentType() *sip.ContentTypeHeader
}

// fill copies the header fields from msg and returns the parameters of
// the first Content-Type, which sdpPart needs for a multipart body.
//
// It finds the fields in one pass over the headers. sipgo's GetHeaders
// lower-cases, and so copies, every header's name on every call, and its
// typed accessors do the same scan when the field has no typed value, so
// they are called only when a header of that name exists.
//
// For ParseDialog (dialog), it leaves Via, Contact and RequestURI empty.
func fill(m *Message, msg parsedMessage, dialog bool) (ctypeParams string) {
	var first [numFields]sip.Header // the first header of each name
	var contact *sip.ContactHeader
	for _, h := range msg.Headers() {
		f := fieldOf(h.Name())
		if first[f] == nil {
			first[f] = h
		}
		if c, ok := h.(*sip.ContactHeader); ok && contact == nil && !dialog {
			contact = c
		}
	}
	present := func(long, compact field) bool { return first[long] != nil || first[compact] != nil }
	// rawValue is the value of the first header named long, else
	// compact: what the tolerant pass keeps of a field sipgo refused.
	rawValue := func(long, compact field) string {
		if h := first[long]; h != nil {
			return h.Value()
		}
		if h := first[compact]; h != nil {
			return h.Value()
		}
		return ""
	}

	// The URIs are written into one buffer and sliced out of it, one
	// allocation instead of several for each.
	var uris strings.Builder
	uris.Grow(160)
	uri := func(u *sip.Uri) (from, to int) {
		from = uris.Len()
		u.StringWrite(&uris)
		return from, uris.Len()
	}
	var reqURI, fromURI, toURI, contactURI [2]int

	switch msg := msg.(type) {
	case *sip.Request:
		m.IsRequest = true
		m.Method = string(msg.Method)
		if !dialog {
			reqURI[0], reqURI[1] = uri(&msg.Recipient)
		}
	case *sip.Response:
		m.StatusCode = msg.StatusCode
		m.Reason = msg.Reason
	}
	if present(fieldContentType, fieldContentTypeCompact) {
		m.ContentType = mediaType(msg.ContentType())
	}
	if present(fieldFrom, fieldFromCompact) {
		if h := msg.From(); h != nil {
			fromURI[0], fromURI[1] = uri(&h.Address)
			m.From.Tag = param(h.Params, "tag")
		} else if v := rawValue(fieldFrom, fieldFromCompact); v != "" {
			m.From = lenientAddress(v)
		}
	}
	if present(fieldTo, fieldToCompact) {
		if h := msg.To(); h != nil {
			toURI[0], toURI[1] = uri(&h.Address)
			m.To.Tag = param(h.Params, "tag")
		} else if v := rawValue(fieldTo, fieldToCompact); v != "" {
			m.To = lenientAddress(v)
		}
	}
	if present(fieldCallID, fieldCallIDCompact) {
		if h := msg.CallID(); h != nil {
			m.CallID = h.Value()
		}
	}
	if first[fieldCSeq] != nil {
		if h := msg.CSeq(); h != nil {
			m.CSeq = h.SeqNo
			m.CSeqMethod = string(h.MethodName)
		}
	}
	if present(fieldVia, fieldViaCompact) && !dialog {
		if h := msg.Via(); h != nil {
			m.Via = Via{Transport: strings.ToUpper(h.Transport), Host: h.Host, Port: h.Port, Branch: param(h.Params, "branch")}
		} else if v := rawValue(fieldVia, fieldViaCompact); v != "" {
			m.Via = lenientVia(v)
		}
	}
	if present(fieldContentLength, fieldContentLengthCompact) {
		if h := msg.ContentLength(); h != nil {
			m.ContentLength = int(*h)
		}
	}
	if contact != nil {
		contactURI[0], contactURI[1] = uri(&contact.Address)
	}
	if h := first[fieldUserAgent]; h != nil {
		m.UserAgent = h.Value()
	}
	if h := first[fieldServer]; h != nil {
		m.Server = h.Value()
	}
	if h := first[fieldContentType]; h != nil {
		_, ctypeParams, _ = strings.Cut(h.Value(), ";")
	}

	all := uris.String()
	if reqURI[1] > 0 {
		m.RequestURI = all[reqURI[0]:reqURI[1]]
	}
	if fromURI[1] > 0 {
		m.From.URI = all[fromURI[0]:fromURI[1]]
	}
	if toURI[1] > 0 {
		m.To.URI = all[toURI[0]:toURI[1]]
	}
	if contactURI[1] > 0 {
		m.Contact = all[contactURI[0]:contactURI[1]]
	}
	if m.Contact == "" && !dialog {
		if v := rawValue(fieldContact, fieldContactCompact); v != "" {
			m.Contact = lenientAddress(v).URI
		}
	}
	return ctypeParams
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

// tolerantParsers wraps header parsers so that a malformed field
// becomes an opaque header (counted in *bad) instead of failing the whole
// message.
func tolerantParsers(parsers map[string]sip.HeaderParser, bad *int) map[string]sip.HeaderParser {
	out := make(map[string]sip.HeaderParser, len(parsers))
	for name, parse := range parsers {
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

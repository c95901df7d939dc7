package sdp

import (
	"bytes"
	"net/netip"
)

// Parse parses body into s, replacing what s held before while keeping its
// slices for reuse. It returns ErrNotSDP when the body does not start with
// a v= line (s is then empty), ErrTooManyLines when it stopped at MaxLines,
// and otherwise a *SyntaxError for the first malformed line it skipped. In
// the last two cases s holds every line that did parse, which is usually
// what a caller wants: a single bad attribute should not hide the media.
func Parse(body []byte, s *Session) error {
	s.reset()
	p := parser{s: s}
	off := 0
	seenVersion := false
	for off < len(body) {
		end := bytes.IndexByte(body[off:], '\n')
		next := len(body)
		if end >= 0 {
			end += off
			next = end + 1
		} else {
			end = len(body)
		}
		line := trimRight(body[off:end])
		lineOff := off
		off = next
		if len(line) == 0 {
			continue
		}
		if s.Lines == MaxLines {
			return ErrTooManyLines
		}
		s.Lines++
		if !seenVersion {
			if len(line) < 2 || line[0] != 'v' || line[1] != '=' {
				s.Lines = 0
				return ErrNotSDP
			}
			seenVersion = true
			continue
		}
		if reason := p.line(line); reason != "" {
			s.Malformed++
			if p.err == nil {
				p.err = &SyntaxError{Line: s.Lines, Offset: lineOff, Type: line[0], Reason: reason}
			}
		}
	}
	if !seenVersion {
		return ErrNotSDP
	}
	if p.err != nil {
		return p.err
	}
	return nil
}

func (s *Session) reset() {
	media := s.Media[:0]
	*s = Session{Media: media}
}

// parser carries the state between lines of one body.
type parser struct {
	s   *Session
	err *SyntaxError

	// m is the media description being filled, nil at session level and
	// while skipping media beyond MaxMedia (inMedia tells them apart).
	m       *Media
	inMedia bool

	// Session-level attributes that media inherit.
	fingerprint bool
	ice         bool
}

// line handles one "x=value" line and returns why it is malformed, or "".
func (p *parser) line(line []byte) string {
	if len(line) > maxLineSize {
		return "line too long"
	}
	if len(line) < 2 || line[1] != '=' {
		return "missing '=' after type letter"
	}
	val := line[2:]
	switch line[0] {
	case 'm':
		return p.media(val)
	case 'c':
		if p.inMedia && p.m == nil {
			return ""
		}
		var c Connection
		if reason := parseConnection(val, &c); reason != "" {
			return reason
		}
		if p.m != nil {
			p.m.Conn = c
			p.m.ConnFromMedia = true
		} else {
			p.s.Conn = c
		}
	case 'o':
		if p.inMedia {
			return "o= inside a media description"
		}
		return parseOrigin(val, &p.s.Origin)
	case 'a':
		if p.inMedia && p.m == nil {
			return ""
		}
		return p.attribute(val)
	}
	return ""
}

func (p *parser) media(val []byte) string {
	s := p.s
	p.inMedia = true
	if len(s.Media) == MaxMedia {
		s.ExtraMedia++
		p.m = nil
		return ""
	}
	typ, rest := field(val)
	port, rest := field(rest)
	proto, rest := field(rest)
	if len(typ) == 0 || len(port) == 0 || len(proto) == 0 {
		// Keep the session's media count honest without inventing a
		// stream: attributes up to the next m= are skipped.
		p.m = nil
		return "m= needs media, port and proto"
	}
	var (
		portNum, count uint64
		ok             bool
	)
	count = 1
	if i := bytes.IndexByte(port, '/'); i >= 0 {
		count, ok = parseUint(port[i+1:], 0xffff)
		if !ok || count == 0 {
			p.m = nil
			return "bad port count"
		}
		port = port[:i]
	}
	if portNum, ok = parseUint(port, 0xffff); !ok {
		p.m = nil
		return "bad port"
	}

	m := s.nextMedia()
	p.m = m
	m.Type = mediaType(typ)
	m.Proto = parseProto(proto)
	m.Port = uint16(portNum)
	m.PortCount = uint16(count)
	m.Conn = s.Conn
	m.Direction = s.Direction
	m.Fingerprint = p.fingerprint
	m.ICE = p.ice
	for len(rest) > 0 {
		var f []byte
		f, rest = field(rest)
		m.Formats++
		if pt, ok := parseUint(f, 127); ok && len(m.PayloadTypes) < MaxFormats {
			m.PayloadTypes = append(m.PayloadTypes, uint8(pt))
		}
	}
	return ""
}

func (s *Session) nextMedia() *Media {
	n := len(s.Media)
	if n < cap(s.Media) {
		s.Media = s.Media[:n+1]
	} else {
		s.Media = append(s.Media, Media{})
	}
	m := &s.Media[n]
	*m = Media{PayloadTypes: m.PayloadTypes[:0], RTPMap: m.RTPMap[:0]}
	return m
}

func (p *parser) attribute(val []byte) string {
	name, value := val, []byte(nil)
	if i := bytes.IndexByte(val, ':'); i >= 0 {
		name, value = val[:i], val[i+1:]
	}
	m := p.m
	switch string(name) {
	case "sendrecv", "sendonly", "recvonly", "inactive":
		d := direction(name)
		if m != nil {
			m.Direction = d
		} else {
			p.s.Direction = d
		}
	case "fingerprint":
		if m != nil {
			m.Fingerprint = true
		} else {
			p.fingerprint = true
		}
	case "ice-ufrag", "candidate":
		if m != nil {
			m.ICE = true
		} else {
			p.ice = true
		}
	case "crypto":
		if m != nil {
			m.Crypto = true
		}
	case "rtcp-mux":
		if m != nil {
			m.RTCPMux = true
		}
	case "rtcp":
		if m != nil {
			return parseRTCP(value, m)
		}
	case "ptime":
		if m != nil {
			// Some endpoints write "20.0"; the integer part is enough.
			if i := bytes.IndexByte(value, '.'); i >= 0 {
				value = value[:i]
			}
			v, ok := parseUint(trimRight(value), 0xffff)
			if !ok {
				return "bad ptime"
			}
			m.Ptime = uint16(v)
		}
	case "rtpmap":
		if m != nil {
			return parseRTPMap(value, m)
		}
	}
	return ""
}

func direction(name []byte) Direction {
	switch string(name) {
	case "sendonly":
		return DirSendOnly
	case "recvonly":
		return DirRecvOnly
	case "inactive":
		return DirInactive
	}
	return DirSendRecv
}

// parseConnection parses "IN IP4 addr[/ttl[/count]]" or "IN IP6 addr[/count]".
func parseConnection(val []byte, c *Connection) string {
	nettype, rest := field(val)
	addrtype, rest := field(rest)
	addr, _ := field(rest)
	if len(addr) == 0 {
		return "c= needs nettype, addrtype and address"
	}
	c.Count = 1
	if string(nettype) != "IN" {
		// Other network types (ATM, PSTN) carry no IP address to expect.
		return ""
	}
	var suffix []byte
	if i := bytes.IndexByte(addr, '/'); i >= 0 {
		addr, suffix = addr[:i], addr[i+1:]
	}
	switch string(addrtype) {
	case "IP4":
		if len(suffix) > 0 {
			ttl, more := suffix, []byte(nil)
			if i := bytes.IndexByte(suffix, '/'); i >= 0 {
				ttl, more = suffix[:i], suffix[i+1:]
			}
			v, ok := parseUint(ttl, 255)
			if !ok {
				return "bad multicast TTL"
			}
			c.TTL = uint8(v)
			suffix = more
		}
	case "IP6":
	default:
		return ""
	}
	if len(suffix) > 0 {
		n, ok := parseUint(suffix, 0xffff)
		if !ok || n == 0 {
			return "bad address count"
		}
		c.Count = uint16(n)
	}
	a, ok := parseAddr(addr)
	switch {
	case ok:
		c.Addr = a
	case isHostName(addr):
		c.FQDN = true
	default:
		return "bad connection address"
	}
	return ""
}

// parseOrigin parses "username sess-id sess-version nettype addrtype addr".
func parseOrigin(val []byte, o *Origin) string {
	_, rest := field(val)
	id, rest := field(rest)
	version, rest := field(rest)
	_, rest = field(rest)
	_, rest = field(rest)
	addr, _ := field(rest)
	if len(addr) == 0 {
		return "o= needs six fields"
	}
	// Session ids are meant to be NTP-derived numbers; anything else is
	// only an identifier and not worth an error.
	o.SessionID, _ = parseUint(id, ^uint64(0))
	o.SessionVersion, _ = parseUint(version, ^uint64(0))
	if a, ok := parseAddr(addr); ok {
		o.Addr = a
	}
	return ""
}

// parseRTCP parses the RFC 3605 "port [IN IP4 addr]" value.
func parseRTCP(val []byte, m *Media) string {
	port, rest := field(val)
	v, ok := parseUint(port, 0xffff)
	if !ok || v == 0 {
		return "bad rtcp port"
	}
	m.RTCPPort = uint16(v)
	if len(rest) == 0 {
		return ""
	}
	var c Connection
	if reason := parseConnection(rest, &c); reason != "" {
		return "rtcp: " + reason
	}
	m.RTCPAddr = c.Addr
	return ""
}

// parseRTPMap parses "pt name/clock[/channels]".
func parseRTPMap(val []byte, m *Media) string {
	pt, rest := field(val)
	enc, _ := field(rest)
	ptv, ok := parseUint(pt, 127)
	if !ok {
		return "bad rtpmap payload type"
	}
	name, clock, channels := enc, []byte(nil), []byte(nil)
	if i := bytes.IndexByte(enc, '/'); i >= 0 {
		name, clock = enc[:i], enc[i+1:]
		if j := bytes.IndexByte(clock, '/'); j >= 0 {
			clock, channels = clock[:j], clock[j+1:]
		}
	}
	if len(name) == 0 || len(clock) == 0 {
		return "rtpmap needs name/clock"
	}
	r := RTPMap{PayloadType: uint8(ptv)}
	v, ok := parseUint(clock, 0xffffffff)
	if !ok {
		return "bad rtpmap clock rate"
	}
	r.ClockRate = uint32(v)
	if len(channels) > 0 {
		v, ok = parseUint(channels, 255)
		if !ok {
			return "bad rtpmap channels"
		}
		r.Channels = uint8(v)
	}
	if len(m.RTPMap) == MaxRTPMap {
		return ""
	}
	r.Codec = codecName(name)
	m.RTPMap = append(m.RTPMap, r)
	return ""
}

// knownCodecs are returned without allocating. Encoding names are case
// insensitive (RFC 4855 section 3), so they are matched that way and
// returned in the registered spelling.
var knownCodecs = [...]string{
	"PCMU", "PCMA", "G722", "G729", "G723", "G726-32", "GSM", "iLBC",
	"opus", "speex", "AMR", "AMR-WB", "EVS", "L16", "telephone-event",
	"CN", "red", "ulpfec", "rtx", "H264", "H265", "H263", "H263-1998",
	"VP8", "VP9", "AV1", "G7221", "SILK", "t38",
}

func codecName(b []byte) string {
	for _, c := range knownCodecs {
		if len(c) == len(b) && bytes.EqualFold([]byte(c), b) {
			return c
		}
	}
	return string(b)
}

func mediaType(b []byte) MediaType {
	switch string(b) {
	case "audio":
		return MediaAudio
	case "video":
		return MediaVideo
	case "image":
		return MediaImage
	case "application":
		return MediaApplication
	case "text":
		return MediaText
	case "message":
		return MediaMessage
	}
	return MediaOther
}

func parseProto(b []byte) Proto {
	for p := ProtoRTPAVP; int(p) < len(protoNames); p++ {
		if bytes.EqualFold(b, []byte(protoNames[p])) {
			return p
		}
	}
	switch {
	case hasPrefixFold(b, "TCP/TLS/RTP/"):
		return ProtoTCPTLSRTPSAVP
	case hasPrefixFold(b, "TCP/RTP/"):
		return ProtoTCPRTPAVP
	case hasPrefixFold(b, "TCP"):
		return ProtoTCP
	case hasPrefixFold(b, "UDP/TLS/RTP/"):
		return ProtoUDPTLSRTPSAVPF
	}
	return ProtoOther
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

// field returns the first space-separated field of b and the rest with its
// leading blanks removed. RFC 8866 asks for single spaces; real bodies
// sometimes use several, or tabs.
func field(b []byte) (f, rest []byte) {
	b = trimLeft(b)
	i := 0
	for i < len(b) && b[i] != ' ' && b[i] != '\t' {
		i++
	}
	return b[:i], trimLeft(b[i:])
}

func trimLeft(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

func trimRight(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case '\r', ' ', '\t':
			b = b[:len(b)-1]
			continue
		}
		break
	}
	return b
}

// parseUint parses a decimal number of at most max without allocating.
func parseUint(b []byte, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if d > max || v > (max-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// parseAddr parses a literal IPv4 or IPv6 address. It does not use
// netip.ParseAddr because that needs a string, and the conversion would
// allocate on every c= line. SDP addresses carry no IPv6 zone.
func parseAddr(b []byte) (netip.Addr, bool) {
	if bytes.IndexByte(b, ':') >= 0 {
		return parseIPv6(b)
	}
	v4, ok := parseIPv4(b)
	if !ok {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(v4), true
}

func parseIPv4(b []byte) (ip [4]byte, ok bool) {
	for i := range ip {
		if i > 0 {
			if len(b) == 0 || b[0] != '.' {
				return ip, false
			}
			b = b[1:]
		}
		j := 0
		for j < len(b) && j < 4 && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		v, ok := parseUint(b[:j], 255)
		if !ok || j > 3 {
			return ip, false
		}
		ip[i] = byte(v)
		b = b[j:]
	}
	return ip, len(b) == 0
}

// parseIPv6 parses the RFC 4291 section 2.2 text forms: eight hex groups,
// one "::" standing for one or more zero groups, and an optional dotted
// IPv4 tail.
func parseIPv6(b []byte) (netip.Addr, bool) {
	var ip [16]byte
	n := 0    // bytes of ip filled so far
	gap := -1 // where "::" was, as an index into ip
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		gap = 0
		b = b[2:]
	}
	for len(b) > 0 {
		if n == 16 {
			return netip.Addr{}, false
		}
		if n <= 12 && bytes.IndexByte(b, ':') < 0 && bytes.IndexByte(b, '.') >= 0 {
			v4, ok := parseIPv4(b)
			if !ok {
				return netip.Addr{}, false
			}
			copy(ip[n:], v4[:])
			n += 4
			break
		}
		j, v := 0, 0
		for ; j < len(b) && j < 5; j++ {
			d, ok := hexDigit(b[j])
			if !ok {
				break
			}
			v = v<<4 | d
		}
		if j == 0 || j > 4 {
			return netip.Addr{}, false
		}
		ip[n], ip[n+1] = byte(v>>8), byte(v)
		n += 2
		b = b[j:]
		if len(b) == 0 {
			break
		}
		if b[0] != ':' || len(b) == 1 {
			return netip.Addr{}, false
		}
		b = b[1:]
		if b[0] == ':' {
			if gap >= 0 {
				return netip.Addr{}, false
			}
			gap = n
			b = b[1:]
		}
	}
	switch {
	case gap >= 0:
		if n == 16 {
			return netip.Addr{}, false
		}
		shift := 16 - n
		copy(ip[gap+shift:], ip[gap:n])
		clear(ip[gap : gap+shift])
	case n != 16:
		return netip.Addr{}, false
	}
	return netip.AddrFrom16(ip).Unmap(), true
}

func hexDigit(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// isHostName reports whether b looks like a DNS name (RFC 1123 letters,
// digits, hyphens and dots, with at least one letter).
func isHostName(b []byte) bool {
	letter := false
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9', c == '-', c == '.':
		default:
			return false
		}
	}
	return letter
}

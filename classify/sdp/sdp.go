// Package sdp parses Session Description Protocol bodies (RFC 8866) far
// enough to predict the media flows a SIP call will open: the connection
// address and port of every m= line, the RTCP port (RFC 3605 a=rtcp,
// RFC 5761 a=rtcp-mux), the direction (hold), the codecs (a=rtpmap) and
// whether the media is encrypted (a=crypto SDES, a=fingerprint DTLS-SRTP).
//
// Parse fills a caller-owned Session and reuses its slices, so a Session
// kept per goroutine parses bodies without allocating once its slices have
// grown. The exceptions are codec names that are not in the built-in table
// of common names (each costs one string), and errors.
//
// The parser is lenient the way real endpoints require: it accepts LF as
// well as CRLF line ends, ignores unknown lines and attributes, and keeps
// going after a malformed line so that one bad attribute does not hide the
// media of the rest of the body. Everything is bounded: at most MaxLines
// lines and MaxMedia media descriptions are looked at.
package sdp

import (
	"errors"
	"fmt"
	"net/netip"
)

// Limits on what one body can make the parser do. Bodies beyond them are
// still parsed up to the limit; the rest is counted, not stored.
const (
	MaxMedia    = 64   // m= lines stored per session
	MaxLines    = 2048 // lines examined per body
	MaxFormats  = 64   // payload types stored per m= line
	MaxRTPMap   = 64   // a=rtpmap entries stored per m= line
	maxLineSize = 4096 // longer lines are malformed
)

var (
	// ErrNotSDP means the body does not start with the v= line.
	ErrNotSDP = errors.New("sdp: body does not start with v=")
	// ErrTooManyLines means parsing stopped after MaxLines lines.
	ErrTooManyLines = errors.New("sdp: too many lines")
	// ErrMalformed is wrapped by the SyntaxError of a bad line.
	ErrMalformed = errors.New("sdp: malformed line")
)

// SyntaxError reports the first malformed line of a body. Parse keeps going
// after it, so the Session still holds everything that did parse.
type SyntaxError struct {
	Line   int    // 1-based line number
	Offset int    // byte offset of the line in the body
	Type   byte   // line type letter (m, c, a, ...)
	Reason string // what is wrong
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("sdp: line %d (offset %d, %c=): %s", e.Line, e.Offset, e.Type, e.Reason)
}

func (e *SyntaxError) Unwrap() error { return ErrMalformed }

// Session is one parsed session description. The zero value is ready for
// Parse; reuse it across calls to avoid allocation.
type Session struct {
	Origin Origin

	// Conn is the session-level c= line; media without their own c= use it.
	Conn Connection

	// Direction is the session-level direction attribute, or DirSendRecv
	// when the session level has none (RFC 3264 section 5.1).
	Direction Direction

	// Media holds the first MaxMedia m= lines in order. Disabled streams
	// (port 0) are kept so that indexes match the offer/answer position.
	Media []Media

	// ExtraMedia counts m= lines beyond MaxMedia; their attributes are
	// skipped.
	ExtraMedia int

	// Lines is the number of lines examined; Malformed the number that
	// could not be parsed (only the first is reported as an error).
	Lines     int
	Malformed int
}

// Origin is the o= line. The username and network type are not kept.
type Origin struct {
	SessionID      uint64
	SessionVersion uint64
	Addr           netip.Addr // invalid if the address was a host name
}

// Connection is a c= line: "IN IP4 addr[/ttl[/count]]" or
// "IN IP6 addr[/count]".
type Connection struct {
	Addr netip.Addr // invalid when absent or a host name (see FQDN)

	// TTL is the multicast time to live of an IP4 address; 0 otherwise.
	TTL uint8

	// Count is the number of consecutive multicast addresses, 1 when the
	// line has no count (and 0 when there is no c= line at all).
	Count uint16

	// FQDN is set when the address is a host name, which a passive tap
	// cannot resolve to the address packets will use.
	FQDN bool
}

// Present reports whether a c= line was seen.
func (c Connection) Present() bool { return c.Count > 0 }

// Hold reports whether the address is the RFC 2543 hold address 0.0.0.0
// (or ::), which still appears in re-INVITEs from older equipment.
func (c Connection) Hold() bool { return c.Addr.IsValid() && c.Addr.IsUnspecified() }

// Media is one m= line together with its media-level attributes.
type Media struct {
	Type  MediaType
	Proto Proto

	// Port is the transport port; 0 means the stream is disabled
	// (RFC 3264 section 8.2).
	Port uint16

	// PortCount is the "port/count" suffix, 1 when absent. For RTP the
	// ports of a count come in RTP/RTCP pairs (RFC 8866 section 5.14).
	PortCount uint16

	// PayloadTypes holds the numeric formats (RTP payload types 0..127) in
	// preference order; Formats counts all formats including non-numeric
	// ones such as "t38" or "webrtc-datachannel".
	PayloadTypes []uint8
	Formats      int

	// Conn is the media-level c= line if there is one, else a copy of the
	// session-level line. ConnFromMedia tells which.
	Conn          Connection
	ConnFromMedia bool

	// RTCPPort and RTCPAddr are the RFC 3605 a=rtcp attribute; RTCPPort is
	// 0 when absent and RTCPAddr is invalid when the attribute has no
	// address.
	RTCPPort uint16
	RTCPAddr netip.Addr
	RTCPMux  bool // a=rtcp-mux (RFC 5761): RTCP shares the RTP port

	// Direction is the media-level direction attribute, or the session
	// level default.
	Direction Direction

	RTPMap []RTPMap

	// Ptime is a=ptime in milliseconds, 0 when absent.
	Ptime uint16

	Crypto      bool // a=crypto: SRTP keyed by SDES (RFC 4568)
	Fingerprint bool // a=fingerprint: DTLS-SRTP or DTLS (RFC 8122)
	ICE         bool // a=candidate or a=ice-ufrag: ports may change after ICE
}

// RTPMap is one a=rtpmap attribute: "pt name/clock[/channels]".
type RTPMap struct {
	PayloadType uint8
	Channels    uint8 // 0 when the attribute has no channel count
	ClockRate   uint32
	Codec       string // as written, for example "PCMU" or "telephone-event"
}

// Disabled reports whether the stream was rejected or disabled with port 0.
func (m *Media) Disabled() bool { return m.Port == 0 }

// OnHold reports whether the media is put on hold: sendonly or inactive
// direction, or the RFC 2543 hold address in c=.
func (m *Media) OnHold() bool {
	return m.Direction == DirSendOnly || m.Direction == DirInactive || m.Conn.Hold()
}

// Codec returns the rtpmap entry for a payload type. Static payload types
// without an rtpmap line are not filled in.
func (m *Media) Codec(pt uint8) (RTPMap, bool) {
	for _, r := range m.RTPMap {
		if r.PayloadType == pt {
			return r, true
		}
	}
	return RTPMap{}, false
}

// Endpoints returns where the peer that wrote this description expects to
// receive the stream: the RTP (or other transport) address and the RTCP
// address. RTCP is the a=rtcp port (and address, when given), the RTP
// address itself under rtcp-mux, and otherwise the next port (RFC 3550
// section 11). rtcp is the zero AddrPort for media that do not carry RTP
// (udptl, TCP, SCTP). ok is false when the stream is disabled or its
// address is unknown (missing, a host name, or the 0.0.0.0 hold address),
// in which case no flow can be expected. With a port count above 1 the
// further streams use Port+2, Port+4, ... (RFC 8866 section 5.14); only
// the first is returned.
func (m *Media) Endpoints() (rtp, rtcp netip.AddrPort, ok bool) {
	addr := m.Conn.Addr
	if m.Port == 0 || !addr.IsValid() || addr.IsUnspecified() {
		return netip.AddrPort{}, netip.AddrPort{}, false
	}
	rtp = netip.AddrPortFrom(addr, m.Port)
	switch {
	case !m.Proto.IsRTP():
	case m.RTCPMux:
		rtcp = rtp
	case m.RTCPPort != 0:
		a := addr
		if m.RTCPAddr.IsValid() {
			a = m.RTCPAddr
		}
		rtcp = netip.AddrPortFrom(a, m.RTCPPort)
	case m.Port < 0xffff:
		rtcp = netip.AddrPortFrom(addr, m.Port+1)
	}
	return rtp, rtcp, true
}

// Direction is the media direction attribute (RFC 8866 section 6.7).
type Direction uint8

const (
	DirSendRecv Direction = iota
	DirSendOnly
	DirRecvOnly
	DirInactive
)

func (d Direction) String() string {
	switch d {
	case DirSendRecv:
		return "sendrecv"
	case DirSendOnly:
		return "sendonly"
	case DirRecvOnly:
		return "recvonly"
	case DirInactive:
		return "inactive"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// MediaType is the first field of an m= line.
type MediaType uint8

const (
	MediaOther MediaType = iota
	MediaAudio
	MediaVideo
	MediaImage // T.38 fax
	MediaApplication
	MediaText
	MediaMessage
)

func (t MediaType) String() string {
	switch t {
	case MediaAudio:
		return "audio"
	case MediaVideo:
		return "video"
	case MediaImage:
		return "image"
	case MediaApplication:
		return "application"
	case MediaText:
		return "text"
	case MediaMessage:
		return "message"
	}
	return "other"
}

// Proto is the transport protocol field of an m= line.
type Proto uint8

const (
	ProtoOther          Proto = iota
	ProtoRTPAVP               // RTP/AVP
	ProtoRTPAVPF              // RTP/AVPF
	ProtoRTPSAVP              // RTP/SAVP
	ProtoRTPSAVPF             // RTP/SAVPF
	ProtoUDPTLSRTPSAVP        // UDP/TLS/RTP/SAVP
	ProtoUDPTLSRTPSAVPF       // UDP/TLS/RTP/SAVPF (WebRTC)
	ProtoTCPRTPAVP            // TCP/RTP/AVP (RFC 4571)
	ProtoTCPTLSRTPSAVP        // TCP/TLS/RTP/SAVP and other RTP over TCP/TLS
	ProtoUDPTL                // udptl (T.38)
	ProtoUDP                  // udp
	ProtoTCP                  // TCP, TCP/TLS, TCP/MSRP, TCP/TLS/MSRP, ...
	ProtoUDPDTLSSCTP          // UDP/DTLS/SCTP (WebRTC data channel)
	ProtoDTLSSCTP             // DTLS/SCTP
)

var protoNames = [...]string{
	ProtoOther:          "other",
	ProtoRTPAVP:         "RTP/AVP",
	ProtoRTPAVPF:        "RTP/AVPF",
	ProtoRTPSAVP:        "RTP/SAVP",
	ProtoRTPSAVPF:       "RTP/SAVPF",
	ProtoUDPTLSRTPSAVP:  "UDP/TLS/RTP/SAVP",
	ProtoUDPTLSRTPSAVPF: "UDP/TLS/RTP/SAVPF",
	ProtoTCPRTPAVP:      "TCP/RTP/AVP",
	ProtoTCPTLSRTPSAVP:  "TCP/TLS/RTP/SAVP",
	ProtoUDPTL:          "udptl",
	ProtoUDP:            "udp",
	ProtoTCP:            "TCP",
	ProtoUDPDTLSSCTP:    "UDP/DTLS/SCTP",
	ProtoDTLSSCTP:       "DTLS/SCTP",
}

func (p Proto) String() string {
	if int(p) < len(protoNames) {
		return protoNames[p]
	}
	return fmt.Sprintf("Proto(%d)", uint8(p))
}

// IsRTP reports whether the media is carried in RTP (and so has RTCP).
func (p Proto) IsRTP() bool { return p >= ProtoRTPAVP && p <= ProtoTCPTLSRTPSAVP }

// OverTCP reports whether the media uses a stream transport.
func (p Proto) OverTCP() bool {
	return p == ProtoTCPRTPAVP || p == ProtoTCPTLSRTPSAVP || p == ProtoTCP
}

// IsSecure reports whether the profile itself implies encryption (SRTP or
// DTLS). Plain RTP/AVP can still be keyed by a=crypto; see Media.Crypto.
func (p Proto) IsSecure() bool {
	switch p {
	case ProtoRTPSAVP, ProtoRTPSAVPF, ProtoUDPTLSRTPSAVP, ProtoUDPTLSRTPSAVPF,
		ProtoTCPTLSRTPSAVP, ProtoUDPDTLSSCTP, ProtoDTLSSCTP:
		return true
	}
	return false
}

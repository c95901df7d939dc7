package flow

import (
	"net/netip"
	"time"
)

// TCP flag bits as they appear in the TCP header's flags byte.
const (
	FlagFIN uint8 = 0x01
	FlagSYN uint8 = 0x02
	FlagRST uint8 = 0x04
	FlagPSH uint8 = 0x08
	FlagACK uint8 = 0x10
	FlagURG uint8 = 0x20
	FlagECE uint8 = 0x40
	FlagCWR uint8 = 0x80
)

// Side holds what one direction of a flow sent.
type Side struct {
	Packets uint64
	Bytes   uint64 // frame bytes as captured on the wire (original length)
	Payload uint64 // transport payload bytes
	Flags   uint8  // union of TCP flags seen

	// UDP bad checksums, on the history's logarithmic scale (in the
	// struct's padding).
	chkExp uint8
	chkCnt uint32
}

// EndReason says why a flow left the table.
type EndReason uint8

const (
	EndActive  EndReason = iota // still in the table (flushed at the end of input)
	EndIdle                     // idle timeout for its protocol
	EndClosed                   // TCP FIN from both sides, a FIN before the peer sent anything, or a RST; after the close linger
	EndEvicted                  // table full: the least recently active flow was evicted
	EndReused                   // a new SYN reused the 4-tuple of a closed connection
	EndFlush                    // end of input or capture rotation
)

func (r EndReason) String() string {
	switch r {
	case EndIdle:
		return "idle"
	case EndClosed:
		return "closed"
	case EndEvicted:
		return "evicted"
	case EndReused:
		return "reused"
	case EndFlush:
		return "flush"
	}
	return "active"
}

// Meta is what protocol parsers learned about a flow. It is allocated only
// for flows a parser labelled, so bare RTP and TCP flows cost nothing here.
//
// The field order is for the cache: a flow's Meta is freshly allocated,
// so each 64-byte line a dissector first touches is a miss. The DNS
// dissector, whose flows are many and short, writes only the first line
// (App and its DNS fields); the TLS handshake fields
// follow, then what the SIP dissector and the pipeline write. The uint16s
// and the bool fill the first line's tail, so Meta fits 256 bytes.
type Meta struct {
	App string // application protocol a parser confirmed (sip, rtp, dns, tls, ...)
	// DNSQuery and DNSRCode are a DNS flow's first query name
	// (presentation form) and the response code of its answer ("NOERROR",
	// "NXDOMAIN"; empty while unanswered).
	DNSQuery, DNSRCode string
	// DNSPending is the DNS dissector's handle on the flow's queries
	// awaiting their response (0: none), so pairing them with responses
	// takes no lookup keyed by the flow. Only that dissector reads it.
	DNSPending uint32

	// TLS handshake details for posture findings.
	TLSOfferedMax uint16 // highest version the ClientHello offered (wire value, 0x0304 = TLS 1.3)
	TLSOfferedMin uint16 // lowest version it offered
	TLSCipher     uint16 // cipher suite the server chose
	// PayloadCut is set when the snap length cut away the payload a
	// parser needed to tell what the flow carries (a capture of headers
	// only): the absence of a label then proves nothing.
	PayloadCut bool

	SNI        string
	ALPN       string
	TLSVersion string // negotiated ("TLS 1.2"); empty until a ServerHello is seen
	JA4        string
	JA3        string
	JA3S       string
	Cert       *Certificate
	ServerName string // from DNS answers the originator received

	CallID string
	// SIP is the SIP dissector's state for the flow (signalling or
	// media; nil: none), so each RTP packet reaches it without a lookup
	// keyed by the flow. Only that dissector reads it, and it clears it
	// when the flow ends.
	SIP any

	// Tunnel names the innermost tunnel the flow's first packet was taken
	// out of ("gre 10.0.0.1->10.0.0.2"); set by the pipeline, interned per
	// tunnel. Empty for flows not tunnelled.
	Tunnel string
	// tunnel is the identity of the tunnel of the flow's latest tunnelled
	// packet, compared with each packet's (encap.go); nil for flows never
	// tunnelled (a pointer: Meta stays within 256 bytes).
	tunnel *Key

	// ProxyTarget is the host:port an explicit proxy was asked to
	// connect to (HTTP CONNECT, SOCKS4/4a/5) on this flow.
	ProxyTarget string
}

// Certificate is the server certificate of a TLS 1.2 or older handshake
// (TLS 1.3 encrypts it).
type Certificate struct {
	Subject, Issuer string
	NotAfter        time.Time
	SelfSigned      bool
	SHA256          string // hex fingerprint
}

// Flow is the record of one bidirectional conversation. The originator is
// the endpoint that opened it: the SYN sender for TCP, otherwise the sender
// of the first packet, with the service-port rule in Table for captures that
// start mid-conversation.
type Flow struct {
	Key     Key
	OrigDir Dir // which key endpoint is the originator

	First, Last int64 // unix nanoseconds of first and last packet

	Orig, Resp Side

	// VLAN is the innermost 802.1Q VLAN ID of the first packet (0 = untagged).
	VLAN uint16

	// ICMPUnreach counts ICMP destination-unreachable messages that quoted
	// this flow; UnreachType/UnreachCode are of the last one.
	ICMPUnreach              uint32
	UnreachType, UnreachCode uint8

	End EndReason
	// ended keeps what the TCP state said when the flow ended: the end
	// callback's copies outlive the TCP block, which is recycled.
	ended endSnapshot

	// Meta is nil until a parser labels the flow.
	Meta *Meta

	// Inspect is a bit set of the dissectors still interested in this flow;
	// the pipeline owns it. Zero means no dissector sees further packets.
	Inspect uint32
	// Seen is the set of dissectors that ever inspected the flow; they are
	// told when it ends.
	Seen uint32

	tcp       *tcpConn // TCP flows only; nil in the end callback, kept across recycling
	udpActive uint8
	encap     uint8 // tunnel changes and whether a tunnel is current (encap.go)
	history   history
	seqEnd    [2]uint64 // TCP sequence bytes (originator, responder) when the flow ended
	lru       lruLinks
	class     timeoutClass
	// hnext and hchained chain the flows whose keys share a hash in the
	// table's index (table.go).
	hchained bool
	hnext    *Flow
}

// Src is the originator's endpoint.
func (f *Flow) Src() netip.AddrPort { return f.Key.endpoint(f.OrigDir) }

// Dst is the responder's endpoint.
func (f *Flow) Dst() netip.AddrPort { return f.Key.endpoint(f.OrigDir.Flip()) }

// FirstTime and LastTime convert the packet times.
func (f *Flow) FirstTime() time.Time { return time.Unix(0, f.First).UTC() }

// LastTime is the time of the last packet.
func (f *Flow) LastTime() time.Time { return time.Unix(0, f.Last).UTC() }

// History is the Zeek-style history string: upper case for the originator,
// lower case for the responder, '^' when the originator was flipped.
func (f *Flow) History() string { return f.history.String() }

// AppendHistory appends History's text to b, for writers that reuse the
// strings of histories seen before instead of allocating one a flow.
func (f *Flow) AppendHistory(b []byte) []byte { return append(b, f.history.buf[:f.history.n]...) }

// State is Zeek's conn_state name (S0, S1, SF, REJ, RSTO, ...), as
// flows.parquet writes it.
func (f *Flow) State() string { return f.connState().String() }

// ConnState is Zeek's conn_state, typed for code that decides on it.
func (f *Flow) ConnState() ConnState { return f.connState() }

// Established reports whether a TCP handshake completed (SYN and SYN-ACK
// seen), or, for other protocols, whether the responder answered.
func (f *Flow) Established() bool {
	if f.Key.proto == ProtoTCP {
		if f.tcp == nil {
			return f.ended.established
		}
		return f.tcp.sawSYN && f.tcp.sawSYNACK
	}
	return f.Resp.Packets > 0
}

// endSnapshot is the TCP verdict a flow keeps once its TCP block is gone.
type endSnapshot struct {
	state       ConnState
	established bool
}

// detachTCP freezes the TCP-derived fields into the flow and unhooks the
// TCP block, which it returns for the table to recycle.
func (f *Flow) detachTCP() *tcpConn {
	c := f.tcp
	if c == nil || f.Key.proto != ProtoTCP {
		return c
	}
	f.ended = endSnapshot{state: f.connState(), established: c.sawSYN && c.sawSYNACK}
	f.seqEnd[0], f.seqEnd[1] = f.SeqBytes()
	f.tcp = nil
	return c
}

// Side returns the counters of the sender in direction d of the key.
func (f *Flow) Side(d Dir) *Side {
	if d == f.OrigDir {
		return &f.Orig
	}
	return &f.Resp
}

// MetaOrNew returns the flow's Meta, allocating it on first use.
func (f *Flow) MetaOrNew() *Meta {
	if f.Meta == nil {
		f.Meta = &Meta{}
	}
	return f.Meta
}

// reset clears a flow for reuse from the table's free list. The TCP state
// block stays attached, cleared, so recycled flows allocate nothing.
func (f *Flow) reset(c *tcpConn) { *f = Flow{tcp: c} }

package decode

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The encapsulations below are decoded by hand rather than with gopacket's
// layers: some of those are not DecodingLayers (PPP), some allocate per
// packet (Geneve options), none checks what deciding "is this really the
// tunnel" needs, and the headers are a few fixed fields each. Each is a
// DecodingLayer so the parser chains them with gopacket's own.

// Layer types for headers gopacket has no type for. gopacket's own types
// stay below 400; these are never registered, only indexed by the
// decoder's sparse container.
const (
	layerTypeERSPAN3    gopacket.LayerType = 400
	layerTypeVNTag      gopacket.LayerType = 401
	layerTypePBB        gopacket.LayerType = 402
	layerTypeFabricPath gopacket.LayerType = 403
	layerTypeTeredo     gopacket.LayerType = 404
	layerTypeAYIYA      gopacket.LayerType = 405
	layerTypeCHDLC      gopacket.LayerType = 406
)

// UDP ports that announce a tunnel. VXLAN, Geneve and GRE-in-UDP are
// recognised on the destination port only (their source port is flow
// entropy); GTP-U, Teredo and AYIYA on either port, since their servers
// answer from it.
const (
	portVXLAN    = 4789
	portGeneve   = 6081
	portGTPU     = 2152
	portTeredo   = 3544
	portAYIYA    = 5072
	portGREinUDP = 4754
)

// tunnelPort reports whether a UDP datagram between these ports may carry
// a tunnel the general path opens; the fast path leaves such datagrams to
// it. Most traffic (RTP, SIP, DNS) fails the range test.
func tunnelPort(sport, dport uint16) bool {
	return tunnelPortOne(dport) || tunnelPortOne(sport)
}

func tunnelPortOne(p uint16) bool {
	if p < portGTPU || p > portGeneve {
		return false
	}
	switch p {
	case portVXLAN, portGeneve, portGTPU, portTeredo, portAYIYA, portGREinUDP:
		return true
	}
	return false
}

var (
	errEncapCut = errors.New("encapsulation header cut short")
	errEncapBad = errors.New("malformed encapsulation header")
	errNotEncap = errors.New("UDP payload is not the tunnel its port names")
)

// etherNext maps an EtherType (or a PPP/SNAP/GRE protocol given as one) to
// the layer the decoder decodes it with; LayerTypeZero ends decoding as
// not IP.
func etherNext(t uint16) gopacket.LayerType {
	switch t {
	case 0x0800:
		return layers.LayerTypeIPv4
	case 0x86dd:
		return layers.LayerTypeIPv6
	case 0x8100, 0x88a8, 0x9100:
		return layers.LayerTypeDot1Q
	case 0x8847, 0x8848:
		return layers.LayerTypeMPLS
	case 0x8864:
		return layers.LayerTypePPPoE
	case 0x880b:
		return layers.LayerTypePPP
	case 0x6558:
		return layers.LayerTypeEthernet
	case 0x88be:
		return layers.LayerTypeERSPANII
	case 0x22eb:
		return layerTypeERSPAN3
	case 0x8926:
		return layerTypeVNTag
	case 0x88e7:
		return layerTypePBB
	case 0x8903:
		return layerTypeFabricPath
	}
	if t < 0x0600 {
		// An 802.3 length field: an LLC header follows.
		return layers.LayerTypeLLC
	}
	return gopacket.LayerTypeZero
}

// hdr is the part every hand-decoded layer shares.
type hdr struct {
	payload []byte
	next    gopacket.LayerType
	st      *state
}

func (h *hdr) NextLayerType() gopacket.LayerType { return h.next }
func (h *hdr) LayerPayload() []byte              { return h.payload }

// cut records a header the snap length cut and returns the parser error.
func (h *hdr) cut(df gopacket.DecodeFeedback) error {
	df.SetTruncated()
	h.st.failWith(ReasonTruncated)
	return errEncapCut
}

// stop ends decoding without a datagram, counted for reason r.
func (h *hdr) stop(r Reason) error {
	h.st.failWith(r)
	h.next = gopacket.LayerTypeZero
	h.payload = nil
	return nil
}

// ethLayer is gopacket's Ethernet with the decoder's EtherType map, which
// knows the encapsulations gopacket does not.
type ethLayer struct {
	layers.Ethernet
}

func (l *ethLayer) NextLayerType() gopacket.LayerType {
	return etherNext(uint16(l.EthernetType))
}

// pppoeLayer is a PPPoE header (RFC 2516). Only session frames carry PPP;
// discovery frames (PADI, PADO, ...) are not IP.
type pppoeLayer struct{ hdr }

func (l *pppoeLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypePPPoE }

func (l *pppoeLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 6 {
		return l.cut(df)
	}
	if data[0] != 0x11 {
		l.st.failWith(ReasonBadLinkHeader)
		return errEncapBad
	}
	if data[1] != 0 {
		return l.stop(ReasonNotIP)
	}
	n := int(binary.BigEndian.Uint16(data[4:6]))
	l.payload = data[6:min(6+n, len(data))]
	l.next = layers.LayerTypePPP
	return nil
}

// pppLayer is a PPP header (RFC 1661): the HDLC-like address and control
// bytes 0xff 0x03 when present (RFC 1662), then a one- or two-byte
// protocol (protocol-field compression gives an odd first byte).
type pppLayer struct{ hdr }

func (l *pppLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypePPP }

func (l *pppLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	b := data
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) == 0 {
		// Address and control bytes with nothing after them: no frame.
		return l.stop(ReasonNotIP)
	}
	var proto uint16
	if b[0]&1 != 0 {
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			return l.cut(df)
		}
		proto, b = binary.BigEndian.Uint16(b), b[2:]
	}
	l.payload = b
	switch proto {
	case 0x0021:
		l.next = layers.LayerTypeIPv4
	case 0x0057:
		l.next = layers.LayerTypeIPv6
	case 0x0281, 0x0283:
		l.next = layers.LayerTypeMPLS
	case 0x00fd, 0x00fb, 0x0053, 0x0055:
		// Compressed or encrypted datagrams (CCP, ECP; MPPE in PPTP).
		return l.stop(ReasonEncrypted)
	default:
		// LCP, IPCP, authentication and the other control protocols.
		return l.stop(ReasonNotIP)
	}
	return nil
}

// chdlcLayer is Cisco HDLC framing (link type 104, and Cisco framing under
// link type 50): address 0x0f or 0x8f, control 0, then an EtherType.
type chdlcLayer struct{ hdr }

func (l *chdlcLayer) CanDecode() gopacket.LayerClass { return layerTypeCHDLC }

func (l *chdlcLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		return l.cut(df)
	}
	if data[0]&0x7f != 0x0f || data[1] != 0 {
		l.st.failWith(ReasonBadLinkHeader)
		return errEncapBad
	}
	l.payload = data[4:]
	l.next = etherNext(binary.BigEndian.Uint16(data[2:4]))
	if l.next == layers.LayerTypeLLC {
		return l.stop(ReasonNotIP)
	}
	return nil
}

// vntagLayer is Cisco's VN-Tag (EtherType 0x8926): a four-byte tag, then
// the EtherType of what follows.
type vntagLayer struct{ hdr }

func (l *vntagLayer) CanDecode() gopacket.LayerClass { return layerTypeVNTag }

func (l *vntagLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 6 {
		return l.cut(df)
	}
	l.payload = data[6:]
	l.next = etherNext(binary.BigEndian.Uint16(data[4:6]))
	return nil
}

// pbbLayer is the 802.1ah (provider backbone bridging) I-TAG, EtherType
// 0x88e7: four bytes (priority, flags, 24-bit service ID), then the
// customer's whole Ethernet frame.
type pbbLayer struct{ hdr }

func (l *pbbLayer) CanDecode() gopacket.LayerClass { return layerTypePBB }

func (l *pbbLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 4+14 {
		return l.cut(df)
	}
	l.payload = data[4:]
	l.next = layers.LayerTypeEthernet
	return nil
}

// fabricPathLayer is Cisco FabricPath (EtherType 0x8903): after the outer
// addresses and the EtherType, two bytes of forwarding tag and TTL, then
// the classic Ethernet frame.
type fabricPathLayer struct{ hdr }

func (l *fabricPathLayer) CanDecode() gopacket.LayerClass { return layerTypeFabricPath }

func (l *fabricPathLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 2+14 {
		return l.cut(df)
	}
	l.payload = data[2:]
	l.next = layers.LayerTypeEthernet
	return nil
}

// llcLayer is an 802.2 LLC header. Only SNAP (0xaa 0xaa 0x03) with an
// EtherType can carry IP; spanning tree, NetBIOS and the rest are not IP.
type llcLayer struct{ hdr }

func (l *llcLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeLLC }

func (l *llcLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 3 {
		return l.cut(df)
	}
	if data[0] != 0xaa || data[1] != 0xaa || data[2] != 0x03 {
		return l.stop(ReasonNotIP)
	}
	if len(data) < 8 {
		return l.cut(df)
	}
	l.payload = data[8:]
	l.next = etherNext(binary.BigEndian.Uint16(data[6:8]))
	if l.next == layers.LayerTypeLLC {
		return l.stop(ReasonNotIP)
	}
	return nil
}

// radiotapLayer is the radiotap header (link type 127) in front of an
// 802.11 frame. Only the flags field matters: it says whether the frame
// ends with an FCS, and whether that FCS failed.
type radiotapLayer struct{ hdr }

func (l *radiotapLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeRadioTap }

func (l *radiotapLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		return l.cut(df)
	}
	hlen := int(binary.LittleEndian.Uint16(data[2:4]))
	if data[0] != 0 || hlen < 8 {
		l.st.failWith(ReasonBadLinkHeader)
		return errEncapBad
	}
	if hlen > len(data) {
		return l.cut(df)
	}
	present := binary.LittleEndian.Uint32(data[4:8])
	off := 8
	// Extended presence bitmaps follow while bit 31 is set.
	for word := present; word&(1<<31) != 0; {
		if off+4 > hlen {
			l.st.failWith(ReasonBadLinkHeader)
			return errEncapBad
		}
		word = binary.LittleEndian.Uint32(data[off:])
		off += 4
	}
	var flags byte
	if present&1 != 0 { // TSFT: eight bytes, aligned to eight
		off = (off+7)&^7 + 8
	}
	if present&2 != 0 {
		if off >= hlen {
			l.st.failWith(ReasonBadLinkHeader)
			return errEncapBad
		}
		flags = data[off]
	}
	frame := data[hlen:]
	if flags&0x40 != 0 {
		// The radio received the frame with a failed FCS: its bytes
		// cannot be trusted.
		l.st.failWith(ReasonBadLinkHeader)
		return errEncapBad
	}
	if flags&0x10 != 0 && len(frame) >= 4 {
		frame = frame[:len(frame)-4]
	}
	l.payload = frame
	l.next = layers.LayerTypeDot11
	return nil
}

// dot11Layer is an IEEE 802.11 MAC header. Only data frames that carry
// data (not the null-function subtypes) hold an LLC header; management and
// control frames are not IP, and protected (WEP/WPA) data cannot be read.
// Of an A-MSDU only the first subframe is decoded; the others are counted
// (ReasonAMSDUSubframe).
type dot11Layer struct{ hdr }

func (l *dot11Layer) CanDecode() gopacket.LayerClass { return layers.LayerTypeDot11 }

func (l *dot11Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 2 {
		return l.cut(df)
	}
	fc0, fc1 := data[0], data[1]
	if fc0&0x03 != 0 {
		// Protocol version other than 0.
		l.st.failWith(ReasonBadLinkHeader)
		return errEncapBad
	}
	if (fc0>>2)&0x03 != 2 {
		return l.stop(ReasonNotIP)
	}
	subtype := fc0 >> 4
	if subtype&0x04 != 0 {
		return l.stop(ReasonNotIP) // null function: no frame body
	}
	if fc1&0x40 != 0 {
		return l.stop(ReasonEncrypted)
	}
	n := 24
	if fc1&0x03 == 0x03 {
		n += 6 // four-address frame (WDS, mesh)
	}
	amsdu := false
	if subtype&0x08 != 0 {
		if len(data) < n+2 {
			return l.cut(df)
		}
		amsdu = data[n]&0x80 != 0
		n += 2
		if fc1&0x80 != 0 {
			n += 4 // HT control
		}
	}
	if len(data) < n {
		return l.cut(df)
	}
	body := data[n:]
	if amsdu {
		// Subframe header: destination, source, length, then LLC.
		if len(body) < 14 {
			return l.cut(df)
		}
		sub := int(binary.BigEndian.Uint16(body[12:14]))
		l.st.amsduMore = amsduSubframesAfter(body, sub)
		body = body[14:min(14+sub, len(body))]
	}
	l.payload = body
	l.next = layers.LayerTypeLLC
	return nil
}

// amsduSubframesAfter counts the subframes that follow an A-MSDU's first,
// whose body is sub bytes (IEEE 802.11-2020 9.3.2.2.2: each subframe but
// the last is padded to a multiple of four octets). A header that does
// not fit ends the count: the rest of the frame is not a subframe.
func amsduSubframesAfter(body []byte, sub int) int {
	n := 0
	for off := 14 + sub; ; n++ {
		off = (off + 3) &^ 3
		if off+14 > len(body) {
			return n
		}
		off += 14 + int(binary.BigEndian.Uint16(body[off+12:off+14]))
		if off > len(body) {
			return n + 1 // cut by the snap length: a subframe all the same
		}
	}
}

// erspan3Layer is the ERSPAN type III header (GRE protocol 0x22eb): twelve
// bytes, eight more when the O bit announces a platform-specific
// subheader. The frame type says whether an Ethernet frame (0) or a bare IP
// packet (2) follows.
type erspan3Layer struct{ hdr }

func (l *erspan3Layer) CanDecode() gopacket.LayerClass { return layerTypeERSPAN3 }

func (l *erspan3Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 12 {
		return l.cut(df)
	}
	if data[0]>>4 != 2 {
		l.st.failWith(ReasonBadLinkHeader)
		return errEncapBad
	}
	n := 12
	if data[11]&0x01 != 0 {
		n += 8
	}
	if len(data) < n {
		return l.cut(df)
	}
	l.payload = data[n:]
	switch (data[10] >> 2) & 0x1f {
	case 0:
		l.next = layers.LayerTypeEthernet
	case 2:
		l.next = ipByVersion(l.payload)
	default:
		return l.stop(ReasonTunnelUnsupported)
	}
	return nil
}

// ipByVersion picks the IP layer by the version nibble of b.
func ipByVersion(b []byte) gopacket.LayerType {
	if len(b) > 0 {
		switch b[0] >> 4 {
		case 4:
			return layers.LayerTypeIPv4
		case 6:
			return layers.LayerTypeIPv6
		}
	}
	return gopacket.LayerTypeZero
}

// udpLayer is gopacket's UDP with the decoder's own choice of what its
// payload is: a tunnel on its port, or the end of decoding.
type udpLayer struct {
	layers.UDP
}

func (l *udpLayer) NextLayerType() gopacket.LayerType {
	sport, dport := uint16(l.SrcPort), uint16(l.DstPort)
	switch {
	case dport == portVXLAN:
		return layers.LayerTypeVXLAN
	case dport == portGeneve:
		return layers.LayerTypeGeneve
	case dport == portGREinUDP:
		return layers.LayerTypeGRE
	case dport == portGTPU || sport == portGTPU:
		return layers.LayerTypeGTPv1U
	case dport == portTeredo || sport == portTeredo:
		return layerTypeTeredo
	case dport == portAYIYA || sport == portAYIYA:
		return layerTypeAYIYA
	case looksTeredo(l.Payload):
		return layerTypeTeredo
	}
	return gopacket.LayerTypeZero
}

// looksTeredo recognises Teredo away from port 3544, between a client and
// a relay, as Zeek's protocol detection does: an IPv6 packet (after any
// authentication and origin headers) from or to the Teredo prefix
// 2001:0::/32. The first test rejects nearly every other datagram on its
// first byte, which keeps it cheap enough for the fast path.
func looksTeredo(b []byte) bool {
	if len(b) < 40 || (b[0]>>4 != 6 && b[0] != 0) {
		return false
	}
	if b[0] == 0 && b[1] == 1 {
		n := 13 + int(b[2]) + int(b[3])
		if len(b) < n+2 {
			return false
		}
		b = b[n:]
	}
	if b[0] == 0 && b[1] == 0 {
		b = b[min(8, len(b)):]
	}
	if len(b) < 40 || b[0]>>4 != 6 {
		return false
	}
	return teredoPrefix(b[8:12]) || teredoPrefix(b[24:28])
}

func teredoPrefix(a []byte) bool {
	return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0
}

// The UDP tunnel layers below return errNotEncap, without recording a
// failure, for a payload that is not the tunnel: the datagram then stays a
// flow of its own, as any UDP datagram.

// geneveLayer is a Geneve header (RFC 8926): eight bytes and the options
// its length field counts. AWS Gateway Load Balancer and cloud traffic
// mirroring carry IP or Ethernet in it.
type geneveLayer struct {
	hdr
	udp *udpLayer
}

func (l *geneveLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeGeneve }

func (l *geneveLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 || data[0]>>6 != 0 {
		return errNotEncap
	}
	n := 8 + int(data[0]&0x3f)*4
	if len(data) < n {
		return errNotEncap
	}
	l.payload = data[n:]
	switch binary.BigEndian.Uint16(data[2:4]) {
	case 0x6558:
		l.next = layers.LayerTypeEthernet
	case 0x0800:
		l.next = layers.LayerTypeIPv4
	case 0x86dd:
		l.next = layers.LayerTypeIPv6
	default:
		return errNotEncap
	}
	l.st.enterTunnel(TunnelGeneve, uint16(l.udp.SrcPort), uint16(l.udp.DstPort))
	return nil
}

// gtpuLayer is a GTPv1-U header (3GPP TS 29.281). Only G-PDUs (message
// type 255) carry a user IP packet; the signalling messages (echo, error
// indication, tunnel status, end marker and the like) are the tunnel's
// own traffic.
type gtpuLayer struct {
	hdr
	udp *udpLayer
}

func (l *gtpuLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeGTPv1U }

func (l *gtpuLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 || data[0]>>5 != 1 || data[0]&0x10 == 0 {
		return errNotEncap
	}
	if data[1] != 0xff {
		// The path's own signalling messages (TS 29.281 table 6.1-1,
		// clauses 7.2 and 7.3): echo request and response, error
		// indication, supported extension headers notification, tunnel
		// status, end marker. They carry information elements, never a
		// T-PDU (only the G-PDU does). Their length field must cover the
		// datagram exactly, so a stray datagram on the port is not taken.
		switch data[1] {
		case 1, 2, 26, 31, 253, 254:
			if 8+int(binary.BigEndian.Uint16(data[2:4])) == len(data) {
				l.st.enterCarrier(TunnelGTPU, uint16(l.udp.SrcPort), uint16(l.udp.DstPort))
				l.next, l.payload = gopacket.LayerTypeZero, nil
				return nil
			}
		}
		return errNotEncap
	}
	end := min(8+int(binary.BigEndian.Uint16(data[2:4])), len(data))
	n := 8
	if data[0]&0x07 != 0 {
		// Sequence number, N-PDU number, next extension header type.
		n += 4
		if n > end {
			return errNotEncap
		}
		for next, hops := data[n-1], 0; next != 0; hops++ {
			if n >= end || hops == 16 {
				return errNotEncap
			}
			ext := int(data[n]) * 4
			if ext == 0 || n+ext > end {
				return errNotEncap
			}
			next = data[n+ext-1]
			n += ext
		}
	}
	l.payload = data[n:end]
	l.next = ipByVersion(l.payload)
	if l.next == gopacket.LayerTypeZero {
		return errNotEncap
	}
	l.st.enterTunnel(TunnelGTPU, uint16(l.udp.SrcPort), uint16(l.udp.DstPort))
	return nil
}

// teredoLayer is Teredo (RFC 4380): an IPv6 packet in UDP, optionally
// preceded by an authentication indicator and an origin indication. A
// payload that is not IPv6 is not Teredo; a bubble is the tunnel's own
// traffic.
type teredoLayer struct {
	hdr
	udp *udpLayer
}

func (l *teredoLayer) CanDecode() gopacket.LayerClass { return layerTypeTeredo }

func (l *teredoLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	b := data
	if len(b) >= 2 && b[0] == 0 && b[1] == 1 {
		// Authentication: type, ID and AU lengths, ID, AU, nonce (8),
		// confirmation (1).
		if len(b) < 4 {
			return errNotEncap
		}
		n := 4 + int(b[2]) + int(b[3]) + 9
		if len(b) < n {
			return errNotEncap
		}
		b = b[n:]
	}
	if len(b) >= 2 && b[0] == 0 && b[1] == 0 {
		// Origin indication: type, obfuscated port and address.
		if len(b) < 8 {
			return errNotEncap
		}
		b = b[8:]
	}
	// Indicators with nothing after them are no Teredo message: RFC 4380
	// (5.1.1) puts them before an IPv6 packet, a bubble (2.8) being the
	// smallest, and Zeek's analyzer refuses them. Such a datagram is the
	// UDP flow it is, like any other non-Teredo payload on the port.
	if len(b) < 40 || b[0]>>4 != 6 || 40+int(binary.BigEndian.Uint16(b[4:6])) > len(b) {
		return errNotEncap
	}
	if b[6] == 59 && b[4]|b[5] == 0 {
		// A bubble (RFC 4380 2.8: an IPv6 header, next header 59, no
		// payload) only opens NAT state: a Teredo packet of the tunnel
		// with no packet inside, as Zeek's Teredo analyzer takes it. Bytes after the header do not change
		// that (Zeek: Teredo_bubble_with_payload, a weird).
		return l.carrier()
	}
	l.payload = b
	l.next = layers.LayerTypeIPv6
	l.st.enterTunnel(TunnelTeredo, uint16(l.udp.SrcPort), uint16(l.udp.DstPort))
	return nil
}

// carrier ends decoding of a Teredo packet that carries no IPv6 packet.
func (l *teredoLayer) carrier() error {
	l.st.enterCarrier(TunnelTeredo, uint16(l.udp.SrcPort), uint16(l.udp.DstPort))
	l.next, l.payload = gopacket.LayerTypeZero, nil
	return nil
}

// ayiyaLayer is AYIYA ("anything in anything", used by SixXS tunnel
// brokers): an eight-byte header, an identity of 2^n bytes and a
// signature, then the packet. Only the forward opcode carries one; a
// plausible header with next header "none", an opcode that forwards
// nothing and nothing after it is the tunnel's own traffic (heartbeats).
type ayiyaLayer struct {
	hdr
	udp *udpLayer
}

func (l *ayiyaLayer) CanDecode() gopacket.LayerClass { return layerTypeAYIYA }

func (l *ayiyaLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		return errNotEncap
	}
	n := 8 + 1<<(data[0]>>4) + int(data[1]>>4)*4
	if len(data) < n {
		return errNotEncap
	}
	if data[3] == 59 && len(data) == n && ayiyaHeartbeat(data) {
		// Next header "none", nothing after the header, and a header
		// whose every field has a value the draft defines: a heartbeat
		// (opcode 0) or another message that forwards nothing. Zeek's
		// analyzer ends there too (it opens only opcode 1, forward),
		// but without looking at the other fields; here they must hold,
		// because any UDP datagram on port 5072 whose fourth byte is 59
		// and whose length matches the first two bytes would pass the
		// loose test (one RTP packet in 256 of a given size).
		l.st.enterCarrier(TunnelAYIYA, uint16(l.udp.SrcPort), uint16(l.udp.DstPort))
		l.next, l.payload = gopacket.LayerTypeZero, nil
		return nil
	}
	if data[2]&0x0f != 1 {
		return errNotEncap
	}
	l.payload = data[n:]
	switch data[3] {
	case 4:
		l.next = layers.LayerTypeIPv4
	case 41:
		l.next = layers.LayerTypeIPv6
	default:
		return errNotEncap
	}
	l.st.enterTunnel(TunnelAYIYA, uint16(l.udp.SrcPort), uint16(l.udp.DstPort))
	return nil
}

// ayiyaHeartbeat reports whether an AYIYA header (next header none,
// nothing after it) has the field values draft-massar-v6ops-ayiya-02
// section 5 defines for a message that forwards nothing.
func ayiyaHeartbeat(h []byte) bool {
	idLen, idType := h[0]>>4, h[0]&0x0f
	sigLen, hash := h[1]>>4, h[1]&0x0f
	auth, op := h[2]>>4, h[2]&0x0f
	switch {
	case idLen > 7:
		// Identities are addresses or short names (2^2 for IPv4, 2^4
		// for IPv6); a length nibble of 8 or more is a 256-byte
		// identity and the first byte of every RTP packet (version 2).
		return false
	case idType > 2:
		// None, integer, ASCII string.
		return false
	case auth > 2:
		// None, shared-secret hash, public/private key hash.
		return false
	case sigLen != ayiyaSigWords(hash):
		// The signature is the hash; undefined hash methods fail.
		return false
	case op == 1 || op == 3 || op > 7:
		// Forward and echo-request-and-forward carry a packet; 8 and
		// beyond are undefined.
		return false
	}
	return true
}

// ayiyaSigWords is the signature length in 4-byte words of an AYIYA hash
// method: none, MD5 (16 bytes), SHA-1 (20 bytes). An undefined method
// gets a length no nibble holds.
func ayiyaSigWords(hash byte) byte {
	switch hash {
	case 0:
		return 0
	case 1:
		return 4
	case 2:
		return 5
	}
	return 0xff
}

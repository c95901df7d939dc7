package decode

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The wrappers below are gopacket's own layers with a hook after a
// successful DecodeFromBytes. The DecodingLayerParser keeps one struct per
// layer type, so a second IP header (a tunnel) or a second 802.1Q tag
// overwrites the first; the hooks record what the flow needs from each
// header as the parser passes it, in the decoder's per-packet state.

var (
	errBadVersion = errors.New("IP version does not match the link's protocol type")
	errNotVXLAN   = errors.New("UDP payload is not a VXLAN header")
	errMPLSCut    = errors.New("MPLS label stack cut short")
	errMPLSDeep   = errors.New("MPLS label stack deeper than 16 entries")
)

type dot1qLayer struct {
	layers.Dot1Q
	st *state
}

func (l *dot1qLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.Dot1Q.DecodeFromBytes(data, df); err != nil {
		l.st.failWith(ReasonTruncated)
		return err
	}
	// Tags are decoded outermost first: the last one written is the
	// innermost, the customer VLAN of a QinQ stack.
	l.st.vlan = l.VLANIdentifier
	return nil
}

func (l *dot1qLayer) NextLayerType() gopacket.LayerType {
	return etherNext(uint16(l.Type))
}

type ip4Layer struct {
	layers.IPv4
	st *state
}

func (l *ip4Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) > 0 && data[0]>>4 != 4 {
		l.st.failWith(ReasonBadIPVersion)
		return errBadVersion
	}
	if err := l.IPv4.DecodeFromBytes(data, df); err != nil {
		l.st.failWith(ip4Failure(data))
		return err
	}
	st := l.st
	st.enterL3()
	l3 := &st.l3
	l3.is4 = true
	l3.src = [16]byte{10: 0xff, 11: 0xff}
	l3.dst = l3.src
	copy(l3.src[12:], l.SrcIP)
	copy(l3.dst[12:], l.DstIP)
	l3.proto = uint8(l.Protocol)
	l3.l4 = l.Payload
	l3.l4Len = int(l.Length) - int(l.IHL)*4
	l3.next = len(*st.decoded) + 1
	l3.frag = l.Flags&layers.IPv4MoreFragments != 0 || l.FragOffset != 0
	if l3.frag {
		l3.fragID = uint32(l.Id)
		l3.fragOff = int(l.FragOffset) * 8
		l3.fragMore = l.Flags&layers.IPv4MoreFragments != 0
		l3.fragProto = l3.proto
	}
	return nil
}

// ip4Failure tells a header the snap length cut from one that is wrong.
func ip4Failure(data []byte) Reason {
	if len(data) < 20 {
		return ReasonTruncated
	}
	hl := int(data[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(data[2:4]))
	if total == 0 {
		total = len(data)
	}
	if hl >= 20 && hl <= total && hl > len(data) {
		return ReasonTruncated
	}
	return ReasonBadIPHeader
}

type ip6Layer struct {
	layers.IPv6
	st *state
}

func (l *ip6Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) > 0 && data[0]>>4 != 6 {
		l.st.failWith(ReasonBadIPVersion)
		return errBadVersion
	}
	if len(data) >= 40 && data[4]|data[5] == 0 && data[6] != uint8(layers.IPProtocolIPv6HopByHop) {
		// A zero payload length without a Hop-by-Hop header announces no
		// jumbogram: the packet is its header alone. gopacket refuses it;
		// Zeek (and the hosts) read it so.
		l.IPv6 = layers.IPv6{Version: 6, NextHeader: layers.IPProtocol(data[6]), HopLimit: data[7],
			SrcIP: data[8:24], DstIP: data[24:40], BaseLayer: layers.BaseLayer{Contents: data[:40], Payload: data[40:40]}}
	} else if err := l.IPv6.DecodeFromBytes(data, df); err != nil {
		r := ReasonBadIPHeader
		if len(data) < 40 || 40+int(binary.BigEndian.Uint16(data[4:6])) > len(data) {
			r = ReasonTruncated
		}
		l.st.failWith(r)
		return err
	}
	st := l.st
	st.enterL3()
	l3 := &st.l3
	l3.is4 = false
	copy(l3.src[:], l.SrcIP)
	copy(l3.dst[:], l.DstIP)
	l3.proto = uint8(l.NextHeader)
	l3.l4Len = int(l.Length)
	if l.HopByHop != nil {
		l3.proto = uint8(l.HopByHop.NextHeader)
		l3.l4Len -= l.HopByHop.ActualLength
	}
	if l.Length == 0 {
		l3.l4Len = len(l.Payload) // jumbogram: the HopByHop length was checked against the data
	}
	l3.l4 = l.Payload
	l3.next = len(*st.decoded) + 1
	l3.frag = false
	return nil
}

// extLayer skips IPv6 Hop-by-Hop, Routing and Destination Options headers
// without decoding their options (gopacket's option structs are allocated
// per option).
type extLayer struct {
	layers.IPv6ExtensionSkipper
	st *state
}

func (l *extLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.IPv6ExtensionSkipper.DecodeFromBytes(data, df); err != nil {
		l.st.failWith(l.st.cutOrBad())
		return err
	}
	l3 := &l.st.l3
	l3.proto = uint8(l.NextHeader)
	l3.l4 = l.Payload
	l3.l4Len -= len(l.Contents)
	l3.next = len(*l.st.decoded) + 1
	return nil
}

type frag6Layer struct {
	layers.IPv6Fragment
	st *state
}

func (l *frag6Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.IPv6Fragment.DecodeFromBytes(data, df); err != nil {
		l.st.failWith(l.st.cutOrBad())
		return err
	}
	l3 := &l.st.l3
	l3.l4 = l.Payload
	l3.l4Len -= 8
	l3.next = len(*l.st.decoded) + 1
	if l.FragmentOffset == 0 && !l.MoreFragments {
		// An atomic fragment (RFC 6946) is a whole datagram: never held.
		l3.proto = uint8(l.NextHeader)
		return nil
	}
	l3.frag = true
	l3.fragID = l.Identification
	l3.fragOff = int(l.FragmentOffset) * 8
	l3.fragMore = l.MoreFragments
	l3.fragProto = uint8(l.NextHeader)
	return nil
}

type greLayer struct {
	layers.GRE
	udp *udpLayer
	st  *state
}

func (l *greLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.GRE.DecodeFromBytes(data, df); err != nil {
		l.st.failWith(l.st.cutOrBad())
		return err
	}
	if l.st.l3.proto == uint8(layers.IPProtocolUDP) {
		// GRE-in-UDP (RFC 8086): the outer flow is the UDP one.
		l.st.enterTunnel(TunnelGREinUDP, uint16(l.udp.SrcPort), uint16(l.udp.DstPort))
		return nil
	}
	kind := TunnelGRE
	switch p := uint16(l.Protocol); {
	case l.Version == 1:
		kind = TunnelPPTP
		if len(l.Payload) == 0 {
			// An acknowledgment alone (RFC 2637 4.4): the tunnel's own
			// packet, carrying no PPP frame.
			l.st.enterCarrier(kind, 0, 0)
			return nil
		}
	case p == 0x88be || p == 0x22eb:
		kind = TunnelERSPAN
	case isAruba(p):
		kind = TunnelAruba
	}
	l.st.enterTunnel(kind, 0, 0)
	return nil
}

// isAruba reports whether a GRE protocol is one of those Aruba access
// points use to carry 802.11 frames to their controller: Wireshark's set,
// 0x8200 to 0x8370 in steps of 16 and 0x9000 (Zeek registers 0x8200 to
// 0x82f0).
func isAruba(p uint16) bool {
	return p >= 0x8200 && p <= 0x8370 && p&0x0f == 0 || p == 0x9000
}

func (l *greLayer) NextLayerType() gopacket.LayerType {
	p := uint16(l.Protocol)
	switch {
	case p == 0x88be && len(l.Contents) == 4:
		// ERSPAN type I: no sequence number and no ERSPAN header, the
		// mirrored frame follows the GRE header.
		return layers.LayerTypeEthernet
	case isAruba(p):
		return layers.LayerTypeDot11
	}
	return etherNext(p)
}

type erspanLayer struct {
	layers.ERSPANII
	st *state
}

func (l *erspanLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	return l.ERSPANII.DecodeFromBytes(data, df)
}

// vxlanLayer accepts only what looks like VXLAN: gopacket picks the layer
// from either UDP port, so a client that happens to use source port 4789
// would otherwise have its payload read as a tunnel.
type vxlanLayer struct {
	layers.VXLAN
	udp *udpLayer
	st  *state
}

func (l *vxlanLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if l.udp.DstPort != 4789 || len(data) < 8 || data[0]&0x08 == 0 || data[7] != 0 {
		return errNotVXLAN
	}
	if err := l.VXLAN.DecodeFromBytes(data, df); err != nil {
		return err
	}
	l.st.enterTunnel(TunnelVXLAN, uint16(l.udp.SrcPort), uint16(l.udp.DstPort))
	return nil
}

// mplsLayer pops a whole MPLS label stack. gopacket's MPLS layer is not a
// DecodingLayer, and it guesses the payload from a global setting; here the
// first nibble after the stack decides (RFC 4385): 4 or 6 is IP, 0 a
// pseudowire control word followed by an Ethernet frame.
type mplsLayer struct {
	payload []byte
	next    gopacket.LayerType
	st      *state
}

func (l *mplsLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeMPLS }
func (l *mplsLayer) NextLayerType() gopacket.LayerType { return l.next }
func (l *mplsLayer) LayerPayload() []byte              { return l.payload }

func (l *mplsLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	off := 0
	for depth := 0; ; depth++ {
		if len(data) < off+4 {
			df.SetTruncated()
			l.st.failWith(ReasonTruncated)
			return errMPLSCut
		}
		bottom := data[off+2]&1 != 0
		off += 4
		if bottom {
			break
		}
		if depth == 15 {
			l.st.failWith(ReasonBadLinkHeader)
			return errMPLSDeep
		}
	}
	l.payload = data[off:]
	l.next = gopacket.LayerTypeZero
	if len(l.payload) == 0 {
		return nil
	}
	switch l.payload[0] >> 4 {
	case 4:
		l.next = layers.LayerTypeIPv4
	case 6:
		l.next = layers.LayerTypeIPv6
	case 0:
		if len(l.payload) >= 4 {
			l.payload = l.payload[4:]
			l.next = layers.LayerTypeEthernet
		}
	}
	return nil
}

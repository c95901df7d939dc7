package decode

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Link types gopacket names differently or not at all.
const (
	linkTypeRawOpenBSD = layers.LinkType(12)
	linkTypeRawBSD     = layers.LinkType(14)
	linkTypeNFLOG      = layers.LinkType(239)
	linkTypeCHDLC      = layers.LinkType(104)
)

// Options tune a Decoder. The zero value is ready to use.
type Options struct {
	// MaxFragDatagrams bounds the IP datagrams held for reassembly at
	// once; when full, the one idle longest is dropped (default 256, so at
	// most 256 x 64 KiB of fragment buffers).
	MaxFragDatagrams int
	// FragTimeout drops a datagram whose fragments stopped arriving, timed
	// on packet timestamps (default 30 s, Linux's ipfrag_time).
	FragTimeout time.Duration
	// IgnoreChecksums skips checksum verification, as Zeek's -C does.
	IgnoreChecksums bool
	// DeferPayloadChecksum leaves the sum over a TCP or UDP payload to
	// Packet.FinishChecksum, which the caller must call before using
	// BadChecksum: a pipeline runs it on its parallel workers.
	DeferPayloadChecksum bool
}

// Tunnel names the encapsulation a flow packet was taken out of: the
// outer IP tunnel, as Zeek's tunnel.log does. Link-layer encapsulations
// (VLAN, MPLS, PPPoE, VN-Tag, PBB, FabricPath, 802.11) are not tunnels.
type Tunnel uint8

const (
	TunnelNone     Tunnel = iota
	TunnelGRE             // GRE carrying IP or Ethernet (Transparent Ethernet Bridging)
	TunnelERSPAN          // GRE with an ERSPAN type I, II or III header: mirrored Ethernet
	TunnelVXLAN           // VXLAN on UDP 4789
	TunnelIPinIP          // IPv4 or IPv6 directly inside IPv4 or IPv6 (protocols 4 and 41, 6in4)
	TunnelGeneve          // Geneve on UDP 6081 (AWS Gateway Load Balancer, cloud traffic mirroring)
	TunnelGTPU            // GTPv1-U on UDP 2152 (mobile core user plane)
	TunnelTeredo          // Teredo on UDP 3544: IPv6 in UDP
	TunnelAYIYA           // AYIYA on UDP 5072: IPv4 or IPv6 in UDP
	TunnelPPTP            // enhanced GRE (version 1) carrying PPP, as PPTP uses it
	TunnelGREinUDP        // GRE in UDP 4754 (RFC 8086)
	TunnelAruba           // GRE carrying 802.11 frames between Aruba access points and controllers

	numTunnels
)

var tunnelNames = [numTunnels]string{
	TunnelGRE:      "gre",
	TunnelERSPAN:   "erspan",
	TunnelVXLAN:    "vxlan",
	TunnelIPinIP:   "ipip",
	TunnelGeneve:   "geneve",
	TunnelGTPU:     "gtpu",
	TunnelTeredo:   "teredo",
	TunnelAYIYA:    "ayiya",
	TunnelPPTP:     "pptp",
	TunnelGREinUDP: "gre-udp",
	TunnelAruba:    "aruba",
}

func (t Tunnel) String() string {
	if t < numTunnels {
		return tunnelNames[t]
	}
	return ""
}

// Decoder decodes frames into flow packets. It holds the reused layer
// structs and the fragment reassembly state: use one per goroutine. Only
// Stats may be called from other goroutines.
type Decoder struct {
	eth    ethLayer
	dot1q  dot1qLayer
	mpls   mplsLayer
	sll    layers.LinuxSLL
	sll2   layers.LinuxSLL2
	loop   layers.Loopback
	ip4    ip4Layer
	ip6    ip6Layer
	ext    extLayer
	frag6  frag6Layer
	tcp    layers.TCP
	udp    udpLayer
	icmp4  layers.ICMPv4
	icmp6  layers.ICMPv6
	gre    greLayer
	erspan erspanLayer
	vxlan  vxlanLayer

	pppoe      pppoeLayer
	ppp        pppLayer
	chdlc      chdlcLayer
	vntag      vntagLayer
	pbb        pbbLayer
	fabricPath fabricPathLayer
	llc        llcLayer
	radiotap   radiotapLayer
	dot11      dot11Layer
	erspan3    erspan3Layer
	geneve     geneveLayer
	gtpu       gtpuLayer
	teredo     teredoLayer
	ayiya      ayiyaLayer

	container gopacket.DecodingLayerContainer
	pEth      *gopacket.DecodingLayerParser
	pSLL      *gopacket.DecodingLayerParser
	pSLL2     *gopacket.DecodingLayerParser
	pLoop     *gopacket.DecodingLayerParser
	pPPP      *gopacket.DecodingLayerParser
	pCHDLC    *gopacket.DecodingLayerParser
	pDot11    *gopacket.DecodingLayerParser
	pRadiotap *gopacket.DecodingLayerParser
	pIP4      *gopacket.DecodingLayerParser
	pIP6      *gopacket.DecodingLayerParser
	// byProto decodes a reassembled datagram, starting at the header its
	// protocol number names.
	byProto [256]*gopacket.DecodingLayerParser

	decoded []gopacket.LayerType
	st      state
	// noFastPath sends every frame through the DecodingLayerParser, for
	// the tests that prove both paths agree.
	noFastPath  bool
	noChecksums bool
	deferSum    bool
	frag        *reassembler
	tunnels     tunnelTable
	c           counters
	lastErr     error
}

// state is what the layer hooks learned about the packet being decoded.
type state struct {
	decoded *[]gopacket.LayerType

	l3      l3info // innermost IP header decoded so far
	l3Count int
	vlan    uint16

	// tunnels are the tunnels entered, outermost first, each with the
	// number of IP headers outside it.
	tunnels  [maxTunnelDepth]tunnelLevel
	nTunnels int

	fail   Reason // why a layer failed, when failed is set
	failed bool
	// carrier: the innermost tunnel entered carries no packet (a Teredo
	// bubble, an AYIYA heartbeat, a PPTP acknowledgment): the frame is the
	// tunnel's traffic only.
	carrier bool
	defragd bool // the packet is a reassembled datagram
	// amsduMore counts the subframes of an A-MSDU after the first, which
	// are not decoded.
	amsduMore int
}

// l3info is the innermost IP header and, after any IPv6 extension headers,
// the header that follows it.
type l3info struct {
	is4      bool
	src, dst [16]byte
	proto    uint8  // protocol of the header at next
	l4       []byte // captured bytes from that header on
	l4Len    int    // their length per the IP header
	next     int    // index in decoded of that header

	frag      bool
	fragID    uint32
	fragOff   int
	fragMore  bool
	fragProto uint8
}

func (s *state) reset() {
	decoded := s.decoded
	*s = state{decoded: decoded}
}

func (s *state) failWith(r Reason) {
	if !s.failed {
		s.fail, s.failed = r, true
	}
}

// cutOrBad classifies a failing header inside the innermost IP payload.
func (s *state) cutOrBad() Reason {
	if len(s.l3.l4) < s.l3.l4Len {
		return ReasonTruncated
	}
	return ReasonBadIPHeader
}

// enterL3 is called before a decoded IP header replaces the innermost one:
// a second IP header without a tunnel header between is IP-in-IP.
func (s *state) enterL3() {
	if s.l3Count > 0 && (s.nTunnels == 0 || s.tunnels[s.nTunnels-1].depth != s.l3Count) {
		s.enterTunnel(TunnelIPinIP, 0, 0)
	}
	s.l3Count++
}

// maxTunnelDepth bounds the tunnels recorded per packet; deeper ones are
// still decoded, the packet's tunnel is then the deepest recorded.
const maxTunnelDepth = 4

// tunnelLevel is one tunnel a packet was taken out of.
type tunnelLevel struct {
	id    TunnelID
	depth int // IP headers outside the tunnel
	layer int // index in decoded of the tunnel's own header
}

// enterTunnel records a tunnel and the outer flow it rode on: the
// innermost IP header decoded so far, with the given ports.
func (s *state) enterTunnel(t Tunnel, sport, dport uint16) {
	if s.l3Count == 0 || s.nTunnels == maxTunnelDepth {
		return
	}
	lv := &s.tunnels[s.nTunnels]
	lv.id.Kind = t
	lv.id.Outer, lv.id.Dir = flow.KeyFrom16(s.l3.proto, s.l3.is4, s.l3.src, sport, s.l3.dst, dport)
	lv.depth = s.l3Count
	// The parser appends a layer after its DecodeFromBytes returns: the
	// tunnel header calling this is the next one.
	lv.layer = len(*s.decoded)
	s.nTunnels++
}

// enterCarrier records a tunnel packet that carries no inner packet: it
// counts in the tunnel's row of the tunnels table and makes no flow.
func (s *state) enterCarrier(t Tunnel, sport, dport uint16) {
	s.enterTunnel(t, sport, dport)
	s.carrier = true
}

// New returns a decoder.
func New(opts Options) *Decoder {
	if opts.MaxFragDatagrams <= 0 {
		opts.MaxFragDatagrams = 256
	}
	if opts.FragTimeout <= 0 {
		opts.FragTimeout = 30 * time.Second
	}
	d := &Decoder{decoded: make([]gopacket.LayerType, 0, 16), noChecksums: opts.IgnoreChecksums, deferSum: opts.DeferPayloadChecksum}
	st := &d.st
	st.decoded = &d.decoded
	d.dot1q.st, d.mpls.st, d.ip4.st, d.ip6.st = st, st, st, st
	d.ext.st, d.frag6.st, d.gre.st, d.erspan.st, d.vxlan.st = st, st, st, st, st
	for _, h := range []*hdr{
		&d.pppoe.hdr, &d.ppp.hdr, &d.chdlc.hdr, &d.vntag.hdr, &d.pbb.hdr, &d.fabricPath.hdr,
		&d.llc.hdr, &d.radiotap.hdr, &d.dot11.hdr, &d.erspan3.hdr,
		&d.geneve.hdr, &d.gtpu.hdr, &d.teredo.hdr, &d.ayiya.hdr,
	} {
		h.st = st
	}
	d.vxlan.udp, d.gre.udp, d.geneve.udp, d.gtpu.udp, d.teredo.udp, d.ayiya.udp = &d.udp, &d.udp, &d.udp, &d.udp, &d.udp, &d.udp
	d.frag = newReassembler(opts.MaxFragDatagrams, opts.FragTimeout, &d.c)
	d.tunnels = tunnelTable{max: maxTunnels, dropped: &d.c.tunnelsDropped}

	// A sparse container indexes decoders by layer type: the fastest
	// lookup gopacket offers. The IPv6 fragment decoder is added after the
	// extension skipper so that it takes the fragment type over from it.
	var dlc gopacket.DecodingLayerContainer = gopacket.DecodingLayerSparse(nil)
	for _, l := range []gopacket.DecodingLayer{
		&d.eth, &d.dot1q, &d.mpls, &d.sll, &d.sll2, &d.loop,
		&d.ip4, &d.ip6, &d.ext, &d.frag6,
		&d.tcp, &d.udp, &d.icmp4, &d.icmp6,
		&d.gre, &d.erspan, &d.vxlan,
		&d.pppoe, &d.ppp, &d.chdlc, &d.vntag, &d.pbb, &d.fabricPath, &d.llc, &d.radiotap, &d.dot11,
		&d.erspan3, &d.geneve, &d.gtpu, &d.teredo, &d.ayiya,
	} {
		dlc = dlc.Put(l)
	}
	d.container = dlc
	parser := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first)
		p.SetDecodingLayerContainer(dlc)
		// Application layers (and anything else unknown) end decoding
		// without an error: the flow needs no more.
		p.IgnoreUnsupported = true
		return p
	}
	d.pEth = parser(layers.LayerTypeEthernet)
	d.pSLL = parser(layers.LayerTypeLinuxSLL)
	d.pSLL2 = parser(layers.LayerTypeLinuxSLL2)
	d.pLoop = parser(layers.LayerTypeLoopback)
	d.pPPP = parser(layers.LayerTypePPP)
	d.pCHDLC = parser(layerTypeCHDLC)
	d.pDot11 = parser(layers.LayerTypeDot11)
	d.pRadiotap = parser(layers.LayerTypeRadioTap)
	d.pIP4 = parser(layers.LayerTypeIPv4)
	d.pIP6 = parser(layers.LayerTypeIPv6)
	for _, proto := range []layers.IPProtocol{
		layers.IPProtocolTCP, layers.IPProtocolUDP, layers.IPProtocolICMPv4, layers.IPProtocolICMPv6,
		layers.IPProtocolGRE, layers.IPProtocolIPv4, layers.IPProtocolIPv6,
		layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination,
	} {
		d.byProto[proto] = parser(proto.LayerType())
	}
	return d
}

// Stats returns a snapshot of the decoder's counters. It is safe to call
// from any goroutine.
func (d *Decoder) Stats() Stats { return d.c.snapshot() }

// Skipped returns how many frames were skipped for each reason. It is safe
// to call from any goroutine.
func (d *Decoder) Skipped() [NumReasons]uint64 { return d.c.snapshot().Skipped }

// LastError is the underlying error of the last skip, when there was one
// (gopacket's message for a malformed header, or the reassembler's): for
// logging a sample, not for counting. It is nil after a skip that has no
// more detail than its Reason.
func (d *Decoder) LastError() error { return d.lastErr }

// Decode decodes one frame of the given link type, captured at ts (unix
// nanoseconds) with original length wireLen, into p. It returns nil when p
// holds a flow packet, or the Reason the frame was skipped. p.Payload
// aliases data or the decoder's reassembly buffer until the next call.
func (d *Decoder) Decode(linkType layers.LinkType, data []byte, ts int64, wireLen int, p *Packet) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = d.skip(ReasonInternal, fmt.Errorf("decode panic: %v", r))
		}
	}()
	*p = Packet{}
	if linkType == layers.LinkTypeEthernet && !d.noFastPath && d.decodeFast(data, ts, wireLen, p) {
		return nil
	}
	d.st.reset()

	var parser *gopacket.DecodingLayerParser
	switch linkType {
	case layers.LinkTypeEthernet:
		parser = d.pEth
	case layers.LinkTypeLinuxSLL:
		parser = d.pSLL
	case layers.LinkTypeLinuxSLL2:
		parser = d.pSLL2
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		parser = d.pLoop
	case layers.LinkTypePPP:
		parser = d.pPPP
	case layers.LinkTypePPP_HDLC:
		// RFC 1662 framing starts with 0xff; Cisco's with 0x0f or 0x8f.
		parser = d.pPPP
		if len(data) > 0 && data[0]&0x7f == 0x0f {
			parser = d.pCHDLC
		}
	case linkTypeCHDLC:
		parser = d.pCHDLC
	case layers.LinkTypeIEEE802_11:
		parser = d.pDot11
	case layers.LinkTypeIEEE80211Radio:
		parser = d.pRadiotap
	case layers.LinkTypeRaw, linkTypeRawOpenBSD, linkTypeRawBSD, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		if parser = d.rawIP(data); parser == nil {
			return d.skip(ReasonBadIPVersion, nil)
		}
	case linkTypeNFLOG:
		payload, ok := nflogPayload(data)
		if !ok {
			return d.skip(ReasonBadLinkHeader, nil)
		}
		if payload == nil {
			return d.skip(ReasonNotIP, nil)
		}
		if parser = d.rawIP(payload); parser == nil {
			return d.skip(ReasonBadIPVersion, nil)
		}
		data = payload
	default:
		return d.skip(ReasonUnsupportedLinkType, nil)
	}
	perr := parser.DecodeLayers(data, &d.decoded)
	if cap(d.decoded) > 256 {
		// Only a hostile frame (thousands of stacked tags) grows it this far.
		d.decoded = make([]gopacket.LayerType, 0, 16)
	}
	return d.finish(parser, perr, data, ts, wireLen, p)
}

// rawIP picks the parser for a bare IP packet by its version nibble, as
// libpcap's raw link types require.
func (d *Decoder) rawIP(data []byte) *gopacket.DecodingLayerParser {
	if len(data) == 0 {
		return d.pIP4 // fails as truncated
	}
	switch data[0] >> 4 {
	case 4:
		return d.pIP4
	case 6:
		return d.pIP6
	}
	return nil
}

func (d *Decoder) skip(r Reason, err error) error {
	d.c.skipped[r].Add(1)
	d.lastErr = err
	return r
}

// finish turns what the parser decoded into a flow packet: the innermost IP
// header that decoded, and the transport header after it.
func (d *Decoder) finish(parser *gopacket.DecodingLayerParser, perr error, data []byte, ts int64, wireLen int, p *Packet) error {
	st := &d.st
	if st.amsduMore > 0 {
		d.c.skipped[ReasonAMSDUSubframe].Add(uint64(st.amsduMore))
	}
	if st.l3Count == 0 {
		return d.skip(d.noIPReason(parser, perr, data), perr)
	}
	l3 := &st.l3
	if l3.frag {
		return d.reassemble(ts, wireLen, p)
	}
	if st.carrier {
		// The outer datagram is the tunnel's own (Zeek logs it in the
		// tunnel's outer connection, here the tunnels table): it is counted
		// at every tunnel level, not made a flow the classifier would
		// judge as traffic of its own.
		return d.tunnelOnly(ReasonTunnelControl, ts, wireLen)
	}

	// Only a packet whose IP header came out of a tunnel is inside it.
	n := st.nTunnels
	for n > 0 && st.tunnels[n-1].depth >= st.l3Count {
		n--
	}
	if n < st.nTunnels {
		// The innermost tunnel was opened but no IP header came out of
		// it. A frame that is not IP (ARP, STP, LLDP on a mirror or an
		// overlay) or cannot be read (MPPE, protected 802.11) is still
		// the tunnel's traffic: counted in its row, never a flow of the
		// carrier datagram the classifier would judge. When the tunnel's
		// inner header failed instead, the datagram carrying it stands.
		if r, ok := d.innerNotIP(&st.tunnels[st.nTunnels-1], parser, perr); ok {
			return d.tunnelOnly(r, ts, wireLen)
		}
	}

	p.Time = ts
	p.WireLen = uint32(wireLen)
	p.VLAN = st.vlan
	if n > 0 {
		in := &st.tunnels[n-1].id
		p.Tunnel, p.OuterKey, p.OuterDir = in.Kind, in.Outer, in.Dir
		d.c.tunneled.Add(1)
		for i := range n {
			if s := d.tunnels.add(&st.tunnels[i].id, ts, wireLen); s != nil && i == n-1 {
				// Name the tunnel the same way for every flow it carries,
				// whichever way their first packets went.
				p.OuterDir = s.OrigDir
			}
		}
	}

	next := gopacket.LayerTypeZero
	if l3.next < len(d.decoded) {
		next = d.decoded[l3.next]
	}
	d.checkSlow(p, next)
	switch next {
	case layers.LayerTypeTCP:
		hdr := d.tcp.Contents
		d.emit(p, flow.ProtoTCP, uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort))
		p.TCPFlags = hdr[13]
		p.Seq = d.tcp.Seq
		tcpAckWindow(p, hdr)
		p.Payload = d.tcp.Payload
		p.PayloadLen = clampLen(l3.l4Len - len(hdr))
		return nil
	case layers.LayerTypeUDP:
		d.emit(p, flow.ProtoUDP, uint16(d.udp.SrcPort), uint16(d.udp.DstPort))
		p.Payload = d.udp.Payload
		p.PayloadLen = clampLen(l3.l4Len - 8)
		return nil
	case layers.LayerTypeICMPv4:
		tc := d.icmp4.TypeCode
		d.emitICMP(p, flow.ProtoICMP, tc.Type(), tc.Code())
		p.Payload = d.icmp4.Payload
		p.PayloadLen = clampLen(l3.l4Len - 8)
		if ICMPError(flow.ProtoICMP, tc.Type()) {
			d.quote(p, d.icmp4.Payload)
		}
		return nil
	case layers.LayerTypeICMPv6:
		tc := d.icmp6.TypeCode
		d.emitICMP(p, flow.ProtoICMPv6, tc.Type(), tc.Code())
		p.Payload = d.icmp6.Payload
		p.PayloadLen = clampLen(l3.l4Len - 4)
		if ICMPError(flow.ProtoICMPv6, tc.Type()) && len(d.icmp6.Payload) >= 4 {
			// Unused, MTU or pointer word, then the offending packet.
			d.quote(p, d.icmp6.Payload[4:])
		}
		return nil
	}
	return d.transportByHand(p)
}

// tunnelOnly counts a frame that makes no flow in the row of every tunnel
// around it, and skips it for reason r.
func (d *Decoder) tunnelOnly(r Reason, ts int64, wireLen int) error {
	st := &d.st
	for i := range st.nTunnels {
		d.tunnels.add(&st.tunnels[i].id, ts, wireLen)
	}
	return d.skip(r, nil)
}

// innerNotIP reports why a frame inside the tunnel lv, from which no IP
// header came out, is not IP. ok is false when the tunnel's own header
// names a payload the decoder does not follow (tunnel-unsupported), or a
// header inside the tunnel is cut or malformed: that damage is then
// recorded as the packet's failure, which an IP-level tunnel's packet is
// skipped for (a UDP tunnel's datagram stands as a flow).
func (d *Decoder) innerNotIP(lv *tunnelLevel, parser *gopacket.DecodingLayerParser, perr error) (r Reason, ok bool) {
	st := &d.st
	if st.failed {
		// A layer inside the tunnel stopped decoding: a control frame of
		// PPP or 802.11, other LLC, a PPPoE discovery frame, or an
		// encrypted one.
		return st.fail, st.fail == ReasonNotIP || st.fail == ReasonEncrypted
	}
	last := len(d.decoded) - 1
	if last < 0 || perr == nil && last <= lv.layer {
		// Decoding ended at the tunnel header itself.
		return 0, false
	}
	if l, ok := d.container.Decoder(d.decoded[last]); perr == nil && ok {
		if _, follows := d.container.Decoder(l.NextLayerType()); !follows {
			// An EtherType (or SNAP or PPP protocol) the decoder does
			// not follow.
			return ReasonNotIP, true
		}
	}
	// A header inside the tunnel failed, or the frame ended where the
	// next header the decoder reads should start.
	r = ReasonTruncated
	if perr != nil && !parser.Truncated && len(st.l3.l4) >= st.l3.l4Len {
		r = ReasonBadLinkHeader
	}
	st.failWith(r)
	return r, false
}

// transportByHand handles an innermost IP header whose transport header the
// parser did not decode: cut by the snap length, malformed, a tunnel the
// decoder cannot open, or a protocol without ports.
func (d *Decoder) transportByHand(p *Packet) error {
	st := &d.st
	l3 := &st.l3
	b := l3.l4
	cut := len(b) < l3.l4Len
	bad := func() error {
		if cut {
			return d.skip(ReasonTruncated, nil)
		}
		return d.skip(ReasonBadL4Header, nil)
	}
	switch l3.proto {
	case flow.ProtoTCP:
		// Ports, sequence number and flags sit in the first 14 bytes;
		// gopacket refuses a header whose options were cut, but the flow
		// needs none of them.
		if len(b) < 14 {
			return bad()
		}
		off := int(b[12]>>4) * 4
		if off < 20 || (off > len(b) && !cut) {
			return d.skip(ReasonBadL4Header, nil)
		}
		d.emit(p, flow.ProtoTCP, binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]))
		p.TCPFlags = b[13]
		p.Seq = binary.BigEndian.Uint32(b[4:])
		tcpAckWindow(p, b)
		p.PayloadLen = clampLen(l3.l4Len - off)
		if off <= len(b) {
			p.Payload = b[off:]
		} else {
			d.markTruncated(p)
		}
		return nil
	case flow.ProtoUDP:
		if len(b) < 4 || (len(b) >= 8 && !cut) {
			// With eight bytes present gopacket only fails on a length
			// field below 8.
			return bad()
		}
		d.emit(p, flow.ProtoUDP, binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]))
		p.PayloadLen = clampLen(l3.l4Len - 8)
		if len(b) < 8 {
			d.markTruncated(p)
		} else {
			p.Payload = b[8:]
		}
		return nil
	case flow.ProtoICMP, flow.ProtoICMPv6:
		if len(b) < 2 || !cut {
			return bad()
		}
		d.emitICMP(p, l3.proto, b[0], b[1])
		d.markTruncated(p)
		return nil
	case flow.ProtoSCTP:
		if len(b) < 4 || (len(b) < 12 && !cut) {
			return bad()
		}
		d.emit(p, flow.ProtoSCTP, binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]))
		p.PayloadLen = clampLen(l3.l4Len - 12)
		if len(b) >= 12 {
			p.Payload = b[12:]
		} else {
			d.markTruncated(p)
		}
		return nil
	case uint8(layers.IPProtocolGRE), uint8(layers.IPProtocolIPv4), uint8(layers.IPProtocolIPv6),
		uint8(layers.IPProtocolEtherIP), uint8(layers.IPProtocolMPLSInIP):
		if st.failed {
			return d.skip(st.fail, nil)
		}
		if cut {
			return d.skip(ReasonTruncated, nil)
		}
		return d.skip(ReasonTunnelUnsupported, nil)
	case uint8(layers.IPProtocolIPv6HopByHop), uint8(layers.IPProtocolIPv6Routing),
		uint8(layers.IPProtocolIPv6Fragment), uint8(layers.IPProtocolIPv6Destination):
		if !l3.is4 {
			// The extension header itself failed to decode.
			if st.failed {
				return d.skip(st.fail, nil)
			}
			return bad()
		}
	}
	// Any other protocol (ESP, OSPF, IGMP, PIM, VRRP, ...) is a flow
	// between two hosts without ports.
	d.emit(p, l3.proto, 0, 0)
	p.Payload = b
	p.PayloadLen = clampLen(l3.l4Len)
	return nil
}

func (d *Decoder) markTruncated(p *Packet) {
	p.Truncated = true
	d.c.truncated.Add(1)
}

func (d *Decoder) emit(p *Packet, proto uint8, sport, dport uint16) {
	l3 := &d.st.l3
	p.Dir = p.Key.SetFrom16(proto, l3.is4, &l3.src, sport, &l3.dst, dport)
}

func (d *Decoder) emitICMP(p *Packet, proto, typ, code uint8) {
	sport, dport, _ := flow.ICMPPorts(proto, typ, code)
	d.emit(p, proto, sport, dport)
	p.ICMPType, p.ICMPCode = typ, code
}

// noIPReason explains a frame in which no IP header decoded.
func (d *Decoder) noIPReason(parser *gopacket.DecodingLayerParser, perr error, data []byte) Reason {
	if d.st.failed {
		return d.st.fail
	}
	if perr != nil {
		if parser.Truncated || len(d.decoded) == 0 && len(data) < 20 {
			return ReasonTruncated
		}
		return ReasonBadLinkHeader
	}
	if len(d.decoded) == 0 {
		return ReasonTruncated
	}
	last, _ := d.container.Decoder(d.decoded[len(d.decoded)-1])
	switch last.NextLayerType() {
	case layers.LayerTypeIPv4, layers.LayerTypeIPv6, layers.LayerTypeDot1Q, layers.LayerTypeMPLS, layers.LayerTypeEthernet:
		// The frame ended where the next header should start.
		return ReasonTruncated
	}
	return ReasonNotIP
}

// reassemble hands the innermost IP header's fragment to the reassembler
// and, when it completes a datagram, decodes the datagram's transport.
func (d *Decoder) reassemble(ts int64, wireLen int, p *Packet) error {
	st := &d.st
	l3 := &st.l3
	if st.defragd {
		return d.skip(ReasonFragmentError, errFragNested)
	}
	f := fragment{
		key:     fragKey{src: l3.src, dst: l3.dst, id: l3.fragID, is4: l3.is4},
		offset:  l3.fragOff,
		more:    l3.fragMore,
		proto:   l3.fragProto,
		data:    l3.l4,
		wantLen: l3.l4Len,
		ts:      ts,
		wireLen: wireLen,
	}
	if l3.is4 {
		f.key.proto = l3.fragProto
	}
	dg, err := d.frag.add(&f)
	switch {
	case err == errFragCut && l3.fragOff == 0:
		// The capture holds only the start of a first fragment: nothing can
		// be rebuilt, but its transport header is there. Decode it as it
		// stands, as tshark does, rather than lose the packet.
		st.defragd = true
		l3.frag = false
		l3.proto = l3.fragProto
		l3.next = 0
		return d.decodeTransport(l3.l4, ts, wireLen, p)
	case err == errFragCut:
		return d.skip(ReasonTruncated, err)
	case err != nil:
		return d.skip(ReasonFragmentError, err)
	case dg == nil:
		return d.skip(ReasonFragmentPending, nil)
	}

	st.defragd = true
	l3.frag = false
	l3.proto = dg.proto
	l3.l4 = dg.data
	l3.l4Len = len(dg.data)
	l3.next = 0
	if err := d.decodeTransport(dg.data, ts, dg.wireLen, p); err != nil {
		return err
	}
	p.Reassembled = true
	p.Fragments = uint16(min(dg.frames, 0xffff))
	return nil
}

// decodeTransport decodes b, the payload of the innermost IP header, from
// the header its protocol names: the second pass over a reassembled
// datagram or an unreassembled first fragment.
func (d *Decoder) decodeTransport(b []byte, ts int64, wireLen int, p *Packet) error {
	var perr error
	d.decoded = d.decoded[:0]
	parser := d.byProto[d.st.l3.proto]
	if parser != nil {
		perr = parser.DecodeLayers(b, &d.decoded)
	}
	return d.finish(parser, perr, b, ts, wireLen, p)
}

func clampLen(n int) uint32 {
	if n < 0 {
		return 0
	}
	return uint32(n)
}

// SupportsLinkType reports whether Decode understands frames of link type
// lt. Sources use it to turn a capture of an undecodable link type into one
// clear file-level error instead of a skip counter per frame.
func SupportsLinkType(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeLoop,
		layers.LinkTypePPP, layers.LinkTypePPP_HDLC, linkTypeCHDLC,
		layers.LinkTypeIEEE802_11, layers.LinkTypeIEEE80211Radio,
		layers.LinkTypeRaw, linkTypeRawOpenBSD, linkTypeRawBSD, layers.LinkTypeIPv4, layers.LinkTypeIPv6,
		linkTypeNFLOG:
		return true
	}
	return false
}

package synth

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// gen is one Generate run: the schedule, the random source, and the layer
// structs and buffer reused for every packet.
type gen struct {
	opts  Options
	rng   *rand.Rand
	site  *site
	bw    *bufio.Writer
	w     packetWriter
	stats Stats
	err   error

	now int64 // time of the packets being written, Unix ns
	// sipFlows remembers host pairs with UDP SIP: bounded by the site's size.
	sipFlows map[[2]*host]struct{}
	queue    []event
	seq      uint64

	buf     gopacket.SerializeBuffer
	side    gopacket.SerializeBuffer // quoted datagrams and fragment bodies
	ser     gopacket.SerializeOptions
	stack   []gopacket.SerializableLayer
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcpHdr  layers.TCP
	udpHdr  layers.UDP
	icmp4   layers.ICMPv4
	arp     layers.ARP
	payload gopacket.Payload

	synOpts    []layers.TCPOption
	dnsCache   [len(dnsNames)]dnsMessages
	scratch    []byte
	smbSession uint64
	flooder    *host  // the syn-flood's spoofed source, rewritten per SYN
	floodNext  uint32 // counter behind the spoofed sources
	bcast      net.HardwareAddr
	zeroMAC    net.HardwareAddr
}

// DSCP code points in the IP TOS byte.
const (
	tosBestEffort = 0
	tosSignalling = 0x60 // CS3
	tosVoice      = 0xb8 // EF
)

func (g *gen) initLayers() {
	g.side = gopacket.NewSerializeBufferExpectedSize(64, 1600)
	g.ser = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	g.stack = make([]gopacket.SerializableLayer, 0, 6)
	g.synOpts = []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
		{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
		{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{8}},
		{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
		{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
	}
	g.bcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	g.zeroMAC = net.HardwareAddr{0, 0, 0, 0, 0, 0}
}

func (g *gen) macOf(h *host) net.HardwareAddr {
	if h.wan {
		return g.site.router
	}
	return h.mac
}

// link pushes the Ethernet (and 802.1Q) header for a frame between two hosts.
func (g *gen) link(src, dst *host, et layers.EthernetType) {
	g.stack = g.stack[:0]
	g.eth = layers.Ethernet{SrcMAC: g.macOf(src), DstMAC: g.macOf(dst), EthernetType: et}
	g.stack = append(g.stack, &g.eth)
	if vlan := max(src.vlan, dst.vlan); vlan != 0 {
		g.eth.EthernetType = layers.EthernetTypeDot1Q
		prio := uint8(0)
		if vlan == voiceVLAN {
			prio = 5
		}
		g.dot1q = layers.Dot1Q{Priority: prio, VLANIdentifier: vlan, Type: et}
		g.stack = append(g.stack, &g.dot1q)
	}
}

// network pushes link and IP headers and returns the IP layer for the
// transport checksum.
func (g *gen) network(src, dst *host, proto layers.IPProtocol, tos uint8, df bool) gopacket.NetworkLayer {
	if src.addr.Is4() != dst.addr.Is4() {
		panic(fmt.Sprintf("synth: %v -> %v mixes address families", src.addr, dst.addr))
	}
	if src.addr.Is4() {
		g.link(src, dst, layers.EthernetTypeIPv4)
		src.ipID++
		g.ip4 = layers.IPv4{Version: 4, IHL: 5, TOS: tos, Id: src.ipID, TTL: src.ttl, Protocol: proto, SrcIP: src.ip, DstIP: dst.ip}
		if df {
			g.ip4.Flags = layers.IPv4DontFragment
		}
		g.stack = append(g.stack, &g.ip4)
		return &g.ip4
	}
	g.link(src, dst, layers.EthernetTypeIPv6)
	g.ip6 = layers.IPv6{Version: 6, TrafficClass: tos, HopLimit: src.ttl, NextHeader: proto, SrcIP: src.ip, DstIP: dst.ip}
	g.stack = append(g.stack, &g.ip6)
	return &g.ip6
}

// flush serializes the stack and writes the frame at the current time.
func (g *gen) flush(src, dst *host) {
	if g.err != nil {
		return
	}
	if err := gopacket.SerializeLayers(g.buf, g.ser, g.stack...); err != nil {
		g.err = fmt.Errorf("synth: serialize packet %d: %w", g.stats.Packets+1, err)
		return
	}
	g.write(g.buf.Bytes(), src.wan || dst.wan)
}

func (g *gen) write(data []byte, wan bool) {
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, g.now).UTC(), CaptureLength: len(data), Length: len(data)}
	if wan && g.opts.WANInterface && g.opts.Format == PCAPNG {
		ci.InterfaceIndex = 1
	}
	if err := g.w.WritePacket(ci, data); err != nil {
		g.err = fmt.Errorf("synth: write packet %d: %w", g.stats.Packets+1, err)
		return
	}
	if g.stats.Packets == 0 {
		g.stats.First = ci.Timestamp
	}
	g.stats.Last = ci.Timestamp
	g.stats.Packets++
	g.stats.Bytes += int64(len(data))
}

func (g *gen) udp(src, dst *host, sport, dport uint16, tos uint8, payload []byte) {
	nl := g.network(src, dst, layers.IPProtocolUDP, tos, false)
	g.udpHdr = layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	g.udpHdr.SetNetworkLayerForChecksum(nl)
	g.payload = payload
	g.stack = append(g.stack, &g.udpHdr, &g.payload)
	g.flush(src, dst)
}

// TCP flag sets.
const (
	fin = 1 << iota
	syn
	rst
	psh
	ack
)

func (g *gen) tcp(src, dst *host, sport, dport uint16, seq, ackNum uint32, flags uint8, window uint16, payload []byte) {
	nl := g.network(src, dst, layers.IPProtocolTCP, tosBestEffort, true)
	g.tcpHdr = layers.TCP{
		SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport),
		Seq: seq, Ack: ackNum, Window: window,
		FIN: flags&fin != 0, SYN: flags&syn != 0, RST: flags&rst != 0, PSH: flags&psh != 0, ACK: flags&ack != 0,
	}
	if flags&syn != 0 {
		g.tcpHdr.Options = g.synOpts
	}
	g.tcpHdr.SetNetworkLayerForChecksum(nl)
	g.payload = payload
	g.stack = append(g.stack, &g.tcpHdr, &g.payload)
	g.flush(src, dst)
}

// udpFragmented sends one UDP datagram as IPv4 fragments that fit a
// 1500-byte MTU, the way a kernel sends an oversized SIP INVITE.
func (g *gen) udpFragmented(src, dst *host, sport, dport uint16, tos uint8, payload []byte) {
	// The UDP header and checksum cover the whole datagram, so build it
	// once and cut it up.
	g.ip4 = layers.IPv4{Version: 4, IHL: 5, Protocol: layers.IPProtocolUDP, SrcIP: src.ip, DstIP: dst.ip}
	g.udpHdr = layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	g.udpHdr.SetNetworkLayerForChecksum(&g.ip4)
	g.payload = payload
	if err := gopacket.SerializeLayers(g.side, g.ser, &g.udpHdr, &g.payload); err != nil {
		g.err = fmt.Errorf("synth: serialize datagram: %w", err)
		return
	}
	datagram := g.side.Bytes()
	const maxBody = (1500 - 20) &^ 7
	src.ipID++
	id := src.ipID
	for off := 0; off < len(datagram); off += maxBody {
		end := min(off+maxBody, len(datagram))
		g.link(src, dst, layers.EthernetTypeIPv4)
		g.ip4 = layers.IPv4{Version: 4, IHL: 5, TOS: tos, Id: id, TTL: src.ttl, Protocol: layers.IPProtocolUDP,
			FragOffset: uint16(off / 8), SrcIP: src.ip, DstIP: dst.ip}
		if end < len(datagram) {
			g.ip4.Flags = layers.IPv4MoreFragments
		}
		g.payload = datagram[off:end]
		g.stack = append(g.stack, &g.ip4, &g.payload)
		g.flush(src, dst)
	}
}

// portUnreachable answers a UDP datagram from src to dst with an ICMP
// destination unreachable (port) from dst, quoting the datagram's IP header
// and as much of it as fits in 576 bytes, as RFC 1812 asks.
func (g *gen) portUnreachable(src, dst *host, sport, dport uint16, tos uint8, payload []byte) {
	g.ip4 = layers.IPv4{Version: 4, IHL: 5, TOS: tos, Id: src.ipID, TTL: src.ttl - 1, Protocol: layers.IPProtocolUDP, SrcIP: src.ip, DstIP: dst.ip}
	g.udpHdr = layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	g.udpHdr.SetNetworkLayerForChecksum(&g.ip4)
	g.payload = payload
	if err := gopacket.SerializeLayers(g.side, g.ser, &g.ip4, &g.udpHdr, &g.payload); err != nil {
		g.err = fmt.Errorf("synth: serialize quoted datagram: %w", err)
		return
	}
	quoted := g.side.Bytes()
	quoted = quoted[:min(len(quoted), 576-20-8)]
	g.network(dst, src, layers.IPProtocolICMPv4, 0xc0, false)
	g.icmp4 = layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort)}
	g.payload = quoted
	g.stack = append(g.stack, &g.icmp4, &g.payload)
	g.flush(dst, src)
}

func (g *gen) echo(src, dst *host, reply bool, id, seq uint16, payload []byte) {
	g.network(src, dst, layers.IPProtocolICMPv4, 0, false)
	t := uint8(layers.ICMPv4TypeEchoRequest)
	if reply {
		t = layers.ICMPv4TypeEchoReply
	}
	g.icmp4 = layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(t, 0), Id: id, Seq: seq}
	g.payload = payload
	g.stack = append(g.stack, &g.icmp4, &g.payload)
	g.flush(src, dst)
}

// arpWhoHas broadcasts a request from src for target; arpReply answers it.
func (g *gen) arpWhoHas(src, target *host) {
	g.arpFrame(src, target, g.bcast, g.zeroMAC, layers.ARPRequest)
}

func (g *gen) arpReply(src, to *host) {
	g.arpFrame(src, to, to.mac, to.mac, layers.ARPReply)
}

// arpFrame writes an ARP message from src about target, sent to the
// Ethernet address ethDst, with dstHW as its target hardware address.
func (g *gen) arpFrame(src, target *host, ethDst, dstHW net.HardwareAddr, op uint16) {
	g.stack = g.stack[:0]
	g.eth = layers.Ethernet{SrcMAC: src.mac, DstMAC: ethDst, EthernetType: layers.EthernetTypeARP}
	g.arp = layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: op, SourceHwAddress: src.mac, SourceProtAddress: src.ip.To4(), DstHwAddress: dstHW, DstProtAddress: target.ip.To4()}
	g.stack = append(g.stack, &g.eth, &g.arp)
	g.flush(src, target)
}

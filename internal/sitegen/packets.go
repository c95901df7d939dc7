package sitegen

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// mac gives every address a stable, locally administered MAC address.
func mac(a netip.Addr) net.HardwareAddr {
	b := a.As16()
	return net.HardwareAddr{0x02, 0x5e, b[12], b[13], b[14], b[15]}
}

// emit serializes one packet from src to dst at time at.
func (g *gen) emit(at time.Time, src, dst netip.Addr, l4 gopacket.SerializableLayer, payload []byte) {
	var nl gopacket.NetworkLayer
	eth := &layers.Ethernet{SrcMAC: mac(src), DstMAC: mac(dst)}
	var l3 gopacket.SerializableLayer
	if src.Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		ip := &layers.IPv4{Version: 4, TTL: 64, Flags: layers.IPv4DontFragment, Id: uint16(len(g.pkts)),
			SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		l3 = ip
		nl = ip
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		l3 = ip
		nl = ip
	}
	switch l := l4.(type) {
	case *layers.TCP:
		l.SetNetworkLayerForChecksum(nl)
		if ip, ok := nl.(*layers.IPv4); ok {
			ip.Protocol = layers.IPProtocolTCP
		} else {
			nl.(*layers.IPv6).NextHeader = layers.IPProtocolTCP
		}
	case *layers.UDP:
		l.SetNetworkLayerForChecksum(nl)
		if ip, ok := nl.(*layers.IPv4); ok {
			ip.Protocol = layers.IPProtocolUDP
		} else {
			nl.(*layers.IPv6).NextHeader = layers.IPProtocolUDP
		}
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	ls := []gopacket.SerializableLayer{eth, l3, l4}
	if len(payload) > 0 {
		ls = append(ls, gopacket.Payload(payload))
	}
	// Serialization of these layers only fails on a programming error.
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		panic("sitegen: serialize: " + err.Error())
	}
	g.pkts = append(g.pkts, packet{at: at, seq: len(g.pkts), data: buf.Bytes()})
}

// payload returns n bytes of printable filler.
func (g *gen) payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + g.rng.IntN(26))
	}
	return b
}

// tcp writes a whole TCP connection: three-way handshake, two or three
// request/response exchanges, each segment acknowledged, and a FIN from
// each side, the client closing first.
func (g *gen) tcp(c, s netip.Addr, cport, sport uint16) {
	at := g.next()
	rtt := time.Duration(200+g.rng.IntN(3000)) * time.Microsecond
	cseq, sseq := g.rng.Uint32(), g.rng.Uint32()
	seg := func(from, to netip.Addr, fp, tp uint16, seq, ack uint32, syn, ackf, psh, fin bool, data []byte) {
		t := &layers.TCP{SrcPort: layers.TCPPort(fp), DstPort: layers.TCPPort(tp), Seq: seq, Ack: ack,
			SYN: syn, ACK: ackf, PSH: psh, FIN: fin, Window: 64240}
		g.emit(at, from, to, t, data)
	}
	toS := func(syn, ackf, psh, fin bool, data []byte) {
		seg(c, s, cport, sport, cseq, sseq, syn, ackf, psh, fin, data)
		cseq += uint32(len(data))
		if syn || fin {
			cseq++
		}
		at = at.Add(rtt / 2)
	}
	toC := func(syn, ackf, psh, fin bool, data []byte) {
		seg(s, c, sport, cport, sseq, cseq, syn, ackf, psh, fin, data)
		sseq += uint32(len(data))
		if syn || fin {
			sseq++
		}
		at = at.Add(rtt / 2)
	}
	toS(true, false, false, false, nil)
	toC(true, true, false, false, nil)
	toS(false, true, false, false, nil)
	for range 2 + g.rng.IntN(2) {
		toS(false, true, true, false, g.payload(40+g.rng.IntN(300)))
		toC(false, true, true, false, g.payload(60+g.rng.IntN(900)))
		toS(false, true, false, false, nil)
		at = at.Add(time.Duration(g.rng.IntN(50)) * time.Millisecond)
	}
	toS(false, true, false, true, nil)
	toC(false, true, false, true, nil)
	toS(false, true, false, false, nil)
	g.truth.Flows++
}

// udp writes n request/response exchanges on one 5-tuple.
func (g *gen) udp(c, s netip.Addr, cport, sport uint16, n int) {
	at := g.next()
	for range n {
		g.emit(at, c, s, &layers.UDP{SrcPort: layers.UDPPort(cport), DstPort: layers.UDPPort(sport)}, g.payload(20+g.rng.IntN(200)))
		at = at.Add(time.Duration(300+g.rng.IntN(2000)) * time.Microsecond)
		g.emit(at, s, c, &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(cport)}, g.payload(20+g.rng.IntN(400)))
		at = at.Add(time.Duration(10+g.rng.IntN(500)) * time.Millisecond)
	}
	g.truth.Flows++
}

// rtp writes a symmetric RTP stream: one G.711 packet every 20 ms each
// way between the two media ports.
func (g *gen) rtp(c, s netip.Addr, cport, sport uint16) {
	at := g.next()
	ssrcC, ssrcS := g.rng.Uint32(), g.rng.Uint32()
	seqC, seqS := uint16(g.rng.Uint32()), uint16(g.rng.Uint32())
	tsC, tsS := g.rng.Uint32(), g.rng.Uint32()
	for i := range g.opt.MediaPackets {
		g.emit(at, c, s, &layers.UDP{SrcPort: layers.UDPPort(cport), DstPort: layers.UDPPort(sport)}, rtpPacket(seqC+uint16(i), tsC+uint32(160*i), ssrcC, i == 0))
		g.emit(at.Add(3*time.Millisecond), s, c, &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(cport)}, rtpPacket(seqS+uint16(i), tsS+uint32(160*i), ssrcS, i == 0))
		at = at.Add(20 * time.Millisecond)
	}
	g.truth.Flows++
}

// rtpPacket is an RTP header (RFC 3550: version 2, payload type 0, PCMU)
// and 160 bytes of silence.
func rtpPacket(seq uint16, ts, ssrc uint32, marker bool) []byte {
	b := make([]byte, 12+160)
	b[0] = 0x80
	if marker {
		b[1] = 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	for i := 12; i < len(b); i++ {
		b[i] = 0xff
	}
	return b
}

// dns writes an A query of name to the resolver and its answer.
func (g *gen) dns(c netip.Addr, name string) {
	g.query(c, resolver, g.ephemeral(c), name)
}

// dnsTo writes a lookup to a site's own DNS server (an entry on port 53).
func (g *gen) dnsTo(c, server netip.Addr, port uint16) {
	g.query(c, server, port, fmt.Sprintf("svc%d.site.example", g.rng.IntN(100)))
}

func (g *gen) query(c, server netip.Addr, port uint16, name string) {
	at := g.next()
	id := uint16(g.rng.Uint32())
	q := layers.DNSQuestion{Name: []byte(name), Type: layers.DNSTypeA, Class: layers.DNSClassIN}
	query := &layers.DNS{ID: id, RD: true, OpCode: layers.DNSOpCodeQuery, Questions: []layers.DNSQuestion{q}}
	g.emitDNS(at, c, server, port, 53, query)
	ans := layers.DNSResourceRecord{Name: []byte(name), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 300,
		IP: webSites[g.rng.IntN(len(webSites))].AsSlice()}
	resp := &layers.DNS{ID: id, QR: true, RD: true, RA: true, OpCode: layers.DNSOpCodeQuery,
		Questions: []layers.DNSQuestion{q}, Answers: []layers.DNSResourceRecord{ans}}
	g.emitDNS(at.Add(time.Duration(500+g.rng.IntN(5000))*time.Microsecond), server, c, 53, port, resp)
	g.truth.Flows++
}

func (g *gen) emitDNS(at time.Time, src, dst netip.Addr, sport, dport uint16, d *layers.DNS) {
	buf := gopacket.NewSerializeBuffer()
	if err := d.SerializeTo(buf, gopacket.SerializeOptions{FixLengths: true}); err != nil {
		panic("sitegen: serialize DNS: " + err.Error())
	}
	g.emit(at, src, dst, &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}, buf.Bytes())
}

// ntp writes an NTPv4 client request (mode 3) and the server's reply
// (mode 4).
func (g *gen) ntp(c netip.Addr) {
	at := g.next()
	port := g.ephemeral(c)
	req := make([]byte, 48)
	req[0] = 0x23
	binary.BigEndian.PutUint64(req[40:], g.rng.Uint64())
	resp := make([]byte, 48)
	resp[0], resp[1] = 0x24, 2
	copy(resp[24:32], req[40:48])
	binary.BigEndian.PutUint64(resp[32:], g.rng.Uint64())
	binary.BigEndian.PutUint64(resp[40:], g.rng.Uint64())
	g.emit(at, c, ntpServer, &layers.UDP{SrcPort: layers.UDPPort(port), DstPort: 123}, req)
	g.emit(at.Add(time.Millisecond), ntpServer, c, &layers.UDP{SrcPort: 123, DstPort: layers.UDPPort(port)}, resp)
	g.truth.Flows++
}

//go:build linux

package netnstest

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TunnelPackets is how many datagrams each tunnel stream carries in each
// direction: more than the eBPF sensor's default first packets (16), so
// that a sensor counting tunnel packets in the kernel, under the outer
// 5-tuple, shows.
const TunnelPackets = 24

// Outer UDP ports of the tunnel streams. Geneve is recognised on the
// destination port, so each side sends from its own source port to 6081;
// GTP-U runs between the two 2152s; Teredo between a client and a relay
// runs on neither port 3544 and is known by its IPv6 addresses alone.
const (
	GenevePortA = 44001
	GenevePortB = 44002
	TeredoPortA = 44003
	TeredoPortB = 44004
	// A GTP-U peer on a port of its own (44005), whose gateway answers
	// from 2152: the tunnel port is then only the source; and a Teredo
	// client (44006) and relay (44007) whose packets to the client carry
	// an origin indication before the IPv6 header.
	GTPUClientPort = 44005
	TeredoOriginA  = 44006
	TeredoOriginB  = 44007
	GenevePort     = 6081
	GTPUPort       = 2152
	innerPayload   = 120
)

// TunnelStream is one tunnel the generator made: the UDP flow inside it
// and the outer UDP connections that carried it.
type TunnelStream struct {
	Kind  string       // the decoder's name: "geneve", "gtpu", "teredo"
	Inner [2]Direction // the inner flow, A's side first
	Outer []Direction  // the outer UDP flow directions, A's first
}

// Inner addresses of the tunnelled flows (never routed: only the tunnel
// headers travel on the link).
var (
	innerA4 = netip.MustParseAddr("10.201.0.1")
	innerB4 = netip.MustParseAddr("10.201.0.2")
	// Teredo: a client address in 2001:0::/32 and a native IPv6 peer.
	innerA6 = netip.MustParseAddr("2001:0:4136:e378:8000:63bf:3fff:fdd2")
	innerB6 = netip.MustParseAddr("2001:db8::2")
)

// TunnelTraffic sends TunnelPackets datagrams each way through the UDP
// tunnels the decoder opens: Geneve carrying Ethernet, GTP-U carrying
// IPv4 (between two 2152s, and from another port to 2152), and Teredo on
// ports other than 3544 carrying IPv6 (bare, and behind an origin
// indication). Each inner
// flow is UDP. Both namespaces listen on the tunnel ports so that no
// ICMP port unreachable comes back. It returns the streams it made; the
// exchange is bounded by a 5 s deadline.
func (p *Pair) TunnelTraffic() ([]TunnelStream, error) {
	deadline := time.Now().Add(5 * time.Second)
	ap := netip.AddrPortFrom
	type side struct {
		ns   NS
		addr netip.Addr
		mac  net.HardwareAddr
	}
	a, b := side{p.A, p.AddrA, p.MACA}, side{p.B, p.AddrB, p.MACB}
	listen := func(s side, port uint16) (*net.UDPConn, error) {
		var c *net.UDPConn
		err := s.ns.Do(func() (err error) {
			c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(ap(s.addr, port)))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("listen on %d in %s: %w", port, s.ns.Name, err)
		}
		_ = c.SetDeadline(deadline)
		return c, nil
	}
	var conns []*net.UDPConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	open := func(s side, port uint16) (*net.UDPConn, error) {
		c, err := listen(s, port)
		if err == nil {
			conns = append(conns, c)
		}
		return c, err
	}
	// Each stream: per side, the socket it sends from and the outer
	// destination port; the encapsulation of a payload from one side.
	type end struct {
		conn  *net.UDPConn
		dport uint16
	}
	type stream struct {
		kind   string
		ends   [2]end
		inner  [2]netip.AddrPort
		encap  func(from int, inner []byte) ([]byte, error)
		innerL func(from int, payload []byte) ([]byte, error)
	}
	var streams []stream

	// Geneve: a source port per side, both sending to 6081.
	gA, err := open(a, GenevePortA)
	if err != nil {
		return nil, err
	}
	gB, err := open(b, GenevePortB)
	if err != nil {
		return nil, err
	}
	for _, s := range []side{a, b} {
		c, err := open(s, GenevePort)
		if err != nil {
			return nil, err
		}
		go drainUDP(c)
	}
	ethInner := [2]net.HardwareAddr{{0x02, 0xfb, 0xd0, 0, 0, 1}, {0x02, 0xfb, 0xd0, 0, 0, 2}}
	geneveInner := [2]netip.AddrPort{ap(innerA4, 5004), ap(innerB4, 5006)}
	streams = append(streams, stream{
		kind:  "geneve",
		ends:  [2]end{{gA, GenevePort}, {gB, GenevePort}},
		inner: geneveInner,
		innerL: func(from int, payload []byte) ([]byte, error) {
			return serialize(
				&layers.Ethernet{SrcMAC: ethInner[from], DstMAC: ethInner[1-from], EthernetType: layers.EthernetTypeIPv4},
				geneveInner[from], geneveInner[1-from], payload)
		},
		encap: func(_ int, inner []byte) ([]byte, error) {
			return serializeRaw(&layers.Geneve{Protocol: layers.EthernetTypeTransparentEthernetBridging, VNI: 0x0a0d1}, inner)
		},
	})

	// GTP-U: both sides on 2152, one outer connection.
	tA, err := open(a, GTPUPort)
	if err != nil {
		return nil, err
	}
	tB, err := open(b, GTPUPort)
	if err != nil {
		return nil, err
	}
	gtpInner := [2]netip.AddrPort{ap(innerA4, 6004), ap(innerB4, 6006)}
	streams = append(streams, stream{
		kind:  "gtpu",
		ends:  [2]end{{tA, GTPUPort}, {tB, GTPUPort}},
		inner: gtpInner,
		innerL: func(from int, payload []byte) ([]byte, error) {
			return serialize(nil, gtpInner[from], gtpInner[1-from], payload)
		},
		encap: func(from int, inner []byte) ([]byte, error) {
			teid := [2]uint32{0x0a0d1001, 0x0a0d1002}[from]
			return serializeRaw(&layers.GTPv1U{Version: 1, ProtocolType: 1, MessageType: 255, TEID: teid}, inner)
		},
	})

	// Teredo between a client and a relay: IPv6 right in the UDP payload.
	rA, err := open(a, TeredoPortA)
	if err != nil {
		return nil, err
	}
	rB, err := open(b, TeredoPortB)
	if err != nil {
		return nil, err
	}
	teredoInner := [2]netip.AddrPort{ap(innerA6, 7004), ap(innerB6, 7006)}
	streams = append(streams, stream{
		kind:  "teredo",
		ends:  [2]end{{rA, TeredoPortB}, {rB, TeredoPortA}},
		inner: teredoInner,
		innerL: func(from int, payload []byte) ([]byte, error) {
			return serialize(nil, teredoInner[from], teredoInner[1-from], payload)
		},
		encap: func(_ int, inner []byte) ([]byte, error) { return inner, nil },
	})

	// GTP-U from a port of its own to a gateway's 2152: the gateway's
	// answers have the tunnel port as their source only.
	cC, err := open(a, GTPUClientPort)
	if err != nil {
		return nil, err
	}
	clientInner := [2]netip.AddrPort{ap(innerA4, 7008), ap(innerB4, 7010)}
	streams = append(streams, stream{
		kind:  "gtpu",
		ends:  [2]end{{cC, GTPUPort}, {tB, GTPUClientPort}},
		inner: clientInner,
		innerL: func(from int, payload []byte) ([]byte, error) {
			return serialize(nil, clientInner[from], clientInner[1-from], payload)
		},
		encap: func(from int, inner []byte) ([]byte, error) {
			teid := [2]uint32{0x0a0d2001, 0x0a0d2002}[from]
			return serializeRaw(&layers.GTPv1U{Version: 1, ProtocolType: 1, MessageType: 255, TEID: teid}, inner)
		},
	})

	// Teredo off 3544 whose packets to the client carry an origin
	// indication (RFC 4380 5.1.1: 0x0000, then the origin's port and
	// IPv4 address, each inverted) before the IPv6 header.
	oA, err := open(a, TeredoOriginA)
	if err != nil {
		return nil, err
	}
	oB, err := open(b, TeredoOriginB)
	if err != nil {
		return nil, err
	}
	originInner := [2]netip.AddrPort{ap(innerA6, 7012), ap(innerB6, 7014)}
	origin := []byte{0, 0, ^byte(TeredoOriginB >> 8), ^byte(TeredoOriginB & 0xff)}
	for _, x := range p.AddrB.As4() {
		origin = append(origin, ^x)
	}
	streams = append(streams, stream{
		kind:  "teredo",
		ends:  [2]end{{oA, TeredoOriginB}, {oB, TeredoOriginA}},
		inner: originInner,
		innerL: func(from int, payload []byte) ([]byte, error) {
			return serialize(nil, originInner[from], originInner[1-from], payload)
		},
		encap: func(from int, inner []byte) ([]byte, error) {
			if from == 1 {
				return append(append([]byte(nil), origin...), inner...), nil
			}
			return inner, nil
		},
	})

	// Both directions of every stream, alternating, so that each tunnel
	// is a conversation.
	payload := make([]byte, innerPayload)
	for i := range TunnelPackets {
		for _, st := range streams {
			for from := range 2 {
				payload[0] = byte(i)
				in, err := st.innerL(from, payload)
				if err != nil {
					return nil, fmt.Errorf("%s inner packet: %w", st.kind, err)
				}
				out, err := st.encap(from, in)
				if err != nil {
					return nil, fmt.Errorf("%s header: %w", st.kind, err)
				}
				to := [2]side{b, a}[from]
				if _, err := st.ends[from].conn.WriteToUDPAddrPort(out, ap(to.addr, st.ends[from].dport)); err != nil {
					return nil, fmt.Errorf("%s: %w", st.kind, err)
				}
			}
		}
	}

	var out []TunnelStream
	for _, st := range streams {
		ts := TunnelStream{Kind: st.kind}
		ts.Inner[0] = Direction{17, st.inner[0], st.inner[1], TunnelPackets}
		ts.Inner[1] = Direction{17, st.inner[1], st.inner[0], TunnelPackets}
		for from, s := range [2]side{a, b} {
			to := [2]side{b, a}[from]
			src := ap(s.addr, uint16(st.ends[from].conn.LocalAddr().(*net.UDPAddr).Port))
			ts.Outer = append(ts.Outer, Direction{17, src, ap(to.addr, st.ends[from].dport), TunnelPackets})
		}
		out = append(out, ts)
	}
	// Let the last datagrams cross the link.
	time.Sleep(100 * time.Millisecond)
	return out, nil
}

// serialize builds an IP packet (with eth in front when not nil) carrying
// a UDP datagram from src to dst, checksums computed.
func serialize(eth *layers.Ethernet, src, dst netip.AddrPort, payload []byte) ([]byte, error) {
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	var ip gopacket.NetworkLayer
	if src.Addr().Is4() {
		ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP,
			SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		if eth != nil {
			eth.EthernetType = layers.EthernetTypeIPv4
		}
		ip = ip4
	} else {
		ip = &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
			SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, err
	}
	ls := []gopacket.SerializableLayer{}
	if eth != nil {
		ls = append(ls, eth)
	}
	ls = append(ls, ip.(gopacket.SerializableLayer), udp, gopacket.Payload(payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// serializeRaw puts a tunnel header in front of inner.
func serializeRaw(hdr gopacket.SerializableLayer, inner []byte) ([]byte, error) {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, hdr, gopacket.Payload(inner)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Package wiretest writes small captures for tests: a client and a server
// exchanging chosen payloads over UDP or over a TCP connection with its
// handshake and close, with valid checksums, and the payloads tests most
// often need (a TLS ClientHello, a DNS name). Tests use it where a real
// capture cannot hold the bytes they need, such as hostile strings.
package wiretest

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Writer writes Ethernet/IPv4 frames to a pcap file, one millisecond
// apart.
type Writer struct {
	w  *pcapgo.Writer
	at time.Time
}

// NewWriter writes a pcap file header to out; frames start at start.
func NewWriter(out io.Writer, start time.Time) (*Writer, error) {
	w := pcapgo.NewWriterNanos(out)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("pcap header: %w", err)
	}
	return &Writer{w: w, at: start}, nil
}

// Frame writes one packet from src to dst carrying payload: a TCP segment
// when tcp is not nil (its ports and window are set here), else a UDP
// datagram.
func (w *Writer) Frame(src, dst netip.AddrPort, tcp *layers.TCP, payload []byte) error {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	var l4 gopacket.SerializableLayer
	if tcp != nil {
		ip.Protocol = layers.IPProtocolTCP
		tcp.SrcPort, tcp.DstPort, tcp.Window = layers.TCPPort(src.Port()), layers.TCPPort(dst.Port()), 65535
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			return err
		}
		l4 = tcp
	} else {
		ip.Protocol = layers.IPProtocolUDP
		udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			return err
		}
		l4 = udp
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, l4, gopacket.Payload(payload)); err != nil {
		return fmt.Errorf("frame %v -> %v: %w", src, dst, err)
	}
	w.at = w.at.Add(time.Millisecond)
	data := buf.Bytes()
	return w.w.WritePacket(gopacket.CaptureInfo{Timestamp: w.at, CaptureLength: len(data), Length: len(data)}, data)
}

// maxSegment is the payload of one TCP segment Exchange writes.
const maxSegment = 1400

// Exchange writes a conversation: messages alternate from client to server
// and back, starting with the client; empty ones are skipped. Over TCP it
// is one connection: handshake, each message in segments the peer
// acknowledges, then FINs from both sides.
func (w *Writer) Exchange(tcp bool, client, server netip.AddrPort, messages ...[]byte) error {
	if !tcp {
		for i, m := range messages {
			if len(m) == 0 {
				continue
			}
			src, dst := client, server
			if i%2 == 1 {
				src, dst = server, client
			}
			if err := w.Frame(src, dst, nil, m); err != nil {
				return err
			}
		}
		return nil
	}
	seq := [2]uint32{1000, 5000} // next sequence number of client, server
	ends := [2]netip.AddrPort{client, server}
	send := func(from int, seg *layers.TCP, payload []byte) error {
		seg.Seq, seg.Ack = seq[from], seq[1-from]
		return w.Frame(ends[from], ends[1-from], seg, payload)
	}
	if err := send(0, &layers.TCP{SYN: true}, nil); err != nil {
		return err
	}
	seq[0]++
	if err := send(1, &layers.TCP{SYN: true, ACK: true}, nil); err != nil {
		return err
	}
	seq[1]++
	if err := send(0, &layers.TCP{ACK: true}, nil); err != nil {
		return err
	}
	for i, m := range messages {
		from := i % 2
		for len(m) > 0 {
			n := min(len(m), maxSegment)
			if err := send(from, &layers.TCP{ACK: true, PSH: true}, m[:n]); err != nil {
				return err
			}
			seq[from] += uint32(n)
			m = m[n:]
			if err := send(1-from, &layers.TCP{ACK: true}, nil); err != nil {
				return err
			}
		}
	}
	for from := range 2 {
		if err := send(from, &layers.TCP{FIN: true, ACK: true}, nil); err != nil {
			return err
		}
		seq[from]++
	}
	return send(0, &layers.TCP{ACK: true}, nil)
}

// DNSName is name in DNS wire form: its dot-separated labels, each
// behind its length, then the root.
func DNSName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(name, ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// ClientHello is a TLS 1.3 ClientHello record offering sni and one ALPN
// protocol, alpn.
func ClientHello(sni, alpn string) []byte {
	u16 := func(b []byte, v int) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }
	var ext []byte
	sniList := append(append([]byte{0}, u16(nil, len(sni))...), sni...)
	ext = u16(ext, 0)
	ext = u16(ext, len(sniList)+2)
	ext = u16(ext, len(sniList))
	ext = append(ext, sniList...)
	ext = u16(ext, 16)
	ext = u16(ext, len(alpn)+3)
	ext = u16(ext, len(alpn)+1)
	ext = append(ext, byte(len(alpn)))
	ext = append(ext, alpn...)
	ext = u16(ext, 43) // supported_versions: TLS 1.3
	ext = append(ext, 0, 3, 2, 3, 4)
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0)                // session id
	body = append(body, 0, 2, 0x13, 0x01) // TLS_AES_128_GCM_SHA256
	body = append(body, 1, 0)             // null compression
	body = u16(body, len(ext))
	body = append(body, ext...)
	hs := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append(append([]byte{0x16, 3, 1}, u16(nil, len(hs))...), hs...)
}

// ServerHello is a TLS record holding a ServerHello that negotiates
// version (0x0303 for TLS 1.2) and cipher, with no extensions.
func ServerHello(version, cipher uint16) []byte {
	body := binary.BigEndian.AppendUint16(nil, version)
	body = append(body, make([]byte, 32)...)
	body = append(body, 0) // session id
	body = binary.BigEndian.AppendUint16(body, cipher)
	body = append(body, 0) // null compression
	hs := append([]byte{2, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append(append([]byte{0x16, 3, 3}, binary.BigEndian.AppendUint16(nil, uint16(len(hs)))...), hs...)
}

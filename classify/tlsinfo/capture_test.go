package tlsinfo

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Test helpers that turn the real captures in testdata/pcaps/tls into byte
// streams: a minimal per-direction TCP reassembly (order by sequence number,
// drop retransmitted bytes, stop at a hole) that is enough for handshakes.

const captureDir = "../../testdata/pcaps/tls"

type segment struct {
	seq     uint32
	payload []byte
}

type halfStream struct {
	isn     uint32
	haveSYN bool
	segs    []segment
}

// bytes concatenates the direction's payload in sequence order up to the
// first hole.
func (h *halfStream) bytes() []byte {
	if len(h.segs) == 0 {
		return nil
	}
	base := h.isn + 1
	if !h.haveSYN {
		base = h.segs[0].seq
		for _, s := range h.segs {
			if int32(s.seq-base) < 0 {
				base = s.seq
			}
		}
	}
	segs := slices.Clone(h.segs)
	slices.SortStableFunc(segs, func(a, b segment) int {
		return int(int32(a.seq-base)) - int(int32(b.seq-base))
	})
	var out []byte
	for _, s := range segs {
		rel := int(int32(s.seq - base))
		if rel > len(out) {
			break
		}
		if end := rel + len(s.payload); end > len(out) {
			out = append(out, s.payload[len(out)-rel:]...)
		}
	}
	return out
}

type tcpConn struct {
	client, server halfStream
	clientAddr     string
	decided        bool
}

type capture struct {
	conns     []*tcpConn
	datagrams [][]byte // UDP payloads in capture order
}

func readCapture(t testing.TB, name string) *capture {
	t.Helper()
	f, err := os.Open(filepath.Join(captureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var (
		src  source
		link layers.LinkType
	)
	if strings.HasSuffix(name, ".pcapng") {
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		src, link = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		src, link = r, r.LinkType()
	}
	c := &capture{}
	byKey := map[string]*tcpConn{}
	for {
		data, _, err := src.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pkt := gopacket.NewPacket(data, link, gopacket.Default)
		net := pkt.NetworkLayer()
		if net == nil {
			continue
		}
		if udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			c.datagrams = append(c.datagrams, udp.Payload)
			continue
		}
		tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			continue
		}
		src := net.NetworkFlow().Src().String() + ":" + tcp.SrcPort.String()
		dst := net.NetworkFlow().Dst().String() + ":" + tcp.DstPort.String()
		key := src + "|" + dst
		if dst < src {
			key = dst + "|" + src
		}
		conn := byKey[key]
		if conn == nil {
			conn = &tcpConn{}
			byKey[key] = conn
			c.conns = append(c.conns, conn)
		}
		if !conn.decided {
			// The SYN sender is the client; without a handshake in the
			// capture, the first sender is.
			conn.clientAddr, conn.decided = src, true
			if tcp.SYN && tcp.ACK {
				conn.clientAddr = dst
			}
		}
		half := &conn.server
		if src == conn.clientAddr {
			half = &conn.client
		}
		if tcp.SYN {
			half.isn, half.haveSYN = tcp.Seq, true
		}
		if len(tcp.Payload) > 0 {
			half.segs = append(half.segs, segment{tcp.Seq, bytes.Clone(tcp.Payload)})
		}
	}
	return c
}

// clientHellos finds every ClientHello in a client byte stream: it walks the
// records and parses each handshake record that starts a ClientHello, as a
// HelloRetryRequest makes the client send a second one after a
// ChangeCipherSpec.
func clientHellos(t testing.TB, stream []byte) []*ClientHello {
	t.Helper()
	var out []*ClientHello
	for off := 0; off < len(stream); {
		h := new(ClientHello)
		err := ParseClientHello(stream[off:], h)
		if err == nil {
			out = append(out, h)
			off += h.End
			continue
		}
		if !errors.Is(err, ErrNotTLS) && !errors.Is(err, ErrUnexpectedMessage) {
			t.Errorf("client stream offset %d: %v", off, err)
		}
		_, end, rerr := recordHeader(stream, off)
		if rerr != nil {
			break
		}
		off = end
	}
	return out
}

package bench

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// Streams describes the RTP-like traffic of RTPFrames.
type Streams struct {
	// Count is the number of concurrent streams, one flow each (default 500).
	Count int
	// FrameLen is each Ethernet frame's length without FCS (default 200:
	// G.711 with 20 ms packetisation is 214, G.729 is 74).
	FrameLen int
	// SrcMAC and DstMAC go into every frame. A DstMAC that is not the
	// receiver's makes the frames look like mirror-port traffic: captured,
	// then dropped by the receiver's IP stack without an answer.
	SrcMAC, DstMAC net.HardwareAddr
}

// Stream addresses: phones 10.77.x.y send to one media server, each stream
// to its own even port, as a media server allocates them.
var (
	phoneBase   = netip.MustParseAddr("10.77.0.1")
	mediaServer = netip.MustParseAddr("10.78.0.10")
)

const (
	phonePort     = 16384
	mediaPortBase = 20000
	rtpHeaderLen  = 12
	headersLen    = 14 + 20 + 8 + rtpHeaderLen
	maxStreams    = 20000 // keeps ports and addresses in range
)

// RTPFrames holds one prebuilt Ethernet/IPv4/UDP/RTP frame per stream.
// Next hands them out round-robin and advances the stream's RTP sequence
// number and timestamp, as a phone sending 20 ms G.711 frames would.
type RTPFrames struct {
	frames [][]byte
	next   int
}

// NewRTPFrames builds the frames of s.
func NewRTPFrames(s Streams) (*RTPFrames, error) {
	if s.Count == 0 {
		s.Count = 500
	}
	if s.FrameLen == 0 {
		s.FrameLen = 200
	}
	switch {
	case s.Count < 0 || s.Count > maxStreams:
		return nil, fmt.Errorf("rtp frames: %d streams: want 1..%d", s.Count, maxStreams)
	case s.FrameLen < 60 || s.FrameLen > 1514:
		return nil, fmt.Errorf("rtp frames: frame length %d: want 60..1514", s.FrameLen)
	case len(s.SrcMAC) != 6 || len(s.DstMAC) != 6:
		return nil, fmt.Errorf("rtp frames: source and destination MAC addresses must be Ethernet addresses")
	}
	f := &RTPFrames{frames: make([][]byte, s.Count)}
	phone := phoneBase.As4()
	base := binary.BigEndian.Uint32(phone[:])
	for i := range f.frames {
		var src [4]byte
		binary.BigEndian.PutUint32(src[:], base+uint32(i))
		f.frames[i] = rtpFrame(s, netip.AddrFrom4(src), uint16(mediaPortBase+2*i), uint32(i))
	}
	return f, nil
}

func rtpFrame(s Streams, src netip.Addr, dport uint16, ssrc uint32) []byte {
	b := make([]byte, s.FrameLen)
	copy(b[0:], s.DstMAC)
	copy(b[6:], s.SrcMAC)
	binary.BigEndian.PutUint16(b[12:], 0x0800)

	ip := b[14:34]
	ip[0] = 0x45
	ip[1] = 0xb8 // DSCP EF, as voice is marked
	binary.BigEndian.PutUint16(ip[2:], uint16(s.FrameLen-14))
	ip[6] = 0x40 // don't fragment
	ip[8] = 64
	ip[9] = 17
	srcIP, dstIP := src.As4(), mediaServer.As4()
	copy(ip[12:], srcIP[:])
	copy(ip[16:], dstIP[:])
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))

	udp := b[34:42]
	binary.BigEndian.PutUint16(udp[0:], phonePort)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(s.FrameLen-34))
	// Checksum 0: none, allowed for UDP over IPv4; the payload changes
	// with every packet and nothing on the path checks it.

	rtp := b[42:headersLen]
	rtp[0] = 0x80 // version 2
	rtp[1] = 0    // PCMU
	binary.BigEndian.PutUint32(rtp[8:], 0x5eed0000|ssrc)
	for i := headersLen; i < len(b); i++ {
		b[i] = 0xff // PCMU silence
	}
	return b
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// Len is the number of streams.
func (f *RTPFrames) Len() int { return len(f.frames) }

// Next returns the next stream's frame with its RTP sequence number and
// timestamp advanced. The frame is valid until Next has gone round all
// streams once more.
func (f *RTPFrames) Next() []byte {
	b := f.frames[f.next]
	f.next++
	if f.next == len(f.frames) {
		f.next = 0
	}
	rtp := b[42:headersLen]
	binary.BigEndian.PutUint16(rtp[2:], binary.BigEndian.Uint16(rtp[2:])+1)
	binary.BigEndian.PutUint32(rtp[4:], binary.BigEndian.Uint32(rtp[4:])+160)
	return b
}

package synth

import (
	"encoding/binary"
	"math"
	"time"
)

// RTP payload types of the offered codecs (RFC 3551) and the packetization.
const (
	ptPCMU         = 0
	ptPCMA         = 8
	ptEvent        = 101
	rtpHeaderLen   = 12
	g711Payload    = 160 // 20 ms at 8000 samples/s, one byte a sample
	packetInterval = 20 * time.Millisecond
	rtcpInterval   = 5 * time.Second
	ntpUnixOffset  = 2208988800 // seconds from 1900 to 1970
)

// rtpStream is one direction of a call's media: an RTP v2 packet every
// 20 ms with a G.711 payload (RFC 3550 section 5.1). Its packet buffer is
// reused; only the header fields change.
type rtpStream struct {
	src, dst     *host
	sport, dport uint16
	ssrc         uint32
	seq          uint16
	ts           uint32
	base         int64 // time of packet k = 0
	k            int64
	end          int64 // the stream stops at the first packet due at or after end
	pkt          []byte
}

func (c *conv) startRTP(src, dst *host, sport, dport uint16, pt uint8, at time.Duration) *rtpStream {
	g := c.g
	s := &rtpStream{src: src, dst: dst, sport: sport, dport: dport,
		ssrc: g.rng.Uint32(), seq: uint16(g.rng.Uint32()), ts: g.rng.Uint32(),
		base: c.now + roundMicro(int64(at)), end: math.MaxInt64,
		pkt: make([]byte, rtpHeaderLen+g711Payload)}
	s.pkt[0] = 0x80 // V=2, no padding, extension or CSRC
	s.pkt[1] = pt
	// A G.711 payload: noise around the codec's silence value.
	silence := byte(0xff)
	if pt == ptPCMA {
		silence = 0xd5
	}
	for i := rtpHeaderLen; i < len(s.pkt); i++ {
		s.pkt[i] = silence ^ byte(g.rng.IntN(8))
	}
	binary.BigEndian.PutUint32(s.pkt[8:], s.ssrc)
	g.schedule(s.base, s)
	c.flowOnce("rtp", src, dst, sport, dport)
	return s
}

// resume continues a stream stopped by hold: same SSRC, the sequence number
// goes on, the timestamp advances by the time elapsed (RFC 3550 5.1).
func (c *conv) resume(old *rtpStream, at time.Duration) *rtpStream {
	s := *old
	s.base = c.now + roundMicro(int64(at))
	s.ts += uint32((s.base - old.base - old.k*int64(packetInterval)) / int64(time.Second/8000))
	s.k, s.end = 0, math.MaxInt64
	s.pkt = append([]byte(nil), old.pkt...)
	s.pkt[1] |= 0x80 // marker: talkspurt starts again
	c.g.schedule(s.base, &s)
	return &s
}

func (s *rtpStream) stop(at int64) { s.end = at }

func (s *rtpStream) run(g *gen) (int64, bool) {
	if g.now >= s.end {
		return 0, false
	}
	if s.k > 0 {
		s.pkt[1] &^= 0x80
	} else {
		s.pkt[1] |= 0x80 // marker on the first packet
	}
	binary.BigEndian.PutUint16(s.pkt[2:], s.seq)
	binary.BigEndian.PutUint32(s.pkt[4:], s.ts)
	g.udp(s.src, s.dst, s.sport, s.dport, tosVoice, s.pkt)
	g.stats.RTPPackets++
	s.seq++
	s.ts += g711Payload
	s.k++
	next := s.base + s.k*int64(packetInterval) + roundMicro(g.rng.Int64N(int64(time.Millisecond)))
	return next, next < s.end
}

// sent is the packet and octet count for a sender report.
func (s *rtpStream) sent() (packets, octets uint32) {
	return uint32(s.k), uint32(s.k) * g711Payload
}

// rtcpSession sends one party's RTCP compound packets (RFC 3550 6.1): a
// sender report while it sends media, a receiver report otherwise, then
// SDES with the CNAME. The interval is randomized to 0.5-1.5 times 5 s as
// section 6.3.1 asks.
type rtcpSession struct {
	src, dst     *host
	sport, dport uint16
	ssrc         uint32
	cname        string
	sending      *rtpStream // nil while not sending
	receiving    *rtpStream
	end          int64
	pkt          []byte
}

func (c *conv) startRTCP(src, dst *host, sport, dport uint16, sending, receiving *rtpStream, cname string) *rtcpSession {
	g := c.g
	r := &rtcpSession{src: src, dst: dst, sport: sport, dport: dport, ssrc: sending.ssrc,
		sending: sending, receiving: receiving, cname: cname, end: math.MaxInt64}
	g.schedule(c.now+r.interval(g), r)
	if sport != sending.sport || dport != sending.dport {
		c.flowOnce("rtcp", src, dst, sport, dport) // otherwise multiplexed on the RTP flow (RFC 5761)
	}
	return r
}

func (r *rtcpSession) interval(g *gen) int64 {
	return roundMicro(int64(rtcpInterval)/2 + g.rng.Int64N(int64(rtcpInterval)))
}

func (r *rtcpSession) stop(at int64) { r.end = at }

func (r *rtcpSession) run(g *gen) (int64, bool) {
	if g.now >= r.end {
		return 0, false
	}
	b := r.pkt[:0]
	sender := r.sending != nil && r.sending.k > 0 && r.sending.end > g.now
	if sender {
		b = append(b, 0x81, 200, 0, 12) // V=2 RC=1 SR, 13 words
		b = binary.BigEndian.AppendUint32(b, r.ssrc)
		secs := uint64(g.now/int64(time.Second)) + ntpUnixOffset
		frac := uint64(g.now%int64(time.Second)) << 32 / uint64(time.Second)
		b = binary.BigEndian.AppendUint32(b, uint32(secs))
		b = binary.BigEndian.AppendUint32(b, uint32(frac))
		s := r.sending
		b = binary.BigEndian.AppendUint32(b, s.ts+uint32((g.now-s.base-s.k*int64(packetInterval))/int64(time.Second/8000)))
		pkts, octets := s.sent()
		b = binary.BigEndian.AppendUint32(b, pkts)
		b = binary.BigEndian.AppendUint32(b, octets)
	} else {
		b = append(b, 0x81, 201, 0, 7) // V=2 RC=1 RR, 8 words
		b = binary.BigEndian.AppendUint32(b, r.ssrc)
	}
	// Report block about the stream received.
	in := r.receiving
	b = binary.BigEndian.AppendUint32(b, in.ssrc)
	b = binary.BigEndian.AppendUint32(b, 0) // fraction lost 0, cumulative 0
	b = binary.BigEndian.AppendUint32(b, uint32(in.seq-1))
	b = binary.BigEndian.AppendUint32(b, uint32(8+g.rng.IntN(40))) // interarrival jitter, timestamp units
	b = binary.BigEndian.AppendUint32(b, 0)                        // no SR received yet to reference
	b = binary.BigEndian.AppendUint32(b, 0)
	// SDES: one chunk with CNAME, then END and padding to a 32-bit boundary.
	at := len(b)
	b = append(b, 0x81, 202, 0, 0)
	b = binary.BigEndian.AppendUint32(b, r.ssrc)
	b = append(b, 1, byte(len(r.cname)))
	b = append(b, r.cname...)
	b = append(b, 0)
	for (len(b)-at)%4 != 0 {
		b = append(b, 0)
	}
	binary.BigEndian.PutUint16(b[at+2:], uint16((len(b)-at)/4-1))
	r.pkt = b
	g.udp(r.src, r.dst, r.sport, r.dport, tosVoice, b)
	next := g.now + r.interval(g)
	return next, next < r.end
}

// udptlStream carries T.38 fax as UDPTL (ITU-T T.38 annex: a 16-bit
// sequence number, the primary IFP packet with a length prefix, and the
// redundancy error-recovery field holding no secondary packets).
type udptlStream struct {
	src, dst     *host
	sport, dport uint16
	seq          uint16
	every        time.Duration
	data         bool // the sending fax: T.30 data; the other side only indicators
	end          int64
	pkt          []byte
	image        []byte
}

func (c *conv) startUDPTL(src, dst *host, sport, dport uint16, data bool, end int64) {
	g := c.g
	u := &udptlStream{src: src, dst: dst, sport: sport, dport: dport, end: end, data: data, every: 30 * time.Millisecond, image: randomBytes(g.rng, 36)}
	if !data {
		u.every = 600 * time.Millisecond
	}
	c.flowOnce("udptl", src, dst, sport, dport)
	g.schedule(c.now+roundMicro(int64(g.jitter(time.Millisecond, 10*time.Millisecond))), u)
}

func (u *udptlStream) run(g *gen) (int64, bool) {
	b := binary.BigEndian.AppendUint16(u.pkt[:0], u.seq)
	if u.data {
		// IFP t30-data v17-14400 with one t4-non-ecm-data field of 36
		// bytes, aligned PER: type byte, field count, field type, length-1.
		const n = 36
		b = append(b, 5+n, 0xd0, 0x01, 0xb0, 0x00, n-1)
		b = append(b, u.image[:n]...)
	} else {
		b = append(b, 1, 0x00) // IFP t30-indicator no-signal
	}
	b = append(b, 0x00, 0x00) // error-recovery: secondary-ifp-packets, none
	u.pkt = b
	g.udp(u.src, u.dst, u.sport, u.dport, tosVoice, b)
	u.seq++
	next := g.now + roundMicro(int64(u.every))
	return next, next < u.end
}

package names

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/tcpstream"
	"github.com/ccaudit/auditor/classify/tlsinfo"
)

const (
	// DefaultMaxHandshakes bounds the handshakes a TLS dissector follows at
	// once. Handshakes take a round trip or two, so even a busy link has
	// far fewer in flight; past the bound new ones are counted, not parsed.
	DefaultMaxHandshakes = 1 << 16

	// DefaultHandshakeBuffer bounds each direction's reassembly: a
	// ClientHello, or a ServerHello with a certificate chain, fits in
	// tlsinfo.MaxHandshakeLen.
	DefaultHandshakeBuffer = tlsinfo.MaxHandshakeLen

	// maxHandshakePackets is how many payload packets (TCP segments or QUIC
	// datagrams, both directions) a flow may take to finish its handshake.
	// A 64 KiB certificate chain is about 45 segments; beyond that the flow
	// is either one-sided or not a handshake worth waiting for.
	maxHandshakePackets = 64

	portHTTPS = 443

	quicV1 = 0x00000001 // RFC 9000
	quicV2 = 0x6b3343cf // RFC 9369

	recordChangeCipherSpec = 0x14
	recordHandshake        = 0x16
)

// TLSConfig configures a TLS dissector. The zero value uses the defaults.
type TLSConfig struct {
	// MaxHandshakes bounds concurrent handshakes; DefaultMaxHandshakes if 0.
	MaxHandshakes int
	// BufferSize bounds the bytes buffered per direction of a handshake;
	// DefaultHandshakeBuffer if 0.
	BufferSize int
	// OnServerHello, if set, sees every parsed ServerHello (not the
	// HelloRetryRequests) with the flow it belongs to, before the flow's
	// state is released: the place to keep certificate details. s is reused
	// after the call.
	OnServerHello func(f *flow.Flow, s *tlsinfo.ServerHello)
}

// TLSStats counts what a TLS dissector saw.
type TLSStats struct {
	Handshakes         atomic.Uint64 // flows whose handshake was followed
	ClientHellos       atomic.Uint64 // ClientHellos parsed over TCP, a HelloRetryRequest's second one included
	QUICHellos         atomic.Uint64 // ClientHellos parsed from QUIC Initials
	ServerHellos       atomic.Uint64 // ServerHellos parsed (HelloRetryRequests excluded)
	HelloRetryRequests atomic.Uint64
	Certificates       atomic.Uint64 // server certificates found (TLS 1.2 and older)
	NotTLS             atomic.Uint64 // flows whose first payload was not a handshake
	Malformed          atomic.Uint64 // handshakes the parser rejected
	// Alerts counts handshakes the server ended with a fatal alert where
	// its ServerHello was due (protocol_version, handshake_failure...).
	Alerts atomic.Uint64
	// Lost counts handshakes given up because the capture lost part of
	// them (a hole, or a server half that does not begin with a handshake
	// record because its first segment is missing) or they outgrew the
	// bounds.
	Lost       atomic.Uint64
	Unfinished atomic.Uint64 // flows that ended before their handshake did
	Overflow   atomic.Uint64 // flows not followed: MaxHandshakes in progress

	// UpgradeCandidates counts flows whose first payload began a
	// cleartext protocol that can hand over to TLS (tlsinfo.UpgradeCandidate);
	// Upgrades those that did (STARTTLS accepted, tunnel opened),
	// NoUpgrade those that did not or ended first.
	UpgradeCandidates atomic.Uint64
	Upgrades          atomic.Uint64
	NoUpgrade         atomic.Uint64
	// TunnelNotTLS counts opened tunnels (CONNECT, SOCKS) whose client
	// did not start TLS through them.
	TunnelNotTLS atomic.Uint64
}

// TLS is the dissector for TLS and QUIC handshakes. It labels a flow with
// Meta.App "tls" or "quic", or, when a cleartext protocol handed the
// connection over to TLS, the protocol's label with "+tls" ("smtp+tls",
// "http-connect+tls"; see tlsinfo.ScanUpgrade, and Meta.ProxyTarget for
// proxies), and from the ClientHello SNI, the first ALPN protocol, JA4,
// JA3 and the range of versions offered (TLSOfferedMax, TLSOfferedMin); from the ServerHello Meta.TLSVersion, TLSCipher, JA3S
// and, for TLS 1.2 and older, the server certificate (Cert). A flow whose
// first payload is a TLS handshake record header but whose handshake
// cannot be parsed (segments lost, bounds reached) is still labelled
// "tls", without fingerprints.
type TLS struct {
	cfg   TLSConfig
	conns map[flow.Key]*handshake
	free  []*handshake
	stats TLSStats

	// Scratch for the parsers, reused for every flow; the results are
	// copied into the flow's Meta before the next parse.
	ch tlsinfo.ClientHello
	sh tlsinfo.ServerHello
	up tlsinfo.Upgrade
	// fps remembers the fingerprints of the client stacks seen: most
	// hellos repeat one, and computing them was a third of the
	// dissector's time on the benchmark capture.
	fps *tlsinfo.FingerprintCache
}

// handshake is the state of one flow while its handshake is parsed.
type handshake struct {
	half   [2]tcpstream.Buffer // by sender: 0 originator, 1 responder
	off    [2]int              // where the next hello starts in each half's bytes
	client int8                // half that sent the ClientHello; -1 until known
	// clientDone: the ClientHello the server will answer is parsed.
	// serverDone: the server's cleartext part is decided.
	clientDone, serverDone bool
	hellos                 int // ClientHellos parsed on this flow
	packets                int // payload packets seen
	// record: the flow's first payload began with a TLS handshake record
	// header, evidence enough to call the flow TLS if the parse fails.
	record bool
	quic   *tlsinfo.QUICInitial
	// upgrade is the cleartext protocol the flow began with, if any;
	// upgraded is set once both sides passed its hand-over and off
	// points past the cleartext.
	upgrade  tlsinfo.UpgradeProto
	upgraded bool
}

// NewTLS returns a TLS dissector. Give each pipeline worker its own.
func NewTLS(cfg TLSConfig) *TLS {
	if cfg.MaxHandshakes <= 0 {
		cfg.MaxHandshakes = DefaultMaxHandshakes
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultHandshakeBuffer
	}
	return &TLS{cfg: cfg, conns: make(map[flow.Key]*handshake), fps: tlsinfo.NewFingerprintCache(0)}
}

// Stats returns the dissector's counters.
func (t *TLS) Stats() *TLSStats { return &t.stats }

// InProgress is the number of handshakes being parsed.
func (t *TLS) InProgress() int { return len(t.conns) }

// Start wants every TCP flow, since TLS runs on any port and is recognised
// by its first bytes, and UDP flows to or from port 443 or starting with a
// QUIC Initial.
func (t *TLS) Start(f *flow.Flow, p *decode.Packet) bool {
	switch f.Key.Proto() {
	case flow.ProtoTCP:
		return true
	case flow.ProtoUDP:
		return f.Key.A().Port() == portHTTPS || f.Key.B().Port() == portHTTPS || looksLikeQUICInitial(p.Payload)
	}
	return false
}

// looksLikeQUICInitial checks what a flow's first datagram on a port other
// than 443 must show before the flow costs anything more: a client's
// Initial is a long header with the fixed bit in a datagram of at least
// 1200 bytes (RFC 9000 section 14.1), of type Initial for v1 and v2; of a
// version this parser cannot open (a greased one, sent to provoke version
// negotiation), any type. A flow may also start with the server's version
// negotiation packet when the capture missed the Initial. RTP, DTLS and
// the rest fail on the first byte, the size or the version.
func looksLikeQUICInitial(b []byte) bool {
	if quicVersionNegotiation(b) {
		return true
	}
	if len(b) < 1200 || b[0]&0xc0 != 0xc0 {
		return false
	}
	typ := b[0] >> 4 & 3
	switch binary.BigEndian.Uint32(b[1:5]) {
	case quicV1:
		return typ == 0
	case quicV2:
		return typ == 1
	}
	return true
}

// Packet follows the handshake. It returns false once both hellos are
// parsed, or as soon as the flow turns out not to be (parseable) TLS.
func (t *TLS) Packet(f *flow.Flow, p *decode.Packet, fromOrig bool) bool {
	if f.Key.Proto() == flow.ProtoUDP {
		return t.quicPacket(f, p, fromOrig)
	}
	hs := t.conns[f.Key]
	if hs == nil {
		if len(p.Payload) == 0 {
			if p.PayloadLen > 0 {
				// The first data, cut away by the snap length: whether
				// the flow is TLS cannot be told.
				f.MetaOrNew().PayloadCut = true
				return false
			}
			return true // connection setup: wait for the first data
		}
		up := tlsinfo.UpgradeNone
		if p.Payload[0] != recordHandshake {
			up = tlsinfo.UpgradeCandidate(p.Payload, fromOrig)
		}
		if up == tlsinfo.UpgradeNone && !mayStartTLS(p.Payload) {
			t.stats.NotTLS.Add(1)
			return false
		}
		if hs = t.track(f.Key); hs == nil {
			if up == tlsinfo.UpgradeNone && handshakeRecord(p.Payload) {
				labelTLS(f, "tls")
			}
			return false
		}
		if up != tlsinfo.UpgradeNone {
			// The originator is the client of every upgrade protocol.
			t.stats.UpgradeCandidates.Add(1)
			hs.upgrade, hs.client = up, 0
		} else {
			t.stats.Handshakes.Add(1)
			hs.record = handshakeRecord(p.Payload)
		}
	}
	side := 0
	if !fromOrig {
		side = 1
	}
	if len(p.Payload) == 0 {
		return true
	}
	h := &hs.half[side]
	gaps := h.Gaps()
	h.Add(p.Seq, p.TCPFlags, p.Payload)
	hs.packets++
	if h.Gaps() != gaps && t.needs(hs, side) {
		// Bytes on both sides of the hole now look adjacent: parsing on
		// would read garbage.
		t.stats.Lost.Add(1)
		t.giveUp(f, hs)
		return false
	}
	if hs.upgrade != tlsinfo.UpgradeNone && !t.upgrade(f, hs) {
		return t.conns[f.Key] != nil
	}
	if !t.advance(f, hs) {
		t.release(f.Key, hs)
		return false
	}
	if hs.packets >= maxHandshakePackets {
		t.stats.Lost.Add(1)
		t.giveUp(f, hs)
		return false
	}
	return true
}

// upgrade follows a flow's cleartext phase. It returns true once the flow
// is past the hand-over, with the parse offsets set after the cleartext;
// false while it waits (the state stays) or when no upgrade comes (the
// state is released).
func (t *TLS) upgrade(f *flow.Flow, hs *handshake) bool {
	c := hs.half[0].Bytes()
	if !hs.upgraded {
		switch err := tlsinfo.ScanUpgrade(hs.upgrade, c, hs.half[1].Bytes(), &t.up); {
		case err == nil:
			hs.upgraded, hs.upgrade = true, t.up.Proto
			hs.off[0], hs.off[1] = t.up.ClientOff, t.up.ServerOff
			t.stats.Upgrades.Add(1)
			t.stats.Handshakes.Add(1)
			m := f.MetaOrNew()
			if m.App == "" {
				m.App = hs.upgrade.String()
			}
			if hs.upgrade.Proxy() {
				m.ProxyTarget = t.up.Target
			}
		case errors.Is(err, tlsinfo.ErrNeedMore) && hs.packets < maxHandshakePackets:
			return false
		default:
			t.stats.NoUpgrade.Add(1)
			t.release(f.Key, hs)
			return false
		}
	}
	if !hs.record && len(c) > hs.off[0]+2 {
		hs.record = handshakeRecord(c[hs.off[0]:])
	}
	return true
}

// End releases the state of a flow that left mid-handshake.
func (t *TLS) End(f *flow.Flow) {
	if len(t.conns) == 0 {
		return
	}
	if hs := t.conns[f.Key]; hs != nil {
		if hs.upgrade != tlsinfo.UpgradeNone && !hs.upgraded {
			t.stats.NoUpgrade.Add(1)
			t.release(f.Key, hs)
			return
		}
		t.stats.Unfinished.Add(1)
		t.giveUp(f, hs)
	}
}

// mayStartTLS is the cheap test on a flow's first payload before any state
// exists: a handshake record (content type 22, major version 3), or the
// two-byte header of an SSLv2 record.
func mayStartTLS(b []byte) bool {
	if b[0] == 0x16 {
		return len(b) < 2 || b[1] == 3
	}
	return b[0]&0x80 != 0
}

// handshakeRecord is the strict test: a handshake record header of SSL 3.0
// to TLS 1.3 (TLS 1.3 keeps 0x0301 or 0x0303 there).
func handshakeRecord(b []byte) bool {
	return len(b) >= 3 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4
}

// labelTLS marks a flow TLS without fingerprints: its handshake began but
// could not be parsed (lost segments, bounds). The verdict engine takes a
// TCP flow with data and no label for plaintext, so a lossy capture must
// not turn TLS into a plaintext finding.
func labelTLS(f *flow.Flow, app string) {
	if m := f.MetaOrNew(); m.App == "" || m.App == strings.TrimSuffix(app, "+tls") {
		m.App = app
	}
}

// app is the label of a flow whose TLS handshake began: "tls", or the
// upgrade protocol's "+tls" label.
func (hs *handshake) app() string { return hs.upgrade.TLSApp() }

// needs reports whether the parser still reads half side: a gap there is
// fatal only while a hello is expected from it.
func (t *TLS) needs(hs *handshake, side int) bool {
	switch {
	case hs.client < 0:
		return true
	case int(hs.client) == side:
		return !hs.clientDone
	default:
		return !hs.serverDone
	}
}

func (t *TLS) track(k flow.Key) *handshake {
	if len(t.conns) >= t.cfg.MaxHandshakes {
		t.stats.Overflow.Add(1)
		return nil
	}
	var hs *handshake
	if n := len(t.free); n > 0 {
		hs, t.free = t.free[n-1], t.free[:n-1]
	} else {
		hs = new(handshake)
		hs.half[0].Init(t.cfg.BufferSize)
		hs.half[1].Init(t.cfg.BufferSize)
	}
	hs.client = -1
	t.conns[k] = hs
	return hs
}

// release forgets a flow's handshake and keeps the state for the next one;
// the free list never outgrows the bound on concurrent handshakes.
func (t *TLS) release(k flow.Key, hs *handshake) {
	delete(t.conns, k)
	hs.half[0].Reset()
	hs.half[1].Reset()
	q := hs.quic
	if q != nil {
		q.Reset()
	}
	*hs = handshake{half: hs.half, quic: q}
	t.free = append(t.free, hs)
}

// advance parses what the new bytes make parseable. It returns false when
// the handshake is done with, either way.
func (t *TLS) advance(f *flow.Flow, hs *handshake) bool {
	if hs.client < 0 && !t.findClient(hs) {
		return false
	}
	if hs.client < 0 {
		return true
	}
	c, s := int(hs.client), 1-int(hs.client)
	// A HelloRetryRequest sends the parser back to the client for a second
	// hello, so loop while either side makes progress.
	for progress := true; progress && !(hs.clientDone && hs.serverDone); {
		progress = false
		if !hs.clientDone {
			b := skipChangeCipherSpec(hs.half[c].Bytes(), &hs.off[c])
			switch err := tlsinfo.ParseClientHello(b, &t.ch); {
			case err == nil:
				hs.off[c] += t.ch.End
				hs.clientDone, progress = true, true
				t.clientHello(f, hs)
			case errors.Is(err, tlsinfo.ErrNeedMore):
			case errors.Is(err, tlsinfo.ErrNotTLS) && hs.upgrade.Proxy() && hs.hellos == 0:
				// A tunnel may carry anything: SSH, plain HTTP.
				t.stats.TunnelNotTLS.Add(1)
				return false
			default:
				// After a HelloRetryRequest the first hello's labels stay;
				// a bad retry only ends the parse.
				t.stats.Malformed.Add(1)
				return false
			}
		}
		if !hs.serverDone {
			b := skipChangeCipherSpec(hs.half[s].Bytes(), &hs.off[s])
			if len(b) == 0 {
				continue
			}
			switch err := tlsinfo.ParseServerHello(b, &t.sh); {
			case err == nil && t.sh.HelloRetryRequest:
				t.stats.HelloRetryRequests.Add(1)
				hs.off[s] += t.sh.End
				hs.clientDone, progress = false, true
			case err == nil:
				hs.serverDone, progress = true, true
				t.serverHello(f, hs)
			case errors.Is(err, tlsinfo.ErrNeedMore):
			case errors.Is(err, tlsinfo.ErrNotTLS):
				t.stats.Lost.Add(1)
				hs.serverDone = true
			case errors.Is(err, tlsinfo.ErrFatalAlert):
				t.stats.Alerts.Add(1)
				hs.serverDone = true
			default:
				t.stats.Malformed.Add(1)
				hs.serverDone = true
			}
		}
	}
	return !(hs.clientDone && hs.serverDone)
}

// findClient decides which half is the client from the first complete
// message: the sender of a ClientHello, or the peer of whoever sent
// another handshake message first (the capture missed the ClientHello).
// It returns false when the flow is not TLS.
func (t *TLS) findClient(hs *handshake) bool {
	for side := range hs.half {
		b := hs.half[side].Bytes()
		if len(b) == 0 {
			continue
		}
		switch err := tlsinfo.ParseClientHello(b, &t.ch); {
		case err == nil:
			hs.client = int8(side)
			return true
		case errors.Is(err, tlsinfo.ErrNeedMore):
		case errors.Is(err, tlsinfo.ErrUnexpectedMessage):
			hs.client = int8(1 - side)
			hs.clientDone = true // never seen; the server's part may still be
			return true
		case errors.Is(err, tlsinfo.ErrNotTLS):
			t.stats.NotTLS.Add(1)
			return false
		default:
			t.stats.Malformed.Add(1)
			return false
		}
	}
	return true
}

// skipChangeCipherSpec returns the bytes at *off, after any
// ChangeCipherSpec records, and advances *off past them. TLS 1.3 peers in
// middlebox compatibility mode send one around a HelloRetryRequest.
func skipChangeCipherSpec(b []byte, off *int) []byte {
	for {
		rest := b[min(*off, len(b)):]
		if len(rest) == 0 || rest[0] != recordChangeCipherSpec {
			return rest
		}
		if len(rest) < 5 {
			return nil // the record header is incomplete: need more
		}
		n := 5 + (int(rest[3])<<8 | int(rest[4]))
		if len(rest) < n {
			return nil
		}
		*off += n
	}
}

// giveUp ends a TCP handshake that will not complete, keeping what the
// server half already proved: a TLS 1.2 ServerHello whose certificate was
// lost, cut by a gap or still incomplete when the flow ended.
func (t *TLS) giveUp(f *flow.Flow, hs *handshake) {
	if hs.client >= 0 && hs.clientDone && !hs.serverDone {
		t.salvageServerHello(f, hs)
	}
	if hs.record {
		labelTLS(f, hs.app())
	}
	t.release(f.Key, hs)
}

func (t *TLS) salvageServerHello(f *flow.Flow, hs *handshake) {
	s := 1 - int(hs.client)
	b := skipChangeCipherSpec(hs.half[s].Bytes(), &hs.off[s])
	if err := tlsinfo.ParseServerHello(b, &t.sh); t.sh.Version == 0 || t.sh.HelloRetryRequest {
		return
	} else if err != nil {
		t.sh.Certificate = nil
	}
	hs.serverDone = true
	t.serverHello(f, hs)
}

func (t *TLS) clientHello(f *flow.Flow, hs *handshake) {
	t.stats.ClientHellos.Add(1)
	hs.hellos++
	if hs.hellos == 1 {
		t.label(f, hs.app())
	}
}

// label records the ClientHello in t.ch on the flow. A retried hello after
// a HelloRetryRequest keeps the first one's fingerprint, which is what
// JA4 databases list.
func (t *TLS) label(f *flow.Flow, app string) {
	h := &t.ch
	m := f.MetaOrNew()
	if m.App == "" || m.App == strings.TrimSuffix(app, "+tls") {
		m.App = app
	}
	m.SNI = h.SNI()
	if len(h.ALPN) > 0 {
		m.ALPN = string(h.ALPN[0])
	}
	fp := t.fps.Of(h)
	m.JA4, m.JA3 = fp.JA4, fp.JA3
	m.TLSOfferedMax, m.TLSOfferedMin = h.Version(), offeredMin(h)
}

// offeredMin is the lowest version a ClientHello offers: the lowest of
// supported_versions, else client_version, the one version a legacy hello
// names. An SSL 2.0-format hello can complete an SSL 2.0 handshake, which
// is why RFC 6176 forbids sending one.
func offeredMin(h *tlsinfo.ClientHello) uint16 {
	if h.SSLv2 {
		return tlsinfo.VersionSSL20
	}
	var lo uint16
	for _, v := range h.SupportedVersions {
		if !tlsinfo.IsGREASE(v) && (lo == 0 || v < lo) {
			lo = v
		}
	}
	if lo == 0 {
		return h.LegacyVersion
	}
	return lo
}

func (t *TLS) serverHello(f *flow.Flow, hs *handshake) {
	s := &t.sh
	t.stats.ServerHellos.Add(1)
	if s.Certificate != nil {
		t.stats.Certificates.Add(1)
	}
	// Without the ClientHello (lost, or before the capture began) the
	// ServerHello alone proves TLS followed the hand-over.
	labelTLS(f, hs.app())
	m := f.Meta
	m.TLSVersion = tlsinfo.VersionName(s.Version)
	m.TLSCipher = s.CipherSuite
	m.JA3S = s.JA3SHex()
	if c := s.Certificate; c != nil {
		m.Cert = &flow.Certificate{Subject: c.Subject, Issuer: c.Issuer, NotAfter: c.NotAfter,
			SelfSigned: c.SelfSigned, SHA256: hex.EncodeToString(c.SHA256[:])}
	}
	if t.cfg.OnServerHello != nil {
		t.cfg.OnServerHello(f, s)
	}
}

// quicPacket feeds the client's datagrams to the QUIC Initial parser until
// the ClientHello is complete, and shows it the server's, where a Retry
// changes the Initial keys.
func (t *TLS) quicPacket(f *flow.Flow, p *decode.Packet, fromOrig bool) bool {
	hs := t.conns[f.Key]
	if f.Orig.Packets+f.Resp.Packets > maxHandshakePackets {
		if hs != nil {
			t.stats.Lost.Add(1)
			t.release(f.Key, hs)
		} else {
			t.stats.NotTLS.Add(1)
		}
		return false
	}
	if len(p.Payload) == 0 {
		return true
	}
	if hs == nil {
		if p.Payload[0]&0x80 == 0 {
			// A short header: the capture began after the handshake.
			t.stats.NotTLS.Add(1)
			return false
		}
		if hs = t.track(f.Key); hs == nil {
			return false
		}
		if hs.quic == nil {
			hs.quic = new(tlsinfo.QUICInitial)
		}
		// Off port 443 the client is the originator, unless the flow
		// starts with the server's version negotiation: the capture
		// missed the Initial that caused it, or it was filtered.
		hs.client = 0
		if quicVersionNegotiation(p.Payload) {
			hs.client = 1
		}
	}
	toServer := fromOrig == (hs.client == 0)
	if src, dst := p.Key.Endpoint(p.Dir).Port() == portHTTPS, p.Key.Endpoint(p.Dir.Flip()).Port() == portHTTPS; src != dst {
		toServer = dst
	}
	if !toServer {
		hs.quic.ServerDatagram(p.Payload)
		return true
	}
	hs.packets++
	switch err := tlsinfo.ParseQUICInitial(p.Payload, hs.quic, &t.ch); {
	case err == nil:
		t.stats.QUICHellos.Add(1)
		t.label(f, "quic")
		// QUIC carries only TLS 1.3 (RFC 9001 section 4.2); its ServerHello
		// travels in server Initials, which are not parsed here.
		f.Meta.TLSVersion = tlsinfo.VersionName(tlsinfo.VersionTLS13)
	case errors.Is(err, tlsinfo.ErrNeedMore), errors.Is(err, tlsinfo.ErrQUICVersion):
		// A version without known protection may be answered by version
		// negotiation and followed by a known one, up to the packet bound.
		return true
	case errors.Is(err, tlsinfo.ErrNotQUIC) && hs.packets == 1:
		t.stats.NotTLS.Add(1)
	case errors.Is(err, tlsinfo.ErrNotQUIC):
		// Short headers before the hello was whole: the Initials that
		// carried the rest were not captured.
		t.stats.Lost.Add(1)
	case errors.Is(err, tlsinfo.ErrTooLarge):
		t.stats.Lost.Add(1)
	default:
		// An Initial that does not open: corrupt, or sealed with keys of
		// a DCID this flow never showed. A later one may still open, up
		// to the packet bound.
		return true
	}
	t.release(f.Key, hs)
	return false
}

// quicVersionNegotiation reports a QUIC version negotiation packet: a long
// header with version 0, connection IDs of at most 20 bytes and a list of
// 32-bit versions (RFC 8999 section 6, RFC 9000 section 17.2.1). Servers
// list a few versions; the bound keeps RTP packets that happen to start
// with zero bytes out.
func quicVersionNegotiation(b []byte) bool {
	const maxVersions = 32
	if len(b) < 7 || b[0]&0x80 == 0 || binary.BigEndian.Uint32(b[1:5]) != 0 {
		return false
	}
	off := 5
	for range 2 { // destination and source connection IDs
		if off >= len(b) || b[off] > 20 {
			return false
		}
		off += 1 + int(b[off])
	}
	n := len(b) - off
	return n > 0 && n%4 == 0 && n <= 4*maxVersions
}

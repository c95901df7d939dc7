package tlsinfo

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
)

// ErrNotQUIC means a datagram does not start with a QUIC long-header packet.
var ErrNotQUIC = errors.New("tlsinfo: not a QUIC long-header packet")

// ErrQUICVersion means a datagram starts with a long header of a version
// whose Initial protection is unknown: a version negotiation packet
// (version 0), a greased version meant to force one, or a proprietary
// version. A later datagram of the same flow may carry a known version.
var ErrQUICVersion = errors.New("tlsinfo: QUIC version without known Initial protection")

// maxCryptoRanges bounds the disjoint pieces of CRYPTO stream held while
// the ClientHello is incomplete: a client cuts its hello in a handful of
// frames, and a peer sending thousands of one-byte frames must not make
// each insertion cost more.
const maxCryptoRanges = 64

// QUIC versions whose Initial packets can be opened.
const (
	QUICVersion1 uint32 = 0x00000001 // RFC 9000
	QUICVersion2 uint32 = 0x6b3343cf // RFC 9369
)

// quicVersionParams are the per-version constants of Initial protection.
type quicVersionParams struct {
	salt        []byte
	keyLabel    string
	ivLabel     string
	hpLabel     string
	initialType byte // long-header packet type bits of an Initial
}

var (
	// RFC 9001 section 5.2.
	quicV1 = quicVersionParams{
		salt: []byte{
			0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
			0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
		},
		keyLabel: "quic key", ivLabel: "quic iv", hpLabel: "quic hp",
		initialType: 0,
	}
	// RFC 9369 sections 3.2 and 3.3: new salt and labels so that v1
	// middleboxes cannot read v2, and Initial is packet type 1.
	quicV2 = quicVersionParams{
		salt: []byte{
			0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
			0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
		},
		keyLabel: "quicv2 key", ivLabel: "quicv2 iv", hpLabel: "quicv2 hp",
		initialType: 1,
	}
)

// The IETF drafts used other salts with the v1 labels
// (draft-ietf-quic-tls-27 to -34 section 5.2); draft versions are
// 0xff0000NN.
var (
	// draft-23 to -28.
	quicDraft23 = quicVersionParams{
		salt: []byte{
			0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
			0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02,
		},
		keyLabel: "quic key", ivLabel: "quic iv", hpLabel: "quic hp",
	}
	// draft-29 to -32.
	quicDraft29 = quicVersionParams{
		salt: []byte{
			0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
			0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99,
		},
		keyLabel: "quic key", ivLabel: "quic iv", hpLabel: "quic hp",
	}
)

// quicDraft is the version number of draft-ietf-quic-transport-n.
func quicDraft(n uint32) uint32 { return 0xff000000 | n }

func quicParams(version uint32) *quicVersionParams {
	switch {
	case version == QUICVersion1:
		return &quicV1
	case version == QUICVersion2:
		return &quicV2
	case version >= quicDraft(27) && version <= quicDraft(28):
		return &quicDraft23
	case version >= quicDraft(29) && version <= quicDraft(32):
		return &quicDraft29
	case version >= quicDraft(33) && version <= quicDraft(34):
		// draft-33 introduced the salt RFC 9001 kept.
		return &quicV1
	}
	return nil
}

// retryType is the long-header packet type of a Retry: 3 in v1 and the
// drafts, 0 in v2 (RFC 9369 section 3.2).
func retryType(version uint32) byte {
	if version == QUICVersion2 {
		return 0
	}
	return 3
}

// QUICInitial gathers the CRYPTO stream a QUIC client sends in its Initial
// packets; a ClientHello with post-quantum key shares spans two datagrams,
// and clients such as Chrome send CRYPTO frames out of order. Use one
// QUICInitial per connection. The zero value is ready to use.
//
// The Initial keys come from the Destination Connection ID of the client's
// first Initial and stay for the connection: the client switches to the
// server's connection ID once it hears from the server, but keeps the keys
// (RFC 9001 section 5.2). They change only after a Retry (pass server
// datagrams to ServerDatagram to see it) or when the client starts over
// with another version after version negotiation. Keys become the
// connection's once an Initial opens with them, so a capture that missed
// the first Initial does not fix keys no later packet opens with.
//
// Opening an Initial allocates for the key schedule when keys are derived
// (once per connection in practice).
type QUICInitial struct {
	// Version and DCID are those of the Initial keys in use: DCID is the
	// client's first Destination Connection ID, or the one after a Retry.
	Version uint32
	DCID    []byte
	// Retried reports that a Retry was seen and the keys rederived since.
	Retried bool

	keys    quicKeys
	locked  bool     // an Initial opened with keys: no rederivation
	retry   bool     // a Retry was seen: rederive from the next Initial
	packet  []byte   // decryption scratch
	crypto  []byte   // CRYPTO stream, indexed by offset
	covered [][2]int // sorted, merged [start, end) ranges received
}

type quicKeys struct {
	version uint32
	dcid    []byte
	aead    cipher.AEAD
	iv      []byte
	hp      cipher.Block
}

// Reset forgets all state so q can serve another connection.
func (q *QUICInitial) Reset() {
	*q = QUICInitial{packet: q.packet[:0], crypto: q.crypto[:0], covered: q.covered[:0]}
}

// ParseQUICInitial opens the client Initial packets in datagram, adds their
// CRYPTO frames to q, and parses the ClientHello into h once the CRYPTO
// stream holds all of it. It returns ErrNeedMore until then (pass the next
// client datagram), ErrNotQUIC when the datagram does not start with a long
// header, ErrQUICVersion when it does with a version whose Initial
// protection is unknown (v1, v2 and drafts 27 to 34 are known), and an
// ErrMalformed-wrapped error when an Initial fails to decrypt (a server
// datagram, or a corrupted one).
//
// h's byte views point into q and stay valid until q is used again.
func ParseQUICInitial(datagram []byte, q *QUICInitial, h *ClientHello) error {
	if len(datagram) < 7 || datagram[0]&0x80 == 0 {
		return ErrNotQUIC
	}
	if quicParams(be32(datagram[1:])) == nil {
		return ErrQUICVersion
	}
	for d := datagram; len(d) > 0; {
		if d[0]&0x80 == 0 {
			break // a short-header packet ends the coalesced long-header ones
		}
		n, err := q.openPacket(d)
		if err != nil {
			return err
		}
		d = d[n:]
	}
	return q.clientHello(h)
}

// openPacket processes the long-header packet at the start of d and returns
// its length. Packets other than Initial are skipped.
func (q *QUICInitial) openPacket(d []byte) (int, error) {
	if len(d) < 7 {
		return 0, fmt.Errorf("%w: QUIC long header of %d bytes", ErrMalformed, len(d))
	}
	version := be32(d[1:])
	params := quicParams(version)
	if params == nil {
		return len(d), nil // a coalesced packet we cannot read; ignore the rest
	}
	r := reader{b: d, off: 5}
	dcid := r.vec8()
	scid := r.vec8()
	if r.bad || len(dcid) > 20 || len(scid) > 20 {
		return 0, fmt.Errorf("%w: QUIC connection IDs", ErrMalformed)
	}
	initial := d[0]>>4&3 == params.initialType
	if initial {
		r.bytes(int(quicVarint(&r)))
	}
	length := int(quicVarint(&r))
	pnOffset := r.off
	if r.bad || length > r.left() {
		return 0, fmt.Errorf("%w: QUIC packet length %d", ErrMalformed, length)
	}
	end := pnOffset + length
	if !initial {
		return end, nil
	}
	payload, restart, err := q.openInitial(d[:end], pnOffset, version, params, dcid)
	if err != nil {
		return 0, err
	}
	if restart {
		// New keys after a Retry or an incompatible version negotiation:
		// the client sends its ClientHello again from offset 0 of a new
		// stream.
		q.crypto, q.covered = q.crypto[:0], q.covered[:0]
		q.Retried = q.Retried || q.retry
		q.retry = false
	}
	q.locked = true
	return end, q.readFrames(payload)
}

// openInitial picks the keys for a client Initial and opens it. restart
// reports keys of a new connection attempt.
func (q *QUICInitial) openInitial(pkt []byte, pnOffset int, version uint32, params *quicVersionParams, dcid []byte) (payload []byte, restart bool, err error) {
	switch {
	case !q.locked:
		// The first Initial that opens fixes the keys.
	case q.retry && string(dcid) == string(q.keys.dcid):
		// Sent before the Retry and arriving after it (the second
		// datagram of a long ClientHello, in flight): still the first
		// keys, and the Retry waits for the Initial that carries its
		// connection ID.
		payload, err := q.open(pkt, pnOffset)
		return payload, false, err
	case q.retry:
		restart = true
	case q.keys.version != version:
		// Compatible version negotiation (RFC 9368) goes on with the same
		// connection: keys of the original DCID under the new version's
		// salt. An incompatible one starts over with the new Initial's
		// DCID. A packet that opens with neither leaves the keys as they
		// were.
		prev := q.keys
		if err := q.setKeys(version, params, prev.dcid); err != nil {
			return nil, false, err
		}
		if payload, err := q.open(pkt, pnOffset); err == nil {
			return payload, false, nil
		}
		if err := q.setKeys(version, params, dcid); err != nil {
			return nil, false, err
		}
		payload, err := q.open(pkt, pnOffset)
		if err != nil {
			q.keys = prev
			q.Version, q.DCID = prev.version, prev.dcid
			return nil, false, err
		}
		return payload, true, nil
	default:
		payload, err := q.open(pkt, pnOffset)
		return payload, false, err
	}
	prev := q.keys
	if err := q.setKeys(version, params, dcid); err != nil {
		return nil, false, err
	}
	payload, err = q.open(pkt, pnOffset)
	if err != nil && q.locked {
		// Neither the Retry's Initial nor any Initial at all: the keys
		// stay those that opened before.
		q.keys = prev
		q.Version, q.DCID = prev.version, prev.dcid
		return nil, false, err
	}
	return payload, restart && q.locked, err
}

// ServerDatagram looks at a datagram from the server for a Retry, after
// which the client's next Initial carries the Retry's connection ID and
// keys derived from it (RFC 9001 section 5.2). Only the header is read: a
// Retry's integrity tag proves nothing to a passive observer, who cannot
// tell a forged Retry from a real one anyway.
func (q *QUICInitial) ServerDatagram(d []byte) {
	if len(d) < 7 || d[0]&0x80 == 0 || !q.locked {
		return
	}
	version := be32(d[1:])
	if quicParams(version) != nil && d[0]>>4&3 == retryType(version) {
		q.retry = true
	}
}

func (q *QUICInitial) setKeys(version uint32, p *quicVersionParams, dcid []byte) error {
	if q.keys.aead != nil && q.keys.version == version && string(q.keys.dcid) == string(dcid) {
		return nil
	}
	if len(dcid) == 0 {
		// A client's first Initial carries at least 8 bytes of unpredictable
		// DCID (RFC 9000 section 7.2); an empty one is a server's.
		return fmt.Errorf("%w: QUIC Initial with an empty DCID", ErrMalformed)
	}
	initial, err := hkdf.Extract(sha256.New, dcid, p.salt)
	if err != nil {
		return err
	}
	client, err := expandLabel(initial, "client in", sha256.Size)
	if err != nil {
		return err
	}
	key, err := expandLabel(client, p.keyLabel, 16)
	if err != nil {
		return err
	}
	iv, err := expandLabel(client, p.ivLabel, 12)
	if err != nil {
		return err
	}
	hpKey, err := expandLabel(client, p.hpLabel, 16)
	if err != nil {
		return err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	hp, err := aes.NewCipher(hpKey)
	if err != nil {
		return err
	}
	q.keys = quicKeys{version: version, dcid: slices.Clone(dcid), aead: aead, iv: iv, hp: hp}
	q.Version, q.DCID = version, q.keys.dcid
	return nil
}

// expandLabel is HKDF-Expand-Label of TLS 1.3 (RFC 8446 section 7.1) with an
// empty context, as QUIC uses it.
func expandLabel(secret []byte, label string, length int) ([]byte, error) {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full))
	info = append(info, byte(length>>8), byte(length), byte(len(full)))
	info = append(info, full...)
	info = append(info, 0)
	return hkdf.Expand(sha256.New, secret, string(info), length)
}

// open removes header protection and decrypts the Initial packet pkt, whose
// packet number starts at pnOffset (RFC 9001 sections 5.3 and 5.4). The
// caller's bytes are left untouched: the work happens on a copy.
func (q *QUICInitial) open(pkt []byte, pnOffset int) ([]byte, error) {
	const sampleLen = 16
	if pnOffset+4+sampleLen > len(pkt) {
		return nil, fmt.Errorf("%w: QUIC Initial too short to sample", ErrMalformed)
	}
	q.packet = append(q.packet[:0], pkt...)
	p := q.packet
	var mask [16]byte
	q.keys.hp.Encrypt(mask[:], p[pnOffset+4:pnOffset+4+sampleLen])
	p[0] ^= mask[0] & 0x0f
	pnLen := int(p[0]&3) + 1
	var pn uint64
	for i := range pnLen {
		p[pnOffset+i] ^= mask[1+i]
		pn = pn<<8 | uint64(p[pnOffset+i])
	}
	// The truncated packet number is the full one for a client's first
	// Initials, which start at 0 and fit the encoded length.
	var nonce [12]byte
	copy(nonce[:], q.keys.iv)
	for i := range 8 {
		nonce[11-i] ^= byte(pn >> (8 * i))
	}
	hdr := p[:pnOffset+pnLen]
	plain, err := q.keys.aead.Open(p[len(hdr):len(hdr)], nonce[:], p[len(hdr):], hdr)
	if err != nil {
		return nil, fmt.Errorf("%w: QUIC Initial: %v", ErrMalformed, err)
	}
	return plain, nil
}

// readFrames walks the frames allowed in an Initial and keeps CRYPTO data.
func (q *QUICInitial) readFrames(b []byte) error {
	r := reader{b: b}
	for r.left() > 0 && !r.bad {
		switch typ := quicVarint(&r); typ {
		case 0x00, 0x01: // PADDING, PING
		case 0x02, 0x03: // ACK, ACK_ECN
			quicVarint(&r) // largest acknowledged
			quicVarint(&r) // delay
			ranges := quicVarint(&r)
			quicVarint(&r) // first range
			for i := uint64(0); i < ranges && !r.bad; i++ {
				quicVarint(&r)
				quicVarint(&r)
			}
			if typ == 0x03 {
				quicVarint(&r)
				quicVarint(&r)
				quicVarint(&r)
			}
		case 0x06: // CRYPTO
			off := quicVarint(&r)
			data := r.bytes(int(min(quicVarint(&r), uint64(len(b)))))
			if r.bad {
				break
			}
			if err := q.addCrypto(off, data); err != nil {
				return err
			}
		case 0x1c: // CONNECTION_CLOSE
			quicVarint(&r)
			quicVarint(&r)
			r.bytes(int(min(quicVarint(&r), uint64(len(b)))))
		default:
			return fmt.Errorf("%w: QUIC frame type %#x in Initial", ErrMalformed, typ)
		}
	}
	if r.bad {
		return fmt.Errorf("%w: truncated QUIC frame", ErrMalformed)
	}
	return nil
}

func (q *QUICInitial) addCrypto(off uint64, data []byte) error {
	end := off + uint64(len(data))
	if end > 4+MaxHandshakeLen {
		return fmt.Errorf("%w: CRYPTO data up to offset %d", ErrTooLarge, end)
	}
	if int(end) > len(q.crypto) {
		q.crypto = append(q.crypto, make([]byte, int(end)-len(q.crypto))...)
	}
	copy(q.crypto[off:], data)
	q.covered = addRange(q.covered, int(off), int(end))
	if len(q.covered) > maxCryptoRanges {
		return fmt.Errorf("%w: CRYPTO stream in more than %d pieces", ErrTooLarge, maxCryptoRanges)
	}
	return nil
}

// addRange inserts [start, end) into sorted, merged ranges.
func addRange(rs [][2]int, start, end int) [][2]int {
	if start >= end {
		return rs
	}
	rs = append(rs, [2]int{start, end})
	slices.SortFunc(rs, func(a, b [2]int) int { return a[0] - b[0] })
	merged := rs[:1]
	for _, r := range rs[1:] {
		last := &merged[len(merged)-1]
		if r[0] <= last[1] {
			last[1] = max(last[1], r[1])
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// clientHello parses the ClientHello once the CRYPTO stream holds it from
// offset 0.
func (q *QUICInitial) clientHello(h *ClientHello) error {
	h.reset()
	h.Transport = TransportQUIC
	have := 0
	if len(q.covered) > 0 && q.covered[0][0] == 0 {
		have = q.covered[0][1]
	}
	s := q.crypto[:have]
	if len(s) >= 1 && s[0] != typeClientHello {
		return fmt.Errorf("%w: CRYPTO stream starts with handshake type %d", ErrUnexpectedMessage, s[0])
	}
	if len(s) < 4 {
		return ErrNeedMore
	}
	n := int(s[1])<<16 | int(s[2])<<8 | int(s[3])
	if n > MaxHandshakeLen {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
	}
	if len(s) < 4+n {
		return ErrNeedMore
	}
	h.Length = n
	h.End = 4 + n
	if err := h.parseBody(s[4 : 4+n]); err != nil {
		return fmt.Errorf("quic client hello: %w", err)
	}
	return nil
}

// quicVarint reads a variable-length integer (RFC 9000 section 16).
func quicVarint(r *reader) uint64 {
	if r.left() < 1 {
		r.bad = true
		return 0
	}
	n := 1 << (r.b[r.off] >> 6)
	if r.left() < n {
		r.bad = true
		r.off = len(r.b)
		return 0
	}
	v := uint64(r.b[r.off] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(r.b[r.off+i])
	}
	r.off += n
	return v
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

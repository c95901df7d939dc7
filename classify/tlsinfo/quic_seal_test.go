package tlsinfo

import (
	"errors"
	"testing"
)

// sealInitial builds a client Initial datagram of version v whose header
// names dcid, protected with the keys of keyDCID as RFC 9001 section 5 says
// (the sender's side of open), with packet number pn, carrying frames and
// padded to 1200 bytes.
func sealInitial(t *testing.T, v uint32, keyDCID, dcid []byte, pn byte, frames []byte) []byte {
	t.Helper()
	var k QUICInitial
	p := quicParams(v)
	if err := k.setKeys(v, p, keyDCID); err != nil {
		t.Fatal(err)
	}
	hdr := []byte{0xc0 | p.initialType<<4, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v), byte(len(dcid))}
	hdr = append(hdr, dcid...)
	hdr = append(hdr, 0, 0) // empty SCID, empty token
	payload := append([]byte(nil), frames...)
	payload = append(payload, make([]byte, 1200-len(hdr)-2-1-16-len(frames))...) // PADDING
	length := 1 + len(payload) + 16
	hdr = append(hdr, 0x40|byte(length>>8), byte(length))
	pnOffset := len(hdr)
	hdr = append(hdr, pn)
	var nonce [12]byte
	copy(nonce[:], k.keys.iv)
	nonce[11] ^= pn
	pkt := k.keys.aead.Seal(hdr, nonce[:], payload, hdr)
	var mask [16]byte
	k.keys.hp.Encrypt(mask[:], pkt[pnOffset+4:pnOffset+4+16])
	pkt[0] ^= mask[0] & 0x0f
	pkt[pnOffset] ^= mask[1]
	return pkt
}

// cryptoFrame encodes a CRYPTO frame with 2-byte varints.
func cryptoFrame(off int, data []byte) []byte {
	b := []byte{0x06, 0x40 | byte(off>>8), byte(off), 0x40 | byte(len(data)>>8), byte(len(data))}
	return append(b, data...)
}

// retryPacket is a server's Retry with a new connection ID (its token and
// integrity tag are not read).
func retryPacket(v uint32, scid []byte) []byte {
	b := []byte{0xc0 | retryType(v)<<4, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v), 0, byte(len(scid))}
	b = append(b, scid...)
	return append(b, make([]byte, 16+8)...)
}

// quicTestHello is a real ClientHello handshake message (type, length,
// body), taken from a TLS capture.
func quicTestHello(t *testing.T) []byte {
	s := firstClientStream(t, "tls13_wolfssl.pcap")
	n := int(s[3])<<8 | int(s[4])
	return s[5 : 5+n]
}

var (
	testDCID   = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	testServer = []byte{9, 9, 9, 9, 9}
	testVers   = []uint32{QUICVersion1, QUICVersion2, quicDraft(27), quicDraft(29), quicDraft(34)}
)

// The client switches to the server's connection ID after the server's
// first Initial but keeps the keys of its first DCID (RFC 9001 section
// 5.2): the second half of the hello opens only with those.
func TestQUICKeysFromFirstDCID(t *testing.T) {
	hello := quicTestHello(t)
	half := len(hello) / 2
	for _, v := range testVers {
		var (
			q QUICInitial
			h ClientHello
		)
		d1 := sealInitial(t, v, testDCID, testDCID, 0, cryptoFrame(0, hello[:half]))
		d2 := sealInitial(t, v, testDCID, testServer, 1, cryptoFrame(half, hello[half:]))
		if err := ParseQUICInitial(d1, &q, &h); !errors.Is(err, ErrNeedMore) {
			t.Fatalf("%#x first half: %v", v, err)
		}
		if err := ParseQUICInitial(d2, &q, &h); err != nil {
			t.Fatalf("%#x second half, to the server's CID: %v", v, err)
		}
		if h.Length != len(hello)-4 || string(q.DCID) != string(testDCID) || q.Version != v {
			t.Errorf("%#x: hello of %d bytes, keys of %#x DCID %x", v, h.Length, q.Version, q.DCID)
		}
	}
}

// After a Retry the client seals with keys of the Retry's connection ID and
// sends its hello again from offset 0; the first attempt's bytes must not
// mix in.
func TestQUICRetryChangesKeys(t *testing.T) {
	hello := quicTestHello(t)
	half := len(hello) / 2
	for _, v := range testVers {
		var (
			q QUICInitial
			h ClientHello
		)
		// The first attempt carries the hello's tail: after the Retry the
		// stream starts over, so that piece must be gone.
		d1 := sealInitial(t, v, testDCID, testDCID, 0, cryptoFrame(half+8, hello[half+8:]))
		if err := ParseQUICInitial(d1, &q, &h); !errors.Is(err, ErrNeedMore) {
			t.Fatalf("%#x first attempt: %v", v, err)
		}
		q.ServerDatagram(retryPacket(v, testServer))
		d2 := sealInitial(t, v, testServer, testServer, 1, cryptoFrame(0, hello[:half]))
		d3 := sealInitial(t, v, testServer, testServer, 2, cryptoFrame(half, hello[half:]))
		if err := ParseQUICInitial(d2, &q, &h); !errors.Is(err, ErrNeedMore) {
			t.Fatalf("%#x after Retry, first half: %v", v, err)
		}
		if len(q.covered) != 1 || q.covered[0] != [2]int{0, half} {
			t.Errorf("%#x: CRYPTO ranges %v after the Retry, want [[0 %d]]", v, q.covered, half)
		}
		if err := ParseQUICInitial(d3, &q, &h); err != nil {
			t.Fatalf("%#x after Retry, second half: %v", v, err)
		}
		if !q.Retried || string(q.DCID) != string(testServer) || h.Length != len(hello)-4 {
			t.Errorf("%#x: retried %v, keys of DCID %x, hello of %d bytes", v, q.Retried, q.DCID, h.Length)
		}
	}
	// Without the Retry the same packets do not open: the keys stay.
	var (
		q QUICInitial
		h ClientHello
	)
	d1 := sealInitial(t, QUICVersion1, testDCID, testDCID, 0, cryptoFrame(0, hello[:half]))
	d2 := sealInitial(t, QUICVersion1, testServer, testServer, 1, cryptoFrame(half, hello[half:]))
	if err := ParseQUICInitial(d1, &q, &h); !errors.Is(err, ErrNeedMore) {
		t.Fatal(err)
	}
	if err := ParseQUICInitial(d2, &q, &h); !errors.Is(err, ErrMalformed) {
		t.Errorf("an Initial sealed for another DCID without a Retry: %v, want ErrMalformed", err)
	}
	// A Retry-typed packet of an unknown version changes nothing.
	q.ServerDatagram(retryPacket(0x0a0a0a0a, testServer))
	if q.retry {
		t.Error("a Retry of an unknown version accepted")
	}
}

// An Initial the client sent before the Retry can arrive after it (the
// second datagram of a long ClientHello, still in flight): it opens with
// the first keys and leaves the Retry waiting for the Initial that carries
// the Retry's connection ID, which starts the stream over (RFC 9001
// section 5.2).
func TestQUICInitialInFlightAcrossRetry(t *testing.T) {
	hello := quicTestHello(t)
	half := len(hello) / 2
	for _, v := range testVers {
		var (
			q QUICInitial
			h ClientHello
		)
		d1 := sealInitial(t, v, testDCID, testDCID, 0, cryptoFrame(0, hello[:half]))
		d2 := sealInitial(t, v, testDCID, testDCID, 1, cryptoFrame(half, hello[half:half+8]))
		n1 := sealInitial(t, v, testServer, testServer, 2, cryptoFrame(0, hello[:half]))
		n2 := sealInitial(t, v, testServer, testServer, 3, cryptoFrame(half, hello[half:]))
		if err := ParseQUICInitial(d1, &q, &h); !errors.Is(err, ErrNeedMore) {
			t.Fatalf("%#x first datagram: %v", v, err)
		}
		q.ServerDatagram(retryPacket(v, testServer))
		// An Initial to the Retry's connection ID that does not open
		// (corrupt) leaves the first keys in place.
		bad := sealInitial(t, v, []byte{7, 7, 7, 7, 7, 7, 7, 7}, testServer, 5, cryptoFrame(0, hello[:8]))
		if err := ParseQUICInitial(bad, &q, &h); err == nil {
			t.Fatalf("%#x: an Initial sealed with other keys opened", v)
		}
		if err := ParseQUICInitial(d2, &q, &h); !errors.Is(err, ErrNeedMore) {
			t.Fatalf("%#x datagram sent before the Retry: %v", v, err)
		}
		if q.Retried || !q.retry || string(q.DCID) != string(testDCID) {
			t.Errorf("%#x: after the in-flight datagram retried %v, Retry pending %v, keys of DCID %x", v, q.Retried, q.retry, q.DCID)
		}
		if err := ParseQUICInitial(n1, &q, &h); !errors.Is(err, ErrNeedMore) {
			t.Fatalf("%#x after the Retry, first half: %v", v, err)
		}
		if err := ParseQUICInitial(n2, &q, &h); err != nil {
			t.Fatalf("%#x after the Retry, second half: %v", v, err)
		}
		if !q.Retried || string(q.DCID) != string(testServer) || h.Length != len(hello)-4 {
			t.Errorf("%#x: retried %v, keys of DCID %x, hello of %d bytes", v, q.Retried, q.DCID, h.Length)
		}
	}
}

// Keys fix on the first Initial that opens: one that fails (the capture
// missed the real first Initial, or a corrupt one) does not lock them.
func TestQUICKeysLockOnOpen(t *testing.T) {
	hello := quicTestHello(t)
	var (
		q QUICInitial
		h ClientHello
	)
	bad := sealInitial(t, QUICVersion1, testDCID, testDCID, 0, cryptoFrame(0, hello))
	bad[len(bad)-1] ^= 1
	if err := ParseQUICInitial(bad, &q, &h); !errors.Is(err, ErrMalformed) {
		t.Fatalf("corrupt Initial: %v", err)
	}
	good := sealInitial(t, QUICVersion1, testServer, testServer, 1, cryptoFrame(0, hello))
	if err := ParseQUICInitial(good, &q, &h); err != nil {
		t.Fatalf("Initial after a corrupt one: %v", err)
	}
}

// CRYPTO frames arrive in any order, within and across Initials.
func TestQUICCryptoOrder(t *testing.T) {
	hello := quicTestHello(t)
	n := len(hello)
	a, b, c := hello[:n/3], hello[n/3:2*n/3], hello[2*n/3:]
	var (
		q QUICInitial
		h ClientHello
	)
	frames := append(cryptoFrame(2*n/3, c), cryptoFrame(n/3, b)...)
	d1 := sealInitial(t, QUICVersion1, testDCID, testDCID, 0, frames)
	d2 := sealInitial(t, QUICVersion1, testDCID, testDCID, 1, cryptoFrame(0, a))
	if err := ParseQUICInitial(d1, &q, &h); !errors.Is(err, ErrNeedMore) {
		t.Fatalf("tail first: %v", err)
	}
	if err := ParseQUICInitial(d2, &q, &h); err != nil || h.Length != n-4 {
		t.Fatalf("head last: %v, hello of %d bytes", err, h.Length)
	}
}

// The CRYPTO stream's pieces are bounded: a hello cut into more one-byte
// frames than maxCryptoRanges, every other byte missing, is refused.
func TestQUICCryptoRangesBound(t *testing.T) {
	var (
		q QUICInitial
		h ClientHello
	)
	var frames []byte
	for i := range maxCryptoRanges + 1 {
		frames = append(frames, cryptoFrame(2*i+1, []byte{0})...)
	}
	d := sealInitial(t, QUICVersion1, testDCID, testDCID, 0, frames)
	if err := ParseQUICInitial(d, &q, &h); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d pieces: %v, want ErrTooLarge", maxCryptoRanges+1, err)
	}
}

// Version negotiation: a compatible one (RFC 9368, v1 to v2) keeps the
// connection, its CRYPTO stream and the first DCID's keys under the new
// version's salt; an incompatible one (a draft the server does not speak,
// then v1) starts a new attempt with keys of its own DCID and a new stream.
func TestQUICVersionChange(t *testing.T) {
	hello := quicTestHello(t)
	half := len(hello) / 2

	var (
		q QUICInitial
		h ClientHello
	)
	d1 := sealInitial(t, QUICVersion1, testDCID, testDCID, 0, cryptoFrame(0, hello[:half]))
	d2 := sealInitial(t, QUICVersion2, testDCID, testServer, 1, cryptoFrame(half, hello[half:]))
	if err := ParseQUICInitial(d1, &q, &h); !errors.Is(err, ErrNeedMore) {
		t.Fatalf("v1 first half: %v", err)
	}
	if err := ParseQUICInitial(d2, &q, &h); err != nil {
		t.Fatalf("v2 second half under the first DCID's keys: %v", err)
	}
	if q.Version != QUICVersion2 || string(q.DCID) != string(testDCID) {
		t.Errorf("keys of %#x DCID %x, want v2 and the first DCID", q.Version, q.DCID)
	}

	q.Reset()
	other := []byte{7, 7, 7, 7, 7, 7, 7, 7}
	d1 = sealInitial(t, quicDraft(29), testDCID, testDCID, 0, cryptoFrame(half+3, hello[half+3:]))
	d2 = sealInitial(t, QUICVersion1, other, other, 0, cryptoFrame(0, hello))
	if err := ParseQUICInitial(d1, &q, &h); !errors.Is(err, ErrNeedMore) {
		t.Fatalf("draft-29 attempt: %v", err)
	}
	if err := ParseQUICInitial(d2, &q, &h); err != nil || h.Length != len(hello)-4 {
		t.Fatalf("v1 attempt with a new DCID: %v", err)
	}
	if string(q.DCID) != string(other) || len(q.covered) != 1 || q.covered[0] != [2]int{0, len(hello)} {
		t.Errorf("keys of DCID %x, CRYPTO ranges %v: the new attempt's stream must start afresh", q.DCID, q.covered)
	}

	// A packet of another version that opens with no keys changes nothing.
	q.Reset()
	if err := ParseQUICInitial(sealInitial(t, QUICVersion1, testDCID, testDCID, 0, cryptoFrame(0, hello[:half])), &q, &h); !errors.Is(err, ErrNeedMore) {
		t.Fatal(err)
	}
	bad := sealInitial(t, QUICVersion2, other, other, 1, cryptoFrame(half, hello[half:]))
	bad[len(bad)-1] ^= 1
	if err := ParseQUICInitial(bad, &q, &h); !errors.Is(err, ErrMalformed) {
		t.Fatalf("corrupt v2 Initial: %v", err)
	}
	if q.Version != QUICVersion1 || string(q.DCID) != string(testDCID) {
		t.Errorf("a corrupt Initial changed the keys to %#x %x", q.Version, q.DCID)
	}
	if err := ParseQUICInitial(sealInitial(t, QUICVersion1, testDCID, testServer, 1, cryptoFrame(half, hello[half:])), &q, &h); err != nil {
		t.Errorf("v1 second half after the corrupt packet: %v", err)
	}
}

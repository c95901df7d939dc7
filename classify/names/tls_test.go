package names

import (
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

// goClientHello is the first record a crypto/tls client writes: a real
// ClientHello without any capture file.
func goClientHello(t testing.TB, sni string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		defer c.Close()
		_ = tls.Client(c, &tls.Config{ServerName: sni, NextProtos: []string{"h2", "http/1.1"}}).Handshake()
	}()
	rec := make([]byte, 5)
	if _, err := io.ReadFull(s, rec); err != nil {
		t.Fatal(err)
	}
	rec = append(rec, make([]byte, binary.BigEndian.Uint16(rec[3:]))...)
	if _, err := io.ReadFull(s, rec[5:]); err != nil {
		t.Fatal(err)
	}
	return rec
}

type dissector interface {
	Start(*flow.Flow, *decode.Packet) bool
	Packet(*flow.Flow, *decode.Packet, bool) bool
	End(*flow.Flow)
}

// captureHello is the first TCP payload of a capture that starts with a
// handshake record.
func captureHello(t testing.TB, name string) []byte {
	t.Helper()
	var dec decode.Decoder
	var p decode.Packet
	for _, fr := range readFrames(t, name) {
		if dec.Decode(fr.lt, fr.data, fr.ts, fr.wireLen, &p) == nil && p.Key.Proto() == flow.ProtoTCP &&
			len(p.Payload) > 5 && p.Payload[0] == 0x16 {
			return append([]byte(nil), p.Payload...)
		}
	}
	t.Fatalf("%s: no handshake record", name)
	return nil
}

// testFlow drives a dissector the way capture.Pipeline does, for one
// hand-made TCP or UDP flow.
type testFlow struct {
	d       dissector
	f       flow.Flow
	seq     [2]uint32
	started bool
	inspect bool
	pkt     decode.Packet
}

func newTestFlow(d dissector, proto uint8, client, server string) *testFlow {
	k, dir := keyOf(proto, client, server)
	return &testFlow{d: d, f: flow.Flow{Key: k, OrigDir: dir}, seq: [2]uint32{1000, 5000}}
}

// send delivers one packet; fromOrig picks the sender. It returns whether
// the dissector still inspects the flow.
func (tf *testFlow) send(fromOrig bool, flags uint8, payload []byte) bool {
	side, dir := 0, tf.f.OrigDir
	if !fromOrig {
		side, dir = 1, dir.Flip()
	}
	tf.pkt = decode.Packet{Packet: flow.Packet{Key: tf.f.Key, Dir: dir, TCPFlags: flags, Seq: tf.seq[side]}, Payload: payload}
	tf.seq[side] += uint32(len(payload))
	if flags&flow.FlagSYN != 0 {
		tf.seq[side]++
	}
	if fromOrig {
		tf.f.Orig.Packets++
	} else {
		tf.f.Resp.Packets++
	}
	if !tf.started {
		tf.started = true
		tf.inspect = tf.d.Start(&tf.f, &tf.pkt)
	}
	if tf.inspect {
		tf.inspect = tf.d.Packet(&tf.f, &tf.pkt, fromOrig)
	}
	return tf.inspect
}

func (tf *testFlow) end() { tf.d.End(&tf.f) }

func TestTLSOnAnyPort(t *testing.T) {
	hello := goClientHello(t, "sip.example.net")
	d := NewTLS(TLSConfig{})
	tf := newTestFlow(d, flow.ProtoTCP, "10.0.0.1:40000", "10.0.0.2:5061")
	tf.send(true, flow.FlagSYN, nil)
	tf.send(false, flow.FlagSYN|flow.FlagACK, nil)
	// The hello in three segments, the last one before the middle one.
	a, b, c := hello[:10], hello[10:200], hello[200:]
	tf.send(true, flow.FlagACK, a)
	seq := tf.seq[0]
	tf.seq[0] = seq + uint32(len(b))
	if !tf.send(true, flow.FlagACK, c) {
		t.Fatal("gave up on a handshake whose segments came out of order")
	}
	tf.seq[0] = seq
	tf.send(true, flow.FlagACK, b)
	m := tf.f.Meta
	if m == nil || m.App != "tls" || m.SNI != "sip.example.net" || m.ALPN != "h2" || m.JA4 == "" || len(m.JA3) != 32 {
		t.Fatalf("meta %+v", m)
	}
	if d.InProgress() != 1 {
		t.Fatalf("%d handshakes in progress, want 1 (waiting for the server)", d.InProgress())
	}
	tf.end()
	if d.InProgress() != 0 || d.Stats().Unfinished.Load() != 1 {
		t.Fatalf("End left %d handshakes, %d unfinished", d.InProgress(), d.Stats().Unfinished.Load())
	}
}

func TestTLSGivesUp(t *testing.T) {
	hello := goClientHello(t, "example.com")
	tests := []struct {
		name     string
		segments [][]byte // client payloads, sent in order
		stat     func(*TLSStats) uint64
		// app is the label left: a handshake that began with a TLS record
		// header is TLS even when its hello could not be parsed, so the
		// verdict engine does not take it for plaintext.
		app string
	}{
		{"HTTP", [][]byte{[]byte("GET / HTTP/1.1\r\n\r\n")}, func(s *TLSStats) uint64 { return s.NotTLS.Load() }, ""},
		{"handshake-looking garbage", [][]byte{{0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0, 0, 1, 0}}, func(s *TLSStats) uint64 { return s.Malformed.Load() }, ""},
		{"high bit, not SSLv2", [][]byte{{0x80, 0x03, 0x07, 0, 0}}, func(s *TLSStats) uint64 { return s.Malformed.Load() + s.NotTLS.Load() }, ""},
		{"bytes lost inside the hello", [][]byte{hello[:100], nil, hello[300:]}, func(s *TLSStats) uint64 { return s.Lost.Load() }, "tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewTLS(TLSConfig{BufferSize: 512})
			tf := newTestFlow(d, flow.ProtoTCP, "10.0.0.1:40000", "10.0.0.2:443")
			inspecting := true
			for _, s := range tt.segments {
				if s == nil {
					tf.seq[0] += 200 // a segment the capture missed
					continue
				}
				inspecting = tf.send(true, flow.FlagACK, s)
			}
			if inspecting {
				t.Error("still inspecting")
			}
			if tt.stat(d.Stats()) != 1 {
				t.Errorf("stats %+v", d.Stats())
			}
			if d.InProgress() != 0 {
				t.Errorf("%d handshakes hold state", d.InProgress())
			}
			if tf.f.Meta != nil && tf.f.Meta.JA4 != "" {
				t.Errorf("labelled: %+v", tf.f.Meta)
			}
			app := ""
			if tf.f.Meta != nil {
				app = tf.f.Meta.App
			}
			if app != tt.app {
				t.Errorf("app %q, want %q", app, tt.app)
			}
		})
	}
}

func TestTLSBoundsHandshakes(t *testing.T) {
	hello := goClientHello(t, "example.com")
	d := NewTLS(TLSConfig{MaxHandshakes: 2})
	var flows []*testFlow
	for i, port := range []string{"1", "2", "3"} {
		tf := newTestFlow(d, flow.ProtoTCP, "10.0.0.1:4000"+port, "10.0.0.2:443")
		got := tf.send(true, flow.FlagACK, hello[:50])
		if want := i < 2; got != want {
			t.Fatalf("flow %d: inspecting %v, want %v", i, got, want)
		}
		flows = append(flows, tf)
	}
	if d.Stats().Overflow.Load() != 1 || d.InProgress() != 2 {
		t.Fatalf("overflow %d, in progress %d", d.Stats().Overflow.Load(), d.InProgress())
	}
	// Not parsed, but its first bytes are a handshake record: TLS.
	if m := flows[2].f.Meta; m == nil || m.App != "tls" || m.JA4 != "" {
		t.Errorf("overflowed handshake labelled %+v, want app tls without fingerprints", m)
	}
	for _, tf := range flows {
		tf.end()
	}
	if d.InProgress() != 0 || len(d.free) != 2 {
		t.Fatalf("after End: %d in progress, %d free", d.InProgress(), len(d.free))
	}
}

func TestQUICPortHeuristic(t *testing.T) {
	d := NewTLS(TLSConfig{})
	rtp := make([]byte, 1300)
	rtp[0] = 0x80 // RTP version 2
	tf := newTestFlow(d, flow.ProtoUDP, "10.0.0.1:16384", "10.0.0.2:16386")
	if tf.send(true, 0, rtp) {
		t.Fatal("RTP flow inspected as QUIC")
	}
	initial := make([]byte, 1200)
	initial[0] = 0xc3
	binary.BigEndian.PutUint32(initial[1:], quicV1)
	if !looksLikeQUICInitial(initial) {
		t.Fatal("v1 Initial not recognised")
	}
	initial[0] = 0xd3 // 0-RTT type in v1
	if looksLikeQUICInitial(initial) {
		t.Fatal("v1 0-RTT taken for an Initial")
	}
}

// FuzzTLSDissector feeds random segments of both directions, in random
// order, through one flow.
func FuzzTLSDissector(f *testing.F) {
	// Seeds must be the same in every fuzzing process: take a recorded
	// hello rather than a fresh crypto/tls one.
	hello := captureHello(f, "tls/tls13_wolfssl.pcap")
	seed := func(segs ...[]byte) []byte {
		var b []byte
		for i, s := range segs {
			b = append(b, byte(i&1), 0, byte(len(s)>>8), byte(len(s)))
			b = append(b, s...)
		}
		return b
	}
	f.Add(seed(hello[:100], nil, hello[100:]))
	f.Add(seed(hello, []byte{0x16, 3, 3, 0, 4, 2, 0, 0, 0}))
	f.Add(seed([]byte{0x14, 3, 3, 0, 1, 1}, hello))
	// Cleartext hand-overs: the server's banner first (odd index), then a
	// SOCKS5 and an HTTP CONNECT tunnel.
	f.Add(seed(nil, []byte("220 mx ESMTP\r\n"), []byte("STARTTLS\r\n"), []byte("220 go ahead\r\n"), hello))
	f.Add(seed([]byte("\x05\x01\x00"), []byte("\x05\x00"), []byte("\x05\x01\x00\x03\x01a\x01\xbb"),
		[]byte("\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00"), hello))
	f.Add(seed([]byte("CONNECT a:443 HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\n\r\n"), hello))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewTLS(TLSConfig{BufferSize: 4096})
		tf := newTestFlow(d, flow.ProtoTCP, "10.0.0.1:40000", "10.0.0.2:443")
		// Each record: direction+flags, sequence jitter, length (2), data.
		for len(in) >= 4 {
			ctl, jitter := in[0], int8(in[1])
			n := min(int(binary.BigEndian.Uint16(in[2:])), len(in)-4)
			seg := in[4 : 4+n]
			in = in[4+n:]
			side := int(ctl & 1)
			tf.seq[side] += uint32(int32(jitter))
			if !tf.send(side == 0, ctl&^1, seg) {
				break
			}
			if d.InProgress() > 1 {
				t.Fatalf("%d handshakes for one flow", d.InProgress())
			}
			if hs := d.conns[tf.f.Key]; hs != nil {
				for i := range hs.half {
					if len(hs.half[i].Bytes()) > 4096 {
						t.Fatalf("half %d holds %d bytes", i, len(hs.half[i].Bytes()))
					}
				}
			}
		}
		tf.end()
		if d.InProgress() != 0 {
			t.Fatal("state left after End")
		}
	})
}

// FuzzDNSDissector feeds random segments through a DNS-over-TCP flow and
// random datagrams through a UDP one.
func FuzzDNSDissector(f *testing.F) {
	query := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 0, 0, 1, 0, 1}
	f.Add(append([]byte{0, 0, 0, byte(len(query) + 2), 0, byte(len(query))}, query...))
	f.Add(append([]byte{1, 0, 0, byte(len(query))}, query...))
	f.Fuzz(func(t *testing.T, in []byte) {
		cache := dnsinfo.NewCache(dnsinfo.Config{MaxEntries: 16})
		d := NewDNS(cache, DNSConfig{MaxPending: 4, OnTransaction: func(*dnsinfo.Transaction) {}})
		tcp := newTestFlow(d, flow.ProtoTCP, "10.0.0.1:40000", "10.0.0.2:53")
		udp := newTestFlow(d, flow.ProtoUDP, "10.0.0.1:40001", "10.0.0.2:53")
		tcp.send(true, flow.FlagSYN, nil)
		tcp.send(false, flow.FlagSYN|flow.FlagACK, nil)
		for len(in) >= 4 {
			ctl, jitter := in[0], int8(in[1])
			n := min(int(binary.BigEndian.Uint16(in[2:])), len(in)-4)
			seg := in[4 : 4+n]
			in = in[4+n:]
			fromOrig := ctl&2 == 0
			if ctl&1 != 0 {
				udp.send(fromOrig, 0, seg)
				continue
			}
			side := 0
			if !fromOrig {
				side = 1
			}
			tcp.seq[side] += uint32(int32(jitter))
			tcp.send(fromOrig, flow.FlagACK, seg)
		}
		tcp.end()
		udp.end()
		if len(d.streams) != 0 || d.txFlows != 0 {
			t.Fatal("state left after End")
		}
		// The staged responses reach the cache, parsed again, at commit.
		cache.Commit(0)
	})
}

// A capture of headers only (the snap length cut every payload) cannot
// show a handshake: the flow is marked PayloadCut, so the verdict engine
// does not take it for plaintext, and the dissector lets it go.
func TestTLSPayloadCutBySnapLength(t *testing.T) {
	d := NewTLS(TLSConfig{})
	tf := newTestFlow(d, flow.ProtoTCP, "10.0.0.1:40000", "10.0.0.2:443")
	tf.send(true, flow.FlagSYN, nil)
	tf.send(false, flow.FlagSYN|flow.FlagACK, nil)
	if !tf.send(true, flow.FlagACK, nil) {
		t.Fatal("the dissector let go before any data")
	}
	// A 517-byte ClientHello of which the capture kept no byte.
	tf.pkt = decode.Packet{Packet: flow.Packet{Key: tf.f.Key, Dir: tf.f.OrigDir, TCPFlags: flow.FlagACK | flow.FlagPSH, Seq: tf.seq[0], PayloadLen: 517}}
	if d.Packet(&tf.f, &tf.pkt, true) {
		t.Error("still inspecting a flow whose payload cannot be seen")
	}
	if tf.f.Meta == nil || !tf.f.Meta.PayloadCut || tf.f.Meta.App != "" {
		t.Errorf("Meta %+v, want PayloadCut and no label", tf.f.Meta)
	}
}

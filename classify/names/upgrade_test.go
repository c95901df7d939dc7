package names

import (
	"crypto/tls"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/internal/wiretest"
)

// A TCP flow whose first payload neither starts TLS nor a hand-over
// protocol costs no state; one that starts a hand-over protocol but goes
// on in cleartext is released as soon as that shows, and stays unlabelled.
func TestUpgradeCandidatesState(t *testing.T) {
	d := NewTLS(TLSConfig{})
	plain := newTestFlow(d, flow.ProtoTCP, "10.0.0.1:40000", "10.0.0.2:80")
	plain.send(true, flow.FlagSYN, nil)
	plain.send(false, flow.FlagSYN|flow.FlagACK, nil)
	if plain.send(true, flow.FlagACK, []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")) || d.InProgress() != 0 || len(d.free) != 0 {
		t.Fatalf("plain HTTP: inspecting, %d in progress, %d states made", d.InProgress(), len(d.free))
	}

	mail := newTestFlow(d, flow.ProtoTCP, "10.0.0.1:40001", "10.0.0.2:25")
	mail.send(true, flow.FlagSYN, nil)
	mail.send(false, flow.FlagSYN|flow.FlagACK, nil)
	steps := []struct {
		fromOrig bool
		data     string
	}{{false, "220 mx ESMTP\r\n"}, {true, "EHLO me\r\n"}, {false, "250 mx\r\n"}}
	for _, s := range steps {
		if !mail.send(s.fromOrig, flow.FlagACK, []byte(s.data)) {
			t.Fatalf("SMTP stopped after %q", s.data)
		}
	}
	if d.InProgress() != 1 {
		t.Fatalf("%d in progress during the SMTP dialogue", d.InProgress())
	}
	if mail.send(true, flow.FlagACK, []byte("MAIL FROM:<a@example.com>\r\n")) {
		t.Fatal("SMTP still inspected after MAIL FROM")
	}
	st := d.Stats()
	if d.InProgress() != 0 || st.UpgradeCandidates.Load() != 1 || st.NoUpgrade.Load() != 1 || st.Handshakes.Load() != 0 {
		t.Errorf("in progress %d, candidates %d, no upgrade %d, handshakes %d; want 0 1 1 0",
			d.InProgress(), st.UpgradeCandidates.Load(), st.NoUpgrade.Load(), st.Handshakes.Load())
	}
	if mail.f.Meta != nil {
		t.Errorf("SMTP without STARTTLS labelled %+v", *mail.f.Meta)
	}
}

// A tunnel that carries something other than TLS keeps the proxy's label
// and target, and is counted, not taken for a malformed handshake.
func TestTunnelWithoutTLS(t *testing.T) {
	d := NewTLS(TLSConfig{})
	tf := newTestFlow(d, flow.ProtoTCP, "10.0.0.1:40000", "10.0.0.3:3128")
	tf.send(true, flow.FlagSYN, nil)
	tf.send(false, flow.FlagSYN|flow.FlagACK, nil)
	tf.send(true, flow.FlagACK, []byte("CONNECT git.example.org:22 HTTP/1.1\r\n\r\n"))
	tf.send(false, flow.FlagACK, []byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	if tf.send(true, flow.FlagACK, []byte("SSH-2.0-OpenSSH_9.6\r\n")) {
		t.Fatal("tunnelled SSH still inspected")
	}
	st := d.Stats()
	if st.TunnelNotTLS.Load() != 1 || st.Malformed.Load() != 0 || d.InProgress() != 0 {
		t.Errorf("tunnel not TLS %d, malformed %d, in progress %d", st.TunnelNotTLS.Load(), st.Malformed.Load(), d.InProgress())
	}
	if m := tf.f.Meta; m == nil || m.App != "http-connect" || m.ProxyTarget != "git.example.org:22" {
		t.Errorf("meta %+v, want app http-connect, proxy target git.example.org:22", m)
	}
}

// The cleartext phase counts against the packet bound like the handshake.
func TestUpgradePacketBound(t *testing.T) {
	d := NewTLS(TLSConfig{})
	tf := newTestFlow(d, flow.ProtoTCP, "10.0.0.1:40000", "10.0.0.2:143")
	tf.send(true, flow.FlagSYN, nil)
	tf.send(false, flow.FlagSYN|flow.FlagACK, nil)
	tf.send(false, flow.FlagACK, []byte("* OK ready\r\n"))
	packets := 1 // the banner
	for packets < 2*maxHandshakePackets {
		packets++
		if !tf.send(true, flow.FlagACK, []byte("a NOOP\r\n")) {
			break
		}
	}
	if packets != maxHandshakePackets || d.InProgress() != 0 || d.Stats().NoUpgrade.Load() != 1 {
		t.Errorf("stopped after %d payload packets (want %d), %d in progress", packets, maxHandshakePackets, d.InProgress())
	}
}

// A ServerHello after the hand-over proves TLS even when the capture lost
// the ClientHello: the flow carries the protocol's "+tls" label beside the
// version the ServerHello negotiated, not the bare label.
func TestUpgradeServerHelloWithoutClientHello(t *testing.T) {
	d := NewTLS(TLSConfig{})
	tf := newTestFlow(d, flow.ProtoTCP, "10.0.0.1:40000", "10.0.0.3:1080")
	tf.send(true, flow.FlagSYN, nil)
	tf.send(false, flow.FlagSYN|flow.FlagACK, nil)
	tf.send(true, flow.FlagACK, []byte{4, 1, 0x01, 0xbb, 192, 0, 2, 1, 0})
	tf.send(false, flow.FlagACK, []byte{0, 90, 0, 0, 0, 0, 0, 0})
	tf.seq[0] += 517 // the ClientHello's segment was not captured
	serverHelloDone := []byte{0x16, 3, 3, 0, 4, 14, 0, 0, 0}
	tf.send(false, flow.FlagACK, append(wiretest.ServerHello(tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256), serverHelloDone...))
	tf.end()
	m := tf.f.Meta
	if m == nil || m.App != "socks4+tls" || m.TLSVersion != "TLS 1.2" || m.ProxyTarget != "192.0.2.1:443" {
		t.Fatalf("meta %+v; want socks4+tls, TLS 1.2, target 192.0.2.1:443", m)
	}
}

package sdp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// body joins SDP lines with CRLF, as SIP carries them.
func body(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

var (
	headV4 = []string{"v=0", "o=- 1001 2 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0"}
	headV6 = []string{"v=0", "o=- 7 7 IN IP6 2001:db8::10", "s=-", "c=IN IP6 2001:db8::10", "t=0 0"}
)

func with(head []string, lines ...string) []byte {
	return body(append(append([]string(nil), head...), lines...)...)
}

func TestParseEndpoints(t *testing.T) {
	tests := []struct {
		name      string
		body      []byte
		media     int
		rtp, rtcp []string // per media; "" means zero AddrPort
		ok        []bool
	}{
		{
			name:  "plain audio",
			body:  with(headV4, "m=audio 49170 RTP/AVP 0 8 101"),
			media: 1, rtp: []string{"192.0.2.10:49170"}, rtcp: []string{"192.0.2.10:49171"}, ok: []bool{true},
		},
		{
			name:  "IPv6 session c=",
			body:  with(headV6, "m=audio 5004 RTP/AVP 0"),
			media: 1, rtp: []string{"[2001:db8::10]:5004"}, rtcp: []string{"[2001:db8::10]:5005"}, ok: []bool{true},
		},
		{
			name:  "rtcp-mux",
			body:  with(headV4, "m=audio 40000 UDP/TLS/RTP/SAVPF 111", "a=rtcp-mux", "a=rtcp:40001"),
			media: 1, rtp: []string{"192.0.2.10:40000"}, rtcp: []string{"192.0.2.10:40000"}, ok: []bool{true},
		},
		{
			name:  "a=rtcp port only",
			body:  with(headV4, "m=audio 40000 RTP/AVP 0", "a=rtcp:53020"),
			media: 1, rtp: []string{"192.0.2.10:40000"}, rtcp: []string{"192.0.2.10:53020"}, ok: []bool{true},
		},
		{
			name:  "a=rtcp with address",
			body:  with(headV4, "m=audio 40000 RTP/AVP 0", "a=rtcp:53020 IN IP4 198.51.100.7"),
			media: 1, rtp: []string{"192.0.2.10:40000"}, rtcp: []string{"198.51.100.7:53020"}, ok: []bool{true},
		},
		{
			name:  "a=rtcp with IPv6 address",
			body:  with(headV4, "m=audio 40000 RTP/AVP 0", "a=rtcp:53020 IN IP6 2001:db8::99"),
			media: 1, rtp: []string{"192.0.2.10:40000"}, rtcp: []string{"[2001:db8::99]:53020"}, ok: []bool{true},
		},
		{
			name:  "media c= overrides session c=",
			body:  with(headV4, "m=audio 40000 RTP/AVP 0", "c=IN IP4 203.0.113.5", "m=video 40002 RTP/AVP 96"),
			media: 2,
			rtp:   []string{"203.0.113.5:40000", "192.0.2.10:40002"},
			rtcp:  []string{"203.0.113.5:40001", "192.0.2.10:40003"},
			ok:    []bool{true, true},
		},
		{
			name:  "port 0 disabled",
			body:  with(headV4, "m=audio 40000 RTP/AVP 0", "m=video 0 RTP/AVP 96"),
			media: 2, rtp: []string{"192.0.2.10:40000", ""}, rtcp: []string{"192.0.2.10:40001", ""}, ok: []bool{true, false},
		},
		{
			name:  "hold address 0.0.0.0",
			body:  with(headV4, "m=audio 40000 RTP/AVP 0", "c=IN IP4 0.0.0.0"),
			media: 1, rtp: []string{""}, rtcp: []string{""}, ok: []bool{false},
		},
		{
			name:  "T.38 udptl has no RTCP",
			body:  with(headV4, "m=image 38000 udptl t38", "a=T38FaxVersion:0"),
			media: 1, rtp: []string{"192.0.2.10:38000"}, rtcp: []string{""}, ok: []bool{true},
		},
		{
			name:  "host name address cannot be expected",
			body:  with([]string{"v=0", "o=- 1 1 IN IP4 pbx.example.com", "s=-", "c=IN IP4 pbx.example.com", "t=0 0"}, "m=audio 4000 RTP/AVP 0"),
			media: 1, rtp: []string{""}, rtcp: []string{""}, ok: []bool{false},
		},
		{
			name:  "no c= at all",
			body:  body("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			media: 1, rtp: []string{""}, rtcp: []string{""}, ok: []bool{false},
		},
		{
			name:  "LF line ends",
			body:  []byte("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n"),
			media: 1, rtp: []string{"192.0.2.1:4000"}, rtcp: []string{"192.0.2.1:4001"}, ok: []bool{true},
		},
		{
			name:  "port 65535 has no next port for RTCP",
			body:  with(headV4, "m=audio 65535 RTP/AVP 0"),
			media: 1, rtp: []string{"192.0.2.10:65535"}, rtcp: []string{""}, ok: []bool{true},
		},
	}
	var s Session
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Parse(tt.body, &s); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(s.Media) != tt.media {
				t.Fatalf("got %d media, want %d", len(s.Media), tt.media)
			}
			for i := range s.Media {
				rtp, rtcp, ok := s.Media[i].Endpoints()
				if ok != tt.ok[i] {
					t.Errorf("media %d: ok = %v, want %v", i, ok, tt.ok[i])
				}
				if got, want := str(rtp), tt.rtp[i]; got != want {
					t.Errorf("media %d: rtp = %q, want %q", i, got, want)
				}
				if got, want := str(rtcp), tt.rtcp[i]; got != want {
					t.Errorf("media %d: rtcp = %q, want %q", i, got, want)
				}
			}
		})
	}
}

func str(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func TestParseFields(t *testing.T) {
	var s Session
	b := body(
		"v=0",
		"o=alice 2890844526 2890842807 IN IP4 10.47.16.5",
		"s=-",
		"c=IN IP4 224.2.36.42/127/3",
		"t=0 0",
		"a=sendonly",
		"m=audio 49170/2 RTP/SAVP 0 8 97 101",
		"a=rtpmap:0 pcmu/8000",
		"a=rtpmap:97 L16/16000/2",
		"a=rtpmap:101 telephone-event/8000",
		"a=ptime:20.0",
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32",
		"m=video 51372 RTP/AVPF 96",
		"a=rtpmap:96 VP8/90000",
		"a=recvonly",
		"a=fingerprint:sha-256 AA:BB",
		"a=candidate:1 1 UDP 2130706431 10.0.1.1 8998 typ host",
		"m=image 0 udptl t38",
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
		"c=IN IP6 FF15::101/3",
		"m=text 11000 RTP/AVP 98",
		"a=inactive",
	)
	if err := Parse(b, &s); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if s.Origin.SessionID != 2890844526 || s.Origin.SessionVersion != 2890842807 || s.Origin.Addr != netip.MustParseAddr("10.47.16.5") {
		t.Errorf("origin = %+v", s.Origin)
	}
	if want := (Connection{Addr: netip.MustParseAddr("224.2.36.42"), TTL: 127, Count: 3}); s.Conn != want {
		t.Errorf("session conn = %+v, want %+v", s.Conn, want)
	}
	if s.Direction != DirSendOnly {
		t.Errorf("session direction = %v", s.Direction)
	}
	if len(s.Media) != 5 {
		t.Fatalf("got %d media", len(s.Media))
	}

	a := &s.Media[0]
	if a.Type != MediaAudio || a.Proto != ProtoRTPSAVP || a.Port != 49170 || a.PortCount != 2 || a.Formats != 4 {
		t.Errorf("audio m= = %v %v %d/%d fmts %d", a.Type, a.Proto, a.Port, a.PortCount, a.Formats)
	}
	if got := a.PayloadTypes; len(got) != 4 || got[0] != 0 || got[1] != 8 || got[2] != 97 || got[3] != 101 {
		t.Errorf("payload types = %v", got)
	}
	if a.Direction != DirSendOnly || !a.OnHold() {
		t.Errorf("audio inherits session sendonly: %v hold=%v", a.Direction, a.OnHold())
	}
	if !a.Crypto || !a.Proto.IsSecure() || a.Ptime != 20 || a.ConnFromMedia {
		t.Errorf("audio crypto=%v secure=%v ptime=%d connFromMedia=%v", a.Crypto, a.Proto.IsSecure(), a.Ptime, a.ConnFromMedia)
	}
	if r, ok := a.Codec(0); !ok || r.Codec != "PCMU" || r.ClockRate != 8000 {
		t.Errorf("pt 0 = %+v %v (name is matched case-insensitively)", r, ok)
	}
	if r, ok := a.Codec(97); !ok || r.Codec != "L16" || r.ClockRate != 16000 || r.Channels != 2 {
		t.Errorf("pt 97 = %+v %v", r, ok)
	}
	if _, ok := a.Codec(8); ok {
		t.Errorf("pt 8 has no rtpmap line")
	}

	v := &s.Media[1]
	if v.Type != MediaVideo || v.Proto != ProtoRTPAVPF || v.Direction != DirRecvOnly || !v.Fingerprint || !v.ICE || v.Crypto {
		t.Errorf("video = %+v", v)
	}
	if im := &s.Media[2]; im.Type != MediaImage || im.Proto != ProtoUDPTL || !im.Disabled() || im.Formats != 1 || len(im.PayloadTypes) != 0 {
		t.Errorf("image = %+v", im)
	}
	dc := &s.Media[3]
	if dc.Type != MediaApplication || dc.Proto != ProtoUDPDTLSSCTP || !dc.ConnFromMedia || dc.Conn.Addr != netip.MustParseAddr("ff15::101") || dc.Conn.Count != 3 || dc.Conn.TTL != 0 {
		t.Errorf("datachannel = %+v", dc)
	}
	if tx := &s.Media[4]; tx.Type != MediaText || tx.Direction != DirInactive {
		t.Errorf("text = %+v", tx)
	}
}

func TestParseHold(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		hold  bool
	}{
		{"sendrecv", []string{"m=audio 4000 RTP/AVP 0"}, false},
		{"recvonly", []string{"m=audio 4000 RTP/AVP 0", "a=recvonly"}, false},
		{"sendonly", []string{"m=audio 4000 RTP/AVP 0", "a=sendonly"}, true},
		{"inactive", []string{"m=audio 4000 RTP/AVP 0", "a=inactive"}, true},
		{"c=0.0.0.0", []string{"m=audio 4000 RTP/AVP 0", "c=IN IP4 0.0.0.0"}, true},
	}
	var s Session
	for _, tt := range tests {
		if err := Parse(with(headV4, tt.lines...), &s); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := s.Media[0].OnHold(); got != tt.hold {
			t.Errorf("%s: OnHold = %v, want %v", tt.name, got, tt.hold)
		}
	}
}

func TestParseErrors(t *testing.T) {
	var s Session
	if err := Parse([]byte("INVITE sip:a@b SIP/2.0\r\n"), &s); !errors.Is(err, ErrNotSDP) {
		t.Errorf("non-SDP: err = %v", err)
	}
	if err := Parse(nil, &s); !errors.Is(err, ErrNotSDP) {
		t.Errorf("empty: err = %v", err)
	}

	// A bad line is reported but does not hide the media around it.
	err := Parse(with(headV4, "m=audio 4000 RTP/AVP 0", "a=rtpmap:abc PCMU/8000", "m=video 99999 RTP/AVP 96", "m=video 5000 RTP/AVP 96"), &s)
	var se *SyntaxError
	if !errors.As(err, &se) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want *SyntaxError", err)
	}
	if se.Line != 7 || se.Type != 'a' {
		t.Errorf("error at line %d type %c, want line 7 a=: %v", se.Line, se.Type, se)
	}
	if s.Malformed != 2 || len(s.Media) != 2 || s.Media[1].Port != 5000 {
		t.Errorf("malformed=%d media=%d", s.Malformed, len(s.Media))
	}
}

func TestParseBounds(t *testing.T) {
	lines := append([]string(nil), headV4...)
	for range MaxMedia + 5 {
		lines = append(lines, "m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000")
	}
	var s Session
	if err := Parse(body(lines...), &s); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(s.Media) != MaxMedia || s.ExtraMedia != 5 {
		t.Errorf("media %d extra %d, want %d and 5", len(s.Media), s.ExtraMedia, MaxMedia)
	}

	many := append([]string(nil), headV4...)
	for range MaxLines {
		many = append(many, "a=x")
	}
	if err := Parse(body(many...), &s); !errors.Is(err, ErrTooManyLines) || s.Lines != MaxLines {
		t.Errorf("err = %v lines = %d", err, s.Lines)
	}

	fmts := "m=audio 4000 RTP/AVP"
	for i := range MaxFormats + 10 {
		fmts += " " + string(rune('0'+i%10))
	}
	if err := Parse(with(headV4, fmts), &s); err != nil {
		t.Fatal(err)
	}
	if m := s.Media[0]; len(m.PayloadTypes) != MaxFormats || m.Formats != MaxFormats+10 {
		t.Errorf("payload types %d formats %d", len(m.PayloadTypes), m.Formats)
	}
}

// TestParseReuse checks that a reused Session does not leak values from
// the previous body into the next one.
func TestParseReuse(t *testing.T) {
	var s Session
	if err := Parse(with(headV4, "a=sendonly", "m=audio 4000 RTP/SAVP 0 8", "a=rtcp-mux", "a=crypto:1 x", "a=rtpmap:0 PCMU/8000", "m=video 5000 RTP/AVP 96"), &s); err != nil {
		t.Fatal(err)
	}
	if err := Parse(body("v=0", "m=audio 6000 RTP/AVP 18"), &s); err != nil {
		t.Fatal(err)
	}
	m := s.Media[0]
	if len(s.Media) != 1 || s.Conn.Present() || s.Direction != DirSendRecv || m.RTCPMux || m.Crypto || len(m.RTPMap) != 0 || len(m.PayloadTypes) != 1 || m.PayloadTypes[0] != 18 {
		t.Errorf("stale state: %+v %+v", s, m)
	}
}

func TestParseAddr(t *testing.T) {
	good := []string{"0.0.0.0", "192.0.2.1", "255.255.255.255", "::", "::1", "1::", "2001:db8::10", "2001:DB8:0:0:8:800:200C:417A",
		"fe80::1:2", "::ffff:192.0.2.1", "64:ff9b::192.0.2.33", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6::8", "::2:3:4:5:6:7:8"}
	for _, s := range good {
		got, ok := parseAddr([]byte(s))
		if want := netip.MustParseAddr(s).Unmap(); !ok || got != want {
			t.Errorf("parseAddr(%q) = %v %v, want %v", s, got, ok, want)
		}
	}
	bad := []string{"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", "1..2.3", ":", ":::", "1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9",
		"1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::", ":1", "1:", "::1.2.3", "fe80::1%eth0", "g::"}
	for _, s := range bad {
		if got, ok := parseAddr([]byte(s)); ok {
			t.Errorf("parseAddr(%q) = %v, want failure", s, got)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	b := benchBody()
	var s Session
	if err := Parse(b, &s); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := Parse(b, &s); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Parse allocates %.1f times per body with a reused Session", allocs)
	}
}

package sdp

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

// benchBody is a typical offer from a contact-center softphone: audio with
// DTMF and comfort noise, video, and a WebRTC-style secure leg.
func benchBody() []byte {
	return body(
		"v=0",
		"o=- 3912839021 3912839022 IN IP4 10.20.30.40",
		"s=call",
		"c=IN IP4 10.20.30.40",
		"t=0 0",
		"m=audio 16384 RTP/AVP 0 8 9 18 101 13",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:9 G722/8000",
		"a=rtpmap:18 G729/8000",
		"a=fmtp:18 annexb=no",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-16",
		"a=rtpmap:13 CN/8000",
		"a=ptime:20",
		"a=sendrecv",
		"m=video 16386 RTP/AVP 96",
		"a=rtpmap:96 H264/90000",
		"a=fmtp:96 profile-level-id=42e01f",
		"a=rtcp:16399 IN IP4 10.20.30.41",
		"m=audio 40000 UDP/TLS/RTP/SAVPF 111",
		"c=IN IP6 2001:db8:1::40",
		"a=rtpmap:111 opus/48000/2",
		"a=rtcp-mux",
		"a=fingerprint:sha-256 12:34",
		"a=ice-ufrag:abcd",
	)
}

func BenchmarkSDP(b *testing.B) {
	body := benchBody()
	var s Session
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Parse(body, &s); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(benchBody())
	f.Add(with(headV6, "m=image 38000 udptl t38", "a=rtcp:9 IN IP6 ::1"))
	f.Add([]byte("v=0\nc=IN IP4 224.0.0.1/1/2\nm=audio 1/2 RTP/AVP 0\na=rtpmap:0 x/1/2\n"))
	f.Add([]byte("v=0\r\nm=\r\nc=\r\na=rtcp:\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Session
		err := Parse(data, &s)
		if errors.Is(err, ErrNotSDP) && len(s.Media) != 0 {
			t.Fatalf("ErrNotSDP with %d media", len(s.Media))
		}
		if len(s.Media) > MaxMedia || s.Lines > MaxLines {
			t.Fatalf("bounds exceeded: %d media, %d lines", len(s.Media), s.Lines)
		}
		for i := range s.Media {
			m := &s.Media[i]
			if len(m.PayloadTypes) > MaxFormats || len(m.RTPMap) > MaxRTPMap || len(m.PayloadTypes) > m.Formats {
				t.Fatalf("media %d: %d pts, %d rtpmap, %d formats", i, len(m.PayloadTypes), len(m.RTPMap), m.Formats)
			}
			rtp, rtcp, ok := m.Endpoints()
			if ok && (rtp.Port() != m.Port || !rtp.Addr().IsValid()) {
				t.Fatalf("media %d: endpoint %v for port %d", i, rtp, m.Port)
			}
			if !ok && (rtp.IsValid() || rtcp.IsValid()) {
				t.Fatalf("media %d: endpoints returned without ok", i)
			}
		}
		// Parsing the same body into a used Session gives the same result.
		var again Session
		again.Media = s.Media[:0:0]
		err2 := Parse(data, &again)
		if (err == nil) != (err2 == nil) || len(again.Media) != len(s.Media) || again.Malformed != s.Malformed {
			t.Fatalf("reparse differs: %v/%v", err, err2)
		}
	})
}

// FuzzParseAddr checks the allocation-free address parser against
// net/netip for every input.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "::", "2001:db8::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1.2.3.04", "1::2::3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseAddr([]byte(s))
		want, err := netip.ParseAddr(s)
		if err != nil {
			// parseAddr accepts leading zeros in IPv4 octets, which
			// netip refuses as ambiguous (octal); SDP writers do not
			// mean octal.
			if ok && !hasLeadingZero(s) {
				t.Fatalf("parseAddr(%q) = %v, netip refuses: %v", s, got, err)
			}
			return
		}
		if want.Zone() != "" {
			if ok {
				t.Fatalf("parseAddr(%q) accepted a zone", s)
			}
			return
		}
		if !ok || got != want.Unmap() {
			t.Fatalf("parseAddr(%q) = %v %v, want %v", s, got, ok, want.Unmap())
		}
	})
}

func hasLeadingZero(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '0' && s[i+1] >= '0' && s[i+1] <= '9' && (i == 0 || s[i-1] == '.' || s[i-1] == ':') {
			return true
		}
	}
	return false
}

func ExampleParse() {
	offer := []byte("v=0\r\n" +
		"o=- 1 1 IN IP4 192.0.2.10\r\n" +
		"s=-\r\n" +
		"c=IN IP4 192.0.2.10\r\n" +
		"t=0 0\r\n" +
		"m=audio 49170 RTP/AVP 0 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"m=image 0 udptl t38\r\n")
	var s Session
	if err := Parse(offer, &s); err != nil {
		fmt.Println(err)
		return
	}
	for i := range s.Media {
		m := &s.Media[i]
		rtp, rtcp, ok := m.Endpoints()
		fmt.Println(m.Type, m.Proto, rtp, rtcp, ok)
	}
	// Output:
	// audio RTP/AVP 192.0.2.10:49170 192.0.2.10:49171 true
	// image udptl invalid AddrPort invalid AddrPort false
}

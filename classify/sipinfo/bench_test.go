package sipinfo

import (
	"fmt"
	"testing"

	"github.com/ccaudit/auditor/classify/sdp"
)

func BenchmarkParseInvite(b *testing.B) {
	b.SetBytes(int64(len(invite)))
	b.ReportAllocs()
	var s sdp.Session
	for b.Loop() {
		m, err := ParseMessage(invite)
		if err != nil {
			b.Fatal(err)
		}
		if err := sdp.Parse(m.SDP, &s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkParseMessage covers the messages that make up most of the SIP
// on a contact-center capture: registrations and their challenges, call
// set-up with SDP in both directions, and keep-alive OPTIONS.
func BenchmarkParseMessage(b *testing.B) {
	for _, bm := range []struct {
		name    string
		payload []byte
	}{
		{"INVITE", invite},
		{"200-SDP", answer},
		{"REGISTER", register},
		{"401", challenge},
		{"OPTIONS", keepalive},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.payload)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseMessage(bm.payload); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
		b.Run(bm.name+"/dialog", func(b *testing.B) {
			b.SetBytes(int64(len(bm.payload)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseDialog(bm.payload); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

var (
	answerSDP = "v=0\r\no=- 3282343677 679 IN IP4 192.0.2.67\r\ns=-\r\nc=IN IP4 192.0.2.67\r\nt=0 0\r\n" +
		"m=audio 16388 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n"
	answer = msg(
		"SIP/2.0 200 OK",
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK2bd3eb8ea062;rport=5060",
		`From: "ACD" <sip:acd@192.0.2.10>;tag=15d9dea5`,
		"To: <sip:1167@192.0.2.67>;tag=7c1e00f2",
		"Call-ID: b837bf3548ee0af9a43c831f@192.0.2.10",
		"CSeq: 25 INVITE",
		"Contact: <sip:1167@192.0.2.67:5060;transport=udp>",
		"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY",
		"Supported: replaces, timer",
		"Server: PolycomVVX-VVX_450-UA/6.4.3.5018",
		"Content-Type: application/sdp",
		"Content-Length: "+itoa(len(answerSDP)),
		answerSDP)
	register = msg(
		"REGISTER sip:192.0.2.10:5060 SIP/2.0",
		"Via: SIP/2.0/UDP 192.0.2.52:5060;branch=z9hG4bK7767dcb91a50;rport",
		`From: "Agent 1052" <sip:1052@192.0.2.52>;tag=e6c5f88e`,
		"To: <sip:1052@192.0.2.10>",
		"Call-ID: b58823d9b4d7a214@192.0.2.52",
		"CSeq: 632 REGISTER",
		"Max-Forwards: 70",
		"Contact: <sip:1052@192.0.2.52:5060;transport=udp>",
		"Expires: 3600",
		`Authorization: Digest username="1052", realm="example.com", nonce="98edac767350ea3b", uri="sip:192.0.2.10", response="0c3f8a1e5b7d9f2a4c6e8b0d1f3a5c7e", algorithm=MD5`,
		"User-Agent: PolycomVVX-VVX_450-UA/6.4.3.5018",
		"Content-Length: 0",
		"")
	challenge = msg(
		"SIP/2.0 401 Unauthorized",
		"Via: SIP/2.0/UDP 192.0.2.52:5060;branch=z9hG4bK7767dcb91a4f;rport=5060",
		`From: "Agent 1052" <sip:1052@192.0.2.52>;tag=e6c5f88e`,
		"To: <sip:1052@192.0.2.10>;tag=c3962425",
		"Call-ID: b58823d9b4d7a214@192.0.2.52",
		"CSeq: 631 REGISTER",
		"Server: Acme-Registrar/2025.4",
		`WWW-Authenticate: Digest realm="example.com", nonce="98edac767350ea3b", algorithm=MD5, qop="auth"`,
		"Content-Length: 0",
		"")
	keepalive = msg(
		"OPTIONS sip:1210@192.0.2.210:5060 SIP/2.0",
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKd134bb23d425;rport",
		`From: "ACD" <sip:ping@192.0.2.10>;tag=903c9c2a`,
		"To: <sip:1210@192.0.2.210>",
		"Call-ID: 59526ae64f929a9f@192.0.2.10",
		"CSeq: 1 OPTIONS",
		"Max-Forwards: 70",
		"Accept: application/sdp",
		"User-Agent: Acme-ACD/2025.4",
		"Content-Length: 0",
		"")
)

// BenchmarkLooks covers a SIP message and what Looks mostly sees: the
// first datagram of a flow that is not SIP.
func BenchmarkLooks(b *testing.B) {
	binary := make([]byte, 512) // a DNS response, say: no line end
	for i := range binary {
		binary[i] = byte(i*7 + 1)
	}
	for _, bm := range []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"INVITE", invite, true},
		{"binary", binary, false},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.payload)))
			b.ReportAllocs()
			for b.Loop() {
				if Looks(bm.payload) != bm.want {
					b.Fatal("wrong answer")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

func BenchmarkFramer(b *testing.B) {
	stream := cat(invite, options, notify, resp)
	f := NewFramer(0)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		for _, err := range f.Push(stream) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func ExampleParseMessage() {
	payload := []byte("INVITE sip:bob@example.com SIP/2.0\r\n" +
		"v: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9\r\n" +
		"f: <sip:alice@example.com>;tag=9fxced76sl\r\n" +
		"t: <sip:bob@example.com>\r\n" +
		"i: 3848276298220188511@192.0.2.10\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"c: application/sdp\r\n" +
		"l: 90\r\n" +
		"\r\n" +
		"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n")
	if !Looks(payload) {
		return
	}
	m, err := ParseMessage(payload)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Method, m.CallID, m.From.Tag, m.Via.Transport)

	var s sdp.Session
	if err := sdp.Parse(m.SDP, &s); err != nil {
		fmt.Println(err)
		return
	}
	rtp, rtcp, _ := s.Media[0].Endpoints()
	fmt.Println(rtp, rtcp)
	// Output:
	// INVITE 3848276298220188511@192.0.2.10 9fxced76sl UDP
	// 192.0.2.10:49170 192.0.2.10:49171
}

func ExampleFramer() {
	f := NewFramer(0)
	segments := []string{
		"OPTIONS sip:a@example.com SIP/2.0\r\nl: 0\r\n\r\nSIP/2.0 200 OK\r\nContent-",
		"Length: 2\r\n\r\nhi\r\n\r\n",
	}
	for _, seg := range segments {
		for msg, err := range f.Push([]byte(seg)) {
			if err != nil {
				fmt.Println("dropped:", err)
				continue
			}
			fmt.Printf("%d bytes\n", len(msg))
		}
	}
	// Output:
	// 43 bytes
	// 39 bytes
}

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

func BenchmarkLooks(b *testing.B) {
	b.SetBytes(int64(len(invite)))
	b.ReportAllocs()
	for b.Loop() {
		if !Looks(invite) {
			b.Fatal("not SIP")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
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

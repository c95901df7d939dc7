package sipinfo

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// msg joins lines with CRLF; the last element is the body.
func msg(lines ...string) []byte {
	head, body := lines[:len(lines)-1], lines[len(lines)-1]
	return []byte(strings.Join(head, "\r\n") + "\r\n\r\n" + body)
}

const offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

var invite = msg(
	"INVITE sip:bob@example.com SIP/2.0",
	"Via: SIP/2.0/TCP pc33.example.com:5070;branch=z9hG4bK776asdhds, SIP/2.0/UDP proxy.example.com;branch=z9hG4bKfirst",
	"Via: SIP/2.0/UDP 192.0.2.200;branch=z9hG4bKsecond",
	"Max-Forwards: 70",
	"To: Bob <sip:bob@example.com>",
	`From: "Alice A." <sip:alice@example.com>;tag=1928301774`,
	"Call-ID: a84b4c76e66710@pc33.example.com",
	"CSeq: 314159 INVITE",
	"Contact: <sip:alice@192.0.2.10:5070;transport=tcp>",
	"User-Agent: Acme Softphone 4.2",
	"Content-Type: application/sdp; charset=utf-8",
	"Content-Length: "+itoa(len(offer)),
	offer,
)

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

func TestLooks(t *testing.T) {
	tests := []struct {
		payload string
		want    bool
	}{
		{"INVITE sip:bob@example.com SIP/2.0\r\n", true},
		{"REGISTER sips:example.com SIP/2.0\r\nVia: x\r\n", true},
		{"OPTIONS tel:+15551234 SIP/2.0\r\n", true},
		{"MESSAGE sip:a@b SIP/2.0", true},
		{"SIP/2.0 200 OK\r\n", true},
		{"SIP/2.0 183 Session Progress\r\n", true},
		{"SIP/2.0 100\r\n", true},
		{"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n", false},
		{"M-SEARCH * HTTP/1.1\r\n", false},
		{"HTTP/1.1 200 OK\r\n", false},
		{"GET / HTTP/1.1\r\n", false},
		{"NOTIFY sip:a@b HTTP/1.1\r\n", false},
		{"INVITE * SIP/2.0\r\n", false},
		{"invite sip:a@b SIP/2.0\r\n", false},
		{"FOO sip:a@b SIP/2.0\r\n", false},
		{"SIP/2.0 20 OK\r\n", false},
		{"SIP/2.0 2000 OK\r\n", false},
		{"SIP/2.0 700 Nope\r\n", false},
		{"SIP/2.0\r\n", false},
		{"INVITE sip:a@b SIP/2.0 extra\r\n", false},
		{"INVITE sip: SIP/2.0\r\n", false},
		{"INVITE sip:a@b SIP/2.0\r", true},         // cut after the CR
		{"INVITE sip:a@b SIP/2.0\rVia: x", false},  // a bare CR ends no line
		{"INVITE A:0 SIP/2.0\r0", false},           // FuzzLooks
		{"INVITE sip:a@b SIP/2.0\nVia: x\n", true}, // LF alone is accepted
		{"CRCX 10511 aaln/1@cpg2 MGCP 1.0 NCS 1.0\r\n", false},
		{"", false},
		{"\x16\x03\x01\x02\x00", false},
	}
	for _, tt := range tests {
		if got := Looks([]byte(tt.payload)); got != tt.want {
			t.Errorf("Looks(%q) = %v, want %v", tt.payload, got, tt.want)
		}
	}
	long := "INVITE sip:" + strings.Repeat("a", 2*maxStartLine) + " SIP/2.0\r\n"
	if Looks([]byte(long)) {
		t.Errorf("Looks accepted a start line longer than %d bytes", maxStartLine)
	}
	if n := testing.AllocsPerRun(100, func() { Looks(invite) }); n != 0 {
		t.Errorf("Looks allocates %.0f times", n)
	}
}

func TestParseMessage(t *testing.T) {
	m, err := ParseMessage(invite)
	if err != nil {
		t.Fatal(err)
	}
	want := Message{
		IsRequest:     true,
		Method:        "INVITE",
		RequestURI:    "sip:bob@example.com",
		From:          Address{URI: "sip:alice@example.com", Tag: "1928301774"},
		To:            Address{URI: "sip:bob@example.com"},
		CallID:        "a84b4c76e66710@pc33.example.com",
		CSeq:          314159,
		CSeqMethod:    "INVITE",
		Via:           Via{Transport: "TCP", Host: "pc33.example.com", Port: 5070, Branch: "z9hG4bK776asdhds"},
		Contact:       "sip:alice@192.0.2.10:5070;transport=tcp",
		UserAgent:     "Acme Softphone 4.2",
		ContentType:   "application/sdp",
		ContentLength: len(offer),
	}
	checkMessage(t, m, want, offer, offer)
}

func checkMessage(t *testing.T, got *Message, want Message, body, sdp string) {
	t.Helper()
	if string(got.Body) != body {
		t.Errorf("body = %q, want %q", got.Body, body)
	}
	if string(got.SDP) != sdp {
		t.Errorf("SDP = %q, want %q", got.SDP, sdp)
	}
	g := *got
	g.Body, g.SDP = nil, nil
	if !reflect.DeepEqual(g, want) {
		t.Errorf("got  %+v\nwant %+v", g, want)
	}
}

func TestParseMessageVariants(t *testing.T) {
	multipart := "--XyZ\r\nContent-Type: application/ISUP;version=itu-t92+\r\n\r\n\x01\x02\r\n--XyZ\r\n" +
		"Content-Type: application/sdp\r\n\r\n" + offer + "\r\n--XyZ--\r\n"
	tests := []struct {
		name      string
		payload   []byte
		want      Message
		body, sdp string
	}{
		{
			name: "compact forms",
			payload: msg(
				"INVITE sip:bob@example.com SIP/2.0",
				"v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKc",
				"f: <sip:alice@example.com>;tag=aa",
				"t: <sip:bob@example.com>",
				"i: compact@192.0.2.1",
				"CSeq: 2 INVITE",
				"m: <sip:alice@192.0.2.1>",
				"c: application/sdp",
				"l: "+itoa(len(offer)),
				offer),
			want: Message{IsRequest: true, Method: "INVITE", RequestURI: "sip:bob@example.com",
				From: Address{URI: "sip:alice@example.com", Tag: "aa"}, To: Address{URI: "sip:bob@example.com"},
				CallID: "compact@192.0.2.1", CSeq: 2, CSeqMethod: "INVITE",
				Via: Via{Transport: "UDP", Host: "192.0.2.1", Port: 5060, Branch: "z9hG4bKc"}, Contact: "sip:alice@192.0.2.1",
				ContentType: "application/sdp", ContentLength: len(offer)},
			body: offer, sdp: offer,
		},
		{
			name: "response with multipart SIP-I body",
			payload: msg(
				"SIP/2.0 200 OK",
				"Via: SIP/2.0/SCTP 10.0.0.1;branch=z9hG4bKm",
				"From: <sip:a@x>;tag=1",
				"To: <sip:b@y>;tag=2",
				"Call-ID: mp",
				"CSeq: 1 INVITE",
				"Server: gw/1.0",
				`Content-Type: multipart/mixed;boundary="XyZ"`,
				"Content-Length: "+itoa(len(multipart)),
				multipart),
			want: Message{StatusCode: 200, Reason: "OK", From: Address{"sip:a@x", "1"}, To: Address{"sip:b@y", "2"},
				CallID: "mp", CSeq: 1, CSeqMethod: "INVITE", Via: Via{Transport: "SCTP", Host: "10.0.0.1", Branch: "z9hG4bKm"},
				Server: "gw/1.0", ContentType: "multipart/mixed", ContentLength: len(multipart)},
			body: multipart, sdp: offer,
		},
		{
			name: "bare LF header section",
			payload: []byte("BYE sip:b@y SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKlf\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@y>;tag=2\n" +
				"Call-ID: lf\nCSeq: 3 BYE\nContent-Length: 0\n\n"),
			want: Message{IsRequest: true, Method: "BYE", RequestURI: "sip:b@y", From: Address{"sip:a@x", "1"}, To: Address{"sip:b@y", "2"},
				CallID: "lf", CSeq: 3, CSeqMethod: "BYE", Via: Via{Transport: "UDP", Host: "h", Branch: "z9hG4bKlf"}},
		},
		{
			name: "truncated body",
			payload: msg(
				"INVITE sip:b@y SIP/2.0",
				"Via: SIP/2.0/UDP h;branch=z9hG4bKt",
				"Call-ID: trunc",
				"CSeq: 1 INVITE",
				"Content-Type: application/sdp",
				"Content-Length: 500",
				offer),
			want: Message{IsRequest: true, Method: "INVITE", RequestURI: "sip:b@y", CallID: "trunc", CSeq: 1, CSeqMethod: "INVITE",
				Via: Via{Transport: "UDP", Host: "h", Branch: "z9hG4bKt"}, ContentType: "application/sdp", ContentLength: 500, BodyTruncated: true},
			body: offer, sdp: offer,
		},
		{
			name: "malformed headers are skipped, lenient From",
			payload: msg(
				"INVITE sip:bob@example.com SIP/2.0",
				"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbad",
				`f: \"arik\" <sip:816666@example.net>;tag=6433ef9`,
				"To: <sip:bob@example.com>",
				"Call-ID: bad@x",
				"CSeq: 1 INVITE",
				"Content-Length: bad",
				""),
			want: Message{IsRequest: true, Method: "INVITE", RequestURI: "sip:bob@example.com",
				From: Address{URI: "sip:816666@example.net", Tag: "6433ef9"}, To: Address{URI: "sip:bob@example.com"},
				CallID: "bad@x", CSeq: 1, CSeqMethod: "INVITE", Via: Via{Transport: "UDP", Host: "192.0.2.1", Port: 5060, Branch: "z9hG4bKbad"},
				ContentLength: -1, BadHeaders: 2},
		},
		{
			name: "unbracketed IPv6",
			payload: msg(
				"INVITE sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060 SIP/2.0",
				"Via: SIP/2.0/UDP fe80:0:0:0:21a:a0ff:fe07:32e0:5060;branch=z9hG4bK6",
				"From: <sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0>;tag=a3",
				"To: <sip:4321@fec0::22c>",
				"Call-ID: v6@fe80:0:0:0:21a:a0ff:fe07:32e0",
				"CSeq: 1 INVITE",
				"Content-Length: 0",
				""),
			want: Message{IsRequest: true, Method: "INVITE", RequestURI: "sip:4321@[fec0:0:0:0:216:d3ff:fe0d:22c]:5060",
				From: Address{"sip:9876@[fe80:0:0:0:21a:a0ff:fe07:32e0]", "a3"}, To: Address{URI: "sip:4321@[fec0::22c]"},
				CallID: "v6@fe80:0:0:0:21a:a0ff:fe07:32e0", CSeq: 1, CSeqMethod: "INVITE",
				Via: Via{Transport: "UDP", Host: "fe80:0:0:0:21a:a0ff:fe07:32e0", Port: 5060, Branch: "z9hG4bK6"}},
		},
		{
			// fill finds fields in one pass: the first Contact and
			// User-Agent count, names match in any case, and a Contact
			// sipgo refused is read leniently only when no other parsed.
			name: "repeated fields and name case",
			payload: msg(
				"MESSAGE sip:b@y SIP/2.0",
				"VIA: SIP/2.0/TCP h:5070;branch=z9hG4bKr",
				"FROM: <sip:a@x>;tag=1",
				"tO: <sip:b@y>",
				"CALL-ID: rep",
				"CSEQ: 7 MESSAGE",
				"user-AGENT: first/1",
				"User-Agent: second/2",
				"CONTACT: <sip:a@10.0.0.1>",
				"m: <sip:a@10.0.0.2>",
				"Content-Length: 0",
				""),
			want: Message{IsRequest: true, Method: "MESSAGE", RequestURI: "sip:b@y", From: Address{"sip:a@x", "1"}, To: Address{URI: "sip:b@y"},
				CallID: "rep", CSeq: 7, CSeqMethod: "MESSAGE", Via: Via{Transport: "TCP", Host: "h", Port: 5070, Branch: "z9hG4bKr"},
				Contact: "sip:a@10.0.0.1", UserAgent: "first/1"},
		},
		{
			name: "SDP without Content-Type",
			payload: msg(
				"SIP/2.0 200 OK",
				"Via: SIP/2.0/UDP h;branch=z9hG4bKn",
				"Call-ID: noct",
				"CSeq: 1 INVITE",
				"Content-Length: "+itoa(len(offer)),
				offer),
			want: Message{StatusCode: 200, Reason: "OK", CallID: "noct", CSeq: 1, CSeqMethod: "INVITE",
				Via: Via{Transport: "UDP", Host: "h", Branch: "z9hG4bKn"}, ContentLength: len(offer)},
			body: offer, sdp: offer,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage(tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			checkMessage(t, m, tt.want, tt.body, tt.sdp)
			checkDialog(t, tt.payload)
		})
	}
}

// dialogView is what ParseDialog promises to read as ParseMessage does.
func dialogView(m *Message) Message {
	v := *m
	v.Via, v.Contact, v.RequestURI, v.BadHeaders = Via{}, "", "", 0
	return v
}

// checkDialog fails when ParseDialog and ParseMessage disagree on
// payload: on whether it parses, or on a field ParseDialog reads.
func checkDialog(t *testing.T, payload []byte) {
	t.Helper()
	full, errFull := ParseMessage(payload)
	dlg, errDialog := ParseDialog(payload)
	if (errFull == nil) != (errDialog == nil) {
		t.Fatalf("ParseMessage: %v, ParseDialog: %v", errFull, errDialog)
	}
	if errFull != nil {
		return
	}
	if f, d := dialogView(full), dialogView(dlg); !reflect.DeepEqual(f, d) {
		t.Fatalf("ParseDialog read\n%+v\nParseMessage\n%+v", d, f)
	}
}

// TestParseDialog pins what ParseDialog skips, and that a header section
// with an IPv6 literal sipgo would refuse goes the ParseMessage way, which
// brackets it in From as well.
func TestParseDialog(t *testing.T) {
	m, err := ParseDialog(invite)
	if err != nil {
		t.Fatal(err)
	}
	if m.Via != (Via{}) || m.Contact != "" || m.RequestURI != "" {
		t.Errorf("Via %+v Contact %q Request-URI %q read", m.Via, m.Contact, m.RequestURI)
	}
	if m.From.Tag == "" || m.CallID == "" || m.CSeqMethod != "INVITE" || len(m.SDP) == 0 {
		t.Errorf("dialog fields missing: %+v", m)
	}
	checkDialog(t, invite)

	v6 := msg("INVITE sip:4321@fec0::22c SIP/2.0",
		"Via: SIP/2.0/UDP fe80::1:5060;branch=z9hG4bK6",
		"From: <sip:9876@fe80::1>;tag=a3",
		"To: <sip:4321@fec0::22c>",
		"Call-ID: v6",
		"CSeq: 1 INVITE",
		"")
	if m, err = ParseDialog(v6); err != nil {
		t.Fatal(err)
	}
	if m.From.URI != "sip:9876@[fe80::1]" {
		t.Errorf("From %q", m.From.URI)
	}
	checkDialog(t, v6)
}

func TestMayHoldBareIPv6(t *testing.T) {
	for _, tc := range []struct {
		hdr  string
		want bool
	}{
		{"Via: SIP/2.0/UDP 10.10.1.10:5060;branch=z9\r\nContact: <sip:1172@10.10.3.172:5060>\r\n", false},
		{"From: <sip:a@fe80::1>\r\n", true},
		{"Date: Mon, 07 Dec 2026 21:39:35 GMT\r\n", true}, // a candidate, not an address
		{"a:b:c", true}, {"x:y:z", false},
		{"::", true},
		{"", false},
	} {
		if got := mayHoldBareIPv6([]byte(tc.hdr)); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.hdr, got, tc.want)
		}
	}
}

// TestMultiValueVia guards isCommaSplit: with sipgo's comma signal
// misread, the tolerant pass would turn a multi-value Via into a bad
// header.
func TestMultiValueVia(t *testing.T) {
	bad := 0
	p := tolerantParsers(sip.DefaultHeadersParser(), &bad)
	var out []string
	for _, v := range []string{"SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2"} {
		h, err := p["via"]([]byte("via"), v)
		if err != nil && !isCommaSplit(err) {
			t.Fatalf("via: %v", err)
		}
		out = append(out, h.Value())
	}
	if bad != 0 || !strings.HasPrefix(out[0], "SIP/2.0/UDP a") {
		t.Errorf("bad=%d first=%q", bad, out)
	}
	m, err := ParseMessage(invite)
	if err != nil || m.BadHeaders != 0 || m.Via.Host != "pc33.example.com" {
		t.Errorf("multi-value Via: %v %+v", err, m)
	}
}

func TestParseMessageErrors(t *testing.T) {
	for _, p := range []string{"", "HTTP/1.1 200 OK\r\n\r\n", "NOTIFY * HTTP/1.1\r\n\r\n"} {
		if _, err := ParseMessage([]byte(p)); !errors.Is(err, ErrNotSIP) {
			t.Errorf("ParseMessage(%q) error = %v, want ErrNotSIP", p, err)
		}
	}
	// A start line sipgo cannot use is an error, not a panic or a guess.
	if _, err := ParseMessage([]byte("INVITE sip:[::1 SIP/2.0\r\n\r\n")); err == nil {
		t.Errorf("broken request URI parsed")
	}
}

func TestBracketIPv6(t *testing.T) {
	tests := []struct{ in, want string }{
		{"INVITE sip:a@fe80::1 SIP/2.0\r\n\r\n", "INVITE sip:a@[fe80::1] SIP/2.0\r\n\r\n"},
		{"INVITE sip:fe80::1:2:3:4:5:6:5060 SIP/2.0\r\n\r\n", "INVITE sip:[fe80::1:2:3:4:5:6]:5060 SIP/2.0\r\n\r\n"},
		{"Via: SIP/2.0/UDP [::1]:5060\r\n\r\n", ""},
		{"Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n\r\n", ""},
		{"X: 00:11:22:33:44:55\r\n\r\nbody fe80::1", ""},
	}
	for _, tt := range tests {
		got, ok := bracketIPv6([]byte(tt.in))
		if tt.want == "" {
			if ok {
				t.Errorf("bracketIPv6(%q) rewrote to %q", tt.in, got)
			}
			continue
		}
		if !ok || string(got) != tt.want {
			t.Errorf("bracketIPv6(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSDPPart(t *testing.T) {
	tests := []struct {
		name, ctype, params, body, want string
	}{
		{"plain", "application/sdp", "", offer, offer},
		{"other type", "application/pidf+xml", "", "<x/>", ""},
		{"no boundary", "multipart/mixed", "", "--a\r\n\r\n", ""},
		{"unquoted boundary", "multipart/mixed", " boundary=b1", "--b1\r\nContent-Type: application/sdp\r\n\r\n" + offer + "\r\n--b1--", offer},
		{"preamble and LF", "multipart/mixed", "boundary=b1", "preamble\n--b1\nContent-Type: application/SDP\n\n" + offer + "\n--b1--\n", offer},
		{"part without headers is text", "multipart/mixed", "boundary=b1", "--b1\r\n\r\n" + offer + "\r\n--b1--", ""},
		{"close delimiter first", "multipart/mixed", "boundary=b1", "--b1--\r\n--b1\r\nContent-Type: application/sdp\r\n\r\nv=0", ""},
		{"unterminated", "multipart/mixed", "boundary=b1", "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n", "v=0\r\n"},
	}
	for _, tt := range tests {
		if got := sdpPart(tt.ctype, tt.params, []byte(tt.body)); string(got) != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

package sipinfo

import (
	"bytes"
	"testing"
)

func FuzzLooks(f *testing.F) {
	for _, s := range []string{"INVITE sip:a@b SIP/2.0\r\n", "SIP/2.0 200 OK\r\n", "NOTIFY * HTTP/1.1\r\n", "M-SEARCH * HTTP/1.1\r\n", "GET / HTTP/1.1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !Looks(data) {
			return
		}
		line, _, _ := bytes.Cut(data, []byte("\n"))
		if !bytes.HasPrefix(line, []byte("SIP/2.0 ")) && !bytes.HasSuffix(bytes.TrimRight(line, "\r"), []byte(" SIP/2.0")) {
			t.Fatalf("Looks accepted %q", line)
		}
		if bytes.Contains(line, []byte("HTTP/")) && !bytes.HasPrefix(line, []byte("SIP/2.0 ")) && bytes.Contains(line, []byte(" * ")) {
			t.Fatalf("Looks accepted an HTTP-style request %q", line)
		}
	})
}

func FuzzParseMessage(f *testing.F) {
	f.Add(invite)
	f.Add(options)
	f.Add(msg("SIP/2.0 200 OK", "Via: SIP/2.0/UDP fe80::1:5060;branch=z9hG4bK", "f: \\\"x\\\" <sip:a@b>;tag=1", "Content-Type: multipart/mixed;boundary=b",
		"l: 9999", "--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b--"))
	f.Add([]byte("BYE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMessage(data)
		if err != nil {
			return
		}
		if !Looks(data) {
			t.Fatalf("parsed a payload Looks rejects")
		}
		if m.IsRequest == (m.StatusCode != 0) {
			t.Fatalf("request %v with status %d", m.IsRequest, m.StatusCode)
		}
		if m.SDP != nil && !bytes.Contains(m.Body, m.SDP) {
			t.Fatalf("SDP is not part of the body")
		}
		if len(m.Body) > len(data) {
			t.Fatalf("body of %d bytes from a %d byte payload", len(m.Body), len(data))
		}
	})
}

func FuzzParseDialog(f *testing.F) {
	for _, b := range [][]byte{invite, answer, register, challenge, keepalive, options,
		msg("INVITE sip:a@fe80::1 SIP/2.0", "Via: SIP/2.0/UDP fe80::1:5060", "From: <sip:a@fe80::1>;tag=1", "Call-ID: x", "CSeq: 1 INVITE", ""),
		msg("SIP/2.0 200 OK", "Via: SIP/2.0/UDP", "Contact: <bad", "Max-Forwards: x", "From: <sip:a@b>;tag=1", "Call-ID: x", "CSeq: 1 INVITE", "")} {
		f.Add(b)
	}
	f.Fuzz(checkDialog)
}

func FuzzFramer(f *testing.F) {
	f.Add(cat(options, notify, resp), uint16(7))
	f.Add(cat([]byte("\r\n\r\njunk\r\n"), options, []byte("INFO sip:a@b SIP/2.0\r\nl: x\r\n\r\n"), resp), uint16(30))
	f.Add(cat(msg("MESSAGE sip:a@b SIP/2.0", "Content-Length: 100", string(bytes.Repeat([]byte("z"), 100))), options), uint16(50))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		const max = 256
		run := func(chunks ...[]byte) (msgs []string, errs int) {
			fr := NewFramer(max)
			for _, c := range chunks {
				for m, err := range fr.Push(c) {
					if err != nil {
						errs++
						continue
					}
					if len(m) > max || !Looks(m) {
						t.Fatalf("framed %d bytes not starting a SIP message: %q", len(m), m)
					}
					msgs = append(msgs, string(m))
				}
				if fr.Buffered() > max {
					t.Fatalf("buffer holds %d bytes, bound %d", fr.Buffered(), max)
				}
			}
			return msgs, errs
		}
		whole, errsWhole := run(data)
		at := int(split) % (len(data) + 1)
		parts, errsParts := run(data[:at], data[at:])
		// Where no bytes had to be discarded, where a segment boundary
		// falls must not change the messages.
		if errsWhole == 0 && errsParts == 0 {
			if len(whole) != len(parts) {
				t.Fatalf("whole gave %d messages, split at %d gave %d", len(whole), at, len(parts))
			}
			for i := range whole {
				if whole[i] != parts[i] {
					t.Fatalf("message %d differs when split at %d", i, at)
				}
			}
		}
	})
}

func FuzzUnwrapWebSocket(f *testing.F) {
	f.Add(wsFrame(true, wsText, []byte{1, 2, 3, 4}, options))
	f.Add(cat(wsFrame(false, wsText, nil, []byte("ab")), wsFrame(true, 0x9, nil, nil), wsFrame(true, 0, nil, []byte("cd"))))
	f.Fuzz(func(t *testing.T, data []byte) {
		for len(data) > 0 {
			m, n, err := UnwrapWebSocket(nil, data)
			if n < 0 || n > len(data) || len(m) > DefaultMaxMessage {
				t.Fatalf("n=%d of %d, message %d bytes", n, len(data), len(m))
			}
			if err != nil || n == 0 {
				return
			}
			data = data[n:]
		}
	})
}

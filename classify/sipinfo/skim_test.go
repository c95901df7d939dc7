package sipinfo

import (
	"bytes"
	"testing"
)

func TestSkim(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		ok      bool
		request bool
		method  string
		callID  string
	}{
		{"REGISTER", register, true, true, "REGISTER", "b58823d9b4d7a214@192.0.2.52"},
		{"401 to REGISTER", challenge, true, false, "REGISTER", "b58823d9b4d7a214@192.0.2.52"},
		{"OPTIONS", keepalive, true, true, "OPTIONS", "59526ae64f929a9f@192.0.2.10"},
		{"INVITE", invite, true, true, "INVITE", string(mustParse(t, invite).CallID)},
		{"200 to INVITE", answer, true, false, "INVITE", "b837bf3548ee0af9a43c831f@192.0.2.10"},
		{"compact Call-ID, spaces", msg("NOTIFY sip:a@b SIP/2.0", "i  :  x@y ", "CSeq: 1 NOTIFY", ""), true, true, "NOTIFY", "x@y"},
		{"lower-case names", msg("SIP/2.0 200 OK", "call-id: x@y", "cseq: 7\tSUBSCRIBE", ""), true, false, "SUBSCRIBE", "x@y"},

		{"folded Call-ID", msg("OPTIONS sip:a@b SIP/2.0", "Call-ID: x", " @y", ""), false, false, "", ""},
		{"folded other line", msg("OPTIONS sip:a@b SIP/2.0", "Call-ID: x@y", "Subject: a", "\tb", ""), false, false, "", ""},
		{"two Call-IDs", msg("OPTIONS sip:a@b SIP/2.0", "Call-ID: x@y", "i: z@y", ""), false, false, "", ""},
		{"no Call-ID", msg("OPTIONS sip:a@b SIP/2.0", "CSeq: 1 OPTIONS", ""), false, false, "", ""},
		{"empty Call-ID", msg("OPTIONS sip:a@b SIP/2.0", "Call-ID:  ", ""), false, false, "", ""},
		{"bare LF", []byte("OPTIONS sip:a@b SIP/2.0\nCall-ID: x@y\n\n"), false, false, "", ""},
		{"bare LF inside", []byte("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x@y\nCSeq: 1 OPTIONS\r\n\r\n"), false, false, "", ""},
		{"CR alone", []byte("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x@y\rz\r\n\r\n"), false, false, "", ""},
		{"header section not ended", []byte("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x@y\r\n"), false, false, "", ""},
		{"line without colon", msg("OPTIONS sip:a@b SIP/2.0", "Call-ID: x@y", "junk", ""), false, false, "", ""},
		{"unknown method", msg("FOO sip:a@b SIP/2.0", "Call-ID: x@y", ""), false, false, "", ""},
		{"response without CSeq", msg("SIP/2.0 200 OK", "Call-ID: x@y", ""), false, false, "", ""},
		{"response with two CSeqs", msg("SIP/2.0 200 OK", "Call-ID: x@y", "CSeq: 1 OPTIONS", "CSeq: 2 OPTIONS", ""), false, false, "", ""},
		{"CSeq number too large", msg("SIP/2.0 200 OK", "Call-ID: x@y", "CSeq: 2147483648 OPTIONS", ""), false, false, "", ""},
		{"CSeq with two spaces", msg("SIP/2.0 200 OK", "Call-ID: x@y", "CSeq: 1  OPTIONS", ""), false, false, "", ""},
		{"CSeq without number", msg("SIP/2.0 200 OK", "Call-ID: x@y", "CSeq: OPTIONS", ""), false, false, "", ""},
		{"name trimmed of a non-ASCII space", msg("OPTIONS sip:a@b SIP/2.0", "Call-ID\u00a0: x@y", ""), false, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := Skim(tc.payload)
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if s.IsRequest != tc.request || s.Method != tc.method || string(s.CallID) != tc.callID {
				t.Errorf("got request %v method %q Call-ID %q, want %v %q %q", s.IsRequest, s.Method, s.CallID, tc.request, tc.method, tc.callID)
			}
			checkSkim(t, tc.payload, s)
		})
	}
}

func mustParse(t *testing.T, b []byte) *Message {
	t.Helper()
	m, err := ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkSkim fails when ParseMessage, parsing payload, reads other than
// what Skim read.
func checkSkim(t *testing.T, payload []byte, s Skimmed) {
	t.Helper()
	m, err := ParseMessage(payload)
	if err != nil {
		return
	}
	method := m.Method
	if !m.IsRequest {
		method = m.CSeqMethod
	}
	if m.CallID != string(s.CallID) || m.IsRequest != s.IsRequest || method != s.Method {
		t.Fatalf("Skim read request %v method %q Call-ID %q, ParseMessage %v %q %q", s.IsRequest, s.Method, s.CallID, m.IsRequest, method, m.CallID)
	}
}

func TestSkimAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { Skim(register) }); n != 0 {
		t.Errorf("%.0f allocations", n)
	}
}

func FuzzSkim(f *testing.F) {
	for _, b := range [][]byte{register, challenge, keepalive, invite, answer,
		msg("SIP/2.0 200 SIP", "Call-ID: x@y", "CSeq: 1 OPTIONS", ""),
		[]byte("OPTIONS sip:a@b SIP/2.0\r\ni: fe80::1:5060\r\nVia: SIP/2.0/UDP fe80::1:5060\r\n\r\n")} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, ok := Skim(data)
		if !ok {
			return
		}
		if len(s.CallID) == 0 || !bytes.Contains(data, s.CallID) {
			t.Fatalf("Call-ID %q", s.CallID)
		}
		checkSkim(t, data, s)
	})
}

func BenchmarkSkim(b *testing.B) {
	b.SetBytes(int64(len(register)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Skim(register); !ok {
			b.Fatal("not skimmed")
		}
	}
}

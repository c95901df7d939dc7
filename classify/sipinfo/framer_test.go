package sipinfo

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var (
	options = msg("OPTIONS sip:a@b SIP/2.0", "Call-ID: o1", "Content-Length: 0", "")
	notify  = msg("NOTIFY sip:a@b SIP/2.0", "Call-ID: n1", "l: 5", "hello")
	resp    = msg("SIP/2.0 200 OK", "Call-ID: r1", "content-length :  3", "abc")
)

// collect pushes chunks through a Framer and returns the messages and
// errors in order, errors rendered as "!name".
func collect(f *Framer, chunks ...[]byte) []string {
	var out []string
	for _, c := range chunks {
		for m, err := range f.Push(c) {
			if err != nil {
				out = append(out, "!"+errName(err))
				continue
			}
			out = append(out, string(m))
		}
	}
	return out
}

func errName(err error) string {
	for _, e := range []struct {
		err  error
		name string
	}{{ErrJunk, "junk"}, {ErrTooLarge, "too-large"}, {ErrBadContentLength, "bad-length"}} {
		if errors.Is(err, e.err) {
			return e.name
		}
	}
	return err.Error()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestFramer(t *testing.T) {
	big := msg("MESSAGE sip:a@b SIP/2.0", "Content-Length: 300", strings.Repeat("x", 300))
	tests := []struct {
		name   string
		max    int
		chunks [][]byte
		want   []string
	}{
		{"one segment, three messages", 0, [][]byte{cat(options, notify, resp)}, []string{string(options), string(notify), string(resp)}},
		{"keepalives between messages", 0, [][]byte{cat([]byte("\r\n\r\n"), options, []byte("\r\n"), notify)}, []string{string(options), string(notify)}},
		{"split inside the header", 0, [][]byte{notify[:10], notify[10:]}, []string{string(notify)}},
		{"split inside the body", 0, [][]byte{notify[:len(notify)-2], notify[len(notify)-2:]}, []string{string(notify)}},
		{"split inside the blank line", 0, [][]byte{options[:len(options)-1], options[len(options)-1:]}, []string{string(options)}},
		{"junk before a message", 0, [][]byte{cat([]byte("garbage\r\nmore\r\n"), options)}, []string{"!junk", string(options)}},
		{"binary junk", 0, [][]byte{cat([]byte{0x16, 0x03, 0x01, 0, 5, 1, 2, 3, 4, 5})}, []string{"!junk"}},
		{"bad content length", 0, [][]byte{cat(msg("INFO sip:a@b SIP/2.0", "Content-Length: x", ""), options)}, []string{"!bad-length", string(options)}},
		{"bare LF", 0, [][]byte{[]byte("BYE sip:a@b SIP/2.0\nl: 2\n\nhiBYE sip:a@b SIP/2.0\n\n")}, []string{"BYE sip:a@b SIP/2.0\nl: 2\n\nhi", "BYE sip:a@b SIP/2.0\n\n"}},
		{"body over the bound is skipped across writes", 200, [][]byte{big[:150], big[150:], options}, []string{"!too-large", string(options)}},
		{"header over the bound", 64, [][]byte{[]byte("INVITE sip:a@b SIP/2.0\r\nX: " + strings.Repeat("y", 100) + "\r\n"), options}, []string{"!too-large", string(options)}},
		{"write larger than the bound", 128, [][]byte{cat(options, notify, resp, options)}, []string{string(options), string(notify), string(resp), string(options)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFramer(tt.max)
			got := collect(f, tt.chunks...)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestFramerByteByByte feeds a stream one byte at a time: every split
// point must give the same messages.
func TestFramerByteByByte(t *testing.T) {
	stream := cat(options, []byte("\r\n\r\n"), notify, resp)
	f := NewFramer(0)
	var chunks [][]byte
	for i := range stream {
		chunks = append(chunks, stream[i:i+1])
	}
	got := collect(f, chunks...)
	want := []string{string(options), string(notify), string(resp)}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q", got)
	}
	if f.Messages != 3 || f.Buffered() != 0 || f.JunkBytes != 0 {
		t.Errorf("messages %d buffered %d junk %d", f.Messages, f.Buffered(), f.JunkBytes)
	}
}

func TestFramerNeedMore(t *testing.T) {
	f := NewFramer(0)
	if _, err := f.Next(); err != ErrNeedMore {
		t.Fatalf("empty framer: %v", err)
	}
	if _, err := f.Write(notify[:20]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Next(); err != ErrNeedMore {
		t.Fatalf("partial: %v", err)
	}
	f.Reset()
	if f.Buffered() != 0 {
		t.Fatalf("Reset kept %d bytes", f.Buffered())
	}
	// Write honours the bound and reports what it could not take.
	f = NewFramer(10)
	n, err := f.Write(options)
	if n != 10 || !errors.Is(err, ErrBufferFull) {
		t.Fatalf("Write = %d, %v", n, err)
	}
}

func TestFramerAllocs(t *testing.T) {
	f := NewFramer(0)
	stream := cat(options, notify, resp)
	collect(f, stream) // grow the buffer once
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := f.Write(stream); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := f.Next(); err == ErrNeedMore {
				return
			}
		}
	})
	if allocs != 0 {
		t.Errorf("framing allocates %.1f times per segment", allocs)
	}
}

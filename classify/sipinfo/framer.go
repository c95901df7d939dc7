package sipinfo

import (
	"bytes"
	"errors"
	"iter"
)

// DefaultMaxMessage is the Framer buffer bound when none is given. It is
// sipgo's limit too: a message above it would not parse anyway.
const DefaultMaxMessage = 64 << 10

var (
	// ErrNeedMore means the buffered bytes hold no complete message yet.
	ErrNeedMore = errors.New("sipinfo: need more data")
	// ErrTooLarge means a message would exceed the Framer's bound; it was
	// dropped and framing resumed after it.
	ErrTooLarge = errors.New("sipinfo: message exceeds the framer bound")
	// ErrJunk means bytes that do not start a SIP message were discarded
	// up to the next start line (mid-stream capture start, lost segment,
	// or a non-SIP protocol on the port).
	ErrJunk = errors.New("sipinfo: discarded bytes before a SIP start line")
	// ErrBadContentLength means a header section had a Content-Length
	// that is not a number; the message cannot be delimited and was
	// dropped.
	ErrBadContentLength = errors.New("sipinfo: bad Content-Length on a stream")
	// ErrBufferFull is returned by Write when it could not take all bytes;
	// call Next to drain, then write the rest.
	ErrBufferFull = errors.New("sipinfo: framer buffer full")
)

// Framer splits one direction of a SIP-over-TCP (or TLS plaintext, or
// WebSocket-unwrapped) byte stream into messages: the header section up to
// the blank line, then Content-Length body bytes (RFC 3261 section 18.3).
// CRLF keep-alives between messages (RFC 5626 section 3.5.1) are skipped.
//
// The buffer never exceeds the bound given to NewFramer. A Framer is for
// one stream and one goroutine; its counters are plain fields.
type Framer struct {
	buf  []byte
	off  int // start of unconsumed bytes in buf
	max  int
	skip int // body bytes of a dropped message still to discard

	// resync is set while discarding up to the next start line, so that
	// one loss is reported once however many writes it spans.
	resync bool

	// Messages, Dropped and JunkBytes count complete messages returned,
	// messages dropped (too large or undelimitable) and bytes discarded
	// while resynchronising.
	Messages  int
	Dropped   int
	JunkBytes int
}

// NewFramer returns a Framer whose buffer holds at most max bytes
// (DefaultMaxMessage when max <= 0).
func NewFramer(max int) *Framer {
	if max <= 0 {
		max = DefaultMaxMessage
	}
	return &Framer{max: max}
}

// Reset discards buffered bytes (for example after a gap in the stream)
// and keeps the counters.
func (f *Framer) Reset() {
	f.buf, f.off, f.skip, f.resync = f.buf[:0], 0, 0, false
}

// Buffered returns the number of bytes waiting for the rest of a message.
func (f *Framer) Buffered() int { return len(f.buf) - f.off }

// Write appends stream bytes. It takes as many as fit in the bound and
// returns ErrBufferFull with n < len(p) when the rest did not fit.
func (f *Framer) Write(p []byte) (n int, err error) {
	if f.skip > 0 {
		k := min(f.skip, len(p))
		f.skip -= k
		n, p = k, p[k:]
	}
	if f.off > 0 {
		rest := copy(f.buf, f.buf[f.off:])
		f.buf, f.off = f.buf[:rest], 0
	}
	if f.buf == nil {
		f.buf = make([]byte, 0, min(f.max, 4096))
	}
	room := f.max - len(f.buf)
	take := min(room, len(p))
	f.buf = append(f.buf, p[:take]...)
	n += take
	if take < len(p) {
		return n, ErrBufferFull
	}
	return n, nil
}

// Next returns the next complete message. The slice aliases the Framer's
// buffer and is valid until the next Write. It returns ErrNeedMore when
// more bytes are needed, and ErrJunk, ErrTooLarge or ErrBadContentLength
// after discarding bytes; call it again after those.
func (f *Framer) Next() ([]byte, error) {
	for {
		data := f.buf[f.off:]

		// Keep-alives: CRLF CRLF ping and CRLF pong.
		k := 0
		for k < len(data) && (data[k] == '\r' || data[k] == '\n') {
			k++
		}
		f.off += k
		data = data[k:]
		if len(data) == 0 {
			return nil, ErrNeedMore
		}

		if !startsMessage(data, len(data) >= f.max) {
			f.discardJunk(data)
			if f.resync {
				continue // the same loss as the error already returned
			}
			f.resync = true
			return nil, ErrJunk
		}

		hdr := headerEnd(data)
		if hdr < 0 {
			if len(data) >= f.max {
				f.Dropped++
				f.discardJunk(data)
				f.resync = true
				return nil, ErrTooLarge
			}
			return nil, ErrNeedMore
		}
		body, ok := contentLength(data[:hdr])
		if !ok {
			f.Dropped++
			f.off += hdr
			return nil, ErrBadContentLength
		}
		total := hdr + body
		if total > f.max {
			f.Dropped++
			drop := min(total, len(data))
			f.off += drop
			f.skip = total - drop
			return nil, ErrTooLarge
		}
		if len(data) < total {
			return nil, ErrNeedMore
		}
		f.off += total
		f.resync = false
		f.Messages++
		return data[:total], nil
	}
}

// Push writes p and yields every message it completes, together with the
// resynchronisation errors met on the way (never ErrNeedMore). The
// message slices are valid until the loop body returns.
func (f *Framer) Push(p []byte) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for {
			n, werr := f.Write(p)
			p = p[n:]
			for {
				msg, err := f.Next()
				if err == ErrNeedMore {
					break
				}
				if !yield(msg, err) {
					return
				}
			}
			if werr == nil || len(p) == 0 {
				return
			}
		}
	}
}

// discardJunk drops data up to the next line that starts a SIP message,
// or up to the last line if there is none yet (it may be the beginning of
// a start line whose end has not arrived).
func (f *Framer) discardJunk(data []byte) {
	drop := len(data)
	for i := 0; i < len(data); {
		nl := bytes.IndexByte(data[i:], '\n')
		if nl < 0 {
			drop = i
			if len(data)-i >= maxStartLine || drop == 0 {
				drop = len(data)
			}
			break
		}
		i += nl + 1
		if i < len(data) && startsMessage(data[i:], false) {
			drop = i
			break
		}
	}
	f.off += drop
	f.JunkBytes += drop
}

// startsMessage reports whether data can be the start of a SIP message.
// With an unterminated first line it answers whether the bytes so far are
// a plausible beginning, unless final is set (no more bytes will fit).
func startsMessage(data []byte, final bool) bool {
	if bytes.IndexByte(data, '\n') >= 0 || final {
		return Looks(data)
	}
	if len(data) > maxStartLine {
		return false
	}
	// Methods and "SIP/2.0" start with an upper-case letter; anything else
	// (TLS records, binary junk) can be rejected before its line ends.
	return data[0] >= 'A' && data[0] <= 'Z'
}

// headerEnd returns the length of the header section including the empty
// line that ends it, accepting bare LF line ends, or -1.
func headerEnd(data []byte) int {
	for i := 0; ; {
		nl := bytes.IndexByte(data[i:], '\n')
		if nl < 0 {
			return -1
		}
		i += nl + 1
		switch {
		case i < len(data) && data[i] == '\n':
			return i + 1
		case i+1 < len(data) && data[i] == '\r' && data[i+1] == '\n':
			return i + 2
		}
	}
}

// contentLength finds Content-Length (or its compact form l) in a header
// section. A missing header means an empty body: RFC 3261 requires it on
// streams, but treating it as 0 keeps the stream in sync for the common
// bodiless case.
func contentLength(hdr []byte) (int, bool) {
	for len(hdr) > 0 {
		nl := bytes.IndexByte(hdr, '\n')
		if nl < 0 {
			nl = len(hdr) - 1
		}
		line := hdr[:nl+1]
		hdr = hdr[nl+1:]
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		if !bytes.EqualFold(name, []byte("content-length")) && !bytes.EqualFold(name, []byte("l")) {
			continue
		}
		v := bytes.TrimSpace(line[colon+1:])
		if len(v) == 0 || len(v) > 9 {
			return 0, false
		}
		n := 0
		for _, c := range v {
			if !isDigit(c) {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	return 0, true
}

package sipinfo

import (
	"encoding/binary"
	"errors"
	"testing"
)

// wsFrame builds a frame; a non-nil mask masks the payload as a client
// must (RFC 6455 section 5.3).
func wsFrame(fin bool, opcode byte, mask []byte, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	var maskBit byte
	if mask != nil {
		maskBit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, maskBit|byte(n))
	case n <= 0xffff:
		out = append(out, maskBit|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, maskBit|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if mask != nil {
		out = append(out, mask...)
		for i, c := range payload {
			out = append(out, c^mask[i&3])
		}
		return out
	}
	return append(out, payload...)
}

func TestUnwrapWebSocket(t *testing.T) {
	key := []byte{0x37, 0xfa, 0x21, 0x3d}
	long := make([]byte, 300)
	for i := range long {
		long[i] = byte('a' + i%26)
	}
	tests := []struct {
		name   string
		stream []byte
		want   []string
		err    error
	}{
		{"unmasked server text", wsFrame(true, wsText, nil, options), []string{string(options)}, nil},
		{"masked client text", wsFrame(true, wsText, key, invite), []string{string(invite)}, nil},
		{"16-bit length, binary", wsFrame(true, wsBinary, key, long), []string{string(long)}, nil},
		{"two messages", cat(wsFrame(true, wsText, key, options), wsFrame(true, wsText, nil, notify)), []string{string(options), string(notify)}, nil},
		{"fragments with a ping between", cat(
			wsFrame(false, wsText, key, notify[:10]),
			wsFrame(true, 0x9, key, []byte("ping")),
			wsFrame(true, wsContinuation, key, notify[10:])), []string{string(notify)}, nil},
		{"pong then close", cat(wsFrame(true, 0xa, nil, nil), wsFrame(true, wsClose, nil, []byte{3, 232})), nil, ErrWebSocketClosed},
		{"reserved bit (compression not negotiated)", []byte{0xc1, 0x01, 'x'}, nil, ErrWebSocket},
		{"reserved opcode", []byte{0x83, 0x00}, nil, ErrWebSocket},
		{"fragmented control frame", []byte{0x09, 0x00}, nil, ErrWebSocket},
		{"oversized", append([]byte{0x82, 127}, binary.BigEndian.AppendUint64(nil, 1<<40)...), nil, ErrTooLarge},
		{"cut in the header", wsFrame(true, wsText, key, long)[:3], nil, ErrNeedMore},
		{"cut in the payload", wsFrame(true, wsText, key, options)[:20], nil, ErrNeedMore},
		{"cut between fragments", wsFrame(false, wsText, key, options), nil, ErrNeedMore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			rest := tt.stream
			var err error
			for len(rest) > 0 {
				var m []byte
				var n int
				m, n, err = UnwrapWebSocket(nil, rest)
				if err != nil {
					if errors.Is(err, ErrNeedMore) && n != 0 {
						t.Errorf("ErrNeedMore consumed %d bytes", n)
					}
					break
				}
				got = append(got, string(m))
				rest = rest[n:]
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("err = %v, want %v", err, tt.err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d messages, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("message %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestSkipUpgrade(t *testing.T) {
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
	tests := []struct {
		stream, rest string
		ok           bool
	}{
		{req + "\x81\x00", "\x81\x00", true},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nX", "X", true},
		{"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", "", false},
		{"GET / HTTP/1.1\r\nUpgrade: websocket\r\n", "", false},
		{"INVITE sip:a@b SIP/2.0\r\n\r\n", "", false},
	}
	for _, tt := range tests {
		rest, ok := SkipUpgrade([]byte(tt.stream))
		if ok != tt.ok || (ok && string(rest) != tt.rest) {
			t.Errorf("SkipUpgrade(%q) = %q, %v", tt.stream, rest, ok)
		}
	}
}

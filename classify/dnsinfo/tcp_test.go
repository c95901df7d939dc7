package dnsinfo

import (
	"bytes"
	"errors"
	"testing"
)

func TestSplitTCP(t *testing.T) {
	msg := cnameResponse()
	framed := append([]byte{byte(len(msg) >> 8), byte(len(msg))}, msg...)
	tests := []struct {
		name    string
		stream  []byte
		msg     []byte
		restLen int
		wantErr error
	}{
		{"empty", nil, nil, 0, ErrNeedMore},
		{"one length byte", framed[:1], nil, 1, ErrNeedMore},
		{"length only", framed[:2], nil, 2, ErrNeedMore},
		{"one byte short", framed[:len(framed)-1], nil, len(framed) - 1, ErrNeedMore},
		{"exact", framed, msg, 0, nil},
		{"followed by the next", cat(framed, framed[:5]), msg, 5, nil},
		{"zero length", []byte{0, 0, 1, 2}, nil, 4, ErrBadLength},
		{"shorter than a header", cat([]byte{0, 11}, make([]byte, 11)), nil, 13, ErrBadLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rest, err := SplitTCP(tt.stream)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.msg) || len(rest) != tt.restLen {
				t.Errorf("msg %d bytes, rest %d; want %d, %d", len(got), len(rest), len(tt.msg), tt.restLen)
			}
			if err == nil {
				// The message must not reach into rest: appending to it
				// must not overwrite the next message.
				if cap(got) != len(got) {
					t.Errorf("msg capacity %d exceeds its length %d", cap(got), len(got))
				}
			}
		})
	}
}

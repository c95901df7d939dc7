package dnsinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrNeedMore means the stream ends inside a message: keep the bytes and
// call again when more have arrived.
var ErrNeedMore = errors.New("dns: need more data")

// ErrBadLength means a TCP length prefix is too short for a DNS header: the
// stream is not DNS, or its framing was lost (a capture that started
// mid-stream or missed a segment).
var ErrBadLength = errors.New("dns: tcp length prefix shorter than a header")

// SplitTCP takes the first message off a DNS-over-TCP byte stream, where
// each message is preceded by its length as two big-endian bytes (RFC 1035
// section 4.2.2). msg and rest alias stream. When stream holds only part of
// a message it returns ErrNeedMore with rest = stream. ErrBadLength is final
// for the stream: there is no way to find the next message boundary.
func SplitTCP(stream []byte) (msg, rest []byte, err error) {
	if len(stream) < 2 {
		return nil, stream, ErrNeedMore
	}
	n := int(binary.BigEndian.Uint16(stream))
	if n < headerLen {
		return nil, stream, fmt.Errorf("dns: tcp length prefix %d: %w", n, ErrBadLength)
	}
	if len(stream) < 2+n {
		return nil, stream, ErrNeedMore
	}
	return stream[2 : 2+n : 2+n], stream[2+n:], nil
}

package sipinfo

import (
	"bytes"
	"encoding/binary"
	"errors"
)

var (
	// ErrWebSocket means a frame header is invalid (reserved bits or
	// opcodes, fragmented control frame, oversized control payload).
	ErrWebSocket = errors.New("sipinfo: malformed WebSocket frame")
	// ErrWebSocketClosed means a Close frame was read; the returned n
	// includes it.
	ErrWebSocketClosed = errors.New("sipinfo: WebSocket closed")
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	wsContinuation = 0x0
	wsText         = 0x1
	wsBinary       = 0x2
	wsClose        = 0x8
)

// SkipUpgrade returns the bytes that follow the WebSocket opening
// handshake at the start of stream: the client's "GET ... Upgrade:
// websocket" request or the server's "101 Switching Protocols" response.
// ok is false when stream does not begin with a complete handshake.
func SkipUpgrade(stream []byte) (rest []byte, ok bool) {
	end := bytes.Index(stream, []byte("\r\n\r\n"))
	if end < 0 {
		return stream, false
	}
	head := stream[:end]
	switch {
	case bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")), bytes.HasPrefix(head, []byte("HTTP/1.1 101\r")):
	case bytes.HasPrefix(head, []byte("GET ")) && hasWebSocketUpgrade(head):
	default:
		return stream, false
	}
	return stream[end+4:], true
}

// hasWebSocketUpgrade looks for "Upgrade: websocket" among the headers.
func hasWebSocketUpgrade(head []byte) bool {
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("upgrade")) &&
			bytes.EqualFold(bytes.TrimSpace(value), []byte("websocket")) {
			return true
		}
	}
	return false
}

// UnwrapWebSocket reads one WebSocket message from the start of stream,
// one direction of a connection after the Upgrade handshake (RFC 6455).
// It appends the payload, unmasked and with its fragments joined, to dst
// and returns the extended slice and the number of stream bytes consumed.
// Under RFC 7118 each message is exactly one SIP message, so the result
// goes straight to ParseMessage (Content-Length is optional on WebSocket).
//
// Ping and Pong frames are consumed and skipped. A message larger than
// DefaultMaxMessage is refused with ErrTooLarge, n covering the frames
// read so far. ErrNeedMore means stream ends inside the message; nothing
// is consumed and dst is returned unchanged.
func UnwrapWebSocket(dst, stream []byte) (out []byte, n int, err error) {
	out = dst
	for {
		h, ok := parseFrameHeader(stream[n:])
		if !ok {
			return dst, 0, ErrNeedMore
		}
		if h.bad {
			return dst, n, ErrWebSocket
		}
		if h.length > DefaultMaxMessage || len(out)-len(dst)+int(h.length) > DefaultMaxMessage {
			return dst, n, ErrTooLarge
		}
		end := n + h.size + int(h.length)
		if end > len(stream) {
			return dst, 0, ErrNeedMore
		}
		payload := stream[n+h.size : end]
		n = end
		switch h.opcode {
		case wsClose:
			return dst, n, ErrWebSocketClosed
		case wsText, wsBinary, wsContinuation:
			start := len(out)
			out = append(out, payload...)
			if h.masked {
				for i := range out[start:] {
					out[start+i] ^= h.mask[i&3]
				}
			}
			if h.fin {
				return out, n, nil
			}
		}
		// Control frames (ping, pong) may sit between fragments.
	}
}

type frameHeader struct {
	fin, masked, bad bool
	opcode           byte
	mask             [4]byte
	size             int    // header bytes
	length           uint64 // payload bytes
}

// parseFrameHeader decodes a frame header; ok is false when b is too
// short to hold it.
func parseFrameHeader(b []byte) (h frameHeader, ok bool) {
	if len(b) < 2 {
		return h, false
	}
	h.fin = b[0]&0x80 != 0
	h.opcode = b[0] & 0x0f
	h.masked = b[1]&0x80 != 0
	h.length = uint64(b[1] & 0x7f)
	h.size = 2
	switch h.length {
	case 126:
		if len(b) < 4 {
			return h, false
		}
		h.length = uint64(binary.BigEndian.Uint16(b[2:]))
		h.size = 4
	case 127:
		if len(b) < 10 {
			return h, false
		}
		h.length = binary.BigEndian.Uint64(b[2:])
		h.size = 10
	}
	if h.masked {
		if len(b) < h.size+4 {
			return h, false
		}
		copy(h.mask[:], b[h.size:])
		h.size += 4
	}
	control := h.opcode&0x8 != 0
	switch {
	case b[0]&0x70 != 0: // RSV bits need a negotiated extension
		h.bad = true
	case h.opcode > wsBinary && !control, h.opcode > 0xa:
		h.bad = true
	case control && (!h.fin || h.length > 125):
		h.bad = true
	}
	return h, true
}

// Package live holds the AF_PACKET capture engine: memory-mapped
// TPACKET_V3 sockets that feed the same decoder, flow table and parsers as
// replay, optionally fanned out across workers by flow hash. The eBPF
// engine is package bpf.
package live

import "errors"

// ErrNotSupported is wrapped by OpenAFPacket's error on systems without
// AF_PACKET.
var ErrNotSupported = errors.New("AF_PACKET capture needs Linux")

// Package live holds the AF_PACKET capture engine: memory-mapped
// TPACKET_V3 sockets that feed the same decoder, flow table and parsers as
// replay, optionally fanned out across workers by flow hash. The eBPF
// engine is package bpf.
package live

import (
	"errors"
	"time"

	"golang.org/x/net/bpf"
)

// ErrNotSupported is wrapped by OpenAFPacket's error on systems without
// AF_PACKET.
var ErrNotSupported = errors.New("AF_PACKET capture needs Linux")

// AFPacketOptions tune OpenAFPacket. The zero value is ready to use.
type AFPacketOptions struct {
	// BlockSize and NumBlocks size the ring shared with the kernel
	// (defaults 1 MiB and 64: a 64 MiB ring per socket). BlockSize must
	// be a multiple of the page size.
	BlockSize, NumBlocks int
	// BlockTimeout is how long the kernel holds a partly filled block
	// before handing it over: the capture latency at low rates (default
	// 50 ms).
	BlockTimeout time.Duration
	// SnapLen caps the bytes of a frame Next returns (default 262144).
	SnapLen int
	// Promiscuous also captures frames not addressed to the interface.
	Promiscuous bool
	// Filter is a classic BPF program the kernel runs before a frame
	// enters the ring, e.g. assembled with golang.org/x/net/bpf.
	Filter []bpf.Instruction
	// FanoutGroup, if not zero, joins the socket to that PACKET_FANOUT
	// group: the kernel spreads frames over the group's sockets by a
	// symmetric flow hash, so both directions of a flow reach the same
	// socket, with IP fragments reassembled for the hash. Groups are per
	// network namespace and shared across processes: pick an ID no other
	// capture on the host uses.
	FanoutGroup uint16
}

// AFPacketStats are a socket's counters.
type AFPacketStats struct {
	Frames       uint64 // frames Next returned
	Packets      uint64 // frames the kernel passed the filter since Open
	Drops        uint64 // frames the kernel dropped: the ring was full
	QueueFreezes uint64 // times the ring filled up
}

// Package ebpf is the auditor's eBPF capture engine: a sensor program
// attached with TCX (or TC clsact on kernels before 6.6) on ingress and
// egress, or with XDP on a mirror port, that keeps per-flow counters in the
// kernel and sends user space only what the protocol parsers need.
//
// Each packet is accounted exactly once. It either becomes a ring buffer
// record, a real frame prefix that [Sensor.Next] returns as a capture frame
// for the normal decoder, or is added to the in-kernel counters of its flow
// direction, which [Sensor.Counters] returns as deltas to merge into the
// flow table. See README.md for what goes to the ring.
package ebpf

import (
	"errors"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
)

// ErrNotSupported is wrapped by the errors of Load and Attach when the
// kernel lacks a feature the sensor needs (BPF ring buffers, TCX or XDP,
// the helpers it calls) or the build target has no sensor object.
var ErrNotSupported = errors.New("not supported by this kernel")

// Hook says where the sensor attaches.
type Hook uint8

const (
	// HookTC attaches on ingress and egress with TCX, falling back to a
	// TC clsact filter on kernels without TCX (before 6.6).
	HookTC Hook = iota
	// HookTCClsact attaches with a TC clsact filter, never TCX.
	HookTCClsact
	// HookXDP attaches on ingress only, for a mirror (SPAN) port where
	// every packet arrives as ingress.
	HookXDP
)

func (h Hook) String() string {
	switch h {
	case HookTC:
		return "tc"
	case HookTCClsact:
		return "tc-clsact"
	case HookXDP:
		return "xdp"
	}
	return "unknown"
}

// ParseHook is the inverse of Hook.String, for command-line flags.
func ParseHook(s string) (Hook, error) {
	for _, h := range []Hook{HookTC, HookTCClsact, HookXDP} {
		if h.String() == s {
			return h, nil
		}
	}
	return 0, errors.New("unknown hook " + s + " (want tc, tc-clsact or xdp)")
}

// DefaultRingPorts returns the ports whose every packet goes to the ring
// buffer: DNS, mDNS, LLMNR and SIP.
func DefaultRingPorts() []uint16 { return []uint16{53, 5353, 5355, 5060, 5061, 5080} }

// Options configure Load. The zero value is ready to use.
type Options struct {
	// MaxFlows bounds the in-kernel flow map, counted per direction
	// (default 262144). When it is full, packets of new flows take the
	// ring buffer, and Stats.MapFull counts them.
	MaxFlows int
	// RingSize is the ring buffer size in bytes, a power of two and a
	// multiple of the page size (default 16 MiB).
	RingSize int
	// FirstPacketsTCP, FirstPacketsUDP and FirstPacketsOther are how many
	// packets of each flow direction go to the ring before the kernel only
	// counts them (defaults 8, 16 and 8). UDP gets more: RTP detection
	// wants a run of sequence numbers.
	FirstPacketsTCP, FirstPacketsUDP, FirstPacketsOther int
	// SnapLen is the prefix of a packet sent for its headers (default 256)
	// and SnapLenPayload that of a packet the parsers read (SIP, DNS, TLS
	// handshakes, fragments, tunnels; default and maximum 2048).
	SnapLen, SnapLenPayload int
	// RingPorts replaces DefaultRingPorts() when not nil.
	RingPorts []uint16
	// IdleTimeout is how long a flow direction may see no counted packet
	// before Counters removes it from the kernel map (default 2 min).
	IdleTimeout time.Duration
}

const (
	defaultMaxFlows    = 1 << 18
	defaultRingSize    = 1 << 24
	defaultIdleTimeout = 2 * time.Minute
	maxSnap            = 2048 // MAX_SNAP in c/sensor.h
)

func (o Options) withDefaults() Options {
	orDefault := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	orDefault(&o.MaxFlows, defaultMaxFlows)
	orDefault(&o.RingSize, defaultRingSize)
	orDefault(&o.FirstPacketsTCP, 8)
	orDefault(&o.FirstPacketsUDP, 16)
	orDefault(&o.FirstPacketsOther, 8)
	orDefault(&o.SnapLen, 256)
	orDefault(&o.SnapLenPayload, maxSnap)
	o.SnapLen = min(o.SnapLen, maxSnap)
	o.SnapLenPayload = min(max(o.SnapLenPayload, o.SnapLen), maxSnap)
	if o.RingPorts == nil {
		o.RingPorts = DefaultRingPorts()
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = defaultIdleTimeout
	}
	return o
}

// Stats are the sensor's loss and volume counters, summed over CPUs.
type Stats struct {
	RingRecords uint64 // packets the kernel sent to the ring buffer
	MapPackets  uint64 // packets the kernel counted in the flow map
	RingFull    uint64 // ring full: the packet's bytes lost to the parsers (counted in the map, or Lost)
	MapFull     uint64 // flow map full: packet sent to the ring instead
	Lost        uint64 // not counted at all: ring and map both full, or ring full for a packet only the decoder can key (a tunnel's)
	NonIP       uint64 // frames neither IPv4 nor IPv6 (ARP, LLDP, ...), not counted
	RecordsRead uint64 // ring records user space has read
	BadRecords  uint64 // ring records too short or inconsistent to use
}

// FlowDelta is what the kernel counted for one direction of a flow since
// the previous call to Counters. Packets sent to the ring are not in it:
// they reach the flow table through the decoder.
type FlowDelta struct {
	Key     flow.Key
	Dir     flow.Dir // which endpoint of Key sent these packets
	Packets uint64
	Bytes   uint64 // frame bytes as on the wire
	Payload uint64 // transport payload bytes per the IP header
	Flags   uint8  // union of TCP flags of these packets
	First   int64  // unix ns of the first packet of this direction the kernel saw
	Last    int64  // unix ns of the last packet counted here
	// Ended is set when the direction had been idle for IdleTimeout and
	// was removed from the kernel map; a later packet starts it afresh.
	Ended bool
}

// Package flow owns the bidirectional flow key and the flow record, and the
// table that turns decoded packets into flows. Every other package imports
// these types; none copies them.
package flow

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// IP protocol numbers the auditor distinguishes.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
	ProtoSCTP   uint8 = 132
)

// Key identifies a flow independently of direction: the two endpoints are
// stored in canonical order (lower address, then lower port, first), so a
// packet and its reply produce the same Key. It is packed and comparable so
// it hashes fast as a map key: tailscale's flowtrack measured this layout 2x
// faster than a pair of netip.AddrPort.
//
// IPv4 addresses are stored IPv4-mapped; the is4 flag keeps a genuine
// IPv4-mapped IPv6 address apart from an IPv4 one.
type Key struct {
	addrA, addrB [16]byte
	portA, portB uint16
	proto        uint8
	is4          bool
}

// Dir says which endpoint of a Key sent a packet.
type Dir uint8

const (
	// DirAB: the sender is endpoint A of the key.
	DirAB Dir = 0
	// DirBA: the sender is endpoint B of the key.
	DirBA Dir = 1
)

// Flip returns the other direction.
func (d Dir) Flip() Dir { return d ^ 1 }

// NewKey builds the canonical key for a packet from src to dst and reports
// which endpoint of the key sent it. src and dst must be of the same family.
func NewKey(proto uint8, src, dst netip.AddrPort) (Key, Dir) {
	return KeyFrom16(proto, src.Addr().Is4(), src.Addr().As16(), src.Port(), dst.Addr().As16(), dst.Port())
}

// KeyFrom16 is NewKey for callers that already hold 16-byte addresses (the
// decoder and the eBPF map reader), so the hot path builds no netip values.
func KeyFrom16(proto uint8, is4 bool, src [16]byte, sport uint16, dst [16]byte, dport uint16) (Key, Dir) {
	var k Key
	d := k.SetFrom16(proto, is4, &src, sport, &dst, dport)
	return k, d
}

// SetFrom16 is KeyFrom16 writing the key in place, for the decoder's fast
// path: a key returned by value reaches its destination through a stack
// temporary written field by field and read back in 16-byte moves that
// straddle those writes, which the CPU cannot forward from its store
// buffer (a stall per packet). src and dst must not point into k.
func (k *Key) SetFrom16(proto uint8, is4 bool, src *[16]byte, sport uint16, dst *[16]byte, dport uint16) Dir {
	d := DirAB
	if endpointLess(dst, dport, src, sport) {
		src, dst, sport, dport, d = dst, src, dport, sport, DirBA
	}
	k.addrA, k.addrB = *src, *dst
	k.portA, k.portB, k.proto, k.is4 = sport, dport, proto, is4
	return d
}

// endpointLess takes the addresses by pointer: by value, the decoder's
// every packet copied both once more on the stack.
func endpointLess(a *[16]byte, ap uint16, b *[16]byte, bp uint16) bool {
	// Compare as two big-endian words: this is a hot path and a byte loop
	// costs twice as much.
	a0, b0 := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	if a0 != b0 {
		return a0 < b0
	}
	a1, b1 := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:])
	if a1 != b1 {
		return a1 < b1
	}
	return ap < bp
}

// recentSlots is the size of a table's recent-flow cache, a power of two:
// 128 KiB of pointers, a few times the flows a busy worker has active.
const (
	recentBits  = 14
	recentSlots = 1 << recentBits
)

// recentSlot is k's slot in a table's recent-flow cache: a multiplicative
// hash of the addresses' low halves (all of an IPv4 address) and the
// ports. It need not resist chosen keys: a collision only sends the
// lookup to the map.
func (k *Key) recentSlot() uint32 {
	h := binary.LittleEndian.Uint64(k.addrA[8:]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(k.addrB[8:]), 29)
	h ^= uint64(k.portA)<<16 | uint64(k.portB) | uint64(k.proto)<<56
	h ^= h >> 32
	h *= 0x9e3779b97f4a7c15
	return uint32(h >> (64 - recentBits))
}

// Proto is the IP protocol number.
func (k Key) Proto() uint8 { return k.proto }

// Is4 reports whether the flow is IPv4.
func (k Key) Is4() bool { return k.is4 }

// A is the canonically lower endpoint.
func (k Key) A() netip.AddrPort { return k.endpoint(DirAB) }

// B is the canonically higher endpoint.
func (k Key) B() netip.AddrPort { return k.endpoint(DirBA) }

// Endpoint returns the sender (d) side of the key.
func (k Key) Endpoint(d Dir) netip.AddrPort { return k.endpoint(d) }

// endpoint is Endpoint through a pointer: dissectors ask for a flow's
// endpoints on every packet, and the value methods copied the key and
// the address on the way (half the cost of the call).
func (k *Key) endpoint(d Dir) netip.AddrPort {
	if d == DirAB {
		return netip.AddrPortFrom(k.addr(&k.addrA), k.portA)
	}
	return netip.AddrPortFrom(k.addr(&k.addrB), k.portB)
}

// addr is the address b of k: an IPv4 key's addresses are stored mapped,
// and one that is not (KeyFrom16 stores what it is given) comes back as
// it is, as netip's Unmap leaves it.
func (k *Key) addr(b *[16]byte) netip.Addr {
	if k.is4 && binary.BigEndian.Uint64(b[:8]) == 0 && binary.BigEndian.Uint32(b[8:12]) == 0xffff {
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return netip.AddrFrom16(*b)
}

// Compare orders keys (by addresses, then ports, then protocol), for
// output and merges that must not depend on map or worker order.
func (k Key) Compare(o Key) int {
	if c := bytes.Compare(k.addrA[:], o.addrA[:]); c != 0 {
		return c
	}
	if c := bytes.Compare(k.addrB[:], o.addrB[:]); c != 0 {
		return c
	}
	if c := cmp.Compare(k.portA, o.portA); c != 0 {
		return c
	}
	if c := cmp.Compare(k.portB, o.portB); c != 0 {
		return c
	}
	if c := cmp.Compare(k.proto, o.proto); c != 0 {
		return c
	}
	if k.is4 == o.is4 {
		return 0
	}
	if k.is4 {
		return -1
	}
	return 1
}

// Hash is a direction-independent hash of the key (the key is already
// canonical), stable across runs, for sharding flows across workers: the
// same flow lands on the same worker every run. A multiply-xorshift mix of
// the packed words: a few cycles, and it spreads flows well enough; it is
// not used for map lookups.
func (k Key) Hash() uint64 {
	// Word by word, not a loop over an array of the words: the array
	// was built on the stack and reloaded, and the key's copy, stored in
	// 16-byte moves, was read back in 8-byte loads that straddled them,
	// which the CPU cannot forward from its store buffer.
	const m = 0x9e3779b97f4a7c15
	h := uint64(k.portA)<<24 | uint64(k.portB)<<8 | uint64(k.proto)
	h = (h ^ binary.LittleEndian.Uint64(k.addrA[:8])) * m
	h ^= h >> 29
	h = (h ^ binary.LittleEndian.Uint64(k.addrA[8:])) * m
	h ^= h >> 29
	h = (h ^ binary.LittleEndian.Uint64(k.addrB[:8])) * m
	h ^= h >> 29
	h = (h ^ binary.LittleEndian.Uint64(k.addrB[8:])) * m
	h ^= h >> 29
	h *= m
	return h ^ h>>32
}

// ProtoName is the lower-case protocol name used in output ("tcp", "udp",
// "icmp", "icmp6", "sctp") or the number for anything else.
func ProtoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmp6"
	case ProtoSCTP:
		return "sctp"
	}
	return itoa(int(p))
}

func itoa(v int) string {
	var b [20]byte
	i := len(b)
	if v == 0 {
		return "0"
	}
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

// same is k == o, field by field: the struct comparison compiles to a
// memequal call for a key this size.
func (k *Key) same(o *Key) bool {
	return k.addrA == o.addrA && k.addrB == o.addrB && k.portA == o.portA && k.portB == o.portB && k.proto == o.proto && k.is4 == o.is4
}

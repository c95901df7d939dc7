package synth

import (
	"net"
	"net/netip"
	"time"
)

// floodBurst is the number of SYNs one syn-flood instance sends.
const floodBurst = 1000

// floodTarget is the port the flood hits: the SIP proxy's TLS trunk port,
// the site's service reachable from the internet.
const floodTarget = 5061

// runSYNFlood sends a burst of SYNs from spoofed addresses and random
// ports to one server port, at about 20 000 SYNs/s, and nothing answers:
// every SYN opens a half-open flow that only an idle timeout or the flow
// table's bound ends.
func runSYNFlood(c *conv) {
	g := c.g
	for i := 0; i < floodBurst; i++ {
		src, sport := g.spoofed()
		c.flow("tcp")
		g.tcp(src, g.site.proxy, sport, floodTarget, g.rng.Uint32(), 0, syn, 1024, nil)
		c.wait(g.jitter(10*time.Microsecond, 90*time.Microsecond))
	}
}

// spoofed returns the source of the next flood SYN: an address in
// 100.64.0.0/10 and a port in 1024-65535. Both come from one 32-bit
// counter multiplied by an odd constant, a bijection, so no two SYNs of a
// capture share a source (tests count flows exactly) however long the
// flood, yet the sources look random. The host is reused: the writer
// copies its address into each frame.
func (g *gen) spoofed() (*host, uint16) {
	if g.flooder == nil {
		g.flooder = &host{role: "spoofed", wan: true, ip: make(net.IP, 4)}
		g.floodNext = g.rng.Uint32()
	}
	x := g.floodNext * 0x9e3779b1
	g.floodNext++
	a := [4]byte{100, 64 | byte(x>>26), byte(x >> 18), byte(x >> 10)}
	h := g.flooder
	h.addr = netip.AddrFrom4(a)
	copy(h.ip, a[:])
	h.ttl = uint8(40 + g.rng.IntN(24))
	h.ipID = uint16(g.rng.IntN(65536))
	// Ten bits of the port come from the counter, the rest at random:
	// 1024 + 1023*63 + 62 is 65535.
	return h, 1024 + uint16(x&0x3ff)*63 + uint16(g.rng.IntN(63))
}

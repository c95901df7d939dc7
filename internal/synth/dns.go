package synth

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"time"
)

// DNS record types and response codes (RFC 1035, RFC 3596).
const (
	dnsA     = 1
	dnsCNAME = 5
	dnsSOA   = 6
	dnsAAAA  = 28

	rcodeNXDomain = 3
)

// dnsName is one name the site resolves: a CNAME chain ending in
// addresses, or nothing (NXDOMAIN). The first entries are the demo's.
type dnsName struct {
	name   string
	qtype  uint16
	chain  []string // CNAME targets, in order
	addrs  []string
	remote bool // answered by recursion: slower
}

var dnsNames = [...]dnsName{
	{name: "cic01.example.local", qtype: dnsA, addrs: []string{"10.10.1.10"}},
	{name: "api.imagicle.cloud", qtype: dnsA, chain: []string{"api.imagicle.cloud.edge.example-cdn.net", "e1234.a.example-cdn.net"}, addrs: []string{"198.51.100.20"}, remote: true},
	{name: "cic02.example.local", qtype: dnsA},
	{name: "cic01.example.local", qtype: dnsAAAA, addrs: []string{"2001:db8:10:1::10"}},
	{name: "telescope.tegsoft.com", qtype: dnsA, chain: []string{"telescope-lb.tegsoft.com"}, addrs: []string{"198.51.100.30"}, remote: true},
	{name: "sql01.example.local", qtype: dnsA, addrs: []string{"10.10.1.5"}},
	{name: "media01.example.local", qtype: dnsA, addrs: []string{"10.10.1.20", "10.10.1.21"}},
	{name: "wpad.example.local", qtype: dnsA},
	{name: "login.example-idp.com", qtype: dnsA, addrs: []string{"198.51.100.40"}, remote: true},
	{name: "telescope.tegsoft.com", qtype: dnsAAAA, chain: []string{"telescope-lb.tegsoft.com"}, addrs: []string{"2001:db8:ff:30::30"}, remote: true},
}

func appendName(b []byte, name string) []byte {
	for label := range strings.SplitSeq(name, ".") {
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	return append(b, 0)
}

func dnsHeader(b []byte, id, flags, qd, an, ns uint16) []byte {
	for _, v := range [...]uint16{id, flags, qd, an, ns, 0} {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

func dnsQuery(id uint16, q *dnsName) []byte {
	b := dnsHeader(nil, id, 0x0100, 1, 0, 0) // RD
	b = appendName(b, q.name)
	b = binary.BigEndian.AppendUint16(b, q.qtype)
	return binary.BigEndian.AppendUint16(b, 1)
}

// dnsAnswer answers dnsQuery(id, q): the CNAME chain then the addresses,
// or NXDOMAIN with the zone's SOA in the authority section.
func dnsAnswer(id uint16, q *dnsName) []byte {
	an := uint16(len(q.chain) + len(q.addrs))
	flags, ns := uint16(0x8180), uint16(0) // QR RD RA
	if len(q.addrs) == 0 {
		flags |= rcodeNXDomain
		ns = 1
	}
	b := dnsHeader(nil, id, flags, 1, an, ns)
	b = appendName(b, q.name)
	b = binary.BigEndian.AppendUint16(b, q.qtype)
	b = binary.BigEndian.AppendUint16(b, 1)
	owner := q.name
	rr := func(name string, typ uint16, ttl uint32, rdata []byte) {
		if name == q.name {
			b = append(b, 0xc0, 12) // pointer to the question's name
		} else {
			b = appendName(b, name)
		}
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint32(b, ttl)
		b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
		b = append(b, rdata...)
	}
	for _, target := range q.chain {
		rr(owner, dnsCNAME, 300, appendName(nil, target))
		owner = target
	}
	for _, a := range q.addrs {
		ip := netip.MustParseAddr(a)
		if ip.Is4() {
			rr(owner, dnsA, 60, ip.AsSlice())
		} else {
			rr(owner, dnsAAAA, 60, ip.AsSlice())
		}
	}
	if ns > 0 {
		zone := q.name[strings.IndexByte(q.name, '.')+1:]
		soa := appendName(nil, "ns1."+zone)
		soa = appendName(soa, "hostmaster."+zone)
		for _, v := range [...]uint32{2026110201, 900, 600, 86400, 3600} {
			soa = binary.BigEndian.AppendUint32(soa, v)
		}
		rr(zone, dnsSOA, 3600, soa)
	}
	return b
}

// dnsClients are the hosts that resolve names: mostly workstations, some
// phones (on the voice VLAN) and the CIC server.
func (c *conv) dnsClient() *host {
	g := c.g
	switch n := g.rng.IntN(10); {
	case n < 7:
		return c.pick(g.site.workstations)
	case n < 9:
		return c.pick(g.site.phones)
	}
	return g.site.cic
}

func (c *conv) lookup(cli, server *host, q *dnsName) {
	g := c.g
	c.flow("dns")
	port := cli.ephemeral()
	id := uint16(g.rng.Uint32())
	w := g.dnsWire(q)
	g.udp(cli, server, port, 53, tosBestEffort, g.withID(w.query, id))
	delay := g.jitter(100*time.Microsecond, 900*time.Microsecond)
	if q.remote {
		delay = g.jitter(4*time.Millisecond, 60*time.Millisecond)
	}
	c.wait(delay)
	g.udp(server, cli, 53, port, tosBestEffort, g.withID(w.answer, id))
}

// dnsMessages are a name's query and answer, encoded once per run for the
// names of dnsNames; only the ID changes between lookups.
type dnsMessages struct{ query, answer []byte }

func (g *gen) dnsWire(q *dnsName) dnsMessages {
	for i := range dnsNames {
		if q != &dnsNames[i] {
			continue
		}
		if g.dnsCache[i].query == nil {
			g.dnsCache[i] = dnsMessages{dnsQuery(0, q), dnsAnswer(0, q)}
		}
		return g.dnsCache[i]
	}
	return dnsMessages{dnsQuery(0, q), dnsAnswer(0, q)}
}

func (g *gen) withID(msg []byte, id uint16) []byte {
	g.scratch = append(g.scratch[:0], msg...)
	binary.BigEndian.PutUint16(g.scratch, id)
	return g.scratch
}

func runDNS(c *conv) {
	g := c.g
	q := &dnsNames[c.index%len(dnsNames)]
	if c.index >= len(dnsNames) {
		q = &dnsNames[g.rng.IntN(len(dnsNames))]
	}
	c.lookup(c.dnsClient(), g.site.dns, q)
}

// runDNSTCP asks over TCP for a name with more addresses than fit a
// 512-byte UDP answer; messages carry the two-byte length prefix of RFC 1035
// section 4.2.2.
func runDNSTCP(c *conv) {
	g := c.g
	c.flow("dns")
	q := &dnsName{name: "agents.example.local", qtype: dnsA}
	for i := range 40 {
		q.addrs = append(q.addrs, netip.AddrFrom4([4]byte{10, 10, 2, byte(10 + i)}).String())
	}
	id := uint16(g.rng.Uint32())
	prefixed := func(m []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(m))), m...) }
	t := c.dial(c.pick(g.site.workstations), g.site.dns, 53)
	t.connect()
	t.exchange(prefixed(dnsQuery(id, q)), prefixed(dnsAnswer(id, q)), g.jitter(100*time.Microsecond, time.Millisecond))
	t.close(true)
}

// runIPv6 is a workstation resolving a cloud service's AAAA over IPv6 and
// connecting to it over IPv6.
func runIPv6(c *conv) {
	g := c.g
	i := g.rng.IntN(len(g.site.cloud6))
	cloud := g.site.cloud6[i]
	ws := c.pick(g.site.workstations6)
	addr := cloud.addr.String()
	c.lookup(ws, g.site.dns6, &dnsName{name: cloud.name, qtype: dnsAAAA, addrs: []string{addr}, remote: true})
	c.wait(g.jitter(time.Millisecond, 5*time.Millisecond))
	c.tlsSession(ws, cloud.host, 443, cloud.name, []string{"h2", "http/1.1"}, true, 1+g.rng.IntN(2))
}

// runNoise is background chatter every capture has: a workstation ARPs
// for its gateway and pings a server.
func runNoise(c *conv) {
	g := c.g
	ws := c.pick(g.site.workstations)
	srv := []*host{g.site.cic, g.site.files, g.site.dns}[g.rng.IntN(3)]
	c.flow("arp")
	g.arpWhoHas(ws, srv)
	c.wait(g.jitter(100*time.Microsecond, 500*time.Microsecond))
	g.arpReply(srv, ws)
	c.wait(g.jitter(100*time.Microsecond, 500*time.Microsecond))
	c.flow("icmp")
	id := uint16(g.rng.Uint32())
	data := randomBytes(g.rng, 32)
	for seq := uint16(1); seq <= 2; seq++ {
		g.echo(ws, srv, false, id, seq, data)
		c.wait(g.jitter(200*time.Microsecond, time.Millisecond))
		g.echo(srv, ws, true, id, seq, data)
		if seq < 2 {
			c.wait(time.Second)
		}
	}
}

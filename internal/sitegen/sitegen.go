// Package sitegen writes a deterministic capture of the traffic a site that
// follows its vendors' documented port maps shows, and returns the roles it
// gave each host: ground truth for testing role suggestion on any vendor.
//
// Every catalog entry the site's scope opens (the entries `catalog rules`
// writes an allow rule for) becomes conversations between concrete hosts of
// its two sides: a TCP handshake, a few data segments both ways and a
// FIN/FIN close; UDP request/response exchanges; RTP-like streams, one
// packet every 20 ms both ways, on a port inside a media entry's documented
// range. Both-way entries are opened from either side, except media, which
// lands on the receiver's own range (another entry). Around that runs
// traffic that belongs to no vendor: DNS lookups to a resolver, NTP, HTTPS to
// the internet, an office PC browsing, printing and using a file share.
//
// Hosts are the inventory's addresses; a CIDR gives a few addresses chosen
// from the seed (never one the inventory lists more specifically); an entry
// whose destination is a vendor's cloud (catalog CIDRs) gets one address
// of each such CIDR.
package sitegen

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/catalog/rules"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Options tune the capture. The zero value is usable.
type Options struct {
	// Seed chooses addresses inside CIDRs, ports inside ranges, ephemeral
	// ports, payload sizes and timing: the same seed gives the same bytes.
	Seed uint64
	// Start is the first packet's time; zero means 2026-11-02 09:00 UTC.
	Start time.Time
	// HostsPerCIDR is how many addresses a CIDR of the inventory gives;
	// zero means 3.
	HostsPerCIDR int
	// MediaPackets is the number of RTP packets each way of a media
	// stream; zero means 10.
	MediaPackets int
}

// Host is a host of the capture and what the generator made it.
type Host struct {
	Addr netip.Addr
	// Roles are the vendor-qualified roles the inventory lists the host in
	// (through an address or a CIDR), or the catalog places it in (a
	// vendor's cloud address): the roles its traffic was generated for.
	Roles []string
	// Implied are the roles the catalog's implications add to Roles
	// (a Sinch MRS is a contact center server); not in Roles.
	Implied []string
	// Noise, when set, says what a host that belongs to no vendor is
	// (resolver, internet web server, office PC, printer).
	Noise string
}

// Truth is the ground truth of a generated capture.
type Truth struct {
	// Hosts, sorted by address.
	Hosts []Host
	// Entries are the ids of the catalog entries that got traffic.
	Entries []string
	// Skipped are the entries in scope that got none, with the reason.
	Skipped map[string]string
	Flows   int
	Packets int
}

// Host returns the truth of addr.
func (t *Truth) Host(addr netip.Addr) (Host, bool) {
	i, ok := slices.BinarySearchFunc(t.Hosts, addr, func(h Host, a netip.Addr) int { return h.Addr.Compare(a) })
	if !ok {
		return Host{}, false
	}
	return t.Hosts[i], true
}

// Noise hosts: documentation and private addresses no example site uses.
// Generate fails when the inventory or the catalog claims one of them.
var (
	resolver  = netip.MustParseAddr("192.168.250.53")
	ntpServer = netip.MustParseAddr("192.168.250.123")
	printer   = netip.MustParseAddr("192.168.250.40")
	fileShare = netip.MustParseAddr("192.168.250.45")
	officePC  = netip.MustParseAddr("192.168.250.101")
	webSites  = []netip.Addr{netip.MustParseAddr("192.0.2.80"), netip.MustParseAddr("192.0.2.81"), netip.MustParseAddr("198.51.100.200")}
)

// WriteFile generates the capture of inv into the pcapng file path.
func WriteFile(path string, c *catalog.Catalog, inv *catalog.Inventory, opt Options) (*Truth, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("sitegen: %w", err)
	}
	t, err := Generate(f, c, inv, opt)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("sitegen: close %s: %w", path, cerr)
	}
	return t, err
}

// Generate writes the capture of inv, a site inventory resolved against c,
// to w as pcapng.
func Generate(w io.Writer, c *catalog.Catalog, inv *catalog.Inventory, opt Options) (*Truth, error) {
	sc, err := catalog.NewScope(c, inv)
	if err != nil {
		return nil, fmt.Errorf("sitegen: %w", err)
	}
	if opt.Start.IsZero() {
		opt.Start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	}
	if opt.HostsPerCIDR <= 0 {
		opt.HostsPerCIDR = 3
	}
	if opt.MediaPackets <= 0 {
		opt.MediaPackets = 10
	}
	g := &gen{
		c: c, inv: inv, sc: sc, opt: opt,
		rng:   rand.New(rand.NewPCG(opt.Seed, 0x517e9e4)),
		picks: make(map[netip.Prefix][]netip.Addr),
		hosts: make(map[netip.Addr]*Host),
		eph:   make(map[netip.Addr]uint16),
		used:  make(map[fiveTuple]bool),
		truth: &Truth{Skipped: make(map[string]string)},
	}
	for _, a := range append([]netip.Addr{resolver, ntpServer, printer, fileShare, officePC}, webSites...) {
		if len(inv.RolesOf(a)) > 0 || g.inCatalog(a) {
			return nil, fmt.Errorf("sitegen: the noise host %s is a host of the site or the catalog", a)
		}
	}
	g.vendorTraffic()
	g.noise()
	return g.truth, g.write(w)
}

type packet struct {
	at   time.Time
	seq  int // order of creation, to keep equal times stable
	data []byte
}

type gen struct {
	c     *catalog.Catalog
	inv   *catalog.Inventory
	sc    *catalog.Scope
	opt   Options
	rng   *rand.Rand
	picks map[netip.Prefix][]netip.Addr
	hosts map[netip.Addr]*Host
	eph   map[netip.Addr]uint16
	used  map[fiveTuple]bool
	pkts  []packet
	truth *Truth
	// clock is the start of the next conversation: conversations follow
	// each other a few hundred milliseconds apart and overlap.
	clock time.Time
}

func (g *gen) inCatalog(a netip.Addr) bool {
	for _, e := range g.c.Entries() {
		if slices.ContainsFunc(e.CIDRs, func(p netip.Prefix) bool { return p.Contains(a) }) {
			return true
		}
	}
	return false
}

// vendorTraffic generates the conversations of every entry in scope.
func (g *gen) vendorTraffic() {
	var entries []*catalog.Entry
	for _, v := range g.inv.Vendors {
		entries = append(entries, g.c.EntriesOf(v)...)
	}
	entries = append(entries, g.inv.Allowed...)
	g.clock = g.opt.Start
	for _, e := range entries {
		if !rules.Needed(g.sc, e) {
			continue
		}
		from, to, ok := g.sc.EntryRoles(e)
		if !ok {
			continue
		}
		if e.Transport == catalog.ICMP {
			g.truth.Skipped[e.ID] = "ICMP"
			continue
		}
		ports := g.inv.EffectivePorts(e)
		if len(ports.Ranges) == 0 {
			g.truth.Skipped[e.ID] = "no documented port or range"
			continue
		}
		src := g.addrsOf(from)
		dst := g.addrsOf(to)
		if len(dst) == 0 && len(e.CIDRs) > 0 {
			for _, p := range e.CIDRs {
				a := g.pick(p, 1)
				dst = append(dst, a...)
				for _, x := range a {
					g.cloudHost(x, to)
				}
			}
		}
		if len(src) == 0 || len(dst) == 0 {
			continue // a side with no address host: out of the site's scope
		}
		media := isMedia(e.App)
		n := 0
		for _, t := range []catalog.Transport{catalog.TCP, catalog.UDP} {
			if e.Transport&t == 0 {
				continue
			}
			n += g.pairs(e, t, src, dst, ports, media)
			if e.Direction == catalog.BothWays && !media {
				n += g.pairs(e, t, dst, src, ports, media)
			}
		}
		if n > 0 {
			g.truth.Entries = append(g.truth.Entries, e.ID)
		} else {
			g.truth.Skipped[e.ID] = "its sides are the same single host"
		}
	}
}

// pairs generates one conversation for every (from, to) address pair.
func (g *gen) pairs(e *catalog.Entry, t catalog.Transport, from, to []netip.Addr, ports catalog.PortSet, media bool) int {
	n := 0
	for _, s := range from {
		for _, d := range to {
			if s == d || s.Is4() != d.Is4() {
				continue
			}
			g.host(s)
			g.host(d)
			dport := g.portIn(ports.Ranges)
			sport := g.ephemeral(s)
			if !e.FromPorts.IsZero() && !e.FromPorts.IsAny() && len(e.FromPorts.Ranges) > 0 {
				if p := g.portIn(e.FromPorts.Ranges); !g.used[tuple(t, s, d, p, dport)] {
					sport = p
				}
			}
			// A 5-tuple carries one conversation: a both-way entry with
			// fixed ports on both sides (a SIP trunk from 5062 to 5062)
			// opened from the other side uses an ephemeral port.
			if g.used[tuple(t, s, d, sport, dport)] {
				continue
			}
			g.used[tuple(t, s, d, sport, dport)] = true
			switch {
			case media:
				if t == catalog.TCP {
					g.tcp(s, d, sport, dport)
				} else {
					g.rtp(s, d, sport, dport)
				}
			case t == catalog.TCP:
				g.tcp(s, d, sport, dport)
			case dport == 53:
				g.dnsTo(s, d, sport)
			default:
				g.udp(s, d, sport, dport, 1+g.rng.IntN(3))
			}
			n++
		}
	}
	return n
}

// fiveTuple names a conversation whichever side opened it.
type fiveTuple struct {
	t    catalog.Transport
	a, b netip.AddrPort
}

func tuple(t catalog.Transport, s, d netip.Addr, sport, dport uint16) fiveTuple {
	x, y := netip.AddrPortFrom(s, sport), netip.AddrPortFrom(d, dport)
	if x.Compare(y) > 0 {
		x, y = y, x
	}
	return fiveTuple{t, x, y}
}

// isMedia: media and its NAT traversal, where a stream lands on the
// receiver's own ports.
func isMedia(app string) bool {
	return app == "rtp" || app == "rtcp" || app == "udptl" || app == "stun"
}

// addrsOf returns the concrete addresses of the hosts of roles, sorted.
func (g *gen) addrsOf(roles []catalog.RoleID) []netip.Addr {
	var out []netip.Addr
	for _, r := range roles {
		for _, i := range g.sc.RoleHosts(r) {
			h := g.sc.Host(i)
			if h.Name != "" {
				continue
			}
			for _, a := range g.pick(h.Prefix, g.opt.HostsPerCIDR) {
				if !slices.Contains(out, a) {
					out = append(out, a)
				}
			}
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// pick returns up to n addresses of p, the same ones every time: a single
// address is itself; a CIDR gives addresses away from its network and
// broadcast ends that no more specific inventory host covers.
func (g *gen) pick(p netip.Prefix, n int) []netip.Addr {
	p = p.Masked()
	if p.IsSingleIP() {
		return []netip.Addr{p.Addr()}
	}
	if a, ok := g.picks[p]; ok {
		return a
	}
	h := fnv.New64a()
	b, _ := p.MarshalBinary()
	h.Write(b)
	rng := rand.New(rand.NewPCG(g.opt.Seed, h.Sum64()))
	span := uint64(1) << min(p.Addr().BitLen()-p.Bits(), 12)
	var out []netip.Addr
	for try := 0; len(out) < n && try < 64; try++ {
		off := 2 + rng.Uint64N(max(span-4, 1))
		a := addOffset(p.Addr(), off)
		narrower := slices.ContainsFunc(g.sc.HostsOf(a), func(i int32) bool { return g.sc.Host(i).Prefix.Bits() > p.Bits() })
		if !p.Contains(a) || slices.Contains(out, a) || narrower {
			continue
		}
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	g.picks[p] = out
	return out
}

func addOffset(a netip.Addr, off uint64) netip.Addr {
	b := a.As16()
	lo := binary.BigEndian.Uint64(b[8:]) + off
	binary.BigEndian.PutUint64(b[8:], lo)
	r := netip.AddrFrom16(b)
	if a.Is4() {
		return r.Unmap()
	}
	return r
}

// host records the truth of an address the traffic uses.
func (g *gen) host(a netip.Addr) *Host {
	if h, ok := g.hosts[a]; ok {
		return h
	}
	h := &Host{Addr: a}
	for _, key := range g.inv.RolesOf(a) {
		if q, ok := g.qualify(key); ok && !slices.Contains(h.Roles, q) {
			h.Roles = append(h.Roles, q)
		}
	}
	for _, id := range g.sc.RolesOf(a) {
		if n := g.sc.Name(id); !slices.Contains(h.Roles, n) && !slices.Contains(h.Implied, n) {
			h.Implied = append(h.Implied, n)
		}
	}
	slices.Sort(h.Roles)
	slices.Sort(h.Implied)
	g.hosts[a] = h
	return h
}

// cloudHost records a catalog cloud address as the entry's To roles.
func (g *gen) cloudHost(a netip.Addr, to []catalog.RoleID) {
	h := g.host(a)
	for _, id := range to {
		if n := g.sc.Name(id); !slices.Contains(h.Roles, n) {
			h.Roles = append(h.Roles, n)
		}
	}
	slices.Sort(h.Roles)
}

// qualify gives an inventory role key its vendor: qualified keys stay, a
// bare one takes the first deployed vendor that has the role.
func (g *gen) qualify(key string) (string, bool) {
	if v, _ := catalog.SplitRole(key); v != "" {
		return key, true
	}
	for _, v := range g.inv.Vendors {
		if cv, ok := g.c.Vendor(v); ok {
			if _, ok := cv.Roles[key]; ok {
				return catalog.QualifyRole(v, key), true
			}
		}
	}
	return "", false
}

// portIn draws a port from ranges, respecting parity.
func (g *gen) portIn(rs []catalog.PortRange) uint16 {
	r := rs[g.rng.IntN(len(rs))]
	for range 8 {
		p := r.Lo + uint16(g.rng.IntN(int(r.Hi-r.Lo)+1))
		if r.Contains(p) {
			return p
		}
	}
	if r.Contains(r.Lo) {
		return r.Lo
	}
	return r.Lo + 1
}

// ephemeral returns the next source port of a, in the IANA dynamic range.
func (g *gen) ephemeral(a netip.Addr) uint16 {
	p, ok := g.eph[a]
	if !ok || p < 49152 || p == 65535 {
		p = 49152 + uint16(g.rng.IntN(8000))
	}
	p++
	g.eph[a] = p
	return p
}

// next returns the start of the next conversation.
func (g *gen) next() time.Time {
	g.clock = g.clock.Add(time.Duration(50+g.rng.IntN(400)) * time.Millisecond)
	return g.clock
}

// noise is the traffic of no vendor: every private vendor host resolves
// names and keeps its clock, servers fetch updates over HTTPS, and an
// office PC that is no contact-center equipment browses, prints and uses a
// file share, as do some of the vendor's workstations.
func (g *gen) noise() {
	var vendorHosts []netip.Addr
	for a := range g.hosts {
		vendorHosts = append(vendorHosts, a)
	}
	slices.SortFunc(vendorHosts, netip.Addr.Compare)
	g.noiseHost(resolver, "DNS resolver")
	g.noiseHost(ntpServer, "NTP server")
	g.noiseHost(printer, "printer")
	g.noiseHost(fileShare, "file server")
	g.noiseHost(officePC, "office PC")
	for _, w := range webSites {
		g.noiseHost(w, "internet web server")
	}
	g.clock = g.opt.Start.Add(100 * time.Millisecond)
	for i, a := range vendorHosts {
		if !a.Is4() || !a.IsPrivate() {
			continue
		}
		g.dns(a, fmt.Sprintf("host%d.example.com", i))
		if i%2 == 0 {
			g.ntp(a)
		}
		if i%3 == 0 {
			g.tcp(a, webSites[i%len(webSites)], g.ephemeral(a), 443)
		}
		if i%4 == 1 {
			g.tcp(a, printer, g.ephemeral(a), 9100)
		}
	}
	for i := range 12 {
		site := webSites[i%len(webSites)]
		g.dns(officePC, fmt.Sprintf("www%d.example.org", i))
		port := uint16(443)
		if i%4 == 0 {
			port = 80
		}
		g.tcp(officePC, site, g.ephemeral(officePC), port)
	}
	g.tcp(officePC, printer, g.ephemeral(officePC), 9100)
	g.tcp(officePC, fileShare, g.ephemeral(officePC), 445)
	g.tcp(officePC, fileShare, g.ephemeral(officePC), 445)
	g.ntp(officePC)
	g.ntp(resolver)
	// The resolver forwards to the internet.
	g.udp(resolver, webSites[0], g.ephemeral(resolver), 53, 2)
}

func (g *gen) noiseHost(a netip.Addr, what string) {
	g.hosts[a] = &Host{Addr: a, Noise: what}
}

func (g *gen) write(w io.Writer) error {
	slices.SortFunc(g.pkts, func(a, b packet) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	bw := bufio.NewWriter(w)
	// Explicit section options: the defaults record the build machine's
	// OS and architecture, which would make the bytes machine-dependent.
	lan := pcapgo.NgInterface{Name: "span0", Description: "site core switch SPAN", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}
	ng, err := pcapgo.NewNgWriterInterface(bw, lan, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "auditor sitegen"}})
	if err != nil {
		return fmt.Errorf("sitegen: write pcapng header: %w", err)
	}
	for i, p := range g.pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.at, CaptureLength: len(p.data), Length: len(p.data)}
		if err := ng.WritePacket(ci, p.data); err != nil {
			return fmt.Errorf("sitegen: write packet %d: %w", i+1, err)
		}
	}
	if err := ng.Flush(); err != nil {
		return fmt.Errorf("sitegen: flush: %w", err)
	}
	g.truth.Packets = len(g.pkts)
	for _, h := range g.hosts {
		g.truth.Hosts = append(g.truth.Hosts, *h)
	}
	slices.SortFunc(g.truth.Hosts, func(a, b Host) int { return a.Addr.Compare(b.Addr) })
	return bw.Flush()
}

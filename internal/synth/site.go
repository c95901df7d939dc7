package synth

import (
	"net"
	"net/netip"
)

// host is one address on the simulated site (or on the internet beyond its
// router). The gopacket forms of its addresses are built once so writing a
// packet converts nothing.
type host struct {
	role string
	addr netip.Addr
	ip   net.IP
	mac  net.HardwareAddr
	vlan uint16
	wan  bool  // beyond the router: frames carry the router's MAC
	ttl  uint8 // initial TTL/hop limit, as seen at the capture point
	ipID uint16

	nextPort  uint16 // next ephemeral source port
	nextMedia uint16 // next RTP port (even)
	mediaLo   uint16
	mediaHi   uint16
}

// ephemeral returns the host's next ephemeral source port. Ports cycle
// through 49152-65535 so concurrent conversations never share a 5-tuple.
func (h *host) ephemeral() uint16 {
	p := h.nextPort
	h.nextPort++
	if h.nextPort < 49152 {
		h.nextPort = 49152
	}
	return p
}

// mediaPort returns the next even RTP port in the host's media range.
func (h *host) mediaPort() uint16 {
	p := h.nextMedia
	h.nextMedia += 2
	if h.nextMedia >= h.mediaHi || h.nextMedia < h.mediaLo {
		h.nextMedia = h.mediaLo
	}
	return p
}

// altRTCPPort is an odd port of the host's media range other than rtp+1,
// for an explicit a=rtcp attribute.
func (h *host) altRTCPPort(rtp uint16) uint16 {
	span := h.mediaHi - h.mediaLo
	return h.mediaLo + (rtp-h.mediaLo+span/2)%span | 1
}

// site is the simulated contact center; doc.go lists its addresses.
type site struct {
	router net.HardwareAddr

	cic, cicBackup, media, media2, proxy, sql, dns, files *host
	carrierSig, carrierMedia                              *host
	cloud                                                 []*cloudHost

	workstations, phones []*host

	// IPv6 twins: same machines, second address family.
	cic6, media6, dns6 *host
	workstations6      []*host
	phones6            []*host
	cloud6             []*cloudHost

	sinch sinchSite
}

// sinchSite is a Sinch Contact Center running beside the Genesys one, for
// the opt-in sinch scenario. Its hosts draw nothing from the random
// source, so captures without the scenario are what they were before it.
type sinchSite struct {
	server, mrs, bridge, gateway *host
	agents                       []*host
}

// cloudHost is a named service beyond the router.
type cloudHost struct {
	name string
	*host
}

// voiceVLAN tags every frame to or from an IP phone: the capture point is a
// trunk port that carries the voice VLAN.
const voiceVLAN = 30

func newSite(rng interface{ IntN(int) int }) *site {
	s := &site{router: net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 0x0a}}
	mk := func(role, addr string, ttl uint8, wan bool, vlan uint16) *host {
		a := netip.MustParseAddr(addr)
		h := &host{role: role, addr: a, ip: net.IP(a.AsSlice()), ttl: ttl, wan: wan, vlan: vlan}
		if a.Is4() {
			b := a.As4()
			h.mac = net.HardwareAddr{0x02, 0x00, b[0], b[1], b[2], b[3]}
		} else {
			b := a.As16()
			h.mac = net.HardwareAddr{0x02, 0x06, b[12], b[13], b[14], b[15]}
		}
		h.ipID = uint16(rng.IntN(65536))
		h.nextPort = 49152 + uint16(rng.IntN(8192))
		h.mediaLo, h.mediaHi = 10000, 20000
		h.nextMedia = h.mediaLo + 2*uint16(rng.IntN(4000))
		return h
	}
	twin := func(v4 *host, addr string) *host {
		h := mk(v4.role, addr, v4.ttl, v4.wan, v4.vlan)
		h.mac = v4.mac
		h.mediaLo, h.mediaHi, h.nextMedia = v4.mediaLo, v4.mediaHi, v4.nextMedia
		return h
	}
	mediaRange := func(h *host, lo, hi uint16) *host {
		h.mediaLo, h.mediaHi = lo, hi
		h.nextMedia = lo + 2*uint16(rng.IntN(int(hi-lo)/2))
		return h
	}

	s.sql = mk("sql-server", "10.10.1.5", 128, false, 0)
	s.dns = mk("dns-server", "10.10.1.6", 128, false, 0)
	s.cic = mk("cic-server", "10.10.1.10", 128, false, 0)
	s.cicBackup = mk("cic-server-backup", "10.10.1.11", 128, false, 0)
	s.media = mediaRange(mk("media-server", "10.10.1.20", 128, false, 0), 16384, 32768)
	s.media2 = mediaRange(mk("media-server", "10.10.1.21", 128, false, 0), 16384, 32768)
	s.proxy = mk("sip-proxy", "10.10.1.30", 64, false, 0)
	s.files = mk("file-server", "10.10.1.40", 128, false, 0)
	s.carrierSig = mk("carrier-sbc", "203.0.113.10", 58, true, 0)
	s.carrierMedia = mediaRange(mk("carrier-media", "203.0.113.20", 58, true, 0), 20000, 60000)

	for _, c := range []struct{ name, v4, v6 string }{
		{"api.imagicle.cloud", "198.51.100.20", "2001:db8:ff:20::20"},
		{"telescope.tegsoft.com", "198.51.100.30", "2001:db8:ff:30::30"},
		{"login.example-idp.com", "198.51.100.40", "2001:db8:ff:40::40"},
		{"cdn.example-updates.net", "198.51.100.50", "2001:db8:ff:50::50"},
	} {
		h := mk("cloud", c.v4, 52, true, 0)
		s.cloud = append(s.cloud, &cloudHost{c.name, h})
		s.cloud6 = append(s.cloud6, &cloudHost{c.name, twin(h, c.v6)})
	}
	for i := 10; i < 250; i++ {
		w := mk("workstation", netip.AddrFrom4([4]byte{10, 10, 2, byte(i)}).String(), 128, false, 0)
		s.workstations = append(s.workstations, w)
		p := mediaRange(mk("ip-phone", netip.AddrFrom4([4]byte{10, 10, 3, byte(i)}).String(), 64, false, voiceVLAN), 2222, 2270)
		s.phones = append(s.phones, p)
		if i < 74 {
			s.workstations6 = append(s.workstations6, twin(w, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 0, 2, 14: 0, 15: byte(i)}).String()))
			s.phones6 = append(s.phones6, twin(p, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 0, 3, 14: 0, 15: byte(i)}).String()))
		}
	}
	s.cic6 = twin(s.cic, "2001:db8:10:1::10")
	s.media6 = twin(s.media, "2001:db8:10:1::20")
	s.dns6 = twin(s.dns, "2001:db8:10:1::6")
	s.sinch = newSinchSite()
	return s
}

func newSinchSite() sinchSite {
	mk := func(role, addr string, ttl uint8, wan bool, lo, hi uint16) *host {
		a := netip.MustParseAddr(addr)
		b := a.As4()
		return &host{role: role, addr: a, ip: net.IP(a.AsSlice()), ttl: ttl, wan: wan,
			mac:  net.HardwareAddr{0x02, 0x00, b[0], b[1], b[2], b[3]},
			ipID: uint16(b[2])<<8 | uint16(b[3]), nextPort: 49152 + uint16(b[3])*31,
			mediaLo: lo, mediaHi: hi, nextMedia: lo}
	}
	ss := sinchSite{
		server:  mk("sinch-server", "10.10.4.10", 128, false, 10000, 20000),
		mrs:     mk("sinch-mrs", "10.10.4.20", 128, false, 8000, 8400), // the default prompt area
		bridge:  mk("sinch-sip-bridge", "10.10.4.30", 128, false, 10000, 20000),
		gateway: mk("pstn-gateway", "203.0.113.30", 58, true, 20000, 60000),
	}
	for i := 10; i < 30; i++ {
		ss.agents = append(ss.agents, mk("workstation", netip.AddrFrom4([4]byte{10, 10, 5, byte(i)}).String(), 128, false, 5004, 5030))
	}
	return ss
}

// hosts lists every host once, for tests and the documentation check.
func (s *site) hosts() []*host {
	hs := []*host{s.sql, s.dns, s.cic, s.cicBackup, s.media, s.media2, s.proxy, s.files, s.carrierSig, s.carrierMedia, s.cic6, s.media6, s.dns6}
	for _, c := range s.cloud {
		hs = append(hs, c.host)
	}
	for _, c := range s.cloud6 {
		hs = append(hs, c.host)
	}
	hs = append(hs, s.sinch.server, s.sinch.mrs, s.sinch.bridge, s.sinch.gateway)
	hs = append(hs, s.sinch.agents...)
	hs = append(hs, s.workstations...)
	hs = append(hs, s.phones...)
	hs = append(hs, s.workstations6...)
	return append(hs, s.phones6...)
}

package sitegen

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/catalog"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func sites(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../catalog/rules/testdata/sites/*.yaml")
	if err != nil || len(files) != 5 {
		t.Fatalf("example sites: %v %v", files, err)
	}
	return files
}

func load(t *testing.T, path string) (*catalog.Catalog, *catalog.Inventory) {
	t.Helper()
	c, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := catalog.LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	return c, inv
}

func generate(t *testing.T, c *catalog.Catalog, inv *catalog.Inventory, seed uint64) ([]byte, *Truth) {
	t.Helper()
	var b bytes.Buffer
	tr, err := Generate(&b, c, inv, Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), tr
}

// The same seed gives the same bytes and truth; another seed other bytes
// (addresses in CIDRs, ports in ranges, timing).
func TestDeterministic(t *testing.T) {
	c, inv := load(t, sites(t)[0])
	a, ta := generate(t, c, inv, 7)
	b, tb := generate(t, c, inv, 7)
	if !bytes.Equal(a, b) || ta.Packets != tb.Packets || !slices.EqualFunc(ta.Hosts, tb.Hosts, func(x, y Host) bool { return x.Addr == y.Addr }) {
		t.Fatal("two runs with the same seed differ")
	}
	d, _ := generate(t, c, inv, 8)
	if bytes.Equal(a, d) {
		t.Fatal("another seed gives the same capture")
	}
}

type conv struct {
	client, server netip.AddrPort
	proto          uint8
	pkts           []seg
}

type seg struct {
	fromClient bool
	tcp        *layers.TCP
	payload    []byte
}

// decode reads a generated capture back with gopacket and groups its
// packets into conversations (5-tuples), in capture order.
func decode(t *testing.T, data []byte) []*conv {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", r.LinkType())
	}
	byKey := make(map[string]*conv)
	var out []*conv
	var last int64
	for i := 1; ; i++ {
		raw, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if ns := ci.Timestamp.UnixNano(); ns < last {
			t.Fatalf("packet %d: time goes back", i)
		} else {
			last = ns
		}
		p := gopacket.NewPacket(raw, layers.LayerTypeEthernet, gopacket.Default)
		// An application payload gopacket cannot decode is fine (random
		// bytes of a TLS or vendor protocol on a port gopacket guesses
		// from); the link, network and transport layers must decode.
		if el := p.ErrorLayer(); el != nil && p.TransportLayer() == nil {
			t.Fatalf("packet %d: %v", i, el.Error())
		}
		src, _ := netip.AddrFromSlice(p.NetworkLayer().NetworkFlow().Src().Raw())
		dst, _ := netip.AddrFromSlice(p.NetworkLayer().NetworkFlow().Dst().Raw())
		src, dst = src.Unmap(), dst.Unmap()
		var sp, dp uint16
		var proto uint8
		var tcp *layers.TCP
		switch l := p.TransportLayer().(type) {
		case *layers.TCP:
			sp, dp, proto, tcp = uint16(l.SrcPort), uint16(l.DstPort), 6, l
		case *layers.UDP:
			sp, dp, proto = uint16(l.SrcPort), uint16(l.DstPort), 17
		default:
			t.Fatalf("packet %d: no TCP or UDP", i)
		}
		s, d := netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)
		lo, hi := s.String(), d.String()
		if hi < lo {
			lo, hi = hi, lo
		}
		key := string(rune('0'+proto)) + lo + "|" + hi
		cv, ok := byKey[key]
		if !ok {
			cv = &conv{client: s, server: d, proto: proto}
			byKey[key] = cv
			out = append(out, cv)
		}
		var pl []byte
		if app := p.ApplicationLayer(); app != nil {
			pl = app.Payload()
		}
		cv.pkts = append(cv.pkts, seg{fromClient: s == cv.client, tcp: tcp, payload: pl})
	}
	return out
}

// Every conversation is one a sensor would see complete: TCP with a
// three-way handshake, data both ways, a FIN from each side and sequence
// and acknowledgement numbers that follow the bytes sent; UDP answered.
// Servers listen on a port of an entry that got traffic, or on a noise
// service's port; RTP-like streams land inside a media entry's range.
func TestConversations(t *testing.T) {
	for _, f := range sites(t) {
		c, inv := load(t, f)
		t.Run(inv.Site, func(t *testing.T) {
			data, tr := generate(t, c, inv, 3)
			convs := decode(t, data)
			if len(convs) != tr.Flows {
				t.Errorf("%d conversations in the capture, the truth says %d", len(convs), tr.Flows)
			}
			if tr.Packets > 10000 {
				t.Errorf("%d packets: the captures are meant to stay small", tr.Packets)
			}
			var served []catalog.PortSet
			var media []catalog.PortSet
			for _, id := range tr.Entries {
				e, ok := c.Entry(id)
				if !ok {
					e = inv.Allowed[slices.IndexFunc(inv.Allowed, func(a *catalog.Entry) bool { return a.ID == id })]
				}
				ps := inv.EffectivePorts(e)
				served = append(served, ps)
				if e.Direction == catalog.BothWays && !e.FromPorts.IsZero() {
					served = append(served, e.FromPorts)
				}
				if isMedia(e.App) {
					media = append(media, ps)
				}
			}
			noisePorts := []uint16{53, 80, 123, 443, 445, 9100}
			in := func(sets []catalog.PortSet, p uint16) bool {
				return slices.ContainsFunc(sets, func(s catalog.PortSet) bool {
					return slices.ContainsFunc(s.Ranges, func(r catalog.PortRange) bool { return r.Contains(p) })
				})
			}
			for _, cv := range convs {
				name := cv.client.String() + " > " + cv.server.String()
				if !in(served, cv.server.Port()) && !slices.Contains(noisePorts, cv.server.Port()) {
					t.Errorf("%s: port %d is no entry's and no noise service's", name, cv.server.Port())
				}
				back := slices.ContainsFunc(cv.pkts, func(s seg) bool { return !s.fromClient })
				if !back {
					t.Errorf("%s: never answered", name)
				}
				if cv.proto == 6 {
					checkTCP(t, name, cv)
					continue
				}
				rtp := 0
				for _, s := range cv.pkts {
					if len(s.payload) == 172 && s.payload[0] == 0x80 {
						rtp++
					}
				}
				if rtp > 0 && !in(media, cv.server.Port()) {
					t.Errorf("%s: RTP outside every media range", name)
				}
			}
		})
	}
}

func checkTCP(t *testing.T, name string, cv *conv) {
	t.Helper()
	p := cv.pkts
	if len(p) < 8 {
		t.Errorf("%s: %d segments", name, len(p))
		return
	}
	syn, synack, ack := p[0].tcp, p[1].tcp, p[2].tcp
	if !p[0].fromClient || !syn.SYN || syn.ACK || p[1].fromClient || !synack.SYN || !synack.ACK || synack.Ack != syn.Seq+1 ||
		!p[2].fromClient || ack.SYN || !ack.ACK || ack.Ack != synack.Seq+1 {
		t.Errorf("%s: no three-way handshake", name)
		return
	}
	next := [2]uint32{syn.Seq + 1, synack.Seq + 1} // client, server
	var fins, data [2]int
	for i, s := range p[3:] {
		side := 1
		if s.fromClient {
			side = 0
		}
		if s.tcp.Seq != next[side] || !s.tcp.ACK || s.tcp.Ack != next[1-side] {
			t.Errorf("%s: segment %d: seq %d ack %d, want %d %d", name, i+4, s.tcp.Seq, s.tcp.Ack, next[side], next[1-side])
			return
		}
		next[side] += uint32(len(s.payload))
		if len(s.payload) > 0 {
			data[side]++
		}
		if s.tcp.FIN {
			next[side]++
			fins[side]++
		}
	}
	if fins != [2]int{1, 1} || data[0] < 2 || data[1] < 2 {
		t.Errorf("%s: FINs %v, data segments %v", name, fins, data)
	}
	if last := p[len(p)-1]; !last.fromClient || last.tcp.FIN {
		t.Errorf("%s: the close is not acknowledged", name)
	}
}

// The truth: every address host of a role with entries in scope is in the
// capture with its roles; addresses drawn from a CIDR lie inside it and
// are not a host the inventory lists on its own; noise hosts have no role
// and the inventory does not know them.
func TestTruth(t *testing.T) {
	for _, f := range sites(t) {
		c, inv := load(t, f)
		t.Run(inv.Site, func(t *testing.T) {
			_, tr := generate(t, c, inv, 5)
			sc, err := catalog.NewScope(c, inv)
			if err != nil {
				t.Fatal(err)
			}
			noise := 0
			for _, h := range tr.Hosts {
				if h.Noise != "" {
					noise++
					if len(h.Roles) > 0 || len(inv.RolesOf(h.Addr)) > 0 {
						t.Errorf("noise host %s (%s) has roles", h.Addr, h.Noise)
					}
					continue
				}
				if len(h.Roles) == 0 {
					t.Errorf("%s: no role", h.Addr)
				}
				hs := sc.HostsOf(h.Addr)
				listed := slices.ContainsFunc(hs, func(i int32) bool { return sc.Host(i).Prefix == netip.PrefixFrom(h.Addr, h.Addr.BitLen()) })
				if len(hs) > 1 && !listed {
					t.Errorf("%s: drawn where two inventory hosts overlap", h.Addr)
				}
				for _, r := range h.Roles {
					if !strings.Contains(r, "/") {
						t.Errorf("%s: role %q not vendor-qualified", h.Addr, r)
					}
				}
			}
			if noise < 8 {
				t.Errorf("%d noise hosts", noise)
			}
			// Every single-address host of the inventory that some
			// generated entry names is in the truth, with its roles.
			for _, role := range inv.RoleNames() {
				for _, h := range inv.Hosts(role) {
					if h.Name != "" || !h.Prefix.IsSingleIP() {
						continue
					}
					th, ok := tr.Host(h.Prefix.Addr())
					if !ok {
						continue // a role with no entry in scope
					}
					q := role
					if !strings.Contains(q, "/") {
						q = inv.Vendors[0] + "/" + role
					}
					if !slices.Contains(th.Roles, q) {
						t.Errorf("%s: roles %v, want %s", th.Addr, th.Roles, q)
					}
				}
			}
		})
	}
}

// An inventory that claims one of the noise hosts is refused: the truth
// would be wrong.
func TestNoiseHostClash(t *testing.T) {
	c, _ := load(t, sites(t)[0])
	inv, err := catalog.ReadInventory(strings.NewReader(`schema: 2
site: clash
vendors: [tegsoft]
roles:
  tegsoft-server: [192.168.250.53]
  workstation: [10.60.2.0/24]
`), "clash.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(io.Discard, c, inv, Options{}); err == nil || !strings.Contains(err.Error(), "192.168.250.53") {
		t.Fatalf("err = %v, want the clash named", err)
	}
}

// A CIDR inside a wider one (administrators inside the users' range) gets
// addresses of its own, and the wider one none of the narrower's.
func TestNestedCIDRs(t *testing.T) {
	c, _ := load(t, sites(t)[0])
	inv, err := catalog.ReadInventory(strings.NewReader(`schema: 2
site: nested
vendors: [tegsoft]
roles:
  tegsoft-server: [10.60.1.10]
  workstation: [10.60.0.0/16]
  administrator: [10.60.2.0/28]
`), "nested.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, tr := generate(t, c, inv, 1)
	admins, users := 0, 0
	narrow := netip.MustParsePrefix("10.60.2.0/28")
	for _, h := range tr.Hosts {
		switch {
		case slices.Contains(h.Roles, "tegsoft/administrator"):
			admins++
			if !narrow.Contains(h.Addr) || !slices.Contains(h.Roles, "tegsoft/workstation") {
				t.Errorf("%s: %v", h.Addr, h.Roles)
			}
		case slices.Contains(h.Roles, "tegsoft/workstation"):
			users++
			if narrow.Contains(h.Addr) {
				t.Errorf("%s drawn for the wide range inside the narrow one", h.Addr)
			}
		}
	}
	if admins == 0 || users == 0 {
		t.Errorf("%d administrators, %d users", admins, users)
	}
}

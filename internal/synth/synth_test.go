package synth

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

var update = flag.Bool("update", false, "rewrite testdata/demo.pcapng")

func hashOf(t *testing.T, opts Options) [32]byte {
	t.Helper()
	h := sha256.New()
	if _, err := Generate(h, opts); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	opts := Options{Seed: 42, Packets: 20000, CallDuration: 10 * time.Second}
	a, b := hashOf(t, opts), hashOf(t, opts)
	if a != b {
		t.Fatalf("same options, different output: %x vs %x", a, b)
	}
	opts.Seed = 43
	if c := hashOf(t, opts); c == a {
		t.Fatal("different seeds, same output")
	}
	opts.Format = PCAP
	if d, e := hashOf(t, opts), hashOf(t, opts); d != e {
		t.Fatal("pcap output not deterministic")
	}
}

// TestMidSize checks a 50k-packet default mix decodes cleanly and looks
// like a contact center: mostly RTP, many short flows.
func TestMidSize(t *testing.T) {
	pkts, st := generate(t, Options{Seed: 7, Packets: 50000})
	if st.Packets < 42500 || st.Packets > 57500 {
		t.Errorf("packets = %d, want 50000 +- 15%%", st.Packets)
	}
	rtp := 0
	for _, p := range pkts {
		if isRTP(p) {
			rtp++
		}
	}
	if rtp != st.RTPPackets {
		t.Errorf("decoded %d RTP packets, Stats says %d", rtp, st.RTPPackets)
	}
	if share := float64(rtp) / float64(st.Packets); share < 0.55 || share > 0.85 {
		t.Errorf("RTP share %.3f, want 0.55-0.85 (a 50k-packet run has fewer short flows per call than the full-size one)", share)
	}
	if f := st.TotalFlows(); f < 1500 || f > 4000 {
		t.Errorf("flows = %d, want 1500-4000", f)
	}
	for _, s := range Scenarios() {
		if st.Instances[s] < 1 {
			t.Errorf("scenario %s missing", s)
		}
	}
	// Stats.Flows must match the distinct TCP and UDP 5-tuples on the wire.
	type tuple struct {
		a, b  netip.AddrPort
		proto uint8
	}
	tuples := map[tuple]bool{}
	for _, p := range pkts {
		if p.tcp == nil && !p.isUDP() {
			continue
		}
		a, b := netip.AddrPortFrom(p.src, p.sport), netip.AddrPortFrom(p.dst, p.dport)
		if b.Compare(a) < 0 {
			a, b = b, a
		}
		tuples[tuple{a, b, uint8(p.proto)}] = true
	}
	if want := st.TotalFlows() - st.Flows["icmp"] - st.Flows["arp"]; len(tuples) != want {
		t.Errorf("%d TCP/UDP 5-tuples on the wire, Stats.Flows says %d (%v)", len(tuples), want, st.Flows)
	}
	msgs := sipOf(t, pkts)
	if len(msgs) < 50 {
		t.Errorf("only %d SIP messages", len(msgs))
	}
	for _, m := range msgs {
		if m.body != "" && !strings.HasPrefix(m.body, "v=0\r\n") {
			t.Errorf("SIP body is not SDP: %q", m.body)
		}
	}
	var vlan, v6 int
	for _, p := range pkts {
		if p.vlan == voiceVLAN {
			vlan++
		}
		if p.v6 {
			v6++
		}
	}
	if vlan == 0 || v6 == 0 {
		t.Errorf("VLAN-tagged packets %d, IPv6 packets %d: want some of each", vlan, v6)
	}
}

func isRTP(p *pkt) bool {
	return p.isUDP() && len(p.payload) == rtpHeaderLen+g711Payload && p.payload[0] == 0x80 && p.payload[1]&0x7f <= ptPCMA
}

// rtpStreams groups RTP packets by direction and SSRC.
type rtpKey struct {
	src, dst     netip.Addr
	sport, dport uint16
	ssrc         uint32
}

func TestRTPHeaders(t *testing.T) {
	pkts, _ := generate(t, Options{Seed: 3, Scenarios: []Scenario{SIPUDP, SIPHold}, Counts: map[Scenario]int{SIPUDP: 3}, CallDuration: 12 * time.Second})
	type state struct {
		seq  uint16
		ts   uint32
		last time.Time
		n    int
	}
	streams := map[rtpKey]*state{}
	for _, p := range pkts {
		if !isRTP(p) {
			continue
		}
		h := p.payload
		k := rtpKey{p.src, p.dst, p.sport, p.dport, binary.BigEndian.Uint32(h[8:])}
		seq, ts, marker := binary.BigEndian.Uint16(h[2:]), binary.BigEndian.Uint32(h[4:]), h[1]&0x80 != 0
		s := streams[k]
		if s == nil {
			if !marker {
				t.Errorf("packet %d: first packet of %v without marker", p.n, k)
			}
			streams[k] = &state{seq, ts, p.ts, 1}
			continue
		}
		if seq != s.seq+1 {
			t.Errorf("packet %d: seq %d after %d", p.n, seq, s.seq)
		}
		gap := p.ts.Sub(s.last)
		if !marker && ts != s.ts+g711Payload {
			t.Errorf("packet %d: timestamp %d after %d", p.n, ts, s.ts)
		}
		if !marker && (gap < 19*time.Millisecond || gap > 21*time.Millisecond) {
			t.Errorf("packet %d: %v after the previous packet of the stream", p.n, gap)
		}
		*s = state{seq, ts, p.ts, s.n + 1}
	}
	if len(streams) != 8 {
		t.Errorf("%d RTP streams, want 8 (4 calls, both ways)", len(streams))
	}
	// RTCP: compound packets starting with SR or RR and holding SDES.
	rtcp := 0
	for _, p := range pkts {
		if !p.isUDP() || len(p.payload) < 8 || p.payload[0]>>6 != 2 || (p.payload[1] != 200 && p.payload[1] != 201) {
			continue
		}
		rtcp++
		b := p.payload
		sawSDES := false
		for len(b) > 0 {
			if len(b) < 4 {
				t.Fatalf("packet %d: RTCP trailing %d bytes", p.n, len(b))
			}
			n := 4 * (int(binary.BigEndian.Uint16(b[2:])) + 1)
			if n > len(b) {
				t.Fatalf("packet %d: RTCP length %d > %d", p.n, n, len(b))
			}
			sawSDES = sawSDES || b[1] == 202
			b = b[n:]
		}
		if !sawSDES {
			t.Errorf("packet %d: RTCP compound without SDES", p.n)
		}
	}
	if rtcp == 0 {
		t.Error("no RTCP")
	}
}

// fakeConn feeds recorded client bytes to a crypto/tls server.
type fakeConn struct {
	net.Conn
	r io.Reader
}

func (c fakeConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c fakeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c fakeConn) Close() error                     { return nil }
func (c fakeConn) SetDeadline(time.Time) error      { return nil }
func (c fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c fakeConn) SetWriteDeadline(time.Time) error { return nil }
func (c fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }

var errSeen = errors.New("client hello seen")

// parseClientHello hands hello to Go's TLS server, which rejects anything
// malformed, and returns what it read.
func parseClientHello(t *testing.T, hello []byte) *tls.ClientHelloInfo {
	t.Helper()
	var info *tls.ClientHelloInfo
	srv := tls.Server(fakeConn{r: bytes.NewReader(hello)}, &tls.Config{
		GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
			info = chi
			return nil, errSeen
		},
	})
	if err := srv.Handshake(); !errors.Is(err, errSeen) {
		t.Fatalf("ClientHello rejected: %v", err)
	}
	return info
}

func TestClientHello(t *testing.T) {
	pkts, _ := generate(t, Options{Seed: 9, Scenarios: []Scenario{TLS, SIPTLS, IPv6}, Counts: map[Scenario]int{TLS: 20, SIPTLS: 4, IPv6: 4}})
	names := map[string]bool{"sbc.carrier.example": true}
	for _, c := range newSite(fakeRand{}).cloud {
		names[c.name] = true
	}
	hellos, servers := 0, 0
	for _, p := range pkts {
		if !p.isTCP() || len(p.payload) < 6 || p.payload[0] != recordHandshake {
			continue
		}
		switch p.payload[5] {
		case handshakeClientHello:
			hellos++
			info := parseClientHello(t, p.payload)
			if !names[info.ServerName] {
				t.Errorf("packet %d: SNI %q", p.n, info.ServerName)
			}
			if p.dport == 443 && !slices.Equal(info.SupportedProtos, []string{"h2", "http/1.1"}) {
				t.Errorf("packet %d: ALPN %q", p.n, info.SupportedProtos)
			}
			if (p.dport == 5061) != (info.ServerName == "sbc.carrier.example") {
				t.Errorf("packet %d: SNI %q to port %d", p.n, info.ServerName, p.dport)
			}
		case handshakeServerHello:
			servers++
		}
	}
	if hellos != 28 || servers != 28 {
		t.Errorf("%d ClientHellos, %d ServerHellos, want 28 each", hellos, servers)
	}
}

// fakeRand makes newSite deterministic without a generator.
type fakeRand struct{}

func (fakeRand) IntN(int) int { return 0 }

func TestDemoGolden(t *testing.T) {
	const golden = "../../testdata/demo.pcapng"
	var buf bytes.Buffer
	st, err := Generate(&buf, DemoOptions())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/synth -run TestDemoGolden -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("%s differs from DemoOptions output (%d vs %d bytes); regenerate with -update", golden, len(want), buf.Len())
	}
	if st.Packets < 3000 || st.Packets > 6000 {
		t.Errorf("demo has %d packets, want 3000-6000", st.Packets)
	}
	// The findings doc.go promises.
	pkts := decodeCapture(t, want, PCAPNG)
	ip := netip.MustParseAddr
	count := func(f func(p *pkt) bool) int {
		n := 0
		for _, p := range pkts {
			if f(p) {
				n++
			}
		}
		return n
	}
	checks := []struct {
		name string
		n    int
		want int
	}{
		{"SYNs to 10.10.1.11:3952", count(func(p *pkt) bool { return p.isTCP() && p.dst == ip("10.10.1.11") && p.dport == 3952 && p.tcp.SYN }), 3},
		{"packets from 10.10.1.11", count(func(p *pkt) bool { return p.src == ip("10.10.1.11") }), 0},
		{"RST from 10.10.1.5:1433", count(func(p *pkt) bool { return p.isTCP() && p.src == ip("10.10.1.5") && p.sport == 1433 && p.tcp.RST }), 1},
		{"port unreachable from 10.10.3.210", count(func(p *pkt) bool { return p.icmp != nil && p.icmp.TypeCode.Type() == 3 && p.src == ip("10.10.3.210") }), 1},
		{"telnet SYNs", count(func(p *pkt) bool { return p.isTCP() && p.dport == 23 && p.tcp.SYN && !p.tcp.ACK }), 1},
		{"ssh packets", count(func(p *pkt) bool { return p.isTCP() && (p.dport == 22 || p.sport == 22) }), 0},
		{"INVITEs", count(func(p *pkt) bool { return p.dport == 5060 && bytes.HasPrefix(p.payload, []byte("INVITE ")) }), 8},
		{"INVITEs to the Sinch SIP Bridge", count(func(p *pkt) bool {
			return p.dst == ip("10.10.4.30") && p.dport == 5060 && bytes.HasPrefix(p.payload, []byte("INVITE "))
		}), 1},
		{"Sinch agent SYNs to the Genesys Session Manager", count(func(p *pkt) bool {
			return p.isTCP() && p.tcp.SYN && !p.tcp.ACK && p.dst == ip("10.10.1.10") && p.dport == 3952 && netip.MustParsePrefix("10.10.5.0/24").Contains(p.src)
		}), 1},
	}
	for _, c := range checks {
		if c.n != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.n, c.want)
		}
	}
}

func TestFormats(t *testing.T) {
	opts := Options{Seed: 5, Scenarios: []Scenario{SIPUDP, TLS, DNS}, CallDuration: 2 * time.Second, WANInterface: true}
	ng, st := generate(t, opts)
	opts.Format = PCAP
	classic, _ := generate(t, opts)
	if len(ng) != len(classic) {
		t.Fatalf("pcapng %d packets, pcap %d", len(ng), len(classic))
	}
	wan := 0
	for i, p := range ng {
		if !p.ts.Equal(classic[i].ts) {
			t.Fatalf("packet %d: pcapng time %v, pcap %v", i+1, p.ts, classic[i].ts)
		}
		if p.iface == 1 {
			wan++
			if p.src.IsPrivate() && p.dst.IsPrivate() {
				t.Errorf("packet %d: site-internal packet on the wan interface", p.n)
			}
		}
	}
	if wan == 0 {
		t.Error("no packets on the wan interface")
	}
	if !st.First.Equal(DefaultStart()) && (st.First.Before(DefaultStart()) || st.First.After(DefaultStart().Add(time.Minute))) {
		t.Errorf("first packet at %v, want shortly after %v", st.First, DefaultStart())
	}

	var buf bytes.Buffer
	if _, err := Generate(&buf, Options{Scenarios: []Scenario{DNS}}); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(buf.Bytes()), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	if n := r.NInterfaces(); n != 1 {
		t.Errorf("%d interfaces without WANInterface, want 1", n)
	}
}

func TestOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"unknown scenario", Options{Scenarios: []Scenario{"sip-carrier-pigeon"}}, "unknown scenario"},
		{"negative packets", Options{Packets: -1}, "negative packet count"},
		{"count for unselected", Options{Scenarios: []Scenario{DNS}, Counts: map[Scenario]int{TLS: 2}}, "not selected"},
		{"negative count", Options{Counts: map[Scenario]int{TLS: -2}}, "negative count"},
		{"bad format", Options{Format: Format(9)}, "unknown format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(io.Discard, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// failingWriter fails after n bytes.
type failingWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteErrorStops(t *testing.T) {
	_, err := Generate(&failingWriter{n: 3 << 20}, Options{Packets: 100000})
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("err = %v, want %v", err, errDiskFull)
	}
}

func TestWriteFile(t *testing.T) {
	opts := Options{Seed: 5, Packets: 20000}
	path := filepath.Join(t.TempDir(), "mix.pcapng")
	st, err := WriteFile(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	wantSt, err := Generate(&want, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) || st.Packets != wantSt.Packets || st.Bytes != wantSt.Bytes {
		t.Fatalf("file of %d bytes (%d packets), Generate wrote %d bytes (%d packets)", len(got), st.Packets, want.Len(), wantSt.Packets)
	}

	// A bad option fails after the file was created: nothing is left.
	bad := filepath.Join(t.TempDir(), "bad.pcapng")
	if _, err := WriteFile(bad, Options{Packets: -1}); err == nil || !strings.Contains(err.Error(), "write "+bad) {
		t.Fatalf("err = %v, want a write error naming %s", err, bad)
	}
	if _, err := os.Stat(bad); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("incomplete file left behind: %v", err)
	}
	if _, err := WriteFile(filepath.Join(bad, "x.pcapng"), opts); err == nil || !strings.Contains(err.Error(), "create ") {
		t.Fatalf("err = %v, want a create error", err)
	}
}

func TestInstanceCounts(t *testing.T) {
	specs := []*scenarioSpec{
		{name: "big", weight: 1, packets: func(float64) float64 { return 1000 }},
		{name: "small", weight: 100, packets: func(float64) float64 { return 2 }},
		{name: "rare", weight: 0.001, packets: func(float64) float64 { return 10 }},
	}
	tests := []struct {
		name    string
		fixed   map[Scenario]int
		packets int
		want    []int
	}{
		{"one each", nil, 0, []int{1, 1, 1}},
		{"scaled", nil, 120010, []int{100, 10000, 1}},
		{"too few for the minimum", nil, 5, []int{1, 1, 1}},
		{"fixed", map[Scenario]int{"big": 20}, 40010, []int{20, 10000, 1}},
		{"fixed zero", map[Scenario]int{"small": 0}, 10010, []int{10, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := instanceCounts(specs, tt.fixed, tt.packets, 30); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, s := range Scenarios() {
		if got, err := ParseScenario(string(s)); err != nil || got != s {
			t.Errorf("ParseScenario(%q) = %q, %v", s, got, err)
		}
	}
	for _, f := range []Format{PCAP, PCAPNG} {
		if got, err := ParseFormat(f.String()); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("erf"); err == nil {
		t.Error("ParseFormat(erf) succeeded")
	}
}

// TestRTPNoAllocs proves the RTP path, two thirds of all packets, allocates
// nothing per packet.
func TestRTPNoAllocs(t *testing.T) {
	g, err := newGen(io.Discard, Options{Scenarios: []Scenario{DNS}})
	if err != nil {
		t.Fatal(err)
	}
	c := &conv{g: g, now: g.now}
	s := c.startRTP(g.site.phones[0], g.site.media, 10000, 20000, ptPCMU, 0)
	allocs := testing.AllocsPerRun(1000, func() {
		next, _ := s.run(g)
		g.now = next
	})
	if allocs != 0 {
		t.Errorf("%v allocations per RTP packet", allocs)
	}
	if g.err != nil {
		t.Fatal(g.err)
	}
}

func BenchmarkGenerate(b *testing.B) {
	var pkts int
	var bytes int64
	for b.Loop() {
		st, err := Generate(io.Discard, Options{Seed: 1, Packets: 200000})
		if err != nil {
			b.Fatal(err)
		}
		pkts, bytes = st.Packets, st.Bytes
	}
	b.SetBytes(bytes)
	b.ReportMetric(float64(pkts)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// FuzzGenerate checks that any seed gives a capture that decodes with
// valid lengths and checksums and well-formed SIP.
func FuzzGenerate(f *testing.F) {
	f.Add(uint64(1), uint8(0))
	f.Add(uint64(99), uint8(3))
	f.Fuzz(func(t *testing.T, seed uint64, which uint8) {
		all := Scenarios()
		s := all[int(which)%len(all)]
		pkts, st := generate(t, Options{Seed: seed, Scenarios: []Scenario{s}, CallDuration: time.Second})
		if st.Instances[s] != 1 {
			t.Fatalf("instances %v", st.Instances)
		}
		sipOf(t, pkts)
	})
}

// TestDocListsSite keeps doc.go's address table, which site inventories
// are written from, in step with the simulated site.
func TestDocListsSite(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	// Table rows: a row's continuation lines start with spaces after the tab.
	var entries []string
	for l := range strings.SplitSeq(string(doc), "\n") {
		if strings.HasPrefix(l, "//\t ") && len(entries) > 0 {
			entries[len(entries)-1] += l
		} else {
			entries = append(entries, l)
		}
	}
	s := newSite(fakeRand{})
	for _, h := range s.hosts() {
		if h.role == "workstation" || h.role == "ip-phone" {
			continue
		}
		line := ""
		for _, e := range entries {
			if strings.Contains(e, h.addr.String()+" ") || strings.HasSuffix(e, h.addr.String()) {
				line = e
				break // the table comes first
			}
		}
		if line == "" || (h.role != "cloud" && !strings.Contains(line, h.role)) {
			t.Errorf("doc.go does not list %s as %s", h.addr, h.role)
		}
	}
	for _, want := range []string{"10.10.2.10-249 workstations", "10.10.3.10-249 ip-phones", "VLAN 30",
		"10.10.3.210-249 are switched off", "2001:db8:10:2::a-::49", "2001:db8:10:3::a-::49"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("doc.go lacks %q", want)
		}
	}
	first, last := s.phones[len(s.phones)-offlinePhones], s.phones[len(s.phones)-1]
	if first.addr.String() != "10.10.3.210" || last.addr.String() != "10.10.3.249" {
		t.Errorf("offline phones are %v-%v", first.addr, last.addr)
	}
	if a, b := s.workstations6[0].addr.String(), s.workstations6[len(s.workstations6)-1].addr.String(); a != "2001:db8:10:2::a" || b != "2001:db8:10:2::49" {
		t.Errorf("IPv6 workstations are %s-%s", a, b)
	}
}

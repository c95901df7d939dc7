package flow

import (
	"net/netip"
	"strconv"
	"testing"
	"time"
)

var (
	client = netip.MustParseAddrPort("10.0.0.1:40000")
	server = netip.MustParseAddrPort("10.0.0.2:5061")
)

// seg describes one packet of a scripted conversation.
type seg struct {
	fromClient bool
	flags      uint8
	payload    uint32
	seq        uint32
	at         time.Duration
}

func play(t *testing.T, tab *Table, proto uint8, segs []seg) {
	t.Helper()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	for _, s := range segs {
		src, dst := client, server
		if !s.fromClient {
			src, dst = server, client
		}
		k, d := NewKey(proto, src, dst)
		tab.Packet(&Packet{Key: k, Dir: d, Time: base + int64(s.at), WireLen: 60 + s.payload,
			PayloadLen: s.payload, TCPFlags: s.flags, Seq: s.seq})
	}
}

func collect(cfg Config) (*Table, *[]Flow) {
	var out []Flow
	return NewTable(cfg, func(f *Flow) { out = append(out, *f) }), &out
}

const (
	syn    = FlagSYN
	synack = FlagSYN | FlagACK
	ack    = FlagACK
	pshack = FlagPSH | FlagACK
	finack = FlagFIN | FlagACK
	rst    = FlagRST
	rstack = FlagRST | FlagACK
)

func TestTCPStateAndHistory(t *testing.T) {
	tests := []struct {
		name     string
		segs     []seg
		state    string
		history  string
		origIsCl bool
	}{
		{"unanswered SYN with retries is one attempt", []seg{
			{true, syn, 0, 100, 0}, {true, syn, 0, 100, time.Second}, {true, syn, 0, 100, 3 * time.Second},
		}, "S0", "S", true},
		{"rejected", []seg{{true, syn, 0, 100, 0}, {false, rstack, 0, 0, time.Millisecond}}, "REJ", "Sr", true},
		{"normal close", []seg{
			{true, syn, 0, 100, 0}, {false, synack, 0, 500, 1}, {true, ack, 0, 101, 2},
			{true, pshack, 10, 101, 3}, {false, pshack, 20, 501, 4},
			{true, finack, 0, 111, 5}, {false, finack, 0, 521, 6}, {true, ack, 0, 112, 7},
		}, "SF", "ShADdFf", true},
		{"established, open", []seg{{true, syn, 0, 1, 0}, {false, synack, 0, 1, 1}, {true, ack, 0, 2, 2}}, "S1", "ShA", true},
		{"originator reset", []seg{{true, syn, 0, 1, 0}, {false, synack, 0, 1, 1}, {true, rst, 0, 2, 2}}, "RSTO", "ShR", true},
		{"responder reset", []seg{{true, syn, 0, 1, 0}, {false, synack, 0, 1, 1}, {true, ack, 0, 2, 2}, {false, rst, 0, 2, 3}}, "RSTR", "ShAr", true},
		{"only originator FIN", []seg{{true, syn, 0, 1, 0}, {false, synack, 0, 1, 1}, {true, finack, 0, 2, 2}}, "S2", "ShF", true},
		{"SYN then FIN, no answer", []seg{{true, syn, 0, 1, 0}, {true, finack, 0, 2, 1}}, "SH", "SF", true},
		{"SYN then own RST", []seg{{true, syn, 0, 1, 0}, {true, rst, 0, 2, 1}}, "RSTOS0", "SR", true},
		{"SYN-ACK seen first flips the originator", []seg{{false, synack, 0, 1, 0}, {true, ack, 0, 2, 1}, {true, pshack, 5, 2, 2}}, "OTH", "^hAD", true},
		// 5061 is not among Zeek's likely server ports: no flip, and the
		// ACK from the other side makes both endpoints partial.
		{"midstream from a port Zeek does not know keeps the first sender", []seg{{false, pshack, 10, 1, 0}, {true, ack, 0, 1, 1}}, "OTH", "Da", false},
		{"retransmitted data", []seg{
			{true, syn, 0, 0, 0}, {false, synack, 0, 0, 1}, {true, pshack, 10, 1, 2}, {true, pshack, 10, 1, 3},
		}, "S1", "ShDT", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, out := collect(DefaultConfig())
			play(t, tab, ProtoTCP, tt.segs)
			tab.Flush(EndFlush)
			if len(*out) != 1 {
				t.Fatalf("got %d flows, want 1", len(*out))
			}
			f := (*out)[0]
			if got := f.State(); got != tt.state {
				t.Errorf("state = %s, want %s", got, tt.state)
			}
			if got := f.History(); got != tt.history {
				t.Errorf("history = %q, want %q", got, tt.history)
			}
			if got := f.Src() == client; got != tt.origIsCl {
				t.Errorf("originator = %v, want client=%v", f.Src(), tt.origIsCl)
			}
		})
	}
}

func TestUDPStateAndCounters(t *testing.T) {
	tab, out := collect(DefaultConfig())
	play(t, tab, ProtoUDP, []seg{{true, 0, 100, 0, 0}, {false, 0, 50, 0, 1}, {true, 0, 100, 0, 2}})
	tab.Flush(EndFlush)
	f := (*out)[0]
	if f.State() != "SF" || f.Orig.Packets != 2 || f.Resp.Packets != 1 || f.Orig.Bytes != 320 || f.Resp.Payload != 50 {
		t.Fatalf("state %s orig %+v resp %+v", f.State(), f.Orig, f.Resp)
	}
	if f.History() != "Dd" {
		t.Errorf("history %q", f.History())
	}
}

func TestIdleTimeoutAndLinger(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UDPTimeout = 30 * time.Second
	tab, out := collect(cfg)
	play(t, tab, ProtoUDP, []seg{{true, 0, 10, 0, 0}})
	// A TCP connection that closes: it must leave after the linger, not the 5 min timeout.
	play(t, tab, ProtoTCP, []seg{{true, syn, 0, 0, 0}, {false, rstack, 0, 0, 1}})
	other := netip.MustParseAddrPort("10.0.0.9:1234")
	k, d := NewKey(ProtoUDP, other, server)
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	tab.Packet(&Packet{Key: k, Dir: d, Time: base + int64(10*time.Second)})
	if len(*out) != 1 || (*out)[0].End != EndClosed || (*out)[0].Key.Proto() != ProtoTCP {
		t.Fatalf("after 10s: %d flows ended, want the closed TCP one", len(*out))
	}
	tab.Advance(base + int64(31*time.Second))
	if len(*out) != 2 || (*out)[1].End != EndIdle || (*out)[1].Key.Proto() != ProtoUDP {
		t.Fatalf("after 31s: %+v", *out)
	}
	if tab.Len() != 1 {
		t.Fatalf("active = %d, want 1", tab.Len())
	}
}

func TestPortReuseStartsNewFlow(t *testing.T) {
	tab, out := collect(DefaultConfig())
	play(t, tab, ProtoTCP, []seg{
		{true, syn, 0, 0, 0}, {false, rstack, 0, 0, 1},
		{true, syn, 0, 9000, 2}, {false, synack, 0, 0, 3},
	})
	tab.Flush(EndFlush)
	if len(*out) != 2 || (*out)[0].State() != "REJ" || (*out)[0].End != EndReused || (*out)[1].State() != "S1" {
		t.Fatalf("flows: %d %s %s", len(*out), (*out)[0].State(), (*out)[len(*out)-1].State())
	}
}

func TestEvictionIsCountedAndOldestFirst(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFlows = 3
	tab, out := collect(cfg)
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	for i := range 5 {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}), 5000)
		k, d := NewKey(ProtoUDP, src, server)
		tab.Packet(&Packet{Key: k, Dir: d, Time: base + int64(i)})
	}
	if tab.Len() != 3 || len(*out) != 2 {
		t.Fatalf("len %d ended %d", tab.Len(), len(*out))
	}
	if got := tab.Stats().Ended[EndEvicted].Load(); got != 2 {
		t.Fatalf("evicted = %d", got)
	}
	if (*out)[0].Src().Addr() != netip.AddrFrom4([4]byte{10, 0, 1, 0}) {
		t.Fatalf("evicted %v first, want the oldest", (*out)[0].Src())
	}
}

func TestICMPUnreachableAttributed(t *testing.T) {
	tab, out := collect(DefaultConfig())
	play(t, tab, ProtoUDP, []seg{{true, 0, 10, 0, 0}})
	k, _ := NewKey(ProtoUDP, client, server)
	if !tab.ICMPUnreachable(k, 3, 3) {
		t.Fatal("flow not found")
	}
	tab.Flush(EndFlush)
	if f := (*out)[0]; f.ICMPUnreach != 1 || f.UnreachCode != 3 {
		t.Fatalf("%+v", f)
	}
}

func TestTablePacketAllocatesNothing(t *testing.T) {
	tab := NewTable(DefaultConfig(), nil)
	k, d := NewKey(ProtoUDP, client, server)
	p := &Packet{Key: k, Dir: d, Time: 1, WireLen: 214, PayloadLen: 172}
	tab.Packet(p)
	allocs := testing.AllocsPerRun(1000, func() {
		p.Time++
		p.Dir = p.Dir.Flip()
		tab.Packet(p)
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per packet", allocs)
	}
}

func BenchmarkTablePacket(b *testing.B) {
	const nflows = 150_000
	tab := NewTable(DefaultConfig(), nil)
	pkts := make([]Packet, nflows)
	for i := range pkts {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(16384+i%16000))
		k, d := NewKey(ProtoUDP, src, server)
		pkts[i] = Packet{Key: k, Dir: d, WireLen: 214, PayloadLen: 172}
	}
	b.ReportAllocs()
	b.SetBytes(214)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := &pkts[i%nflows]
		p.Time = int64(i) * 1000
		tab.Packet(p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

func TestAddCountersMergesWithPackets(t *testing.T) {
	tab, out := collect(DefaultConfig())
	play(t, tab, ProtoUDP, []seg{{true, 0, 160, 0, 0}, {false, 0, 160, 0, 1}})
	k, d := NewKey(ProtoUDP, client, server)
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	tab.AddCounters(k, d, 48, 48*214, 48*172, 0, base+2, base+int64(time.Second))
	// A flow only the kernel counted is created, its first sender the originator.
	other := netip.MustParseAddrPort("10.0.0.7:20001")
	k2, d2 := NewKey(ProtoUDP, other, server)
	tab.AddCounters(k2, d2, 10, 2140, 1720, 0, base, base+int64(200*time.Millisecond))
	tab.Flush(EndFlush)
	if len(*out) != 2 {
		t.Fatalf("%d flows", len(*out))
	}
	f := (*out)[0]
	if f.Orig.Packets != 49 || f.Resp.Packets != 1 || f.Last != base+int64(time.Second) || f.History() != "Dd" {
		t.Errorf("merged flow: orig %+v resp %+v last %d history %q", f.Orig, f.Resp, f.Last-base, f.History())
	}
	if g := (*out)[1]; g.Src() != other || g.Orig.Packets != 10 || g.State() != "S0" {
		t.Errorf("kernel-only flow: %v %+v %s", g.Src(), g.Orig, g.State())
	}
}

// A table full of answered connections evicts a half-open one (a SYN
// never answered) between its SYN and the SYN's retries: the retries find
// their attempt parked and join it, so one unanswered connection ends as
// one flow, not one per retry; the parked flow ends at its idle timeout as
// it would have in the table.
func TestEvictedHalfOpenFlowIsParked(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFlows = 16 // parks 2
	tab, out := collect(cfg)
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	probe, d := NewKey(ProtoTCP, netip.MustParseAddrPort("10.0.9.9:40000"), server)
	syn := func(at int64) { tab.Packet(&Packet{Key: probe, Dir: d, Time: at, TCPFlags: FlagSYN}) }
	syn(base)
	// 40 answered connections push the probe out of the table.
	answerConnections(tab, base, 40)
	if tab.Lookup(probe) != nil || tab.Stats().Parked.Load() == 0 {
		t.Fatalf("the probe was not evicted into the park (parked %d)", tab.Stats().Parked.Load())
	}
	syn(base + int64(time.Second))
	syn(base + 3*int64(time.Second))
	tab.Advance(base + 3*int64(time.Second) + int64(cfg.TCPTimeout) + 1)
	tab.Flush(EndFlush)
	var probes []*Flow
	for i := range *out {
		if (*out)[i].Key == probe {
			probes = append(probes, &(*out)[i])
		}
	}
	if len(probes) != 1 || probes[0].Orig.Packets != 3 || probes[0].End != EndIdle || probes[0].State() != "S0" {
		for _, p := range probes {
			t.Logf("probe flow: %d packets, end %v, state %s", p.Orig.Packets, p.End, p.State())
		}
		t.Fatalf("%d probe flows, want one of 3 SYNs ended idle in S0", len(probes))
	}
	if tab.Stats().Unparked.Load() != 1 {
		t.Errorf("unparked %d, want 1", tab.Stats().Unparked.Load())
	}
}

// Parked flows end at their own idle timeout, whatever the order they
// were parked in: a half-open attempt its originator reset (linger
// timeout) parked after an unanswered SYN (TCP timeout) ends once its
// linger is over, not when the SYN's attempt ends, and neither ends
// before its time.
func TestParkedFlowsExpireByTheirOwnTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFlows = 16 // parks 2
	tab, out := collect(cfg)
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	attempt, ad := NewKey(ProtoTCP, netip.MustParseAddrPort("10.0.9.9:40000"), server)
	reset, rd := NewKey(ProtoTCP, netip.MustParseAddrPort("10.0.9.8:40000"), server)
	tab.Packet(&Packet{Key: attempt, Dir: ad, Time: base, TCPFlags: FlagSYN})
	tab.Packet(&Packet{Key: reset, Dir: rd, Time: base + 1, TCPFlags: FlagSYN})
	tab.Packet(&Packet{Key: reset, Dir: rd, Time: base + 2, TCPFlags: FlagRST})
	answerConnections(tab, base, 40)
	if tab.Lookup(attempt) != nil || tab.Lookup(reset) != nil || tab.Stats().Parked.Load() != 2 {
		t.Fatalf("both attempts should be parked (parked %d)", tab.Stats().Parked.Load())
	}
	ended := func(k Key) *Flow {
		for i := range *out {
			if (*out)[i].Key == k {
				return &(*out)[i]
			}
		}
		return nil
	}
	// Just before the reset attempt's linger is over: nothing parked ends.
	tab.Advance(base + 2 + int64(cfg.TCPLinger))
	if ended(reset) != nil || ended(attempt) != nil {
		t.Fatal("a parked flow ended before its idle timeout")
	}
	tab.Advance(base + 2 + int64(cfg.TCPLinger) + 1)
	if f := ended(reset); f == nil || f.End != EndEvicted {
		t.Fatalf("the reset attempt outlived its linger timeout behind the SYN parked before it: %+v", f)
	}
	if ended(attempt) != nil {
		t.Fatal("the unanswered SYN ended with the reset attempt, before its TCP timeout")
	}
	tab.Advance(base + int64(cfg.TCPTimeout))
	if ended(attempt) != nil {
		t.Fatal("the unanswered SYN ended at its TCP timeout, not after it")
	}
	tab.Advance(base + int64(cfg.TCPTimeout) + 1)
	if f := ended(attempt); f == nil || f.End != EndEvicted || f.State() != "S0" {
		t.Fatalf("the unanswered SYN after its TCP timeout: %+v", f)
	}
}

// A flow the recent-flow cache holds and that is then parked must be found
// in the park, not in the cache: the retry unparks it into the table, so
// it is counted and ended once, with all its packets.
func TestRecentCacheForgetsParkedFlow(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFlows = 16 // parks 2
	tab, out := collect(cfg)
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	probe, d := NewKey(ProtoTCP, netip.MustParseAddrPort("10.0.9.9:40000"), server)
	syn := func(at int64) { tab.Packet(&Packet{Key: probe, Dir: d, Time: at, TCPFlags: FlagSYN}) }
	// The SYN and its retry both leave the flow in the cache.
	syn(base)
	syn(base + 1)
	answerConnections(tab, base, 40)
	if tab.Lookup(probe) != nil {
		t.Fatal("the probe was not evicted")
	}
	syn(base + int64(time.Second))
	if tab.Stats().Unparked.Load() != 1 || tab.Lookup(probe) == nil {
		t.Fatalf("the retry did not unpark its attempt (unparked %d)", tab.Stats().Unparked.Load())
	}
	tab.Flush(EndFlush)
	n := 0
	for i := range *out {
		if f := &(*out)[i]; f.Key == probe {
			n++
			if f.Orig.Packets != 3 {
				t.Errorf("probe flow with %d packets, want 3", f.Orig.Packets)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d probe flows, want 1", n)
	}
}

// recentSlot spreads keys that differ only in a port or the last address
// byte, as the flows of one busy server do.
func TestRecentSlotSpreads(t *testing.T) {
	seen := map[uint32]bool{}
	for i := range 256 {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 2, byte(i)}), 5000)
		k, _ := NewKey(ProtoUDP, src, server)
		seen[k.recentSlot()] = true
		k, _ = NewKey(ProtoUDP, netip.AddrPortFrom(src.Addr(), uint16(20000+i)), server)
		seen[k.recentSlot()] = true
	}
	if len(seen) < 480 {
		t.Errorf("512 keys fill %d of %d slots", len(seen), recentSlots)
	}
}

// answerConnections opens n connections to server, one a millisecond
// after base, each answered: in a small table they push older flows out.
func answerConnections(tab *Table, base int64, n int) {
	for i := range n {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 2, byte(i)}), 5000)
		k, kd := NewKey(ProtoTCP, src, server)
		at := base + int64(i+1)*int64(time.Millisecond)
		tab.Packet(&Packet{Key: k, Dir: kd, Time: at, TCPFlags: FlagSYN})
		tab.Packet(&Packet{Key: k, Dir: kd.Flip(), Time: at + 1000, TCPFlags: FlagSYN | FlagACK})
	}
}

// BenchmarkTableTCP is established TCP in order, the bulk of a link's TCP
// packets: flows connections, each opened by a handshake, then data and
// acknowledgements in turn from both sides, the flows interleaved so that
// each packet's flow is cold in the cache as on a busy link.
func BenchmarkTableTCP(b *testing.B) {
	for _, flows := range []int{64, 20_000} {
		b.Run(strconv.Itoa(flows), func(b *testing.B) {
			tab := NewTable(DefaultConfig(), nil)
			type conn struct {
				cli, srv   Packet
				cseq, sseq uint32
			}
			conns := make([]conn, flows)
			for i := range conns {
				src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(16384+i%16000))
				k, d := NewKey(ProtoTCP, src, server)
				c := &conns[i]
				c.cli = Packet{Key: k, Dir: d, WireLen: 66, TCPFlags: syn, Seq: 1000}
				c.srv = Packet{Key: k, Dir: d.Flip(), WireLen: 66, TCPFlags: synack, Seq: 5000, Ack: 1001}
				tab.Packet(&c.cli)
				tab.Packet(&c.srv)
				c.cseq, c.sseq = 1001, 5001
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				c := &conns[n%flows]
				p := &c.cli
				if n/flows%2 == 1 {
					p = &c.srv
				}
				p.Time = int64(n) * 1000
				if p == &c.cli {
					*p = Packet{Key: p.Key, Dir: p.Dir, Time: p.Time, WireLen: 266, PayloadLen: 200, TCPFlags: pshack, Seq: c.cseq, Ack: c.sseq}
					c.cseq += 200
				} else {
					*p = Packet{Key: p.Key, Dir: p.Dir, Time: p.Time, WireLen: 66, TCPFlags: ack, Seq: c.sseq, Ack: c.cseq}
				}
				tab.Packet(p)
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

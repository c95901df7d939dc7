package capture

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
)

// fullPacket returns a packet with every field set to a value other than
// its zero: a quote, a tunnel, a kept frame, a pending checksum.
func fullPacket(t *testing.T) decode.Packet {
	t.Helper()
	key, dir := flow.NewKey(flow.ProtoTCP, netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:40000"))
	quoted, _ := flow.NewKey(flow.ProtoUDP, netip.MustParseAddrPort("10.1.0.1:53"), netip.MustParseAddrPort("10.1.0.2:5353"))
	outer, _ := flow.NewKey(flow.ProtoUDP, netip.MustParseAddrPort("192.0.2.1:51000"), netip.MustParseAddrPort("192.0.2.2:4789"))
	p := decode.Packet{
		Packet: flow.Packet{Key: key, Dir: dir ^ 1, Time: 1_700_000_000_123, WireLen: 1514, PayloadLen: 1400,
			TCPFlags: flow.FlagACK | flow.FlagPSH, Seq: 7, Ack: 9, ZeroWindow: true, VLAN: 42, BadChecksum: true, Cut: true},
		Payload:     []byte("payload bytes"),
		Quoted:      true,
		QuotedKey:   quoted,
		ICMPType:    3,
		ICMPCode:    1,
		Reassembled: true,
		Truncated:   true,
		Fragments:   3,
		Tunnel:      decode.TunnelVXLAN,
		OuterKey:    outer,
		OuterDir:    flow.DirBA,
		Ordinal:     123456,
		Frame:       []byte("the whole frame"),
		LinkType:    layers.LinkTypeLinuxSLL2,
	}
	p.SetPendingChecksum(0xabcdef, true)
	// A field added to the packet must be carried by batches too: this
	// fails until the test sets it (and then the round trip checks it).
	for _, v := range []reflect.Value{reflect.ValueOf(p), reflect.ValueOf(p.Packet)} {
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() && v.Field(i).IsZero() {
				t.Fatalf("field %s.%s is not set by the test", v.Type().Name(), f.Name)
			}
		}
	}
	return p
}

// samePacket compares two packets field by field, slices by content (the
// batch's copies live in its arena).
func samePacket(t *testing.T, what string, got, want *decode.Packet) {
	t.Helper()
	if !bytes.Equal(got.Payload, want.Payload) || !bytes.Equal(got.Frame, want.Frame) || (got.Frame == nil) != (want.Frame == nil) {
		t.Errorf("%s: payload %q frame %q, want %q and %q", what, got.Payload, got.Frame, want.Payload, want.Frame)
	}
	ga, gp := got.PendingChecksum()
	wa, wp := want.PendingChecksum()
	if ga != wa || gp != wp {
		t.Errorf("%s: pending checksum %x/%v, want %x/%v", what, ga, gp, wa, wp)
	}
	g, w := *got, *want
	g.Payload, g.Frame, w.Payload, w.Frame = nil, nil, nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// A packet with a quote, a tunnel and a kept frame crosses a compact batch
// with every field intact (Quoted cleared: the quote travels as an
// attribution entry of its own), and the plain packet after it in the same
// reused struct carries none of them.
func TestBatchRoundTrip(t *testing.T) {
	full := fullPacket(t)
	plain := decode.Packet{Packet: flow.Packet{Key: full.Key, Time: 5, WireLen: 60}, Payload: []byte{}, Ordinal: 9}
	tunnelled := plain
	tunnelled.Tunnel, tunnelled.OuterKey, tunnelled.OuterDir = decode.TunnelGRE, full.OuterKey, flow.DirBA
	tunnelled.Ordinal = 10

	b := take(func() chan *batch { c := make(chan *batch, 1); c <- newBatch(); return c }())
	for _, p := range []*decode.Packet{&full, &plain, &tunnelled} {
		if !b.add(p) {
			t.Fatal("batch full")
		}
	}
	if !b.addAttribute(&full) {
		t.Fatal("batch full")
	}
	if len(b.sides) != 2 {
		t.Errorf("%d side entries, want 2 (the plain packet needs none)", len(b.sides))
	}

	var got decode.Packet
	wantFull := full
	wantFull.Quoted = false
	b.unpack(&b.entries[0], &got)
	samePacket(t, "full packet", &got, &wantFull)
	b.unpack(&b.entries[1], &got)
	samePacket(t, "plain packet after the full one", &got, &plain)
	b.unpack(&b.entries[2], &got)
	samePacket(t, "tunnelled packet", &got, &tunnelled)

	a := &b.entries[3]
	if a.flags&entryAttribute == 0 || a.pkt.Key != full.QuotedKey || a.icmpType != full.ICMPType || a.icmpCode != full.ICMPCode {
		t.Errorf("attribution entry %+v, want the quoted key %v and ICMP %d/%d", a, full.QuotedKey, full.ICMPType, full.ICMPCode)
	}

	// A reused batch starts empty, and a frame too large for it goes
	// without its frame but with the rest.
	b.reset()
	b.prime()
	big := full
	big.Frame = make([]byte, maxKeptFrame+1)
	if !b.add(&big) {
		t.Fatal("batch full")
	}
	b.unpack(&b.entries[0], &got)
	wantBig := wantFull
	wantBig.Frame = nil
	samePacket(t, "oversized frame", &got, &wantBig)
}

// A batch reports itself full at its packet count and at its arena's size.
func TestBatchFull(t *testing.T) {
	b := newBatch()
	p := decode.Packet{Payload: make([]byte, 1000)}
	n := 0
	for b.add(&p) {
		n++
	}
	if n != batchPackets {
		t.Errorf("%d packets of 1000 bytes fit, want %d", n, batchPackets)
	}
	b.reset()
	p.Payload = make([]byte, 4000)
	n = 0
	for b.add(&p) {
		n++
	}
	if n != batchArena/4000 {
		t.Errorf("%d packets of 4000 bytes fit, want %d", n, batchArena/4000)
	}
}

// BenchmarkUnpack measures a worker rebuilding a batch of plain packets
// (no quote, tunnel or kept frame: nearly all of them) into its one
// decode.Packet.
func BenchmarkUnpack(b *testing.B) {
	key, dir := flow.NewKey(flow.ProtoUDP, netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:40002"))
	pkt := decode.Packet{Packet: flow.Packet{Key: key, Dir: dir, Time: 5, WireLen: 214, PayloadLen: 172}, Payload: make([]byte, 172)}
	bt := newBatch()
	for bt.add(&pkt) {
	}
	var p decode.Packet
	b.ReportAllocs()
	for b.Loop() {
		for i := range bt.entries {
			bt.unpack(&bt.entries[i], &p)
		}
	}
	b.ReportMetric(float64(b.N*len(bt.entries))/b.Elapsed().Seconds(), "pkts/s")
}

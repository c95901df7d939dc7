package decode

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// fragments4 splits an IPv4 UDP datagram (udp header + n payload bytes)
// into Ethernet frames carrying size payload bytes each.
func fragments4(tb testing.TB, id uint16, n, size int) [][]byte {
	dgram := ser(tb, udp(40000, 5004), payload(n))
	binary.BigEndian.PutUint16(dgram[4:], uint16(len(dgram)))
	var frames [][]byte
	for off := 0; off < len(dgram); off += size {
		end := min(off+size, len(dgram))
		ip := ip4(layers.IPProtocolUDP, cli4, srv4)
		ip.Id = id
		ip.FragOffset = uint16(off / 8)
		if end < len(dgram) {
			ip.Flags = layers.IPv4MoreFragments
		}
		frames = append(frames, ser(tb, eth(layers.EthernetTypeIPv4), ip, gopacket.Payload(dgram[off:end])))
	}
	return frames
}

// fragments6 does the same for IPv6 with a Fragment header.
func fragments6(tb testing.TB, id uint32, n, size int) [][]byte {
	dgram := ser(tb, udp(40000, 5004), payload(n))
	binary.BigEndian.PutUint16(dgram[4:], uint16(len(dgram)))
	var frames [][]byte
	for off := 0; off < len(dgram); off += size {
		end := min(off+size, len(dgram))
		fh := make([]byte, 8)
		fh[0] = uint8(layers.IPProtocolUDP)
		v := uint16(off)
		if end < len(dgram) {
			v |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], v)
		binary.BigEndian.PutUint32(fh[4:], id)
		frames = append(frames, ser(tb, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolIPv6Fragment, cli6, srv6),
			gopacket.Payload(cat(fh, dgram[off:end]))))
	}
	return frames
}

func TestFragments(t *testing.T) {
	const n = 3000 // UDP payload bytes
	cases := []struct {
		name   string
		frames func(testing.TB) [][]byte
		order  []int
		key    flow.Key
	}{
		{"ipv4 in order", func(tb testing.TB) [][]byte { return fragments4(tb, 7, n, 1480) }, []int{0, 1, 2}, key(flow.ProtoUDP, cli4, 40000, srv4, 5004)},
		{"ipv4 out of order", func(tb testing.TB) [][]byte { return fragments4(tb, 7, n, 1480) }, []int{2, 0, 1}, key(flow.ProtoUDP, cli4, 40000, srv4, 5004)},
		{"ipv4 last first, duplicate middle", func(tb testing.TB) [][]byte { return fragments4(tb, 7, n, 800) }, []int{3, 1, 1, 2, 0}, key(flow.ProtoUDP, cli4, 40000, srv4, 5004)},
		{"ipv6 in order", func(tb testing.TB) [][]byte { return fragments6(tb, 9, n, 1232) }, []int{0, 1, 2}, key(flow.ProtoUDP, cli6, 40000, srv6, 5004)},
		{"ipv6 out of order", func(tb testing.TB) [][]byte { return fragments6(tb, 9, n, 1232) }, []int{1, 2, 0}, key(flow.ProtoUDP, cli6, 40000, srv6, 5004)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(Options{})
			frames := tc.frames(t)
			var p Packet
			wire := 0
			for i, idx := range tc.order {
				f := frames[idx]
				wire += len(f)
				err := d.Decode(layers.LinkTypeEthernet, f, int64(i), len(f), &p)
				if i < len(tc.order)-1 {
					if !errors.Is(err, ReasonFragmentPending) {
						t.Fatalf("fragment %d: err = %v, want fragment-pending", i, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("last fragment: %v", err)
				}
			}
			if !p.Reassembled || p.Key != tc.key || p.PayloadLen != n || len(p.Payload) != n {
				t.Fatalf("reassembled %v key %v-%v payload %d/%d", p.Reassembled, p.Key.A(), p.Key.B(), p.PayloadLen, len(p.Payload))
			}
			if int(p.Fragments) != len(tc.order) || int(p.WireLen) != wire {
				t.Errorf("fragments %d wirelen %d, want %d %d", p.Fragments, p.WireLen, len(tc.order), wire)
			}
			for i, b := range p.Payload {
				if b != byte(i) {
					t.Fatalf("payload byte %d = %d", i, b)
				}
			}
			if s := d.Stats(); s.Reassembled != 1 || s.FragPending != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestFragmentOverlapDropsDatagram(t *testing.T) {
	d := New(Options{})
	a := fragments4(t, 1, 3000, 1480)
	b := fragments4(t, 1, 3000, 1000) // same ID, different boundaries
	var p Packet
	if err := d.Decode(layers.LinkTypeEthernet, a[0], 0, len(a[0]), &p); !errors.Is(err, ReasonFragmentPending) {
		t.Fatalf("err = %v", err)
	}
	if err := d.Decode(layers.LinkTypeEthernet, b[1], 0, len(b[1]), &p); !errors.Is(err, ReasonFragmentError) {
		t.Fatalf("overlap: err = %v, want fragment-error", err)
	}
	if d.Stats().FragPending != 0 {
		t.Error("overlapping datagram still held")
	}
}

func TestFragmentBounds(t *testing.T) {
	d := New(Options{MaxFragDatagrams: 4, FragTimeout: time.Second})
	var p Packet
	for id := range uint16(10) {
		f := fragments4(t, id, 3000, 1480)[0]
		if err := d.Decode(layers.LinkTypeEthernet, f, 0, len(f), &p); !errors.Is(err, ReasonFragmentPending) {
			t.Fatalf("err = %v", err)
		}
	}
	s := d.Stats()
	if s.FragPending != 4 || s.FragEvicted != 6 {
		t.Fatalf("pending %d evicted %d, want 4 and 6", s.FragPending, s.FragEvicted)
	}
	// Two seconds later the held datagrams have expired; their last
	// fragments alone rebuild nothing.
	last := fragments4(t, 9, 3000, 1480)[2]
	if err := d.Decode(layers.LinkTypeEthernet, last, int64(2*time.Second), len(last), &p); !errors.Is(err, ReasonFragmentPending) {
		t.Fatalf("err = %v", err)
	}
	if s := d.Stats(); s.FragExpired != 4 || s.FragPending != 1 {
		t.Fatalf("expired %d pending %d, want 4 and 1", s.FragExpired, s.FragPending)
	}
}

func TestFirstFragmentCutBySnapLength(t *testing.T) {
	d := New(Options{})
	f := fragments4(t, 3, 3000, 1480)[0][:200]
	var p Packet
	if err := d.Decode(layers.LinkTypeEthernet, f, 0, 1514, &p); err != nil {
		t.Fatalf("err = %v", err)
	}
	if p.Key != key(flow.ProtoUDP, cli4, 40000, srv4, 5004) || p.Reassembled {
		t.Errorf("key %v-%v reassembled %v", p.Key.A(), p.Key.B(), p.Reassembled)
	}
	// A later fragment cut the same way cannot be used at all.
	f = fragments4(t, 3, 3000, 1480)[1][:200]
	if err := d.Decode(layers.LinkTypeEthernet, f, 0, 1514, &p); !errors.Is(err, ReasonTruncated) {
		t.Fatalf("err = %v, want truncated", err)
	}
}

func TestSpanInsert(t *testing.T) {
	var dg datagram
	steps := []struct {
		start, end int
		dup        bool
		err        bool
		spans      int
	}{
		{16, 24, false, false, 1},
		{0, 8, false, false, 2},
		{8, 16, false, false, 1}, // fills the hole: one span again
		{4, 12, true, false, 1},
		{20, 32, false, true, 1},
		{40, 48, false, false, 2},
		{24, 40, false, false, 1},
	}
	for i, s := range steps {
		dup, err := dg.insert(s.start, s.end)
		if dup != s.dup || (err != nil) != s.err || len(dg.spans) != s.spans {
			t.Fatalf("step %d: dup %v err %v spans %v", i, dup, err, dg.spans)
		}
	}
	if dg.spans[0] != (span{0, 48}) {
		t.Errorf("spans %v", dg.spans)
	}
}

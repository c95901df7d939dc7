package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/gopacket/gopacket/pcapgo"
)

// refSum is RFC 1071's checksum loop, word by word in network order.
func refSum(parts ...[]byte) uint16 {
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	var sum uint32
	for i := 0; i+1 < len(all); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(all[i:]))
	}
	if len(all)%2 == 1 {
		sum += uint32(all[len(all)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

// TestCsumMatchesRFC1071 checks the word-at-a-time sum against the
// byte-pair loop for every length up to 200 and a spread of longer ones
// (every tail after the unrolled blocks), random contents.
func TestCsumMatchesRFC1071(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := make([]int, 0, 300)
	for n := 0; n <= 200; n++ {
		lengths = append(lengths, n)
	}
	for n := 1400; n <= 1530; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 9000, 65535)
	for _, n := range lengths {
		for range 20 {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
			if rng.UintN(4) == 0 {
				for i := range b {
					b[i] = 0xff
				}
			}
			if got, want := fold(csum(0, b)), refSum(b); got != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff) {
				t.Fatalf("len %d: %#04x, want %#04x", n, got, want)
			}
		}
	}
}

// segment builds a UDP or TCP segment with a correct checksum, then
// optionally spoils it.
func buildSegment(is4 bool, proto uint8, payload int, spoil bool) (src, dst [16]byte, l4 []byte) {
	if is4 {
		src = [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 1}
		dst = [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 2}
	} else {
		src = [16]byte{0: 0x20, 1: 0x01, 15: 1}
		dst = [16]byte{0: 0x20, 1: 0x01, 15: 2}
	}
	hdr, off := 8, 6
	if proto == flow.ProtoTCP {
		hdr, off = 20, 16
	}
	l4 = make([]byte, hdr+payload)
	binary.BigEndian.PutUint16(l4, 40000)
	binary.BigEndian.PutUint16(l4[2:], 5060)
	if proto == flow.ProtoUDP {
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	} else {
		l4[12] = 5 << 4
		l4[13] = flow.FlagACK
	}
	for i := hdr; i < len(l4); i++ {
		l4[i] = byte(i * 7)
	}
	var ph []byte
	if is4 {
		ph = append(append([]byte{}, src[12:]...), dst[12:]...)
	} else {
		ph = append(append([]byte{}, src[:]...), dst[:]...)
	}
	ph = append(ph, 0, proto, byte(len(l4)>>8), byte(len(l4)))
	sum := ^refSum(ph, l4)
	if sum == 0 && proto == flow.ProtoUDP {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(l4[off:], sum)
	if spoil {
		l4[len(l4)-1] ^= 0x5a
		if payload == 0 {
			l4[0] ^= 0x01
		}
	}
	return src, dst, l4
}

func TestTransportChecksums(t *testing.T) {
	for _, is4 := range []bool{true, false} {
		for _, proto := range []uint8{flow.ProtoTCP, flow.ProtoUDP} {
			for _, n := range []int{0, 1, 7, 160, 1400} {
				src, dst, l4 := buildSegment(is4, proto, n, false)
				if transportBad(is4, &src, &dst, proto, l4) {
					t.Errorf("v4=%v proto %d len %d: good segment judged bad", is4, proto, n)
				}
				src, dst, l4 = buildSegment(is4, proto, n, true)
				if !transportBad(is4, &src, &dst, proto, l4) {
					t.Errorf("v4=%v proto %d len %d: bad segment judged good", is4, proto, n)
				}
			}
		}
	}
}

// TestOffloadedChecksumsAreSkipped pins the offload rule: a zero field and
// a field holding only the pseudo-header sum (Linux CHECKSUM_PARTIAL) are
// not verified; any other wrong value is bad.
func TestOffloadedChecksumsAreSkipped(t *testing.T) {
	for _, proto := range []uint8{flow.ProtoTCP, flow.ProtoUDP} {
		off := 16
		if proto == flow.ProtoUDP {
			off = 6
		}
		src, dst, l4 := buildSegment(true, proto, 100, false)
		binary.BigEndian.PutUint16(l4[off:], 0)
		if transportBad(true, &src, &dst, proto, l4) {
			t.Errorf("proto %d: zero checksum judged bad", proto)
		}
		partial := fold(pseudoSum(true, &src, &dst, proto, len(l4)))
		binary.BigEndian.PutUint16(l4[off:], partial)
		if transportBad(true, &src, &dst, proto, l4) {
			t.Errorf("proto %d: pseudo-header-only checksum judged bad", proto)
		}
		binary.BigEndian.PutUint16(l4[off:], partial+1)
		if !transportBad(true, &src, &dst, proto, l4) {
			t.Errorf("proto %d: wrong checksum next to the partial value judged good", proto)
		}
	}
}

// TestZeekChecksumTraces decodes Zeek's checksum test captures
// (testdata/chksums, from zeek/zeek testing/btest/Traces/chksums,
// BSD-3-Clause): a "bad" capture's packet is marked, a "good" one is not.
// IPv6 packets with a routing header or a Mobile IPv6 home address option
// are left unverified (their pseudo-header uses another address), and so
// are offloaded checksums.
func TestZeekChecksumTraces(t *testing.T) {
	files, err := filepath.Glob("testdata/chksums/*-chksum.pcap")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		if strings.HasPrefix(name, "mip6-") {
			continue // the Mobility header's own checksum is not a transport's
		}
		t.Run(name, func(t *testing.T) {
			for _, fast := range []bool{true, false} {
				bad, n := decodeChecksums(t, path, !fast)
				want := strings.Contains(name, "-bad-")
				switch {
				case strings.Contains(name, "route0"), strings.Contains(name, "hoa"):
					want = false
				case name == "localhost-bad-chksum.pcap":
					// Captured on the sending host: its "bad" TCP
					// checksums hold the pseudo-header sum the NIC was to
					// complete. Zeek, reading the file, reports them;
					// the auditor skips them as offloaded.
					want = false
				}
				if n == 0 {
					t.Fatal("no packet decoded")
				}
				if (bad > 0) != want {
					t.Errorf("fast=%v: %d of %d packets bad, want bad=%v", fast, bad, n, want)
				}
			}
		})
	}
}

func decodeChecksums(t *testing.T, path string, slow bool) (bad, n int) {
	t.Helper()
	return decodeWith(t, path, New(Options{}), slow)
}

func decodeChecksumsOpts(t *testing.T, path string, opts Options) (bad, n int) {
	t.Helper()
	return decodeWith(t, path, New(opts), false)
}

func decodeWith(t *testing.T, path string, d *Decoder, slow bool) (bad, n int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	d.noFastPath = slow
	var p Packet
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return bad, n
		}
		if err != nil {
			t.Fatal(err)
		}
		if d.Decode(r.LinkType(), data, ci.Timestamp.UnixNano(), ci.Length, &p) != nil {
			continue
		}
		n++
		if p.BadChecksum {
			bad++
		}
	}
}

// TestChecksumAllocatesNothing keeps verification off the heap.
func TestChecksumAllocatesNothing(t *testing.T) {
	src, dst, l4 := buildSegment(true, flow.ProtoTCP, 1400, false)
	if n := testing.AllocsPerRun(100, func() { transportBad(true, &src, &dst, flow.ProtoTCP, l4) }); n != 0 {
		t.Errorf("%v allocations per verification", n)
	}
}

func BenchmarkTransportChecksum(b *testing.B) {
	for _, n := range []int{160, 1400} {
		src, dst, l4 := buildSegment(true, flow.ProtoUDP, n, false)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(l4)))
			for b.Loop() {
				transportBad(true, &src, &dst, flow.ProtoUDP, l4)
			}
		})
	}
}

// TestIgnoreChecksums is Zeek's -C: nothing is verified.
func TestIgnoreChecksums(t *testing.T) {
	bad, n := decodeChecksumsOpts(t, "testdata/chksums/ip4-tcp-bad-chksum.pcap", Options{IgnoreChecksums: true})
	if n != 1 || bad != 0 {
		t.Errorf("%d of %d bad with IgnoreChecksums", bad, n)
	}
}

// TestDeferredChecksumAgrees checks that a checksum finished after the
// payload was copied (as a pipeline's worker does) gives what the decoder
// gives at once, for good and bad TCP and UDP packets of every size.
func TestDeferredChecksumAgrees(t *testing.T) {
	now, later := New(Options{}), New(Options{DeferPayloadChecksum: true})
	for _, proto := range []uint8{flow.ProtoTCP, flow.ProtoUDP} {
		for _, n := range []int{0, 1, 2, 33, 160, 1400} {
			for _, spoil := range []bool{false, true} {
				frame := ipv4Frame(proto, n, spoil)
				var a, b Packet
				if err := now.Decode(1, frame, 1, len(frame), &a); err != nil {
					t.Fatal(err)
				}
				if err := later.Decode(1, frame, 1, len(frame), &b); err != nil {
					t.Fatal(err)
				}
				if pending := b.csumPending; pending != (n > 0) {
					t.Errorf("proto %d len %d: pending %v", proto, n, pending)
				}
				b.Payload = append([]byte(nil), b.Payload...) // the worker's copy
				for i := range frame {
					frame[i] = 0 // the frame buffer is reused
				}
				b.FinishChecksum()
				if a.BadChecksum != spoil || b.BadChecksum != spoil {
					t.Errorf("proto %d len %d spoiled=%v: at once %v, deferred %v", proto, n, spoil, a.BadChecksum, b.BadChecksum)
				}
			}
		}
	}
}

// ipv4Frame wraps a segment from buildSegment in Ethernet and IPv4 headers
// with a right header checksum.
func ipv4Frame(proto uint8, n int, spoil bool) []byte {
	src, dst, l4 := buildSegment(true, proto, n, spoil)
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	ip[8], ip[9] = 64, proto
	copy(ip[12:16], src[12:])
	copy(ip[16:20], dst[12:])
	binary.BigEndian.PutUint16(ip[10:], ^refSum(ip))
	frame := append(make([]byte, 12), 0x08, 0x00)
	return append(append(frame, ip...), l4...)
}

// BenchmarkDecodeChecksum decodes a 200-byte RTP frame (and a TCP frame of
// the same size) with right checksums without verification, with the
// payload sum deferred (the decoder's share, as in a pipeline), and
// verified at once.
func BenchmarkDecodeChecksum(b *testing.B) {
	udp := ipv4Frame(flow.ProtoUDP, 200-14-20-8, false)
	tcp := ipv4Frame(flow.ProtoTCP, 200-14-20-20, false)
	for _, mode := range []struct {
		name  string
		frame []byte
		opts  Options
	}{
		{"off", udp, Options{IgnoreChecksums: true}},
		{"deferred", udp, Options{DeferPayloadChecksum: true}},
		{"full", udp, Options{}},
		{"tcp-deferred", tcp, Options{DeferPayloadChecksum: true}},
		{"tcp-full", tcp, Options{}},
	} {
		frame := mode.frame
		b.Run(mode.name, func(b *testing.B) {
			d := New(mode.opts)
			var p Packet
			for b.Loop() {
				if err := d.Decode(1, frame, 1, len(frame), &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package tcpstream

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

type seg struct {
	seq   uint32
	flags uint8
	data  string
}

func TestBuffer(t *testing.T) {
	const syn = flagSYN
	tests := []struct {
		name string
		max  int
		segs []seg
		want string
		gaps int
	}{
		{
			name: "in order after SYN",
			segs: []seg{{100, syn, ""}, {101, 0, "hello "}, {107, 0, "world"}},
			want: "hello world",
		},
		{
			name: "midstream start",
			segs: []seg{{5000, 0, ""}, {5000, 0, "abc"}, {5003, 0, "def"}},
			want: "abcdef",
		},
		{
			name: "out of order held until the hole fills",
			segs: []seg{{0, syn, ""}, {1, 0, "aa"}, {7, 0, "dd"}, {5, 0, "cc"}, {3, 0, "bb"}},
			want: "aabbccdd",
		},
		{
			name: "retransmission dropped",
			segs: []seg{{0, syn, ""}, {1, 0, "abc"}, {1, 0, "abc"}, {4, 0, "def"}, {1, 0, "abc"}},
			want: "abcdef",
		},
		{
			name: "overlap trimmed",
			segs: []seg{{0, syn, ""}, {1, 0, "abcd"}, {3, 0, "cdef"}, {6, 0, "fgh"}},
			want: "abcdefgh",
		},
		{
			name: "overlapping held segments",
			segs: []seg{{0, syn, ""}, {5, 0, "efgh"}, {3, 0, "cdef"}, {1, 0, "ab"}},
			want: "abcdefgh",
		},
		{
			name: "duplicate held segment",
			segs: []seg{{0, syn, ""}, {3, 0, "cd"}, {3, 0, "cd"}, {1, 0, "ab"}},
			want: "abcd",
		},
		{
			name: "SYN with data (fast open)",
			segs: []seg{{41, syn, "ab"}, {44, 0, "cd"}},
			want: "abcd",
		},
		{
			name: "retransmitted SYN keeps the stream",
			segs: []seg{{41, syn, ""}, {41, syn, ""}, {42, 0, "ab"}},
			want: "ab",
		},
		{
			name: "wraparound in order",
			segs: []seg{{0xfffffffd, syn, ""}, {0xfffffffe, 0, "abc"}, {1, 0, "def"}},
			want: "abcdef",
		},
		{
			name: "wraparound out of order",
			segs: []seg{{0xfffffffd, syn, ""}, {1, 0, "def"}, {0xfffffffe, 0, "abc"}},
			want: "abcdef",
		},
		{
			name: "gap skipped when the hold is full",
			segs: []seg{
				{0, syn, ""}, {1, 0, "a"},
				// byte 2 never arrives
				{3, 0, "c"}, {4, 0, "d"}, {5, 0, "e"}, {6, 0, "f"},
				{7, 0, "g"}, {8, 0, "h"}, {9, 0, "i"}, {10, 0, "j"},
				{11, 0, "k"},
			},
			want: "acdefghijk",
			gaps: 1,
		},
		{
			name: "bound: in-order excess is dropped and counted",
			max:  4,
			segs: []seg{{0, syn, ""}, {1, 0, "abc"}, {4, 0, "def"}, {7, 0, "g"}},
			want: "abcd",
			gaps: 2,
		},
		{
			name: "bound: held bytes count",
			max:  4,
			segs: []seg{{0, syn, ""}, {1, 0, "a"}, {4, 0, "de"}, {6, 0, "fg"}},
			want: "adef",
			gaps: 2, // hole at 2-3, then g did not fit
		},
		{
			name: "segment larger than max",
			max:  3,
			segs: []seg{{0, syn, ""}, {5, 0, "abcdef"}},
			want: "abc",
			gaps: 2,
		},
		{
			name: "empty segments do not start the stream",
			segs: []seg{{9, 0, ""}, {100, 0, "x"}},
			want: "x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Buffer
			b.Init(tt.max)
			for _, s := range tt.segs {
				b.Add(s.seq, s.flags, []byte(s.data))
			}
			if got := string(b.Bytes()); got != tt.want {
				t.Errorf("Bytes = %q, want %q", got, tt.want)
			}
			if b.Gaps() != tt.gaps {
				t.Errorf("Gaps = %d, want %d", b.Gaps(), tt.gaps)
			}
		})
	}
}

func TestBufferConsume(t *testing.T) {
	var b Buffer
	b.Init(8)
	b.Add(0, flagSYN, nil)
	b.Add(1, 0, []byte("abcdef"))
	b.Consume(4)
	if got := string(b.Bytes()); got != "ef" {
		t.Fatalf("after Consume(4): %q", got)
	}
	// Consumed bytes free room under the bound.
	b.Add(7, 0, []byte("ghijkl"))
	if got := string(b.Bytes()); got != "efghijkl" || b.Gaps() != 0 {
		t.Fatalf("after refill: %q, %d gaps", got, b.Gaps())
	}
	b.Consume(100)
	if len(b.Bytes()) != 0 {
		t.Fatalf("Consume past the end left %q", b.Bytes())
	}
	b.Consume(-1)
	b.Add(13, 0, []byte("m"))
	if got := string(b.Bytes()); got != "m" {
		t.Fatalf("after emptying: %q", got)
	}
}

func TestBufferReset(t *testing.T) {
	var b Buffer
	b.Init(1 << 20)
	big := make([]byte, 100<<10)
	b.Add(0, flagSYN, nil)
	b.Add(1, 0, big)
	b.Add(1+200<<10, 0, big) // held, then never completed
	b.Reset()
	if len(b.Bytes()) != 0 || b.Gaps() != 0 || b.nheld != 0 || b.heldBytes != 0 {
		t.Fatalf("Reset left state: %d bytes, %d gaps, %d held", len(b.Bytes()), b.Gaps(), b.nheld)
	}
	if cap(b.buf) > keepCap || cap(b.held[0].data) > keepCap {
		t.Fatalf("Reset kept big arrays: %d, %d", cap(b.buf), cap(b.held[0].data))
	}
	// A new stream starts afresh, with a different ISN.
	b.Add(500, flagSYN, nil)
	b.Add(501, 0, []byte("new"))
	if got := string(b.Bytes()); got != "new" {
		t.Fatalf("after Reset: %q", got)
	}
}

// TestBufferShuffled checks against a model: any permutation of a segment
// set within the hold bound reassembles to the original stream.
func TestBufferShuffled(t *testing.T) {
	stream := []byte("The quick brown fox jumps over the lazy dog, again and again.")
	orders := [][]int{
		{0, 1, 2, 3, 4, 5},
		{5, 4, 3, 2, 1, 0},
		{1, 0, 3, 2, 5, 4},
		{2, 5, 0, 4, 1, 3},
		{0, 0, 3, 3, 1, 2, 5, 4, 4},
	}
	for _, isn := range []uint32{0, 1 << 31, 0xffffffff - 20} {
		for _, ord := range orders {
			var b Buffer
			b.Init(0)
			b.Add(isn, flagSYN, nil)
			n := len(stream) / 6
			for _, i := range ord {
				end := (i + 1) * n
				if i == 5 {
					end = len(stream)
				}
				// Overlap each segment with its neighbour to exercise trimming.
				start := max(i*n-3, 0)
				b.Add(isn+1+uint32(start), 0, stream[start:end])
			}
			if !bytes.Equal(b.Bytes(), stream) || b.Gaps() != 0 {
				t.Errorf("isn %#x order %v: %q, %d gaps", isn, ord, b.Bytes(), b.Gaps())
			}
		}
	}
}

func TestBufferSteadyStateAllocs(t *testing.T) {
	var b Buffer
	b.Init(0)
	payload := make([]byte, 1400)
	seq := uint32(1)
	b.Add(0, flagSYN, nil)
	step := func() {
		// One segment in order, one reordered pair, then the reader consumes.
		b.Add(seq, 0, payload)
		b.Add(seq+2*1400, 0, payload)
		b.Add(seq+1400, 0, payload)
		seq += 3 * 1400
		b.Consume(len(b.Bytes()))
	}
	step()
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Fatalf("%v allocs per steady-state round, want 0", n)
	}
}

func FuzzBuffer(f *testing.F) {
	f.Add(uint16(100), []byte("\x00\x00\x00\x00\x02\x00\x00\x00\x00\x01\x00\x03abc"))
	f.Add(uint16(3), []byte("\xff\xff\xff\xfe\x00\x00\x00\x00\x00\x01\x00\x02ab\x00\x00\x00\x05\x00\x01xyz"))
	f.Fuzz(func(t *testing.T, max uint16, in []byte) {
		var b Buffer
		b.Init(int(max))
		limit := int(max)
		if limit <= 0 {
			limit = DefaultMax
		}
		// Each record: seq (4), flags (1), consume (1), length (2), data.
		for len(in) >= 8 {
			seq := binary.BigEndian.Uint32(in)
			flags, consume := in[4], int(in[5])
			n := min(int(binary.BigEndian.Uint16(in[6:])), len(in)-8)
			b.Add(seq, flags, in[8:8+n])
			in = in[8+n:]
			if len(b.Bytes()) > limit || b.total() > limit {
				t.Fatalf("%d in order + %d held exceed max %d", len(b.Bytes()), b.heldBytes, limit)
			}
			b.Consume(consume)
		}
	})
}

func BenchmarkBuffer(b *testing.B) {
	for _, reorder := range []bool{false, true} {
		b.Run(fmt.Sprintf("reorder=%v", reorder), func(b *testing.B) {
			var buf Buffer
			buf.Init(0)
			payload := make([]byte, 1400)
			buf.Add(0, flagSYN, nil)
			seq := uint32(1)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s := seq
				if reorder && i&1 == 0 {
					s += 1400 // even segments arrive one early
				} else if reorder {
					s -= 1400
				}
				buf.Add(s, 0, payload)
				seq += 1400
				if len(buf.Bytes()) > 32<<10 {
					buf.Consume(len(buf.Bytes()))
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

package parquetout

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/klauspost/compress/huff0"
)

// Two kinds of page skip the zstd encoder's match search, which is most of
// what compressing a page costs, and are written as zstd frames built
// here (RFC 8878), which every zstd decoder reads:
//
//   - a page that does not compress (delta-packed times and ports, bytes
//     of addresses) is stored in raw blocks: the encoder searched it for
//     matches only to store it raw anyway;
//   - a page of fixed-width records with a constant prefix and suffix
//     (community IDs: a 4-byte length and "1:", 27 base64 characters,
//     "=") is written as the encoder would write it, at a fraction of its
//     cost: the varying bytes Huffman coded, the constant bytes between
//     two records' varying ones a match one record back. The encoder finds
//     the same matches by hashing every position.

const (
	zstdMagic    = 0xFD2FB528
	zstdBlockMax = 128 << 10 // Block_Maximum_Size

	blockRaw        = 0
	blockCompressed = 2

	litRaw        = 0
	litCompressed = 2

	// symbolModesRLE sets the literal length, offset and match length
	// tables of a sequences section to RLE mode: every sequence has the
	// same codes, so the tables cost a byte each and the states no bits.
	symbolModesRLE = 1<<6 | 1<<4 | 1<<2
)

// appendFrameHeader appends the header of a single-segment frame of size
// decompressed bytes, without checksum or dictionary.
func appendFrameHeader(dst []byte, size int) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, zstdMagic)
	if uint64(size) <= 0xFFFFFFFF {
		// Frame_Content_Size_flag 2 (4 bytes), Single_Segment_flag.
		return binary.LittleEndian.AppendUint32(append(dst, 2<<6|1<<5), uint32(size))
	}
	return binary.LittleEndian.AppendUint64(append(dst, 3<<6|1<<5), uint64(size))
}

func appendBlockHeader(dst []byte, last bool, typ, size int) []byte {
	h := uint32(size)<<3 | uint32(typ)<<1
	if last {
		h |= 1
	}
	return append(dst, byte(h), byte(h>>8), byte(h>>16))
}

// appendStoredFrame appends src as a frame of raw blocks.
func appendStoredFrame(dst, src []byte) []byte {
	dst = appendFrameHeader(dst, len(src))
	for {
		n := min(len(src), zstdBlockMax)
		dst = appendBlockHeader(dst, n == len(src), blockRaw, n)
		dst = append(dst, src[:n]...)
		src = src[n:]
		if len(src) == 0 {
			return dst
		}
	}
}

// recordsFrame writes pages of fixed-width records; its buffers are reused
// from page to page.
type recordsFrame struct {
	huff huff0.Scratch
	lits []byte
}

// encode appends body, len(body)/width records of width bytes, as a zstd
// frame that codes the bytes all records share at their start and end as
// matches, and false if the page is not such records (or too few to be
// worth it): the caller compresses it as any other.
//
// The frame is a first block of records 1 and 2 and the prefix of record
// 3 as raw literals, then a match of the suffix and prefix one record
// back; then blocks of sequences that each take one record's varying bytes
// as Huffman coded literals and repeat that match; the last record's
// varying bytes and suffix end the last block's literals.
func (f *recordsFrame) encode(dst, body []byte, width int) ([]byte, bool) {
	if width <= 0 || len(body)%width != 0 || len(body)/width < 4 || 2*width+width > zstdBlockMax {
		return dst, false
	}
	n := len(body) / width
	pre, suf := commonAffixes(body, width)
	vary := width - pre - suf
	// A match is at least 3 bytes; a record with no varying bytes would
	// make the sequences' repeat offset mean another one.
	if pre+suf < 3 || vary < 1 {
		return dst, false
	}
	match := pre + suf
	dst = appendFrameHeader(dst, len(body))

	// Block 1: literals up to record 2's varying bytes, then the match
	// at an explicit offset of one record, which later sequences repeat.
	first := width + pre + vary
	dst = appendBlockHeader(dst, false, blockCompressed, 0)
	start := len(dst)
	dst = appendRawLiterals(dst, body[:first])
	dst = appendSequences(dst, 1, first, match, width+3)
	setBlockSize(dst[start-3:], len(dst)-start)

	// Sequence k (records 3 to n-1) is record k's varying bytes and the
	// match of its suffix and record k+1's prefix; each produces width
	// bytes. A block takes as many as fit with the last record's tail.
	// (The slack keeps a block under the maximum even if its literals
	// stay raw: its headers and bitstream then add a few bytes.)
	perBlock := (zstdBlockMax - width - 64) / width
	for k := 2; k < n-1; {
		seqs := min(perBlock, n-1-k)
		last := k+seqs == n-1
		f.lits = f.lits[:0]
		for r := k; r < k+seqs; r++ {
			off := r*width + pre
			f.lits = append(f.lits, body[off:off+vary]...)
		}
		if last {
			f.lits = append(f.lits, body[(n-1)*width+pre:]...)
		}
		dst = appendBlockHeader(dst, last, blockCompressed, 0)
		start := len(dst)
		dst = f.appendLiterals(dst, f.lits)
		// Offset_Value 1: the repeat offset, one record.
		dst = appendSequences(dst, seqs, vary, match, 1)
		setBlockSize(dst[start-3:], len(dst)-start)
		k += seqs
	}
	return dst, true
}

// commonAffixes returns how many bytes every record of body shares with
// the first at its start and at its end.
func commonAffixes(body []byte, width int) (pre, suf int) {
	rec0 := body[:width]
	pre, suf = width, width
	for off := width; off < len(body) && pre+suf > 0; off += width {
		rec := body[off : off+width]
		// Most records keep both: one compare each, not a loop a byte.
		if !bytes.Equal(rec[:pre], rec0[:pre]) {
			p := 0
			for rec[p] == rec0[p] {
				p++
			}
			pre = p
		}
		if !bytes.Equal(rec[width-suf:], rec0[width-suf:]) {
			s := 0
			for rec[width-1-s] == rec0[width-1-s] {
				s++
			}
			suf = s
		}
	}
	if pre+suf > width { // all records alike: split the overlap
		suf = width - pre
	}
	return pre, suf
}

func setBlockSize(hdr []byte, size int) {
	h := uint32(hdr[0]) | uint32(size)<<3
	hdr[0], hdr[1], hdr[2] = byte(h), byte(h>>8), byte(h>>16)
}

// appendRawLiterals appends a literals section that stores lits as they
// are (at most 1 MiB).
func appendRawLiterals(dst, lits []byte) []byte {
	n := uint32(len(lits))
	switch {
	case n < 32:
		dst = append(dst, byte(n<<3|litRaw))
	case n < 4096:
		dst = append(dst, byte(n<<4|1<<2|litRaw), byte(n>>4))
	default:
		dst = append(dst, byte(n<<4|3<<2|litRaw), byte(n>>4), byte(n>>12))
	}
	return append(dst, lits...)
}

// appendLiterals appends a literals section of lits, Huffman coded in four
// streams when that makes it smaller.
func (f *recordsFrame) appendLiterals(dst, lits []byte) []byte {
	if len(lits) < 1024 {
		return appendRawLiterals(dst, lits)
	}
	f.huff.Reuse = huff0.ReusePolicyNone
	out, _, err := huff0.Compress4X(lits, &f.huff)
	if err != nil || len(out)+5 >= len(lits) {
		return appendRawLiterals(dst, lits)
	}
	// Size_Format by the wider of the two sizes: 10, 14 or 18 bits each.
	regen, comp := uint64(len(lits)), uint64(len(out))
	var h uint64
	var size int
	switch w := max(bits.Len64(regen), bits.Len64(comp)); {
	case w <= 10:
		h, size = 1<<2|regen<<4|comp<<14, 3
	case w <= 14:
		h, size = 2<<2|regen<<4|comp<<18, 4
	default:
		h, size = 3<<2|regen<<4|comp<<22, 5
	}
	h |= litCompressed
	for i := range size {
		dst = append(dst, byte(h>>(8*i)))
	}
	return append(dst, out...)
}

// appendSequences appends a sequences section of n identical sequences:
// lits literals, then a match of length match at Offset_Value offset (an
// offset plus 3, or 1 to 3 for a repeat offset).
func appendSequences(dst []byte, n, lits, match, offset int) []byte {
	switch {
	case n < 128:
		dst = append(dst, byte(n))
	case n < 0x7F00:
		dst = append(dst, byte(n>>8+128), byte(n))
	default:
		dst = append(dst, 255, byte(n-0x7F00), byte((n-0x7F00)>>8))
	}
	llCode, llBits, llExtra := lengthCode(litLengthBase[:], lits)
	mlCode, mlBits, mlExtra := lengthCode(matchLengthBase[:], match)
	ofCode := bits.Len32(uint32(offset)) - 1
	ofExtra := uint64(offset) - 1<<ofCode
	dst = append(dst, symbolModesRLE, byte(llCode), byte(ofCode), byte(mlCode))
	// The bitstream is read backward, each sequence's offset, match length
	// and literal length extra bits in turn; RLE states take no bits. All
	// sequences are alike, so their order does not matter.
	var acc uint64
	var nb uint
	put := func(v uint64, w uint) {
		acc |= v << nb
		nb += w
		for nb >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			nb -= 8
		}
	}
	for range n {
		put(llExtra, llBits)
		put(mlExtra, mlBits)
		put(ofExtra, uint(ofCode))
	}
	put(1, 1) // the end mark
	if nb > 0 {
		dst = append(dst, byte(acc))
	}
	return dst
}

// codeBase is a literal or match length code: its baseline and how many
// extra bits add to it.
type codeBase struct {
	base uint32
	bits uint8
}

// The literal and match length codes of RFC 8878, 3.1.1.3.2.1.1.
var (
	litLengthBase = func() (t [36]codeBase) {
		for i := range 16 {
			t[i] = codeBase{uint32(i), 0}
		}
		copy(t[16:], []codeBase{{16, 1}, {18, 1}, {20, 1}, {22, 1}, {24, 2}, {28, 2}, {32, 3}, {40, 3},
			{48, 4}, {64, 6}, {128, 7}, {256, 8}, {512, 9}, {1024, 10}, {2048, 11}, {4096, 12},
			{8192, 13}, {16384, 14}, {32768, 15}, {65536, 16}})
		return t
	}()
	matchLengthBase = func() (t [53]codeBase) {
		for i := range 32 {
			t[i] = codeBase{uint32(i + 3), 0}
		}
		copy(t[32:], []codeBase{{35, 1}, {37, 1}, {39, 1}, {41, 1}, {43, 2}, {47, 2}, {51, 3}, {59, 3},
			{67, 4}, {83, 4}, {99, 5}, {131, 7}, {259, 8}, {515, 9}, {1027, 10}, {2051, 11},
			{4099, 12}, {8195, 13}, {16387, 14}, {32771, 15}, {65539, 16}})
		return t
	}()
)

// lengthCode returns the code of length v in table t, its extra bits and
// their value.
func lengthCode(t []codeBase, v int) (code int, width uint, extra uint64) {
	for code = len(t) - 1; code > 0 && t[code].base > uint32(v); code-- {
	}
	return code, uint(t[code].bits), uint64(uint32(v) - t[code].base)
}

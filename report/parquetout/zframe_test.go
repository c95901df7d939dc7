package parquetout

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// communityIDPage returns a plain BYTE_ARRAY page of n community IDs, as
// flows.parquet and dns.parquet store them.
func communityIDPage(rng *rand.Rand, n int) []byte {
	var page []byte
	hash := make([]byte, 20)
	for range n {
		for i := range hash {
			hash[i] = byte(rng.Uint32())
		}
		v := "1:" + base64.StdEncoding.EncodeToString(hash)
		page = binary.LittleEndian.AppendUint32(page, uint32(len(v)))
		page = append(page, v...)
	}
	return page
}

// recordPages are pages of fixed-width records around the frame's limits:
// too few records, one block, many blocks, records as wide as a frame
// allows, and records without a constant part.
func recordPages(t *testing.T) []struct {
	name  string
	body  []byte
	width int
	ok    bool // written by recordsFrame, not the encoder
} {
	rng := rand.New(rand.NewPCG(5, 6))
	records := func(n, pre, vary, suf int, alphabet int) []byte {
		p, s := make([]byte, pre), make([]byte, suf)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		for i := range s {
			s[i] = byte(rng.Uint32())
		}
		var b []byte
		for range n {
			b = append(b, p...)
			for range vary {
				b = append(b, byte('a'+rng.IntN(alphabet)))
			}
			b = append(b, s...)
		}
		return b
	}
	type page = struct {
		name  string
		body  []byte
		width int
		ok    bool
	}
	pages := []page{
		{"community ids", communityIDPage(rng, 16<<10), 34, true},
		{"three records", communityIDPage(rng, 3), 34, false},
		{"four records", communityIDPage(rng, 4), 34, true},
		{"five records", communityIDPage(rng, 5), 34, true},
		{"a block and one", communityIDPage(rng, (zstdBlockMax-34-64)/34+3), 34, true},
		{"a block and two", communityIDPage(rng, (zstdBlockMax-34-64)/34+4), 34, true},
		{"one varying byte", records(5000, 2, 1, 1, 26), 4, true},
		{"four tiny records", records(4, 2, 1, 1, 26), 4, true},
		{"a long sequence count", records(40000, 2, 1, 1, 26), 4, true},
		{"prefix only", records(5000, 3, 9, 0, 4), 12, true},
		{"suffix only", records(5000, 0, 9, 3, 26), 12, true},
		{"two shared bytes", records(5000, 1, 9, 1, 26), 11, false},
		{"long literals", records(200, 6, 20000, 1, 3), 20007, true},
		{"too wide", records(10, 6, 50000, 1, 3), 50007, false},
		{"long match", records(3000, 300, 10, 300, 26), 610, true},
		{"incompressible", records(5000, 4, 60, 2, 256), 66, true},
		{"small literals", records(40, 4, 3, 2, 26), 9, true},
	}
	same := bytes.Repeat(communityIDPage(rng, 1), 100)
	pages = append(pages, page{"all alike", same, 34, false})
	return pages
}

// TestRecordsFrame checks that pages of fixed-width records come back
// byte for byte from the frames recordsFrame writes, through the zstd
// decoder readers of parquet-go use and through the zstd command (the
// reference library DuckDB and Arrow use), and that community IDs
// compress as well as the encoder compresses them.
func TestRecordsFrame(t *testing.T) {
	c, err := newZstdCodec(zstd.EncoderLevelFromZstd(DefaultCompressionLevel))
	if err != nil {
		t.Fatal(err)
	}
	zstdCmd := zstdCommand(t)
	dir := t.TempDir()
	for i, p := range recordPages(t) {
		t.Run(p.name, func(t *testing.T) {
			rec, ok := c.records.encode(nil, p.body, p.width)
			if ok != p.ok {
				t.Fatalf("written as records: %v, want %v", ok, p.ok)
			}
			out := c.encodeRecords(nil, p.body, p.width)
			if ok && !bytes.Equal(out, rec) {
				t.Fatal("encodeRecords did not write the records frame")
			}
			back, err := c.Decode(nil, out)
			if err != nil || !bytes.Equal(back, p.body) {
				t.Fatalf("page does not survive a round trip (%v)", err)
			}
			if p.name == "community ids" {
				plain, _ := c.Encode(nil, p.body)
				if len(out) > len(plain)+len(plain)/50 {
					t.Errorf("%d bytes, the encoder's %d", len(out), len(plain))
				}
				t.Logf("%d bytes of %d, the encoder's %d", len(out), len(p.body), len(plain))
			}
			if zstdCmd == "" {
				return
			}
			f := filepath.Join(dir, fmt.Sprint(i, ".zst"))
			if err := os.WriteFile(f, out, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := exec.Command(zstdCmd, "-d", "-c", "-q", f).Output()
			if err != nil || !bytes.Equal(got, p.body) {
				t.Fatalf("zstd -d: %v, equal %v", err, bytes.Equal(got, p.body))
			}
		})
	}
}

// TestStoredFrame checks the frames of stored pages, at block boundaries.
func TestStoredFrame(t *testing.T) {
	c, err := newZstdCodec(zstd.EncoderLevelFromZstd(DefaultCompressionLevel))
	if err != nil {
		t.Fatal(err)
	}
	zstdCmd := zstdCommand(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, zstdBlockMax - 1, zstdBlockMax, zstdBlockMax + 1, 3*zstdBlockMax + 5} {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(rng.Uint32())
		}
		out := appendStoredFrame([]byte("x"), body)
		if out[0] != 'x' {
			t.Fatal("dst overwritten")
		}
		back, err := c.Decode(nil, out[1:])
		if err != nil || !bytes.Equal(back, body) {
			t.Fatalf("%d bytes: no round trip (%v)", n, err)
		}
		if zstdCmd == "" {
			continue
		}
		f := filepath.Join(t.TempDir(), "p.zst")
		if err := os.WriteFile(f, out[1:], 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := exec.Command(zstdCmd, "-d", "-c", "-q", f).Output()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%d bytes: zstd -d: %v", n, err)
		}
	}
}

// TestChunkStoresIncompressible checks that a chunk whose first page does
// not compress stores its other pages, that the next chunk decides anew,
// and that a small first page decides nothing.
func TestChunkStoresIncompressible(t *testing.T) {
	c, err := newZstdCodec(zstd.EncoderLevelFromZstd(DefaultCompressionLevel))
	if err != nil {
		t.Fatal(err)
	}
	w := &flowWriter{out: bufio.NewWriter(io.Discard), codec: c}
	rng := rand.New(rand.NewPCG(9, 10))
	noise := make([]byte, 64<<10)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	zeros := make([]byte, 64<<10)
	var p chunkPages
	size := func(body []byte) int {
		t.Helper()
		if err := p.addDataPage(w, body, len(body), 0, format.Plain); err != nil {
			t.Fatal(err)
		}
		page := p.pages[len(p.pages)-1]
		back, err := c.Decode(nil, page[len(page)-len(w.comp):])
		if err != nil || !bytes.Equal(back, body) {
			t.Fatalf("page does not survive a round trip (%v)", err)
		}
		return len(w.comp)
	}
	if n := size(noise); n < len(noise) {
		t.Fatalf("noise compressed to %d", n)
	}
	if !p.stored {
		t.Fatal("an incompressible first page did not make the chunk stored")
	}
	if n := size(zeros); n < len(zeros) {
		t.Errorf("a page after an incompressible first page was compressed to %d", n)
	}
	if err := p.writeTo(w); err != nil {
		t.Fatal(err)
	}
	if n := size(zeros); n > 1000 {
		t.Errorf("the next chunk's first page was not compressed: %d bytes", n)
	}
	if p.stored {
		t.Error("a compressible first page made the chunk stored")
	}
	if err := p.writeTo(w); err != nil {
		t.Fatal(err)
	}
	size(noise[:storeProbeBytes-1])
	if p.stored {
		t.Error("a first page smaller than storeProbeBytes decided")
	}
}

// FuzzRecordsFrame checks that any page, cut into records of any width,
// comes back byte for byte from what encodeRecords writes.
func FuzzRecordsFrame(f *testing.F) {
	rng := rand.New(rand.NewPCG(13, 14))
	f.Add(communityIDPage(rng, 40), 34)
	f.Add(bytes.Repeat([]byte("abcdefgh"), 50), 8)
	f.Add([]byte("\x01\x00\x00x\x01\x00\x00y\x01\x00\x00z\x01\x00\x00w"), 4)
	c, err := newZstdCodec(zstd.EncoderLevelFromZstd(DefaultCompressionLevel))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, width int) {
		out := c.encodeRecords(nil, body, width)
		back, err := c.Decode(nil, out)
		if err != nil || !bytes.Equal(back, body) {
			t.Fatalf("width %d, %d bytes: no round trip (%v)", width, len(body), err)
		}
	})
}

// zstdCommand is the reference zstd command's path, "" when it is not
// installed; under AUDITOR_E2E=require (CI) its absence is a failure,
// since it is the libzstd check of the frames the writer builds itself.
func zstdCommand(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("zstd")
	if err != nil && os.Getenv("AUDITOR_E2E") == "require" {
		t.Fatalf("zstd command not found (AUDITOR_E2E=require): %v", err)
	}
	return p
}

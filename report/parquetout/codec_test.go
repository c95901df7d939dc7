package parquetout

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestZstdCodecHashes checks that pages of community IDs, base64 hashes
// with no repeats to find, are still entropy coded at every level rather
// than stored raw: they are half of flows.parquet.
func TestZstdCodecHashes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var page []byte
	hash := make([]byte, 20)
	for len(page) < 256<<10 {
		for i := range hash {
			hash[i] = byte(rng.Uint32())
		}
		page = append(page, "1:"+base64.StdEncoding.EncodeToString(hash)...)
	}
	for _, level := range []int{DefaultCompressionLevel, 3, 19} {
		c, err := newZstdCodec(zstd.EncoderLevelFromZstd(level))
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Encode(nil, page)
		if err != nil {
			t.Fatal(err)
		}
		// Huffman coding a 64-symbol alphabet gets 6 bits of 8.
		if ratio := float64(len(out)) / float64(len(page)); ratio > 0.78 {
			t.Errorf("level %d: compressed to %.2f of the page, want at most 0.78", level, ratio)
		}
		back, err := c.Decode(nil, out)
		if err != nil || !bytes.Equal(back, page) {
			t.Errorf("level %d: page does not survive a round trip (%v)", level, err)
		}
	}
}

package parquetout

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// zstdWindow bounds how far back the encoder looks. parquet-go compresses
// one page at a time, and pages stay under a megabyte (256 KiB data pages,
// dictionaries capped at dictionaryMaxBytes), so a larger window finds no
// more matches; it only costs memory.
const zstdWindow = dictionaryMaxBytes

// zstdCodec is the ZSTD page codec, with one encoder that lives as long as
// the file. parquet-go's own codec keeps its encoders in a sync.Pool, which
// the collector empties at every cycle: each cycle then allocated fresh
// encoders with 16 MiB of history apiece (an 8 MiB default window, twice),
// about a third of the live heap on the benchmark replay, and every one of
// those pages was touched anew.
type zstdCodec struct {
	enc     *zstd.Encoder
	records recordsFrame // pages of fixed-width records (zframe.go)

	decOnce sync.Once
	dec     *zstd.Decoder
	decErr  error
}

func newZstdCodec(level zstd.EncoderLevel) (*zstdCodec, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(level),
		// Text columns with few matches to find (names, base64 of
		// hashes) still Huffman code well. Below level 6 the encoder
		// stores such match-less blocks raw unless told to entropy code
		// them; with it, the fastest level got community_id (before
		// recordsFrame wrote it) to 75% at 750 MB/s, where level 3
		// searched for matches at 80 MB/s to reach 74%.
		zstd.WithAllLitEntropyCompression(true),
		// EncodeAll is safe for concurrent use: callers take turns.
		zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(zstdWindow),
		zstd.WithLowerEncoderMem(true),
		zstd.WithZeroFrames(true),
		zstd.WithEncoderCRC(false),
	)
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	return &zstdCodec{enc: enc}, nil
}

func (c *zstdCodec) String() string { return "ZSTD" }

func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	return c.enc.EncodeAll(src, dst[:0]), nil
}

// encodeRecords is Encode for a page of fixed-width records, which it
// writes without a match search when they share a prefix and suffix
// (see recordsFrame).
func (c *zstdCodec) encodeRecords(dst, src []byte, width int) []byte {
	if out, ok := c.records.encode(dst[:0], src, width); ok {
		return out
	}
	return c.enc.EncodeAll(src, dst[:0])
}

// Decode is part of the codec interface; writers never call it.
func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	c.decOnce.Do(func() { c.dec, c.decErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1)) })
	if c.decErr != nil {
		return nil, c.decErr
	}
	return c.dec.DecodeAll(src, dst[:0])
}

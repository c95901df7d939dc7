package parquetout

import (
	"bytes"
	"math"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// appendPageHeader writes the bytes thrift.Marshal writes, for data and
// dictionary page headers of any sizes, counts and encodings, and
// declines the shapes it does not write.
func TestAppendPageHeaderMatchesThrift(t *testing.T) {
	sizes := []int32{-1, 0, 1, 63, 64, 127, 128, 8191, 1 << 20, math.MaxInt32}
	encs := []format.Encoding{format.Plain, format.RLE, format.RLEDictionary, format.DeltaBinaryPacked}
	var headers []format.PageHeader
	for _, n := range sizes {
		for _, e := range encs {
			headers = append(headers,
				format.PageHeader{
					Type: format.DataPage, UncompressedPageSize: n, CompressedPageSize: n / 3,
					DataPageHeader: thrift.New(format.DataPageHeader{
						NumValues: n / 7, Encoding: e, DefinitionLevelEncoding: format.RLE, RepetitionLevelEncoding: format.RLE,
					}),
				},
				format.PageHeader{
					Type: format.DictionaryPage, UncompressedPageSize: n / 5, CompressedPageSize: n,
					DictionaryPageHeader: thrift.New(format.DictionaryPageHeader{NumValues: n, Encoding: e}),
				})
		}
	}
	for i := range headers {
		want, err := thrift.Marshal(new(thrift.CompactProtocol), &headers[i])
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendPageHeader([]byte("x"), &headers[i])
		if !ok || !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("header %+v:\n got %x (%v)\nwant %x", headers[i], got, ok, want)
		}
	}
	declined := []format.PageHeader{
		{Type: format.DataPage, CRC: 7, DataPageHeader: thrift.New(format.DataPageHeader{NumValues: 1})},
		{Type: format.DataPage, DataPageHeader: thrift.New(format.DataPageHeader{NumValues: 1, Statistics: format.Statistics{NullCount: 1}})},
		{Type: format.DictionaryPage, DictionaryPageHeader: thrift.New(format.DictionaryPageHeader{NumValues: 1, IsSorted: true})},
		{Type: format.DataPageV2, DataPageHeaderV2: thrift.New(format.DataPageHeaderV2{NumValues: 1})},
		{Type: format.DictionaryPage, DataPageHeader: thrift.New(format.DataPageHeader{NumValues: 1})},
		{Type: format.DataPage},
		// Both sub-headers: thrift writes both, so must the fallback.
		{Type: format.DataPage, DataPageHeader: thrift.New(format.DataPageHeader{NumValues: 1}),
			DictionaryPageHeader: thrift.New(format.DictionaryPageHeader{NumValues: 1})},
		{Type: format.DictionaryPage, DataPageHeader: thrift.New(format.DataPageHeader{NumValues: 1, Statistics: format.Statistics{NullCount: 4}}),
			DictionaryPageHeader: thrift.New(format.DictionaryPageHeader{NumValues: 1})},
	}
	for i := range declined {
		if _, ok := appendPageHeader(nil, &declined[i]); ok {
			t.Errorf("header %+v: written, want declined", declined[i])
		}
	}
}

func BenchmarkPageHeader(b *testing.B) {
	h := format.PageHeader{
		Type: format.DataPage, UncompressedPageSize: 32768, CompressedPageSize: 20447,
		DataPageHeader: thrift.New(format.DataPageHeader{
			NumValues: 8192, Encoding: format.Plain, DefinitionLevelEncoding: format.RLE, RepetitionLevelEncoding: format.RLE,
		}),
	}
	b.Run("thrift", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := thrift.Marshal(new(thrift.CompactProtocol), &h); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var dst []byte
		for b.Loop() {
			dst, _ = appendPageHeader(dst[:0], &h)
		}
	})
}

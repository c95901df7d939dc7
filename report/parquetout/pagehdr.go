package parquetout

import (
	"encoding/binary"

	"github.com/parquet-go/parquet-go/format"
)

// appendPageHeader appends h in the Thrift compact protocol, the bytes
// thrift.Marshal writes, for the two shapes of header the column writers
// make: a version 1 data page or a dictionary page, without CRC,
// statistics or sort flag. thrift.Marshal walks the header by reflection
// each page, a few hundred times a file; false for any other shape, which
// the caller then marshals.
func appendPageHeader(dst []byte, h *format.PageHeader) ([]byte, bool) {
	if h.CRC != 0 || h.IndexPageHeader.Valid || h.DataPageHeaderV2.Valid ||
		h.DataPageHeader.Valid && h.DictionaryPageHeader.Valid {
		return dst, false
	}
	var dataPage, dictPage bool
	if h.DataPageHeader.Valid {
		d := &h.DataPageHeader.V
		dataPage = h.Type == format.DataPage && emptyStatistics(&d.Statistics)
	}
	if h.DictionaryPageHeader.Valid {
		dictPage = h.Type == format.DictionaryPage && !h.DictionaryPageHeader.V.IsSorted
	}
	if dataPage == dictPage {
		return dst, false
	}
	// Fields 1 to 3: type, uncompressed and compressed size.
	dst = appendCompactI32(dst, 1, int32(h.Type))
	dst = appendCompactI32(dst, 1, h.UncompressedPageSize)
	dst = appendCompactI32(dst, 1, h.CompressedPageSize)
	if dataPage {
		d := &h.DataPageHeader.V
		dst = append(dst, 2<<4|compactStruct) // field 5
		dst = appendCompactI32(dst, 1, d.NumValues)
		dst = appendCompactI32(dst, 1, int32(d.Encoding))
		dst = appendCompactI32(dst, 1, int32(d.DefinitionLevelEncoding))
		dst = appendCompactI32(dst, 1, int32(d.RepetitionLevelEncoding))
		// Statistics (field 5) is written even when empty, with its
		// null count (field 3), which is written even when zero.
		dst = append(dst, 1<<4|compactStruct, 3<<4|compactI64, 0, compactStop)
		return append(dst, compactStop, compactStop), true
	}
	d := &h.DictionaryPageHeader.V
	dst = append(dst, 4<<4|compactStruct) // field 7
	dst = appendCompactI32(dst, 1, d.NumValues)
	dst = appendCompactI32(dst, 1, int32(d.Encoding))
	return append(dst, compactStop, compactStop), true
}

// Compact protocol field types.
const (
	compactStop   = 0
	compactI32    = 5
	compactI64    = 6
	compactStruct = 12
)

// appendCompactI32 appends an i32 field delta ids after the previous one:
// its header, then its value zigzag coded as a varint.
func appendCompactI32(dst []byte, delta int, v int32) []byte {
	dst = append(dst, byte(delta<<4|compactI32))
	return binary.AppendUvarint(dst, uint64(uint32(v<<1)^uint32(v>>31)))
}

// emptyStatistics reports whether s has no field set.
func emptyStatistics(s *format.Statistics) bool {
	return s.Max == nil && s.Min == nil && s.NullCount == 0 && s.DistinctCount == 0 && s.MaxValue == nil && s.MinValue == nil
}

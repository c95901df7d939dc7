package parquetout

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strings"
	"unsafe"

	"github.com/ccaudit/auditor/report/safetext"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// flows.parquet, the one table written at packet rate, has an encoder of
// its own; the other tables keep parquet-go's writer. parquet-go reaches
// a row's values through closures built by reflection, a pointer for each
// optional column (see wire.go), and keeps a row group's values before
// encoding them. flowWriter appends each field to a typed column, looks
// dictionary values up as the row comes, and encodes and compresses a page
// as soon as its rows are in.
//
// FlowRow declares the columns; nothing here names one. The typed columns
// and the code that adds a row to them (flowColumns, flowcols_gen.go) are
// generated from FlowRow's fields by internal/schemagen, and each column's
// encoding and nullability are read from its tag when the writer starts
// (takeFooter), so the per-row path has no reflection.
//
// The files are what parquet-go wrote. The schema, column orders, format
// version, created_by and key/value metadata come from the footer of an
// empty file parquet-go writes with the same options; each column keeps
// its encoding (dictionary, delta or plain), ZSTD pages and chunk
// statistics. Pages are version 1 data pages, which every reader reads;
// the page index, which only speeds up point lookups, is not written.
// TestFlowWriterMatchesParquetGo compares the rows, schema, metadata and
// statistics of both writers' files, and TestDuckDB has DuckDB compare
// their rows value for value.

// flowPageRows bounds a data page: pages of 16Ki rows stay under half a
// megabyte uncompressed (community_id is the widest column), small enough
// for a reader to decompress page by page.
const flowPageRows = 16 << 10

// flowWriter writes FlowRows to flows.parquet.
type flowWriter struct {
	out      *bufio.Writer
	off      int64 // bytes written so far
	codec    *zstdCodec
	maxGroup int
	meta     format.FileMetaData // schema and metadata; row groups as written
	n        int                 // rows in the row group being built

	flowColumns // generated from FlowRow (flowcols_gen.go)

	cols []flowColumn // in schema order

	page, comp []byte // scratch: a page being encoded, compressed
	hdr        []byte // scratch: a page's header
}

// flowColumn is one column of flows.parquet.
type flowColumn interface {
	name() string
	physical() format.Type
	// encode sets the column's encoding and nullability from its schema
	// field; false if the column cannot have them.
	encode(optional, dict, delta bool) bool
	// flushPage encodes the rows added since the last page as a data
	// page, compressed and kept in the column's chunk.
	flushPage(w *flowWriter) error
	// chunk writes the column chunk of the row group at w's offset and
	// empties the column.
	chunk(w *flowWriter) (format.ColumnChunk, error)
}

func newFlowWriter(f io.Writer, opts []parquet.WriterOption, s tableSettings) (*flowWriter, error) {
	w := &flowWriter{out: bufio.NewWriterSize(f, 1<<20), codec: s.codec, maxGroup: s.rowGroupRows}
	// The columns' encodings and nullability are flowWire's tags, set by
	// takeFooter.
	w.cols = w.flowColumns.list()
	if err := w.takeFooter(opts); err != nil {
		return nil, err
	}
	// The pages' buffers are sized once: grown by doubling, each step
	// was fresh memory to fault in.
	pageRows := min(flowPageRows, max(w.maxGroup, 1))
	for _, c := range w.cols {
		switch c := c.(type) {
		case *int64Column:
			c.vals = make([]int64, 0, pageRows)
		case *int32Column:
			c.vals = make([]int32, 0, pageRows)
		case *stringColumn:
			if c.dict {
				c.idx = make([]int32, 0, pageRows)
			} else {
				c.vals = make([]string, 0, pageRows)
			}
		}
	}

	if _, err := w.out.WriteString("PAR1"); err != nil {
		return nil, err
	}
	w.off = 4
	return w, nil
}

// takeFooter fills w.meta from the footer of an empty file that
// parquet-go writes with opts, checks that its columns are w's, and gives
// each column the encoding and nullability of its tag in FlowRow (as
// flowWire, generated from it, carries them).
func (w *flowWriter) takeFooter(opts []parquet.WriterOption) error {
	var buf bytes.Buffer
	pw := parquet.NewGenericWriter[flowWire](&buf, append(slices.Clip(opts), parquet.NewSchema("FlowRow", parquet.SchemaOf(new(flowWire))))...)
	if err := pw.Close(); err != nil {
		return fmt.Errorf("flows schema: %w", err)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		return fmt.Errorf("flows schema: %w", err)
	}
	md := pf.Metadata()
	w.meta = format.FileMetaData{
		Version:          md.Version,
		Schema:           slices.Clone(md.Schema),
		KeyValueMetadata: slices.Clone(md.KeyValueMetadata),
		CreatedBy:        md.CreatedBy,
		ColumnOrders:     slices.Clone(md.ColumnOrders),
	}
	leaves := w.meta.Schema[1:]
	// The encodings are not in a file's schema, only in its chunks: they
	// come from the struct's tags.
	fields := parquet.SchemaOf(new(flowWire)).Fields()
	if len(leaves) != len(w.cols) || len(fields) != len(w.cols) {
		return fmt.Errorf("flows schema: %d columns, the encoder has %d", len(leaves), len(w.cols))
	}
	for i, c := range w.cols {
		if typ, ok := leaves[i].Type.Get(); leaves[i].Name != c.name() || fields[i].Name() != c.name() || !ok || typ != c.physical() {
			return fmt.Errorf("flows schema: column %d is %s, the encoder's is %s", i, leaves[i].Name, c.name())
		}
		var dict, delta bool
		if enc := fields[i].Encoding(); enc != nil {
			//lint:ignore SA1019 a schema may still name PLAIN_DICTIONARY, the deprecated spelling of a dictionary column
			dict = enc.Encoding() == format.RLEDictionary || enc.Encoding() == format.PlainDictionary
			delta = enc.Encoding() == format.DeltaBinaryPacked
		}
		if !c.encode(fields[i].Optional(), dict, delta) {
			return fmt.Errorf("flows schema: column %s: the encoder cannot write its encoding", c.name())
		}
	}
	return nil
}

func (w *flowWriter) write(rows []FlowRow) error {
	for i := range rows {
		if err := w.writeRow(&rows[i]); err != nil {
			return err
		}
	}
	return nil
}

// writeRow adds a row; TableWriter calls it for each row it is given.
func (w *flowWriter) writeRow(row *FlowRow) error {
	w.flowColumns.add(row)
	w.n++
	if w.n%flowPageRows == 0 || w.n == w.maxGroup {
		for _, c := range w.cols {
			if err := c.flushPage(w); err != nil {
				return fmt.Errorf("column %s: %w", c.name(), err)
			}
		}
	}
	if w.n == w.maxGroup {
		return w.flushGroup()
	}
	return nil
}

// flushGroup writes the buffered rows as a row group.
func (w *flowWriter) flushGroup() error {
	if w.n == 0 {
		return nil
	}
	rg := format.RowGroup{NumRows: int64(w.n), FileOffset: w.off, Ordinal: int16(len(w.meta.RowGroups))}
	for _, c := range w.cols {
		if err := c.flushPage(w); err != nil {
			return fmt.Errorf("column %s: %w", c.name(), err)
		}
		cc, err := c.chunk(w)
		if err != nil {
			return fmt.Errorf("column %s: %w", c.name(), err)
		}
		rg.TotalByteSize += cc.MetaData.TotalUncompressedSize
		rg.TotalCompressedSize += cc.MetaData.TotalCompressedSize
		rg.Columns = append(rg.Columns, cc)
	}
	w.meta.RowGroups = append(w.meta.RowGroups, rg)
	w.meta.NumRows += int64(w.n)
	w.n = 0
	return nil
}

func (w *flowWriter) setKeyValueMetadata(key, value string) {
	for i := range w.meta.KeyValueMetadata {
		if w.meta.KeyValueMetadata[i].Key == key {
			w.meta.KeyValueMetadata[i].Value = value
			return
		}
	}
	w.meta.KeyValueMetadata = append(w.meta.KeyValueMetadata, format.KeyValue{Key: key, Value: value})
}

// close writes the last row group and the footer.
func (w *flowWriter) close() error {
	if err := w.flushGroup(); err != nil {
		return err
	}
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &w.meta)
	if err != nil {
		return fmt.Errorf("encode footer: %w", err)
	}
	footer = binary.LittleEndian.AppendUint32(footer, uint32(len(footer)))
	footer = append(footer, "PAR1"...)
	if _, err := w.out.Write(footer); err != nil {
		return err
	}
	return w.out.Flush()
}

// chunkPages are a column chunk's encoded pages, kept until the row group
// is written: each page is encoded and compressed as soon as its rows are
// in, so a row group's raw values never pile up (at 27 MB a row group,
// every page of them faulted in anew). Each page is a buffer of its own,
// reused by the next row group: one growing buffer per chunk spent a
// tenth of a second a replay copying itself.
type chunkPages struct {
	pages, spare             [][]byte // page header and compressed page
	values, nulls            int64
	compressed, uncompressed int64
	encodings                []format.Encoding
	// stored is set when the chunk's first page did not compress: the
	// rest are stored without searching them for matches (a column of
	// delta-packed times or of address bytes is alike from page to page).
	stored bool
}

// storeProbeBytes is the least a chunk's first page must hold to decide
// that the chunk does not compress; storeRatio64 is how many 64ths of its
// size it must still take compressed.
const (
	storeProbeBytes = 4 << 10
	storeRatio64    = 63
)

// addPage compresses body into a page with header, appended to p. A
// width above zero says body is records of width bytes (see
// zstdCodec.encodeRecords).
func (p *chunkPages) addPage(w *flowWriter, body []byte, width int, header *format.PageHeader) error {
	switch {
	case p.stored:
		w.comp = appendStoredFrame(w.comp[:0], body)
	case width > 0:
		w.comp = w.codec.encodeRecords(w.comp, body, width)
	default:
		var err error
		w.comp, err = w.codec.Encode(w.comp, body)
		if err != nil {
			return err
		}
		p.stored = len(p.pages) == 0 && len(body) >= storeProbeBytes && len(w.comp)*64 >= len(body)*storeRatio64
	}
	header.UncompressedPageSize = int32(len(body))
	header.CompressedPageSize = int32(len(w.comp))
	hdr, ok := appendPageHeader(w.hdr[:0], header)
	if !ok {
		var err error
		if hdr, err = thrift.Marshal(new(thrift.CompactProtocol), header); err != nil {
			return fmt.Errorf("encode page header: %w", err)
		}
	}
	w.hdr = hdr
	var page []byte
	if n := len(p.spare); n > 0 && cap(p.spare[n-1]) >= len(hdr)+len(w.comp) {
		page, p.spare = p.spare[n-1][:0], p.spare[:n-1]
	} else {
		page = make([]byte, 0, len(hdr)+len(w.comp))
	}
	page = append(append(page, hdr...), w.comp...)
	p.pages = append(p.pages, page)
	p.compressed += int64(len(page))
	p.uncompressed += int64(len(hdr) + len(body))
	return nil
}

// writeTo writes the pages at w's offset and keeps their buffers.
func (p *chunkPages) writeTo(w *flowWriter) error {
	for _, page := range p.pages {
		if _, err := w.out.Write(page); err != nil {
			return err
		}
		w.off += int64(len(page))
	}
	p.spare = append(p.spare, p.pages...)
	clear(p.pages)
	p.pages = p.pages[:0]
	p.stored = false // the next chunk decides anew
	return nil
}

// addDataPage adds a version 1 data page of n values (NULLs included) in
// encoding enc.
func (p *chunkPages) addDataPage(w *flowWriter, body []byte, n, nulls int, enc format.Encoding) error {
	return p.addDataPageOf(w, body, 0, n, nulls, enc)
}

// addDataPageOf is addDataPage for a body of records of width bytes, or
// of anything if width is 0.
func (p *chunkPages) addDataPageOf(w *flowWriter, body []byte, width, n, nulls int, enc format.Encoding) error {
	if !slices.Contains(p.encodings, enc) {
		p.encodings = append(p.encodings, enc)
	}
	p.values += int64(n)
	p.nulls += int64(nulls)
	return p.addPage(w, body, width, &format.PageHeader{
		Type: format.DataPage,
		DataPageHeader: thrift.New(format.DataPageHeader{
			NumValues: int32(n), Encoding: enc,
			DefinitionLevelEncoding: format.RLE, RepetitionLevelEncoding: format.RLE,
		}),
	})
}

// write writes the chunk, led by dict (a dictionary page, or nil), at w's
// offset and returns its metadata without statistics; p is emptied.
func (p *chunkPages) write(w *flowWriter, c flowColumn, dict *chunkPages) (format.ColumnChunk, error) {
	cc := format.ColumnChunk{
		FileOffset: w.off,
		MetaData: format.ColumnMetaData{
			Type:         c.physical(),
			PathInSchema: strings.Split(c.name(), "."), // a nested column's name is its dotted path
			Codec:        format.Zstd,
			NumValues:    p.values,
		},
	}
	md := &cc.MetaData
	md.Statistics.NullCount = p.nulls
	encodings := slices.Clone(p.encodings)
	if dict != nil {
		md.DictionaryPageOffset = w.off
		if err := dict.writeTo(w); err != nil {
			return cc, err
		}
		md.TotalCompressedSize += dict.compressed
		md.TotalUncompressedSize += dict.uncompressed
		if !slices.Contains(encodings, format.Plain) {
			encodings = append(encodings, format.Plain)
		}
	}
	if p.nulls > 0 || slices.Contains(encodings, format.RLEDictionary) {
		encodings = append(encodings, format.RLE)
	}
	slices.Sort(encodings)
	md.Encoding = slices.Compact(encodings)
	md.DataPageOffset = w.off
	if err := p.writeTo(w); err != nil {
		return cc, err
	}
	md.TotalCompressedSize += p.compressed
	md.TotalUncompressedSize += p.uncompressed
	p.values, p.nulls, p.compressed, p.uncompressed = 0, 0, 0, 0
	p.encodings = p.encodings[:0]
	return cc, nil
}

// intColumn is a required INT32 or INT64 column (ports and counters, and
// timestamps in microseconds), plain or delta encoded.
type intColumn[T int32 | int64] struct {
	col     string
	delta   bool
	vals    []T // the page being filled
	lo, hi  T
	started bool
	pages   chunkPages
}

type (
	int32Column = intColumn[int32]
	int64Column = intColumn[int64]
)

func (c *intColumn[T]) add(v T) {
	switch {
	case !c.started:
		c.lo, c.hi, c.started = v, v, true
	case v < c.lo:
		c.lo = v
	case v > c.hi:
		c.hi = v
	}
	c.vals = append(c.vals, v)
}

func (c *intColumn[T]) name() string { return c.col }

func (c *intColumn[T]) encode(optional, dict, delta bool) bool {
	c.delta = delta
	return !optional && !dict
}

func (c *intColumn[T]) physical() format.Type {
	if _, ok := any(c.vals).([]int32); ok {
		return format.Int32
	}
	return format.Int64
}

// appendPlainNumber appends v in PLAIN encoding: little-endian, 4 bytes
// for an INT32, 8 for an INT64 or a DOUBLE.
func appendPlainNumber[T int32 | int64 | float64](dst []byte, v T) []byte {
	switch v := any(v).(type) {
	case int32:
		return binary.LittleEndian.AppendUint32(dst, uint32(v))
	case int64:
		return binary.LittleEndian.AppendUint64(dst, uint64(v))
	case float64:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	}
	return dst
}

func (c *intColumn[T]) flushPage(w *flowWriter) error {
	if len(c.vals) == 0 {
		return nil
	}
	enc := format.Plain
	w.page = w.page[:0]
	if c.delta {
		enc = format.DeltaBinaryPacked
		var err error
		switch vals := any(c.vals).(type) {
		case []int32:
			w.page, err = new(delta.BinaryPackedEncoding).EncodeInt32(w.page, vals)
		case []int64:
			w.page, err = new(delta.BinaryPackedEncoding).EncodeInt64(w.page, vals)
		}
		if err != nil {
			return err
		}
	} else {
		// One type switch a page, not a value.
		switch vals := any(c.vals).(type) {
		case []int32:
			w.page = slices.Grow(w.page, 4*len(vals))
			for _, v := range vals {
				w.page = binary.LittleEndian.AppendUint32(w.page, uint32(v))
			}
		case []int64:
			w.page = slices.Grow(w.page, 8*len(vals))
			for _, v := range vals {
				w.page = binary.LittleEndian.AppendUint64(w.page, uint64(v))
			}
		}
	}
	n := len(c.vals)
	c.vals = c.vals[:0]
	return c.pages.addDataPage(w, w.page, n, 0, enc)
}

func (c *intColumn[T]) chunk(w *flowWriter) (format.ColumnChunk, error) {
	cc, err := c.pages.write(w, c, nil)
	if c.started {
		cc.MetaData.Statistics.MinValue = appendPlainNumber(nil, c.lo)
		cc.MetaData.Statistics.MaxValue = appendPlainNumber(nil, c.hi)
	}
	c.started = false
	return cc, err
}

// stringColumn is a BYTE_ARRAY (STRING) column. An optional column stores
// the empty string as NULL, as FlowRow documents. A dictionary column
// keeps each distinct value once per row group and a row's index into
// them (-1 for NULL), looked up as the row comes, so its page holds no
// strings; once the distinct values pass dictionaryMaxBytes, the rest of
// the row group's pages are plain, as parquet-mr falls back. Values are
// written escaped by safetext, as every string column of every table is.
type stringColumn struct {
	col            string
	dict, optional bool

	idx  []int32  // the page being filled, while the dictionary serves
	vals []string // the page being filled, otherwise
	// idxNulls is set while NULLs go to idx: the column is optional and
	// its dictionary serves.
	idxNulls bool

	d     strDict
	rng   strRange
	pages chunkPages

	levels  []uint8 // scratch: a page's definition levels
	nonNull []int32 // scratch: a page's indexes without the NULLs
}

// strDict is a string column chunk's dictionary.
type strDict struct {
	index  map[string]int32
	values []string // escaped, in index order
	bytes  int
	full   bool // past dictionaryMaxBytes: plain pages
	// last is the previous value and its index plus one: runs of one
	// value (a verdict, a role) cost a string comparison, not a hash.
	last    string
	lastIdx int32
	// seen are values looked up before, in slots by the address of their
	// bytes, with their index plus one. Rows share the strings of a
	// catalog entry, a constant or a cached address text (FlowRowBuilder,
	// DNSRowBuilder): the same bytes at the same address are the same
	// value without hashing them, and a slot keeps its string, so its
	// address cannot be reused by another.
	seen *[seenSlots]seenValue
	page chunkPages
	// packed is scratch for a page's indexes, which the RLE encoder
	// writes from the start of a buffer.
	packed []byte
}

const seenSlots = 256

type seenValue struct {
	s string
	i int32 // index plus one
}

// lookup returns v's index, adding it (escaped, and noted in rng) if new.
func (d *strDict) lookup(v string, rng *strRange) int32 {
	if d.lastIdx > 0 && v == d.last {
		return d.lastIdx - 1
	}
	if d.seen == nil {
		d.seen = new([seenSlots]seenValue)
	}
	p := unsafe.StringData(v)
	slot := &d.seen[uintptr(unsafe.Pointer(p))*0x9e3779b97f4a7c15>>(64-8)]
	if unsafe.StringData(slot.s) == p && len(slot.s) == len(v) && slot.i > 0 {
		d.last, d.lastIdx = v, slot.i
		return slot.i - 1
	}
	i, ok := d.index[v]
	if !ok {
		if d.index == nil {
			d.index = make(map[string]int32)
		}
		i = int32(len(d.values))
		d.index[v] = i
		// The index keeps the row's string, the dictionary its escape
		// (the same string unless it is not UTF-8 or has a backslash):
		// the check costs once per distinct value, not per row.
		e := safetext.String(v)
		d.values = append(d.values, e)
		d.bytes += 4 + len(e)
		rng.note(e)
	}
	d.last, d.lastIdx = v, i+1
	slot.s, slot.i = v, i+1
	return i
}

// appendIndexes appends a dictionary data page's values: the bit width,
// then the indexes in the RLE/bit-packed hybrid.
func (d *strDict) appendIndexes(dst []byte, idx []int32) ([]byte, error) {
	width := max(bits.Len32(uint32(max(len(d.values)-1, 0))), 1)
	dst = append(dst, byte(width))
	var err error
	d.packed, err = (&rle.Encoding{BitWidth: width}).EncodeInt32(d.packed[:0], idx)
	return append(dst, d.packed...), err
}

// chunkPage encodes the dictionary page of a chunk whose pages used it,
// and returns it for chunkPages.write; nil if none did.
func (d *strDict) chunkPage(w *flowWriter, pages *chunkPages) (*chunkPages, error) {
	if !slices.Contains(pages.encodings, format.RLEDictionary) {
		return nil, nil
	}
	w.page = w.page[:0]
	for _, v := range d.values {
		w.page = binary.LittleEndian.AppendUint32(w.page, uint32(len(v)))
		w.page = append(w.page, v...)
	}
	err := d.page.addPage(w, w.page, 0, &format.PageHeader{
		Type:                 format.DictionaryPage,
		DictionaryPageHeader: thrift.New(format.DictionaryPageHeader{NumValues: int32(len(d.values)), Encoding: format.Plain}),
	})
	return &d.page, err
}

// reset empties the dictionary for the next row group.
func (d *strDict) reset() {
	d.page.compressed, d.page.uncompressed = 0, 0
	clear(d.index)
	clear(d.values)
	d.values = d.values[:0]
	d.bytes, d.full, d.last, d.lastIdx = 0, false, "", 0
	if d.seen != nil {
		clear(d.seen[:])
	}
}

// strRange is a string column chunk's minimum and maximum.
type strRange struct {
	lo, hi string
	have   bool
}

func (r *strRange) note(v string) {
	switch {
	case !r.have:
		r.lo, r.hi, r.have = strings.Clone(v), strings.Clone(v), true
	case v < r.lo:
		r.lo = strings.Clone(v)
	case v > r.hi:
		r.hi = strings.Clone(v)
	}
}

// stats sets the chunk's minimum and maximum and empties r.
func (r *strRange) stats(cc *format.ColumnChunk) {
	if r.have {
		cc.MetaData.Statistics.MinValue = []byte(r.lo)
		cc.MetaData.Statistics.MaxValue = []byte(r.hi)
	}
	*r = strRange{}
}

func (c *stringColumn) name() string { return c.col }

func (c *stringColumn) encode(optional, dict, delta bool) bool {
	c.optional, c.dict = optional, dict
	c.idxNulls = optional && dict
	return !delta
}

func (c *stringColumn) physical() format.Type { return format.ByteArray }

// add appends a row's value. A NULL of an optional dictionary column,
// most rows of most of the optional columns, is handled here, small
// enough to be inlined into the generated add.
func (c *stringColumn) add(v string) {
	if v == "" && c.idxNulls {
		c.idx = append(c.idx, -1)
		return
	}
	c.addValue(v)
}

func (c *stringColumn) addValue(v string) {
	switch {
	case !c.dict || c.d.full:
		c.vals = append(c.vals, v)
	case c.optional && v == "":
		c.idx = append(c.idx, -1)
	case c.d.lastIdx > 0 && unsafe.StringData(v) == unsafe.StringData(c.d.last) && len(v) == len(c.d.last):
		// The previous value's very string (a constant, a catalog
		// entry's): lookup's first check without the call or a compare
		// of the bytes; other equal strings are lookup's.
		c.idx = append(c.idx, c.d.lastIdx-1)
	default:
		c.idx = append(c.idx, c.d.lookup(v, &c.rng))
	}
}

// startPage starts w.page with the definition levels of an optional
// column (the RLE/bit-packed hybrid, prefixed with its length) for a page
// of rows rows with nulls NULLs: one run when they are all NULL or none
// is, otherwise c.levels, which the caller filled with a level a row.
func (c *stringColumn) startPage(w *flowWriter, rows, nulls int) {
	w.page = w.page[:0]
	if !c.optional {
		return
	}
	w.page = append(w.page, 0, 0, 0, 0)
	switch nulls {
	case 0:
		w.page = append(binary.AppendUvarint(w.page, uint64(rows)<<1), 1)
	case rows:
		w.page = append(binary.AppendUvarint(w.page, uint64(rows)<<1), 0)
	default:
		w.page = appendLevels1(w.page, c.levels)
	}
	binary.LittleEndian.PutUint32(w.page, uint32(len(w.page)-4))
}

func (c *stringColumn) flushPage(w *flowWriter) error {
	if len(c.idx) > 0 {
		// Most pages of most columns are all NULL or have none: counted
		// first, they need neither levels nor a copy of the indexes.
		nulls := 0
		for _, i := range c.idx {
			nulls += int(uint32(i) >> 31) // NULL is -1
		}
		values := c.idx
		if nulls > 0 {
			c.levels, c.nonNull = c.levels[:0], c.nonNull[:0]
			for _, i := range c.idx {
				if i >= 0 {
					c.nonNull = append(c.nonNull, i)
					c.levels = append(c.levels, 1)
				} else {
					c.levels = append(c.levels, 0)
				}
			}
			values = c.nonNull
		}
		c.startPage(w, len(c.idx), nulls)
		var err error
		if w.page, err = c.d.appendIndexes(w.page, values); err != nil {
			return err
		}
		n := len(c.idx)
		c.idx = c.idx[:0]
		// The page is written against the dictionary as it stands; past
		// its bound the next pages are plain.
		c.d.full = c.d.bytes > dictionaryMaxBytes
		c.idxNulls = c.optional && !c.d.full
		return c.pages.addDataPage(w, w.page, n, nulls, format.RLEDictionary)
	}
	if len(c.vals) == 0 {
		return nil
	}
	nulls := 0
	if c.optional {
		for _, v := range c.vals {
			if v == "" {
				nulls++
			}
		}
		if nulls > 0 && nulls < len(c.vals) {
			c.levels = c.levels[:0]
			for _, v := range c.vals {
				if v == "" {
					c.levels = append(c.levels, 0)
				} else {
					c.levels = append(c.levels, 1)
				}
			}
		}
	}
	c.startPage(w, len(c.vals), nulls)
	// A required column whose values all have one length (community
	// IDs) is a page of fixed-width records.
	width := -1
	for _, v := range c.vals {
		if v == "" && c.optional {
			continue
		}
		v = safetext.String(v)
		w.page = binary.LittleEndian.AppendUint32(w.page, uint32(len(v)))
		w.page = append(w.page, v...)
		c.rng.note(v)
		switch {
		case width == -1:
			width = 4 + len(v)
		case width != 4+len(v):
			width = 0
		}
	}
	if c.optional {
		width = 0
	}
	n := len(c.vals)
	clear(c.vals) // drop the rows' strings for the collector
	c.vals = c.vals[:0]
	return c.pages.addDataPageOf(w, w.page, max(width, 0), n, nulls, format.Plain)
}

func (c *stringColumn) chunk(w *flowWriter) (format.ColumnChunk, error) {
	dict, err := c.d.chunkPage(w, &c.pages)
	if err != nil {
		return format.ColumnChunk{}, err
	}
	cc, err := c.pages.write(w, c, dict)
	c.rng.stats(&cc)
	c.d.reset()
	c.idxNulls = c.optional && c.dict
	return cc, err
}

// appendRLE appends levels in the RLE/bit-packed hybrid encoding.
func appendRLE(dst []byte, levels []uint8, width int) ([]byte, error) {
	if width == 1 {
		return appendLevels1(dst, levels), nil
	}
	rl := rle.Encoding{BitWidth: width}
	enc, err := rl.EncodeLevels(nil, levels)
	return append(dst, enc...), err
}

// appendLevels1 appends levels of width 1 (each 0 or 1, the definition
// levels of an optional column) in the RLE/bit-packed hybrid encoding: a
// run of 8 or more equal levels as a repeated run, the others bit-packed
// 8 to a byte. It writes into dst, where parquet-go's encoder returned a
// new buffer each page, and goes over a run of NULLs (most pages of most
// optional columns) 8 levels at a time.
func appendLevels1(dst []byte, levels []uint8) []byte {
	for i := 0; i < len(levels); {
		if run := runLength(levels[i:]); run >= 8 {
			dst = binary.AppendUvarint(dst, uint64(run)<<1)
			dst = append(dst, levels[i])
			i += run
			continue
		}
		// Bit-packed groups of 8 (the last padded with zeros) until a
		// run starts; at most 63, so the header is one byte.
		hdr := len(dst)
		dst = append(dst, 0)
		groups := 0
		for i < len(levels) && groups < 63 && (groups == 0 || runLength(levels[i:min(i+8, len(levels))]) < 8) {
			var b byte
			for k, l := range levels[i:min(i+8, len(levels))] {
				b |= l << k
			}
			dst = append(dst, b)
			i += 8
			groups++
		}
		dst[hdr] = byte(groups<<1 | 1)
	}
	return dst
}

// runLength is how many levels at the start of levels equal the first.
func runLength(levels []uint8) int {
	if len(levels) == 0 {
		return 0
	}
	word := uint64(levels[0]) * 0x0101010101010101
	n := 0
	for n+8 <= len(levels) && binary.LittleEndian.Uint64(levels[n:]) == word {
		n += 8
	}
	for n < len(levels) && levels[n] == levels[0] {
		n++
	}
	return n
}

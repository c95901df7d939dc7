package parquetout

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/ccaudit/auditor/report/safetext"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/format"
)

// dns.parquet is written at the rate of DNS transactions, a row with two
// answer lists each, so it has an encoder of its own as flows.parquet
// does (flowcols.go), sharing its page, chunk and footer code: parquet-go
// reached each value of a row through reflection and kept a row group's
// values before encoding them. DNSRow declares the columns; nothing here
// names one: the typed columns and the code that adds a row to them
// (dnsColumns, dnscols_gen.go) are generated from DNSRow's fields by
// internal/schemagen, and the schema, encodings and nullability come from
// DNSRow's tags, through the generated dnsWire and the footer of an empty
// file parquet-go writes; TestDNSWriterMatchesParquetGo compares what both
// writers write.

// A dns.parquet data page ends after dnsPageRows rows or about
// dnsPageBytes of values, and a row group after its configured rows or
// about dnsGroupBytes: a response can carry thousands of answers, and a
// run of them must not hold gigabytes of pages in memory.
const (
	dnsPageRows   = 8 << 10
	dnsPageBytes  = 1 << 20
	dnsGroupBytes = 64 << 20
)

// dnsColWriter writes DNSRows to dns.parquet.
type dnsColWriter struct {
	w *flowWriter // file, pages and footer; its cols are the columns below

	dnsColumns // generated from DNSRow (dnscols_gen.go)

	// pageBytes and groupBytes estimate the values added since the last
	// page and row group.
	pageBytes, groupBytes int
}

func newDNSColWriter(f io.Writer, opts []parquet.WriterOption, s tableSettings) (*dnsColWriter, error) {
	d := &dnsColWriter{}
	d.w = &flowWriter{out: bufio.NewWriterSize(f, 1<<20), codec: s.codec, maxGroup: s.rowGroupRows, cols: d.dnsColumns.list()}
	if err := d.takeFooter(opts); err != nil {
		return nil, err
	}
	if _, err := d.w.out.WriteString("PAR1"); err != nil {
		return nil, err
	}
	d.w.off = 4
	return d, nil
}

// takeFooter is flowWriter.takeFooter for dns.parquet: the file's schema
// and metadata from parquet-go, each leaf column's encoding and
// nullability from the tags.
func (d *dnsColWriter) takeFooter(opts []parquet.WriterOption) error {
	schema := parquet.NewSchema("DNSRow", parquet.SchemaOf(new(dnsWire)))
	var buf bytes.Buffer
	pw := parquet.NewGenericWriter[dnsWire](&buf, append(slices.Clip(opts), schema)...)
	if err := pw.Close(); err != nil {
		return fmt.Errorf("dns schema: %w", err)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		return fmt.Errorf("dns schema: %w", err)
	}
	md := pf.Metadata()
	d.w.meta = format.FileMetaData{
		Version:          md.Version,
		Schema:           slices.Clone(md.Schema),
		KeyValueMetadata: slices.Clone(md.KeyValueMetadata),
		CreatedBy:        md.CreatedBy,
		ColumnOrders:     slices.Clone(md.ColumnOrders),
	}
	paths := schema.Columns()
	if len(paths) != len(d.w.cols) {
		return fmt.Errorf("dns schema: %d columns, the encoder has %d", len(paths), len(d.w.cols))
	}
	for i, c := range d.w.cols {
		leaf, _ := schema.Lookup(paths[i]...)
		name := strings.Join(paths[i], ".")
		if name != c.name() || format.Type(leaf.Node.Type().Kind()) != c.physical() {
			return fmt.Errorf("dns schema: column %d is %s, the encoder's is %s", i, name, c.name())
		}
		var dict, delta bool
		if enc := leaf.Node.Encoding(); enc != nil {
			//lint:ignore SA1019 a schema may still name PLAIN_DICTIONARY, the deprecated spelling of a dictionary column
			dict = enc.Encoding() == format.RLEDictionary || enc.Encoding() == format.PlainDictionary
			delta = enc.Encoding() == format.DeltaBinaryPacked
		}
		if lc, ok := c.(interface{ levels(rep, def int) bool }); ok {
			// A list's element is required: its definition level is
			// the list's.
			if !lc.levels(leaf.MaxRepetitionLevel, leaf.MaxDefinitionLevel) || !c.encode(false, dict, delta) {
				return fmt.Errorf("dns schema: column %s: the encoder cannot write its levels or encoding", name)
			}
			continue
		}
		if leaf.MaxRepetitionLevel != 0 || !c.encode(leaf.Node.Optional(), dict, delta) {
			return fmt.Errorf("dns schema: column %s: the encoder cannot write its encoding", name)
		}
	}
	return nil
}

func (d *dnsColWriter) write(rows []DNSRow) error {
	for i := range rows {
		if err := d.writeRow(&rows[i]); err != nil {
			return err
		}
	}
	return nil
}

// writeRow adds a row; TableWriter calls it for each row it is given, so
// rows are not copied into a batch first.
func (d *dnsColWriter) writeRow(r *DNSRow) error {
	d.dnsColumns.add(r)
	w := d.w
	w.n++
	n := rowBytes(r)
	d.pageBytes += n
	d.groupBytes += n
	if w.n%dnsPageRows == 0 || w.n == w.maxGroup || d.pageBytes >= dnsPageBytes || d.groupBytes >= dnsGroupBytes {
		d.pageBytes = 0
		for _, c := range w.cols {
			if err := c.flushPage(w); err != nil {
				return fmt.Errorf("column %s: %w", c.name(), err)
			}
		}
	}
	if w.n == w.maxGroup || d.groupBytes >= dnsGroupBytes {
		d.groupBytes = 0
		if err := w.flushGroup(); err != nil {
			return err
		}
	}
	return nil
}

// rowBytes estimates what r adds to the pages: its fixed columns, and
// its strings and lists, which have no bound of their own.
func rowBytes(r *DNSRow) int {
	n := 160 + len(r.Query) + len(r.CommunityID) + len(r.ClientIP) + len(r.ServerIP)
	for i := range r.Answers {
		a := &r.Answers[i]
		n += 24 + len(a.Name) + len(a.Type) + len(a.Data)
	}
	for _, c := range r.CNAMEChain {
		n += 8 + len(c)
	}
	return n
}

func (d *dnsColWriter) setKeyValueMetadata(k, v string) { d.w.setKeyValueMetadata(k, v) }
func (d *dnsColWriter) close() error                    { return d.w.close() }

// optColumn is an optional INT32, INT64 or DOUBLE column, plain encoded,
// or delta encoded if an integer.
type optColumn[T int32 | int64 | float64] struct {
	col     string
	delta   bool
	vals    []T    // the page's values, NULLs left out
	present []bool // the page's rows: false for NULL
	lo, hi  T
	have    bool
	levels  []uint8 // scratch
	packed  []byte  // scratch: delta encoded values
	pages   chunkPages
}

func (c *optColumn[T]) add(v T, present bool) {
	c.present = append(c.present, present)
	if !present {
		return
	}
	c.vals = append(c.vals, v)
	switch {
	case !c.have:
		c.lo, c.hi, c.have = v, v, true
	case v < c.lo:
		c.lo = v
	case v > c.hi:
		c.hi = v
	}
}

func (c *optColumn[T]) name() string { return c.col }

func (c *optColumn[T]) encode(optional, dict, delta bool) bool {
	c.delta = delta
	return optional && !dict && (!delta || c.physical() != format.Double)
}

func (c *optColumn[T]) physical() format.Type {
	switch any(c.vals).(type) {
	case []int32:
		return format.Int32
	case []int64:
		return format.Int64
	}
	return format.Double
}

func (c *optColumn[T]) flushPage(w *flowWriter) error {
	if len(c.present) == 0 {
		return nil
	}
	n, nulls := len(c.present), len(c.present)-len(c.vals)
	var err error
	if nulls == 0 || nulls == n {
		// Most pages have a value in every row (latency, rcode_num of
		// answered queries) or in none: their levels are one run.
		w.page = appendLevelRun(w.page[:0], n, nulls == 0)
	} else {
		c.levels = c.levels[:0]
		for _, p := range c.present {
			if p {
				c.levels = append(c.levels, 1)
			} else {
				c.levels = append(c.levels, 0)
			}
		}
		if w.page, err = appendLevels(w.page[:0], c.levels); err != nil {
			return err
		}
	}
	enc := format.Plain
	if c.delta {
		enc = format.DeltaBinaryPacked
		if w.page, err = appendDelta(w.page, c.vals, &c.packed); err != nil {
			return err
		}
	} else {
		w.page = appendPlainNumbers(w.page, c.vals)
	}
	c.present, c.vals = c.present[:0], c.vals[:0]
	return c.pages.addDataPage(w, w.page, n, nulls, enc)
}

// appendPlainNumbers appends vals in PLAIN encoding, with one type switch
// a page rather than appendPlainNumber's one a value.
func appendPlainNumbers[T int32 | int64 | float64](dst []byte, vals []T) []byte {
	switch vals := any(vals).(type) {
	case []int32:
		dst = slices.Grow(dst, 4*len(vals))
		for _, v := range vals {
			dst = binary.LittleEndian.AppendUint32(dst, uint32(v))
		}
	case []int64:
		dst = slices.Grow(dst, 8*len(vals))
		for _, v := range vals {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
		}
	case []float64:
		dst = slices.Grow(dst, 8*len(vals))
		for _, v := range vals {
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
		}
	}
	return dst
}

// appendDelta appends integers in DELTA_BINARY_PACKED encoding, which
// parquet-go's encoder writes into scratch (it overwrites its dst).
func appendDelta[T int32 | int64 | float64](dst []byte, vals []T, scratch *[]byte) ([]byte, error) {
	var err error
	switch vals := any(vals).(type) {
	case []int32:
		*scratch, err = new(delta.BinaryPackedEncoding).EncodeInt32(*scratch, vals)
	case []int64:
		*scratch, err = new(delta.BinaryPackedEncoding).EncodeInt64(*scratch, vals)
	default:
		return dst, fmt.Errorf("delta encoding of %T", vals)
	}
	return append(dst, *scratch...), err
}

func (c *optColumn[T]) chunk(w *flowWriter) (format.ColumnChunk, error) {
	cc, err := c.pages.write(w, c, nil)
	if c.have {
		cc.MetaData.Statistics.MinValue = appendPlainNumber(nil, c.lo)
		cc.MetaData.Statistics.MaxValue = appendPlainNumber(nil, c.hi)
	}
	c.have = false
	return cc, err
}

// boolColumn is a required BOOLEAN column, plain encoded: one bit a
// value, the first in the lowest bit.
type boolColumn struct {
	col   string
	vals  []bool
	seen  [2]bool // false and true, for the statistics
	pages chunkPages
}

func (c *boolColumn) add(v bool) {
	c.vals = append(c.vals, v)
	if v {
		c.seen[1] = true
	} else {
		c.seen[0] = true
	}
}

func (c *boolColumn) name() string                           { return c.col }
func (c *boolColumn) encode(optional, dict, delta bool) bool { return !optional && !dict && !delta }
func (c *boolColumn) physical() format.Type                  { return format.Boolean }

func (c *boolColumn) flushPage(w *flowWriter) error {
	if len(c.vals) == 0 {
		return nil
	}
	w.page = w.page[:0]
	for i := 0; i < len(c.vals); i += 8 {
		var b byte
		for j, v := range c.vals[i:min(i+8, len(c.vals))] {
			if v {
				b |= 1 << j
			}
		}
		w.page = append(w.page, b)
	}
	n := len(c.vals)
	c.vals = c.vals[:0]
	return c.pages.addDataPage(w, w.page, n, 0, format.Plain)
}

func (c *boolColumn) chunk(w *flowWriter) (format.ColumnChunk, error) {
	cc, err := c.pages.write(w, c, nil)
	if c.seen[0] || c.seen[1] {
		lo, hi := byte(1), byte(0)
		if c.seen[0] {
			lo = 0
		}
		if c.seen[1] {
			hi = 1
		}
		cc.MetaData.Statistics.MinValue = []byte{lo}
		cc.MetaData.Statistics.MaxValue = []byte{hi}
	}
	c.seen = [2]bool{}
	return cc, err
}

// listColumn is the leaf of a required LIST of required INT64 values (a
// repetition and a definition level of one each), plain or delta encoded:
// a row adds either one empty entry or one value per element.
type listColumn struct {
	col    string
	delta  bool
	packed []byte // scratch: delta encoded values
	vals   []int64
	listLevels
	lo, hi int64
	have   bool
	pages  chunkPages
}

// listLevels are the repetition and definition levels of a page of a
// required list of required values, one of each per entry: an empty
// list is one entry (0, 0), each element one entry (0 for a row's first,
// else 1; defined).
type listLevels struct{ rep, def []uint8 }

// levels accepts the schema's maximum levels: the encoder writes one of
// each.
func (l *listLevels) levels(rep, def int) bool { return rep == 1 && def == 1 }

// empty adds a row with an empty list.
func (l *listLevels) empty() { l.rep, l.def = append(l.rep, 0), append(l.def, 0) }

// element adds an element's levels; next is false for a row's first.
func (l *listLevels) element(next bool) {
	r := uint8(0)
	if next {
		r = 1
	}
	l.rep, l.def = append(l.rep, r), append(l.def, 1)
}

func (c *listColumn) encode(optional, dict, delta bool) bool {
	c.delta = delta
	return !optional && !dict
}

// add adds an element; next is false for a row's first.
func (c *listColumn) add(next bool, v int64) {
	c.element(next)
	c.vals = append(c.vals, v)
	switch {
	case !c.have:
		c.lo, c.hi, c.have = v, v, true
	case v < c.lo:
		c.lo = v
	case v > c.hi:
		c.hi = v
	}
}

func (c *listColumn) name() string          { return c.col }
func (c *listColumn) physical() format.Type { return format.Int64 }

func (c *listColumn) flushPage(w *flowWriter) error {
	if len(c.def) == 0 {
		return nil
	}
	var err error
	if w.page, err = appendListLevels(w.page[:0], c.rep, c.def); err != nil {
		return err
	}
	enc := format.Plain
	if c.delta {
		enc = format.DeltaBinaryPacked
		if w.page, err = appendDelta(w.page, c.vals, &c.packed); err != nil {
			return err
		}
	} else {
		for _, v := range c.vals {
			w.page = binary.LittleEndian.AppendUint64(w.page, uint64(v))
		}
	}
	n, nulls := len(c.def), len(c.def)-len(c.vals)
	c.rep, c.def, c.vals = c.rep[:0], c.def[:0], c.vals[:0]
	return c.pages.addDataPage(w, w.page, n, nulls, enc)
}

func (c *listColumn) chunk(w *flowWriter) (format.ColumnChunk, error) {
	cc, err := c.pages.write(w, c, nil)
	addLevelEncoding(&cc)
	if c.have {
		cc.MetaData.Statistics.MinValue = binary.LittleEndian.AppendUint64(nil, uint64(c.lo))
		cc.MetaData.Statistics.MaxValue = binary.LittleEndian.AppendUint64(nil, uint64(c.hi))
	}
	c.lo, c.hi, c.have = 0, 0, false
	return cc, err
}

// strListColumn is the leaf of a required LIST of required strings,
// plain or dictionary encoded as stringColumn is: dictionary indexes
// looked up as the row comes, plain pages once the dictionary is past
// dictionaryMaxBytes. Strings are written escaped by safetext, as every
// string column is.
type strListColumn struct {
	col  string
	dict bool
	listLevels
	idx   []int32  // the page's values, while the dictionary serves
	vals  []string // the page's values, otherwise
	d     strDict
	rng   strRange
	pages chunkPages
}

func (c *strListColumn) encode(optional, dict, delta bool) bool {
	c.dict = dict
	return !optional && !delta
}

func (c *strListColumn) name() string          { return c.col }
func (c *strListColumn) physical() format.Type { return format.ByteArray }

// add adds an element; next is false for a row's first.
func (c *strListColumn) add(next bool, v string) {
	c.element(next)
	if c.dict && !c.d.full {
		c.idx = append(c.idx, c.d.lookup(v, &c.rng))
		return
	}
	c.vals = append(c.vals, v)
}

func (c *strListColumn) flushPage(w *flowWriter) error {
	if len(c.def) == 0 {
		return nil
	}
	var err error
	if w.page, err = appendListLevels(w.page[:0], c.rep, c.def); err != nil {
		return err
	}
	// A page of empty lists only has no values to index: it is written
	// plain, so a chunk without values has no dictionary.
	enc := format.Plain
	if len(c.idx) > 0 {
		enc = format.RLEDictionary
		if w.page, err = c.d.appendIndexes(w.page, c.idx); err != nil {
			return err
		}
		// Past its bound the next pages are plain.
		c.d.full = c.d.bytes > dictionaryMaxBytes
	}
	for _, v := range c.vals {
		v = safetext.String(v)
		w.page = binary.LittleEndian.AppendUint32(w.page, uint32(len(v)))
		w.page = append(w.page, v...)
		c.rng.note(v)
	}
	n, nulls := len(c.def), len(c.def)-len(c.vals)-len(c.idx)
	clear(c.vals) // drop the rows' strings for the collector
	c.rep, c.def, c.idx, c.vals = c.rep[:0], c.def[:0], c.idx[:0], c.vals[:0]
	return c.pages.addDataPage(w, w.page, n, nulls, enc)
}

func (c *strListColumn) chunk(w *flowWriter) (format.ColumnChunk, error) {
	dict, err := c.d.chunkPage(w, &c.pages)
	if err != nil {
		return format.ColumnChunk{}, err
	}
	cc, err := c.pages.write(w, c, dict)
	addLevelEncoding(&cc)
	c.rng.stats(&cc)
	c.d.reset()
	return cc, err
}

// appendListLevels appends a list page's repetition, then definition
// levels.
func appendListLevels(dst []byte, rep, def []uint8) ([]byte, error) {
	dst, err := appendLevels(dst, rep)
	if err != nil {
		return dst, err
	}
	return appendLevels(dst, def)
}

// addLevelEncoding lists RLE among a list chunk's encodings: its levels
// are RLE whether or not a list was empty.
func addLevelEncoding(cc *format.ColumnChunk) {
	if !slices.Contains(cc.MetaData.Encoding, format.RLE) {
		cc.MetaData.Encoding = append(cc.MetaData.Encoding, format.RLE)
		slices.Sort(cc.MetaData.Encoding)
	}
}

// appendLevelRun appends n equal levels of bit width 1 (1 if defined) as
// appendLevels does: their length, then a single RLE run.
func appendLevelRun(dst []byte, n int, defined bool) []byte {
	start := len(dst)
	dst = binary.AppendUvarint(append(dst, 0, 0, 0, 0), uint64(n)<<1)
	if defined {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// appendLevels appends levels of bit width 1 as a data page v1 holds
// them: their length, then the RLE/bit-packed hybrid.
func appendLevels(dst []byte, levels []uint8) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst, err := appendRLE(dst, levels, 1)
	if err != nil {
		return dst, err
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst, nil
}

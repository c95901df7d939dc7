package parquetout

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"

	"github.com/ccaudit/auditor/report/safetext"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// dns.parquet is written by a column encoder as flows.parquet is
// (flowcols.go), sharing its file layout, pages and string and integer
// columns: parquet-go's generic writer spent over two microseconds a row
// on it, a tenth of the benchmark replay's CPU. The columns flows does not
// have are here: optional numbers, a boolean, and the leaves of the
// answers and cname_chain lists, which carry repetition levels.
// TestDNSWriterMatchesParquetGo compares the files with parquet-go's.

// dnsWriter writes DNSRows to dns.parquet.
type dnsWriter struct {
	*flowWriter // file, row groups and footer; its flow columns unused

	ts                                    int64Column
	queryTime, responseTime               optColumn[int64]
	latency                               optColumn[float64]
	proto, service, clientIP, serverIP    stringColumn
	clientPort, serverPort                int32Column
	transID, opcode, qclass, otherAnswers int32Column
	query, qtype, rcode, flags            stringColumn
	answered                              boolColumn
	rcodeNum                              optColumn[int32]
	ansName, ansType, ansData, cname      listColumn[string]
	ansTTL                                listColumn[int64]
	communityID, sensor                   stringColumn

	names []string // scratch: a row's list values
	ttls  []int64
}

func newDNSColWriter(f io.Writer, opts []parquet.WriterOption, s tableSettings) (*dnsWriter, error) {
	w := &dnsWriter{flowWriter: &flowWriter{out: bufio.NewWriterSize(f, 1<<20), codec: s.codec, maxGroup: s.rowGroupRows}}
	w.ts = int64Column{col: "ts"}
	w.queryTime, w.responseTime = optColumn[int64]{col: "query_time"}, optColumn[int64]{col: "response_time"}
	w.latency = optColumn[float64]{col: "latency_ms"}
	w.proto, w.service = stringColumn{col: "proto"}, stringColumn{col: "service"}
	w.clientIP, w.clientPort = stringColumn{col: "client_ip"}, int32Column{col: "client_port"}
	w.serverIP, w.serverPort = stringColumn{col: "server_ip"}, int32Column{col: "server_port"}
	w.transID, w.opcode = int32Column{col: "trans_id"}, int32Column{col: "opcode"}
	w.query, w.qtype, w.qclass = stringColumn{col: "query"}, stringColumn{col: "qtype"}, int32Column{col: "qclass"}
	w.answered, w.rcode = boolColumn{col: "answered"}, stringColumn{col: "rcode"}
	w.rcodeNum, w.flags = optColumn[int32]{col: "rcode_num"}, stringColumn{col: "flags"}
	w.ansName = listColumn[string]{path: []string{"answers", "list", "element", "name"}}
	w.ansType = listColumn[string]{path: []string{"answers", "list", "element", "type"}}
	w.ansTTL = listColumn[int64]{path: []string{"answers", "list", "element", "ttl"}}
	w.ansData = listColumn[string]{path: []string{"answers", "list", "element", "data"}}
	w.cname = listColumn[string]{path: []string{"cname_chain", "list", "element"}}
	w.otherAnswers = int32Column{col: "other_answers"}
	w.communityID, w.sensor = stringColumn{col: "community_id"}, stringColumn{col: "sensor"}
	w.cols = []flowColumn{
		&w.ts, &w.queryTime, &w.responseTime, &w.latency,
		&w.proto, &w.service, &w.clientIP, &w.clientPort, &w.serverIP, &w.serverPort,
		&w.transID, &w.opcode, &w.query, &w.qtype, &w.qclass,
		&w.answered, &w.rcode, &w.rcodeNum, &w.flags,
		&w.ansName, &w.ansType, &w.ansTTL, &w.ansData, &w.cname,
		&w.otherAnswers, &w.communityID, &w.sensor,
	}
	if err := w.takeDNSFooter(opts); err != nil {
		return nil, err
	}
	if _, err := w.out.WriteString("PAR1"); err != nil {
		return nil, err
	}
	w.off = 4
	return w, nil
}

// takeDNSFooter is takeFooter for dnsWire: the schema and metadata from
// an empty file parquet-go writes, each leaf column's encoding,
// nullability and levels from dnsWire's tags.
func (w *dnsWriter) takeDNSFooter(opts []parquet.WriterOption) error {
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
	w.meta = format.FileMetaData{
		Version:          md.Version,
		Schema:           slices.Clone(md.Schema),
		KeyValueMetadata: slices.Clone(md.KeyValueMetadata),
		CreatedBy:        md.CreatedBy,
		ColumnOrders:     slices.Clone(md.ColumnOrders),
	}
	paths := schema.Columns()
	if len(paths) != len(w.cols) {
		return fmt.Errorf("dns schema: %d columns, the encoder has %d", len(paths), len(w.cols))
	}
	for i, c := range w.cols {
		leaf, ok := schema.Lookup(paths[i]...)
		if !ok || !slices.Equal(paths[i], columnPath(c)) || leaf.Node.Type().Kind() != parquet.Kind(c.physical()) {
			return fmt.Errorf("dns schema: column %d is %v, the encoder's is %v", i, paths[i], columnPath(c))
		}
		var dict, delta bool
		if enc := leaf.Node.Encoding(); enc != nil {
			//lint:ignore SA1019 a schema may still name PLAIN_DICTIONARY, the deprecated spelling of a dictionary column
			dict = enc.Encoding() == format.RLEDictionary || enc.Encoding() == format.PlainDictionary
			delta = enc.Encoding() == format.DeltaBinaryPacked
		}
		ok = c.encode(leaf.Node.Optional(), dict, delta)
		if l, isList := c.(interface{ levels(rep, def int) bool }); isList {
			ok = ok && l.levels(leaf.MaxRepetitionLevel, leaf.MaxDefinitionLevel)
		} else {
			ok = ok && leaf.MaxRepetitionLevel == 0
		}
		if !ok {
			return fmt.Errorf("dns schema: column %v: the encoder cannot write its encoding", paths[i])
		}
	}
	return nil
}

// columnPath is a column's path in the schema.
func columnPath(c flowColumn) []string {
	if p, ok := c.(interface{ schemaPath() []string }); ok {
		return p.schemaPath()
	}
	return []string{c.name()}
}

func (w *dnsWriter) write(rows []DNSRow) error {
	for i := range rows {
		r := &rows[i]
		w.ts.add(r.Time.UnixMicro())
		w.queryTime.add(r.QueryTime.UnixMicro(), !r.QueryTime.IsZero())
		w.responseTime.add(r.ResponseTime.UnixMicro(), !r.ResponseTime.IsZero())
		w.latency.add(r.LatencyMillis, r.HasLatency)
		w.proto.add(r.Proto)
		w.service.add(r.Service)
		w.clientIP.add(r.ClientIP)
		w.clientPort.add(r.ClientPort)
		w.serverIP.add(r.ServerIP)
		w.serverPort.add(r.ServerPort)
		w.transID.add(r.TransID)
		w.opcode.add(r.Opcode)
		w.query.add(r.Query)
		w.qtype.add(r.QType)
		w.qclass.add(r.QClass)
		w.answered.add(r.Answered)
		rcode := r.RCode
		if !r.Answered {
			rcode = ""
		}
		w.rcode.add(rcode)
		w.rcodeNum.add(r.RCodeNum, r.Answered)
		w.flags.add(r.Flags)
		w.names, w.ttls = w.names[:0], w.ttls[:0]
		for _, a := range r.Answers {
			w.names = append(w.names, a.Name)
			w.ttls = append(w.ttls, a.TTL)
		}
		w.ansName.add(w.names)
		w.ansTTL.add(w.ttls)
		w.names = w.names[:0]
		for _, a := range r.Answers {
			w.names = append(w.names, a.Type)
		}
		w.ansType.add(w.names)
		w.names = w.names[:0]
		for _, a := range r.Answers {
			w.names = append(w.names, a.Data)
		}
		w.ansData.add(w.names)
		w.cname.add(r.CNAMEChain)
		w.otherAnswers.add(r.OtherAnswers)
		w.communityID.add(r.CommunityID)
		w.sensor.add(r.Sensor)
		w.n++
		if w.n%flowPageRows == 0 || w.n == w.maxGroup {
			for _, c := range w.cols {
				if err := c.flushPage(w.flowWriter); err != nil {
					return fmt.Errorf("column %v: %w", columnPath(c), err)
				}
			}
		}
		if w.n == w.maxGroup {
			if err := w.flushGroup(); err != nil {
				return err
			}
		}
	}
	clear(w.names[:cap(w.names)]) // drop the rows' strings for the collector
	return nil
}

// appendLevels appends levels of bit width width, RLE/bit-packed and
// prefixed with their length, as a version 1 data page holds them.
func appendLevels(dst []byte, levels []uint8, width int) ([]byte, error) {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst, err := appendRLE(dst, levels, width)
	binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst, err
}

// plainValue appends v in PLAIN encoding.
func plainValue[T int32 | int64 | float64](dst []byte, v T) []byte {
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

func physicalOf[T any]() format.Type {
	switch any(*new(T)).(type) {
	case int32:
		return format.Int32
	case int64:
		return format.Int64
	case float64:
		return format.Double
	case bool:
		return format.Boolean
	}
	return format.ByteArray
}

// optColumn is an optional INT32, INT64 or DOUBLE column, plain encoded.
type optColumn[T int32 | int64 | float64] struct {
	col     string
	vals    []T // the page's values, NULLs left out
	defs    []uint8
	lo, hi  T
	started bool
	pages   chunkPages
}

func (c *optColumn[T]) add(v T, present bool) {
	if !present {
		c.defs = append(c.defs, 0)
		return
	}
	c.defs = append(c.defs, 1)
	c.vals = append(c.vals, v)
	switch {
	case !c.started:
		c.lo, c.hi, c.started = v, v, true
	case cmp.Less(v, c.lo):
		c.lo = v
	case cmp.Less(c.hi, v):
		c.hi = v
	}
}

func (c *optColumn[T]) name() string          { return c.col }
func (c *optColumn[T]) physical() format.Type { return physicalOf[T]() }

func (c *optColumn[T]) encode(optional, dict, delta bool) bool { return optional && !dict && !delta }

func (c *optColumn[T]) flushPage(w *flowWriter) error {
	if len(c.defs) == 0 {
		return nil
	}
	var err error
	if w.page, err = appendLevels(w.page[:0], c.defs, 1); err != nil {
		return err
	}
	for _, v := range c.vals {
		w.page = plainValue(w.page, v)
	}
	n, nulls := len(c.defs), len(c.defs)-len(c.vals)
	c.defs, c.vals = c.defs[:0], c.vals[:0]
	return c.pages.addDataPage(w, w.page, n, nulls, format.Plain)
}

func (c *optColumn[T]) chunk(w *flowWriter) (format.ColumnChunk, error) {
	cc, err := c.pages.write(w, c, nil)
	if c.started {
		cc.MetaData.Statistics.MinValue = plainValue(nil, c.lo)
		cc.MetaData.Statistics.MaxValue = plainValue(nil, c.hi)
	}
	c.started = false
	return cc, err
}

// boolColumn is a required BOOLEAN column, plain encoded (bit-packed).
type boolColumn struct {
	col          string
	vals         []bool
	seen         [2]bool // false, true in the row group
	pages        chunkPages
	packed, byte []byte
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
func (c *boolColumn) physical() format.Type                  { return format.Boolean }
func (c *boolColumn) encode(optional, dict, delta bool) bool { return !optional && !dict && !delta }

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

// listColumn is a required leaf of a required list: one level entry per
// element, and one with definition level 0 for a row whose list is empty.
// Strings are plain encoded and escaped by safetext, as every string
// column is.
type listColumn[T string | int64] struct {
	path       []string
	defLevel   uint8 // an element's definition level
	reps, defs []uint8
	vals       []T
	rows       int // rows in the page
	lo, hi     T
	started    bool
	pages      chunkPages
}

func (c *listColumn[T]) schemaPath() []string { return c.path }
func (c *listColumn[T]) name() string         { return c.path[0] }

func (c *listColumn[T]) physical() format.Type { return physicalOf[T]() }

func (c *listColumn[T]) encode(optional, dict, delta bool) bool { return !optional && !dict && !delta }

// levels accepts a leaf repeated once whose elements are all defined at
// def.
func (c *listColumn[T]) levels(rep, def int) bool {
	c.defLevel = uint8(def)
	return rep == 1 && def == 1
}

func (c *listColumn[T]) add(vals []T) {
	c.rows++
	if len(vals) == 0 {
		c.reps = append(c.reps, 0)
		c.defs = append(c.defs, 0)
		return
	}
	for i, v := range vals {
		if s, ok := any(v).(string); ok && !safetext.Clean(s) {
			v = any(safetext.String(s)).(T)
		}
		c.reps = append(c.reps, uint8(min(i, 1)))
		c.defs = append(c.defs, c.defLevel)
		c.vals = append(c.vals, v)
		switch {
		case !c.started:
			c.lo, c.hi, c.started = v, v, true
		case v < c.lo:
			c.lo = v
		case v > c.hi:
			c.hi = v
		}
	}
}

func (c *listColumn[T]) flushPage(w *flowWriter) error {
	if c.rows == 0 {
		return nil
	}
	var err error
	if w.page, err = appendLevels(w.page[:0], c.reps, 1); err != nil {
		return err
	}
	if w.page, err = appendLevels(w.page, c.defs, bits.Len8(c.defLevel)); err != nil {
		return err
	}
	for _, v := range c.vals {
		switch v := any(v).(type) {
		case string:
			w.page = binary.LittleEndian.AppendUint32(w.page, uint32(len(v)))
			w.page = append(w.page, v...)
		case int64:
			w.page = binary.LittleEndian.AppendUint64(w.page, uint64(v))
		}
	}
	n, nulls := len(c.defs), len(c.defs)-len(c.vals)
	clear(c.vals)
	c.reps, c.defs, c.vals, c.rows = c.reps[:0], c.defs[:0], c.vals[:0], 0
	return c.pages.addDataPage(w, w.page, n, nulls, format.Plain)
}

func (c *listColumn[T]) chunk(w *flowWriter) (format.ColumnChunk, error) {
	cc, err := c.pages.write(w, c, nil)
	if c.started {
		switch lo := any(c.lo).(type) {
		case string:
			cc.MetaData.Statistics.MinValue = []byte(lo)
			cc.MetaData.Statistics.MaxValue = []byte(any(c.hi).(string))
		case int64:
			cc.MetaData.Statistics.MinValue = plainValue(nil, lo)
			cc.MetaData.Statistics.MaxValue = plainValue(nil, any(c.hi).(int64))
		}
	}
	var zero T
	c.lo, c.hi, c.started = zero, zero, false
	return cc, err
}

package parquetout

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

// dnsRows builds n rows from transactions of every shape: answered with
// answers and CNAME chains, unanswered, responses without their query,
// no question, and strings that need escaping.
func dnsRows(n int) []DNSRow {
	rows := make([]DNSRow, n)
	for i := range rows {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(1024+i%60000))
		server := netip.MustParseAddrPort("10.0.0.53:53")
		t := &dnsinfo.Transaction{
			QueryTime: t0 + int64(i)*1000, ResponseTime: t0 + int64(i)*1000 + int64(i%97)*10_000,
			Client: client, Server: server, Proto: flow.ProtoUDP, Service: []string{"dns", "mdns", "llmnr"}[i%3],
			ID: uint16(i), Opcode: dnsinfo.Opcode(i % 3), Name: fmt.Sprintf("host%d.example.com", i%500), Type: dnsinfo.TypeA,
			Class: 1, RCode: dnsinfo.RCode(i % 4), Flags: dnsinfo.Flags(i % 64), OtherAnswers: i % 2,
		}
		for j := range i % 4 {
			if j == 0 && i%8 == 3 {
				t.Answers = append(t.Answers, dnsinfo.TxAnswer{Name: t.Name, Type: dnsinfo.TypeCNAME, TTL: uint32(i), Target: fmt.Sprintf("edge%d.cdn.net", i%7)})
				continue
			}
			t.Answers = append(t.Answers, dnsinfo.TxAnswer{Name: t.Name, Type: dnsinfo.TypeAAAA, TTL: uint32(j * 1000), Addr: netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: byte(i)})})
		}
		switch i % 11 {
		case 1:
			t.ResponseTime, t.RCode, t.Answers = 0, 0, nil
		case 2:
			t.QueryTime = 0
		case 3:
			t.Name, t.Type = "", 0
		case 4:
			t.Name = hostile[i%len(hostile)]
			if len(t.Answers) > 0 {
				t.Answers[0].Name, t.Answers[0].Target = hostile[(i+1)%len(hostile)], hostile[(i+2)%len(hostile)]
				t.Answers[0].Type = dnsinfo.TypeCNAME
			}
		}
		FromDNS(t, &rows[i])
		if i%5 == 0 {
			rows[i].Sensor = "sensor-" + fmt.Sprint(i%3)
		}
	}
	return rows
}

// dnsEncoderOptions cut row groups of 20,000 rows: a full page and a
// partial one each, and a partial row group at the end.
var dnsEncoderOptions = Options{RowGroupRows: 20_000, Version: "test"}

// TestDNSWriterMatchesParquetGo writes the same rows with dnsWriter and
// with parquet-go's writer: the files must hold the same rows, schema,
// metadata and row groups, with the same values, NULLs, encodings and
// statistics in every column chunk.
func TestDNSWriterMatchesParquetGo(t *testing.T) {
	edges := dnsRows(3)
	edges[0] = DNSRow{Time: edges[0].Time}
	for name, rows := range map[string][]DNSRow{"mix": dnsRows(45_000), "edges": edges, "empty": nil} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ours, theirs := filepath.Join(dir, "ours.parquet"), filepath.Join(dir, "theirs.parquet")
			w, err := NewTableWriter[DNSRow](ours, DNSSchema, dnsEncoderOptions)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			for i := range rows {
				if err := w.Write(&rows[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			writeDNSParquetGo(t, theirs, rows)
			got, err := ReadTable[DNSRow](ours, DNSSchema)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ReadTable[DNSRow](theirs, DNSSchema)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(rows) || !reflect.DeepEqual(got, want) {
				for i := range min(len(got), len(want)) {
					if !reflect.DeepEqual(got[i], want[i]) {
						t.Fatalf("row %d:\n got %+v\nparquet-go's %+v", i, got[i], want[i])
					}
				}
				t.Fatalf("%d rows, parquet-go's %d, written %d", len(got), len(want), len(rows))
			}
			a, b := openFile(t, ours), openFile(t, theirs)
			if a.Schema().String() != b.Schema().String() {
				t.Errorf("schema\n%s\nparquet-go's\n%s", a.Schema(), b.Schema())
			}
			ma, mb := a.Metadata(), b.Metadata()
			if !reflect.DeepEqual(ma.KeyValueMetadata, mb.KeyValueMetadata) || ma.CreatedBy != mb.CreatedBy || ma.NumRows != mb.NumRows {
				t.Errorf("metadata %v %q %d, parquet-go's %v %q %d", ma.KeyValueMetadata, ma.CreatedBy, ma.NumRows, mb.KeyValueMetadata, mb.CreatedBy, mb.NumRows)
			}
			if len(ma.RowGroups) != len(mb.RowGroups) {
				t.Fatalf("%d row groups, parquet-go %d", len(ma.RowGroups), len(mb.RowGroups))
			}
			for g := range ma.RowGroups {
				ra, rb := &ma.RowGroups[g], &mb.RowGroups[g]
				if ra.NumRows != rb.NumRows || len(ra.Columns) != len(rb.Columns) {
					t.Fatalf("row group %d: %d rows %d columns, parquet-go %d %d", g, ra.NumRows, len(ra.Columns), rb.NumRows, len(rb.Columns))
				}
				for c := range ra.Columns {
					ca, cb := &ra.Columns[c].MetaData, &rb.Columns[c].MetaData
					sa, sb := ca.Statistics, cb.Statistics
					if !slices.Equal(ca.PathInSchema, cb.PathInSchema) || ca.NumValues != cb.NumValues || sa.NullCount != sb.NullCount ||
						!bytes.Equal(sa.MinValue, sb.MinValue) || !bytes.Equal(sa.MaxValue, sb.MaxValue) || !sameValueEncodings(ca.Encoding, cb.Encoding) {
						t.Errorf("row group %d, %v: values %d nulls %d min %q max %q encodings %v; parquet-go %v %d %d %q %q %v",
							g, ca.PathInSchema, ca.NumValues, sa.NullCount, sa.MinValue, sa.MaxValue, ca.Encoding,
							cb.PathInSchema, cb.NumValues, sb.NullCount, sb.MinValue, sb.MaxValue, cb.Encoding)
					}
				}
			}
		})
	}
}

// writeDNSParquetGo writes rows with parquet-go's generic writer, the
// reference dnsWriter is compared with.
func writeDNSParquetGo(tb testing.TB, path string, rows []DNSRow) {
	tb.Helper()
	wopts, _, err := writerOptions(DNSSchema, dnsEncoderOptions)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := newDNSWriter(parquet.NewGenericWriter[dnsWire](f, append(wopts, parquet.NewSchema("DNSRow", parquet.SchemaOf(new(dnsWire))))...))
	for i := 0; i < len(rows); i += batchRows {
		if err := w.write(rows[i:min(i+batchRows, len(rows))]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		tb.Fatal(err)
	}
}

// sameValueEncodings compares the value encodings of two column chunks.
// The encoder writes strings outside a dictionary PLAIN, as the flows
// encoder does, where parquet-go chooses DELTA_LENGTH_BYTE_ARRAY (both
// read everywhere), and lists RLE, the encoding of levels and dictionary
// indexes, for every dictionary column.
func sameValueEncodings(ours, theirs []format.Encoding) bool {
	norm := func(encs []format.Encoding) []format.Encoding {
		var out []format.Encoding
		for _, e := range encs {
			switch e {
			case format.RLE:
				continue
			case format.DeltaLengthByteArray:
				e = format.Plain
			}
			out = append(out, e)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(ours), norm(theirs))
}

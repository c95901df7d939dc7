package parquetout

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/parquet-go/parquet-go/format"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
	"github.com/ccaudit/auditor/internal/duckdbtest"
)

// writeDNSParquetGo writes rows as parquet-go writes dnsWire: the
// reference the dns.parquet encoder is compared with.
func writeDNSParquetGo(tb testing.TB, path string, opts Options, rows []DNSRow) {
	writeReference[DNSRow, dnsWire](tb, path, DNSSchema, opts, rows)
}

func writeDNSRows(tb testing.TB, path string, opts Options, rows []DNSRow) {
	tb.Helper()
	w, err := CreateDNS(path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

// dnsRows are transactions of every shape: answered with CNAME chains
// and several addresses, unanswered, responses without their query,
// messages without a question, mDNS, over TCP, with a sensor or not.
func dnsRows(n int) []DNSRow {
	rng := rand.New(rand.NewPCG(1, 2))
	var b DNSRowBuilder
	rows := make([]DNSRow, n)
	for i := range rows {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(1024+rng.IntN(60000)))
		server := netip.MustParseAddrPort("10.0.0.53:53")
		t := &dnsinfo.Transaction{
			Client: client, Server: server, Proto: flow.ProtoUDP, Service: "dns", ID: uint16(rng.Uint32()),
			Name: fmt.Sprintf("host%d.site%d.example.com", rng.IntN(500), i%7), Type: dnsinfo.TypeA, Class: 1,
			Flags: dnsinfo.Flags(rng.Uint32()) & (dnsinfo.FlagRD | dnsinfo.FlagRA | dnsinfo.FlagAD),
		}
		switch i % 11 {
		case 3:
			t.Proto = flow.ProtoTCP
		case 5:
			t.Service, t.Server = "mdns", netip.MustParseAddrPort("224.0.0.251:5353")
		case 7:
			t.Name, t.Type, t.Class = "", 0, 0
		case 9:
			t.Type = dnsinfo.TypeAAAA
		}
		switch i % 5 {
		case 0: // unanswered
			t.QueryTime = t0 + int64(i)*1e6
		case 1: // response whose query was not seen
			t.ResponseTime, t.RCode = t0+int64(i)*1e6, dnsinfo.RCodeNameError
		default:
			t.QueryTime = t0 + int64(i)*1e6
			t.ResponseTime = t.QueryTime + int64(rng.IntN(90_000_000))
			t.RCode = dnsinfo.RCode(i % 3)
			name := t.Name
			for k := range i % 4 {
				target := fmt.Sprintf("alias%d.cdn%d.net", k, rng.IntN(50))
				t.Answers = append(t.Answers, dnsinfo.TxAnswer{Name: name, Type: dnsinfo.TypeCNAME, TTL: uint32(rng.IntN(86400)), Target: target})
				name = target
			}
			for range i % 3 {
				a := netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.IntN(256))})
				if t.Type == dnsinfo.TypeAAAA {
					a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(rng.IntN(256))})
				}
				t.Answers = append(t.Answers, dnsinfo.TxAnswer{Name: name, Type: t.Type, TTL: uint32(rng.IntN(3600)), Addr: a})
			}
			t.OtherAnswers = i % 2
		}
		b.Fill(t, &rows[i])
		if i%4 == 0 {
			rows[i].Sensor = fmt.Sprint("sensor-", i%3)
		}
	}
	return rows
}

// dnsEncoderCases: a mix over several row groups and pages, hostile
// strings in every string column, and no rows at all.
func dnsEncoderCases() map[string][]DNSRow {
	var bad []DNSRow
	for i, s := range hostile {
		r := dnsRows(3)[2]
		r.Query, r.QType, r.Flags, r.Sensor, r.CommunityID, r.ClientIP = s, s+"x", s, s, fmt.Sprint(s, i), s
		r.Answers = []DNSAnswerRow{{Name: s, Type: s, TTL: 1, Data: s}, {Name: "ok", Type: "A", TTL: 2, Data: s + "y"}}
		r.CNAMEChain = []string{s, s + "z"}
		bad = append(bad, r)
	}
	return map[string][]DNSRow{"mix": dnsRows(45_000), "hostile strings": bad, "empty": nil, "list dictionary": listDictRows()}
}

// listDictRows exercise the list columns' dictionaries: a first row group
// of empty lists only (no values, so no dictionary), then one whose
// distinct answer names and chain entries pass dictionaryMaxBytes, so
// its later pages fall back to plain, and a last, short one that starts
// a dictionary afresh.
func listDictRows() []DNSRow {
	g := encoderOptions.RowGroupRows
	rows := dnsRows(int(2*g) + 300)
	for i := range rows {
		r := &rows[i]
		switch {
		case i < int(g):
			r.Answers, r.CNAMEChain = nil, nil
		case i < int(2*g) && i%3 != 0:
			long := fmt.Sprintf("%0120d.example.net", i)
			r.Answers = []DNSAnswerRow{{Name: long, Type: "CNAME", TTL: 1, Data: "x" + long}, {Name: "x" + long, Type: "A", TTL: 2, Data: "192.0.2.7"}}
			r.CNAMEChain = []string{r.Query, long}
		}
	}
	return rows
}

// A list column past its dictionary's bound writes its next pages plain,
// and starts the next row group with a dictionary again.
func TestStrListDictionaryFallsBack(t *testing.T) {
	var buf bytes.Buffer
	codec, err := newZstdCodec(1)
	if err != nil {
		t.Fatal(err)
	}
	w := &flowWriter{out: bufio.NewWriter(&buf), codec: codec, off: 4}
	c := &strListColumn{col: "x", dict: true}
	n := 0
	for ; c.d.bytes <= dictionaryMaxBytes; n++ {
		c.add(false, fmt.Sprintf("%0100d", n))
	}
	if len(c.idx) == 0 || len(c.vals) != 0 {
		t.Fatalf("%d indexes and %d plain values before the first page, want indexes only", len(c.idx), len(c.vals))
	}
	if err := c.flushPage(w); err != nil {
		t.Fatal(err)
	}
	c.add(false, "after")
	c.empty()
	if len(c.vals) != 1 || len(c.idx) != 0 {
		t.Fatalf("after the bound: %d plain values and %d indexes, want the value plain", len(c.vals), len(c.idx))
	}
	if err := c.flushPage(w); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.pages.encodings, []format.Encoding{format.RLEDictionary, format.Plain}) {
		t.Errorf("page encodings %v, want a dictionary page, then a plain one", c.pages.encodings)
	}
	cc, err := c.chunk(w)
	if err != nil {
		t.Fatal(err)
	}
	if md := cc.MetaData; md.DictionaryPageOffset != 4 || md.DataPageOffset <= 4 || md.NumValues != int64(n+2) || md.Statistics.NullCount != 1 {
		t.Errorf("chunk: dictionary page at %d, data at %d, %d values (%d empty), want the dictionary first and %d values, 1 empty",
			md.DictionaryPageOffset, md.DataPageOffset, md.NumValues, md.Statistics.NullCount, n+2)
	}
	c.add(false, "next group")
	if len(c.idx) != 1 || c.d.full {
		t.Errorf("the next row group does not start a dictionary")
	}
}

// TestDNSWriterMatchesParquetGo writes the same rows with the dns.parquet
// encoder and with parquet-go's writer: the files must hold the same
// rows, schema, metadata and row groups, with the same value counts and
// the same statistics in every column chunk.
func TestDNSWriterMatchesParquetGo(t *testing.T) {
	for name, rows := range dnsEncoderCases() {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ours, theirs := filepath.Join(dir, "ours.parquet"), filepath.Join(dir, "theirs.parquet")
			writeDNSRows(t, ours, encoderOptions, rows)
			writeDNSParquetGo(t, theirs, encoderOptions, rows)

			a, err := ReadDNS(ours)
			if err != nil {
				t.Fatal(err)
			}
			b, err := ReadDNS(theirs)
			if err != nil {
				t.Fatal(err)
			}
			if len(a) != len(rows) || len(b) != len(rows) {
				t.Fatalf("%d rows read back, parquet-go's %d, want %d", len(a), len(b), len(rows))
			}
			for i := range a {
				if !reflect.DeepEqual(a[i], b[i]) {
					t.Fatalf("row %d:\n ours %+v\ntheirs %+v", i, a[i], b[i])
				}
			}

			sameFooter(t, ours, theirs)
		})
	}
}

// TestDNSDuckDB has DuckDB compare the encoder's dns.parquet with
// parquet-go's for the same rows, value for value, lists included.
func TestDNSDuckDB(t *testing.T) {
	var stmts, names []string
	dir := t.TempDir()
	for name, rows := range dnsEncoderCases() {
		if len(rows) == 0 {
			continue
		}
		sub := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		os.Mkdir(sub, 0o755)
		ours, theirs := filepath.Join(sub, "ours.parquet"), filepath.Join(sub, "theirs.parquet")
		writeDNSRows(t, ours, encoderOptions, rows)
		writeDNSParquetGo(t, theirs, encoderOptions, rows)
		names = append(names, name)
		stmts = append(stmts, fmt.Sprintf(`SELECT (SELECT count(*) FROM '%[1]s') AS n,
			(SELECT count(*) FROM (SELECT * FROM '%[1]s' EXCEPT ALL SELECT * FROM '%[2]s')) AS only_ours,
			(SELECT count(*) FROM (SELECT * FROM '%[2]s' EXCEPT ALL SELECT * FROM '%[1]s')) AS only_theirs,
			(SELECT sum(len(answers)) FROM '%[1]s') AS answers`, ours, theirs))
	}
	res := duckdbtest.Query(t, stmts)
	for i, name := range names {
		r := res[i][0]
		if r["only_ours"] != "0" || r["only_theirs"] != "0" || r["n"] == "0" || r["answers"] == "0" {
			t.Errorf("%s: DuckDB finds %v rows (%v answers), %v only in the encoder's file and %v only in parquet-go's", name, r["n"], r["answers"], r["only_ours"], r["only_theirs"])
		}
	}
}

// BenchmarkWriteDNS writes dns.parquet rows of every shape (dnsRows) with
// the encoder.
func BenchmarkWriteDNS(b *testing.B) {
	rows := dnsRows(20_000)
	path := filepath.Join(b.TempDir(), "dns.parquet")
	b.ReportAllocs()
	for b.Loop() {
		writeDNSRows(b, path, Options{RowGroupRows: 16 << 10}, rows)
	}
	total := float64(b.N) * float64(len(rows))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/row")
}

// TestDNSWriterBoundsPages writes responses with thousands of answers
// each: pages end by size, not only every dnsPageRows rows, and row
// groups end by size, so hostile traffic cannot make the writer hold a
// row group of gigabytes.
func TestDNSWriterBoundsPages(t *testing.T) {
	answers := make([]DNSAnswerRow, 2000)
	name := strings.Repeat("n", 200)
	for i := range answers {
		answers[i] = DNSAnswerRow{Name: name, Type: "A", TTL: int64(i), Data: "192.0.2.1"}
	}
	rows := dnsRows(150)
	for i := range rows {
		rows[i].Answers, rows[i].CNAMEChain = answers, nil
	}
	path := filepath.Join(t.TempDir(), "dns.parquet")
	writeDNSRows(t, path, Options{}, rows)

	got, err := ReadDNS(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) || len(got[0].Answers) != 2000 || got[149].Answers[1999].TTL != 1999 {
		t.Fatalf("read back %d rows", len(got))
	}
	f := openFile(t, path)
	groups := f.Metadata().RowGroups
	if len(groups) < 2 {
		t.Errorf("%d row groups for %d MB of answers, want them cut by size", len(groups), 150*2000*240>>20)
	}
	for g := range groups {
		if size := groups[g].TotalByteSize; size > dnsGroupBytes+dnsGroupBytes/4 {
			t.Errorf("row group %d holds %d bytes, more than the %d bound", g, size, dnsGroupBytes)
		}
	}
	col := f.RowGroups()[0].ColumnChunks()[19] // answers.list.element.name
	pages := col.Pages()
	defer pages.Close()
	n := 0
	for {
		p, err := pages.ReadPage()
		if err != nil {
			break
		}
		parquet.Release(p)
		n++
	}
	if n < 20 {
		t.Errorf("answers.name in the first row group has %d pages, want them cut every ~%d bytes", n, dnsPageBytes)
	}
}

// A page whose rows are all defined or all NULL has its levels as one
// run: the bytes appendLevels writes from the levels themselves when
// there are 8 or more, and a run that decodes to them when fewer.
func TestAppendLevelRun(t *testing.T) {
	for _, n := range []int{1, 2, 7, 8, 9, 63, 64, 127, 128, 8192, 100000} {
		for _, defined := range []bool{false, true} {
			levels := make([]uint8, n)
			if defined {
				for i := range levels {
					levels[i] = 1
				}
			}
			got := appendLevelRun([]byte("x"), n, defined)
			want, err := appendLevels([]byte("x"), levels)
			if err != nil {
				t.Fatal(err)
			}
			if n >= 8 && !bytes.Equal(got, want) {
				t.Fatalf("%d levels, defined %v: got %x, want %x", n, defined, got, want)
			}
			if int(binary.LittleEndian.Uint32(got[1:])) != len(got)-5 {
				t.Fatalf("%d levels: length prefix %x", n, got[1:5])
			}
			dec, err := (&rle.Encoding{BitWidth: 1}).DecodeLevels(nil, got[5:])
			if err != nil || len(dec) < n || !bytes.Equal(dec[:n], levels) {
				t.Fatalf("%d levels, defined %v: decoded %v, %v", n, defined, dec, err)
			}
		}
	}
}

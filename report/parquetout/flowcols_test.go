package parquetout

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/internal/duckdbtest"
	"github.com/parquet-go/parquet-go/encoding/rle"
)

// writeParquetGo writes rows to path with parquet-go's own writer, the way
// flows.parquet was written before flowWriter: the reference the encoder
// is compared with.
func writeParquetGo(tb testing.TB, path string, opts Options, rows []FlowRow) {
	writeReference[FlowRow, flowWire](tb, path, SchemaVersion, opts, rows)
}

// writeReference writes rows of a table through its wire form with
// parquet-go's writer: what the tables with an encoder of their own
// (flows, dns) are compared with.
func writeReference[T any, W any, PT wireRow[T, W]](tb testing.TB, path, schema string, opts Options, rows []T) {
	tb.Helper()
	wopts, _, err := writerOptions(schema, opts)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := newWireWriter[T, W, PT](f, wopts)
	for i := 0; i < len(rows); i += batchRows {
		if err := w.write(rows[i:min(i+batchRows, len(rows))]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		tb.Fatal(err)
	}
}

// encoderCases are the row sets flowWriter is checked on: a replay's mix
// over several row groups and pages; rows at the edges (every optional
// column NULL, empty required strings, extreme counters); a column whose
// distinct values pass dictionaryMaxBytes, so its pages fall back to plain
// encoding mid row group; and no rows at all.
func encoderCases(tb testing.TB) map[string][]FlowRow {
	mix := benchFlows(45_000)
	edges := manyRows(tb, 5)
	edges[0] = FlowRow{FirstSeen: edges[0].FirstSeen, LastSeen: edges[0].LastSeen}
	edges[1].PacketsOut, edges[1].BytesIn, edges[1].ICMPUnreach = math.MaxInt64, math.MinInt64, math.MaxInt32
	edges[2].SrcPort, edges[2].VLAN = -1, math.MinInt32
	wide := manyRows(tb, 24_000)
	for i := range wide {
		// 24,000 distinct 60-byte values: 1.5 MB of dictionary.
		wide[i].History = fmt.Sprintf("%060d", i)
		wide[i].SNI = strings.Repeat("x", i%50)
	}
	// Bytes that are not UTF-8 and backslashes, in dictionary and plain
	// columns (call_id, community_id), escaped alike by both writers.
	var bad []FlowRow
	for i, s := range hostile {
		r := manyRows(tb, 1)[0]
		r.SNI, r.ALPN, r.CallID, r.CommunityID, r.DNSQuery = s, s+"x", s, fmt.Sprint(s, i), s
		bad = append(bad, r)
	}
	return map[string][]FlowRow{"replay mix": mix, "edges": edges, "dictionary past its bound": wide, "hostile strings": bad, "empty": nil}
}

// encoderOptions cut row groups of 20,000 rows: a full page of 16,384 and
// a partial one each, and a partial row group at the end.
var encoderOptions = Options{RowGroupRows: 20_000, Version: "test"}

// TestFlowWriterMatchesParquetGo writes the same rows with flowWriter and
// with parquet-go's writer: the files must hold the same rows, schema,
// metadata and row groups, with the same statistics in every column chunk.
func TestFlowWriterMatchesParquetGo(t *testing.T) {
	for name, rows := range encoderCases(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ours, theirs := filepath.Join(dir, "ours.parquet"), filepath.Join(dir, "theirs.parquet")
			writeRows(t, ours, encoderOptions, rows)
			writeParquetGo(t, theirs, encoderOptions, rows)

			readsBack(t, ours, rows)

			sameFooter(t, ours, theirs)
		})
	}
}

// TestDuckDB checks with DuckDB, the tool analysts query flows.parquet
// with, that the encoder's files hold what parquet-go's hold for the same
// rows, value for value, and that timestamps read as timestamps and unset
// optional values as NULL.
func TestDuckDB(t *testing.T) {
	var stmts []string
	var names []string
	dir := t.TempDir()
	for name, rows := range encoderCases(t) {
		if len(rows) == 0 {
			continue
		}
		sub := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		os.Mkdir(sub, 0o755)
		ours, theirs := filepath.Join(sub, "ours.parquet"), filepath.Join(sub, "theirs.parquet")
		writeRows(t, ours, encoderOptions, rows)
		writeParquetGo(t, theirs, encoderOptions, rows)
		names = append(names, name)
		stmts = append(stmts, fmt.Sprintf(`SELECT (SELECT count(*) FROM '%[1]s') AS n,
			(SELECT count(*) FROM (SELECT * FROM '%[1]s' EXCEPT ALL SELECT * FROM '%[2]s')) AS only_ours,
			(SELECT count(*) FROM (SELECT * FROM '%[2]s' EXCEPT ALL SELECT * FROM '%[1]s')) AS only_theirs`, ours, theirs))
	}
	path := filepath.Join(dir, "flows.parquet")
	writeRows(t, path, Options{}, manyRows(t, 10))
	stmts = append(stmts, fmt.Sprintf(`SELECT typeof(first_seen) AS t, count(*) AS n, count(verdict) AS v,
		min(first_seen) = TIMESTAMPTZ '2023-11-14 22:13:20.123456+00' AS first, count(proxy_target) AS pt
		FROM read_parquet('%s') GROUP BY 1`, path))

	res := duckdbtest.Query(t, stmts)
	for i, name := range names {
		r := res[i][0]
		if r["only_ours"] != "0" || r["only_theirs"] != "0" || r["n"] == "0" {
			t.Errorf("%s: DuckDB finds %v rows, %v only in the encoder's file and %v only in parquet-go's", name, r["n"], r["only_ours"], r["only_theirs"])
		}
	}
	r := res[len(names)][0]
	if r["t"] != "TIMESTAMP WITH TIME ZONE" || r["n"] != "10" || r["v"] != "5" || r["first"] != true || r["pt"] != "3" {
		t.Errorf("DuckDB reads %v, want TIMESTAMP WITH TIME ZONE, 10 rows, 5 verdicts, the first time, 3 proxy targets", r)
	}
}

// A dictionary finds a value again by the address of its bytes only when
// the length matches too: a prefix shares its string's address.
func TestStrDictSeenByAddress(t *testing.T) {
	var d strDict
	var rng strRange
	s := strings.Repeat("abcdef", 3)
	want := map[string]int32{}
	for round := range 3 {
		for _, v := range []string{s, s[:6], s[:3], strings.Clone(s), s[6:], strings.Clone(s[:3]), s} {
			i := d.lookup(v, &rng)
			if w, ok := want[v]; ok && i != w {
				t.Fatalf("round %d: %q has index %d, first %d", round, v, i, w)
			}
			want[v] = i
			if d.values[i] != v {
				t.Fatalf("round %d: %q looked up as %q", round, v, d.values[i])
			}
		}
	}
	if len(d.values) != 4 {
		t.Errorf("dictionary %q, want the 4 distinct values", d.values)
	}
}

// TestAppendLevels1 checks the definition level encoder against
// parquet-go's decoder: runs shorter and longer than 8, bit-packed spans
// longer than one header allows, all NULL, none NULL, and lengths around
// a group of 8.
func TestAppendLevels1(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	cases := map[string][]uint8{"empty": nil}
	for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 16 << 10} {
		cases[fmt.Sprint("null ", n)] = make([]uint8, n)
		cases[fmt.Sprint("present ", n)] = slices.Repeat([]uint8{1}, n)
		alt := make([]uint8, n)
		for i := range alt {
			alt[i] = uint8(i & 1)
		}
		cases[fmt.Sprint("alternating ", n)] = alt
	}
	for _, mean := range []int{1, 3, 7, 8, 9, 40} {
		var lv []uint8
		for l := uint8(0); len(lv) < 20000; l ^= 1 {
			lv = append(lv, slices.Repeat([]uint8{l}, 1+rng.IntN(2*mean))...)
		}
		cases[fmt.Sprint("runs around ", mean)] = lv
	}
	for name, levels := range cases {
		enc := appendLevels1([]byte("x"), levels)
		if enc[0] != 'x' {
			t.Fatalf("%s: dst overwritten", name)
		}
		got, err := (&rle.Encoding{BitWidth: 1}).DecodeLevels(nil, enc[1:])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// A bit-packed run's last group is padded to 8 levels.
		if len(got) < len(levels) || len(got) > len(levels)+7 || !slices.Equal(got[:len(levels)], levels) {
			t.Errorf("%s: %d levels came back as %d, equal %v", name, len(levels), len(got), len(got) >= len(levels) && slices.Equal(got[:len(levels)], levels))
		}
		if strings.HasPrefix(name, "null ") && len(levels) >= 8 && len(enc) > 1+4 {
			t.Errorf("%s: %d bytes for one run", name, len(enc)-1)
		}
	}
}

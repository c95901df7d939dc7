package parquetout

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// manyRows returns n distinct rows covering every column, with the optional
// columns alternately set and empty.
func manyRows(tb testing.TB, n int) []FlowRow {
	base := sipCall(tb)
	rows := make([]FlowRow, n)
	for i := range rows {
		r := base
		r.FirstSeen = base.FirstSeen.Add(time.Duration(i) * time.Millisecond)
		r.LastSeen = r.FirstSeen.Add(time.Duration(i%7) * time.Second)
		r.SrcIP = fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff)
		r.SrcPort = int32(1024 + i%60000)
		r.PacketsOut, r.BytesOut = int64(i), int64(i)*1500
		r.VLAN = int32(i % 4)
		r.CommunityID = fmt.Sprintf("1:%027d=", i)
		if i%2 == 0 {
			r.Verdict, r.Vendor, r.EntryID = "allowed", "genesys", "genesys/sip-tls"
			r.Reason, r.ClassifiedBy = "port 5061 in catalog", "port"
			r.FromRole, r.ToRole = "agent", "sbc"
			r.SNI, r.ALPN, r.TLSVersion = "sbc.example.com", "h2", "1.3"
			r.JA4, r.JA3 = "t13d1516h2_8daaf6152771_02713d6af862", "771,4865-4866,0-23,29-23,0"
			r.Sensor = "sensor-ü1" // non-ASCII survives
			r.Tunnel = "vxlan [2001:db8::1]:51000->[2001:db8::2]:4789"
			if i%4 == 0 {
				r.ProxyTarget = fmt.Sprintf("sbc%d.example.com:5061", i%3)
			}
			r.DNSQuery, r.DNSRCode = fmt.Sprintf("q%d.example.com", i%5), "NXDOMAIN"
		} else {
			r.App, r.CallID = "", ""
		}
		rows[i] = r
	}
	return rows
}

// readsBack fails t unless the flows file at path holds want, row for row,
// once unescaped (see safetext).
func readsBack(t *testing.T, path string, want []FlowRow) {
	t.Helper()
	got, err := ReadFlows(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d rows, wrote %d", len(got), len(want))
	}
	for i := range want {
		unescapeStrings(t, reflect.ValueOf(&got[i]), "flows")
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d differs:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func writeRows(tb testing.TB, path string, opts Options, rows []FlowRow) {
	tb.Helper()
	w, err := Create(path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Abort()
	var row FlowRow // reused, as callers do
	for i := range rows {
		row = rows[i]
		if err := w.Write(&row); err != nil {
			tb.Fatal(err)
		}
	}
	if got := w.Rows(); got != uint64(len(rows)) {
		tb.Errorf("Rows() = %d, want %d", got, len(rows))
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		rows      int
		rowGroup  int64
		wantGroup int
	}{
		{"empty", 0, 0, 0},
		{"one", 1, 0, 1},
		{"partial batch", batchRows - 1, 0, 1},
		{"batches across row groups", 3*batchRows + 17, 1000, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "flows.parquet")
			want := manyRows(t, tt.rows)
			writeRows(t, path, Options{RowGroupRows: tt.rowGroup}, want)
			readsBack(t, path, want)
			if n := len(openFile(t, path).RowGroups()); n != tt.wantGroup {
				t.Errorf("%d row groups, want %d", n, tt.wantGroup)
			}
		})
	}
}

// TestTimestamps checks that times come back at microsecond precision, in
// UTC, whatever location they were written in.
func TestTimestamps(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		in, want time.Time
	}{
		{time.Date(2024, 3, 1, 12, 0, 0, 123_456_789, paris), time.Date(2024, 3, 1, 11, 0, 0, 123_456_000, time.UTC)},
		{time.Date(1970, 1, 1, 0, 0, 0, 1_000, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 1_000, time.UTC)},
		{time.Date(1969, 12, 31, 23, 59, 59, 999_999_000, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999_999_000, time.UTC)},
		{time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC), time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC)},
	}
	rows := make([]FlowRow, len(tests))
	for i, tt := range tests {
		rows[i] = FlowRow{FirstSeen: tt.in, LastSeen: tt.in.Add(time.Microsecond)}
	}
	path := filepath.Join(t.TempDir(), "flows.parquet")
	writeRows(t, path, Options{}, rows)
	got, err := ReadFlows(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		g := got[i]
		if g.FirstSeen != tt.want || g.LastSeen != tt.want.Add(time.Microsecond) {
			t.Errorf("%v: read back first %v last %v, want %v (UTC)", tt.in, g.FirstSeen, g.LastSeen, tt.want)
		}
	}
}

// TestSchema pins the file schema that SQL users query: column names and
// order, physical and logical types, optionality, dictionary encoding and
// compression. A change here needs a new SchemaVersion.
func TestSchema(t *testing.T) {
	type col struct {
		name     string
		typ      string // parquet-go's rendering of the leaf type
		optional bool
		dict     bool
	}
	ts := "TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)"
	want := []col{
		{"first_seen", ts, false, false}, {"last_seen", ts, false, false},
		{"proto", "STRING", false, true}, {"src_ip", "STRING", false, true}, {"src_port", "INT(32,true)", false, false},
		{"dst_ip", "STRING", false, true}, {"dst_port", "INT(32,true)", false, false},
		{"packets_out", "INT(64,true)", false, false}, {"bytes_out", "INT(64,true)", false, false},
		{"packets_in", "INT(64,true)", false, false}, {"bytes_in", "INT(64,true)", false, false},
		{"payload_out", "INT(64,true)", false, false}, {"payload_in", "INT(64,true)", false, false},
		{"state", "STRING", false, true}, {"history", "STRING", false, true}, {"vlan", "INT(32,true)", false, false},
		{"community_id", "STRING", false, false}, {"end_reason", "STRING", false, true},
		{"icmp_unreach", "INT(32,true)", false, false},
		{"app", "STRING", true, true}, {"verdict", "STRING", true, true}, {"vendor", "STRING", true, true},
		{"entry_id", "STRING", true, true}, {"reason", "STRING", true, true},
		{"classified_by", "STRING", true, true}, {"from_role", "STRING", true, true},
		{"to_role", "STRING", true, true}, {"sni", "STRING", true, true}, {"server_name", "STRING", true, true},
		{"alpn", "STRING", true, true}, {"tls_version", "STRING", true, true}, {"ja4", "STRING", true, true},
		{"ja3", "STRING", true, true}, {"call_id", "STRING", true, false}, {"sensor", "STRING", true, true},
		{"tunnel", "STRING", true, true},
		{"proxy_target", "STRING", true, true},
		{"seq_bytes_out", "INT(64,true)", false, false}, {"seq_bytes_in", "INT(64,true)", false, false},
		{"dns_query", "STRING", true, true}, {"dns_rcode", "STRING", true, true},
	}
	deltaColumns := map[string]bool{"first_seen": true, "last_seen": true, "src_port": true, "vlan": true, "icmp_unreach": true}
	path := filepath.Join(t.TempDir(), "flows.parquet")
	writeRows(t, path, Options{}, manyRows(t, 10))
	f := openFile(t, path)

	fields := f.Schema().Fields()
	if len(fields) != len(want) {
		t.Fatalf("%d columns, want %d", len(fields), len(want))
	}
	chunks := f.Metadata().RowGroups[0].Columns
	for i, w := range want {
		field := fields[i]
		if field.Name() != w.name {
			t.Errorf("column %d is %q, want %q", i, field.Name(), w.name)
			continue
		}
		if got := field.Type().String(); got != w.typ {
			t.Errorf("%s: type %s, want %s", w.name, got, w.typ)
		}
		if field.Optional() != w.optional {
			t.Errorf("%s: optional %v, want %v", w.name, field.Optional(), w.optional)
		}
		md := chunks[i].MetaData
		if md.Codec != format.Zstd {
			t.Errorf("%s: codec %v, want ZSTD", w.name, md.Codec)
		}
		if dict := slices.Contains(md.Encoding, format.RLEDictionary); dict != w.dict {
			t.Errorf("%s: dictionary encoded %v, want %v (encodings %v)", w.name, dict, w.dict, md.Encoding)
		}
		if delta := slices.Contains(md.Encoding, format.DeltaBinaryPacked); delta != deltaColumns[w.name] {
			t.Errorf("%s: delta encoded %v, want %v (encodings %v)", w.name, delta, deltaColumns[w.name], md.Encoding)
		}
		// Readers skip row groups by these.
		hasValues := md.Statistics.NullCount < md.NumValues
		if hasValues && (md.Statistics.MinValue == nil || md.Statistics.MaxValue == nil) {
			t.Errorf("%s: column chunk has no min/max statistics", w.name)
		}
	}
	// The logical type is what makes DuckDB read first_seen as TIMESTAMP
	// WITH TIME ZONE rather than BIGINT.
	for _, se := range f.Metadata().Schema[1:3] {
		ts, ok := se.LogicalType.Value.(*format.TimestampType)
		if !ok || !ts.IsAdjustedToUTC {
			t.Errorf("%s: footer logical type %v, want TIMESTAMP(MICROS, UTC)", se.Name, &se.LogicalType)
			continue
		}
		if _, micros := ts.Unit.Value.(*format.MicroSeconds); !micros {
			t.Errorf("%s: timestamp unit %v, want MICROS", se.Name, &ts.Unit)
		}
	}
}

// TestNullOptional checks that an empty optional string is NULL in the
// file, not "", so SQL's IS NULL finds unknown values.
func TestNullOptional(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.parquet")
	rows := []FlowRow{{Verdict: "allowed"}, {}}
	writeRows(t, path, Options{}, rows)
	f := openFile(t, path)
	leaf, ok := f.Schema().Lookup("verdict")
	if !ok {
		t.Fatal("no verdict column")
	}
	chunk := f.RowGroups()[0].ColumnChunks()[leaf.ColumnIndex]
	pages := chunk.Pages()
	defer pages.Close()
	var nulls int64
	for {
		p, err := pages.ReadPage()
		if err != nil {
			break
		}
		nulls += p.NumNulls()
		parquet.Release(p)
	}
	if nulls != 1 {
		t.Errorf("verdict has %d nulls, want 1", nulls)
	}
}

func TestMetadata(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.parquet")
	opts := Options{Version: "v1.2.3", CreatedBy: "auditor replay", Metadata: map[string]string{"capture": "site-a.pcap"}}
	writeRows(t, path, opts, manyRows(t, 3))
	md, err := ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		MetaSchema: SchemaVersion, MetaVersion: "v1.2.3", MetaCreatedBy: "auditor replay", "capture": "site-a.pcap",
	}
	for k, v := range want {
		if md[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, md[k], v)
		}
	}
	if cb := openFile(t, path).Metadata().CreatedBy; !strings.HasPrefix(cb, "auditor version v1.2.3") {
		t.Errorf("created_by %q, want auditor version v1.2.3...", cb)
	}

	// Defaults.
	writeRows(t, path, Options{}, nil)
	md, err = ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	if md[MetaCreatedBy] != "auditor" || md[MetaVersion] == "" {
		t.Errorf("default metadata %v", md)
	}
}

func TestOptionErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		opts Options
	}{
		{"reserved key", "a.parquet", Options{Metadata: map[string]string{MetaSchema: "x"}}},
		{"level too high", "a.parquet", Options{CompressionLevel: 23}},
		{"level negative", "a.parquet", Options{CompressionLevel: -1}},
		{"missing directory", "nope/a.parquet", Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Create(filepath.Join(dir, tt.path), tt.opts)
			if err == nil {
				w.Abort()
				t.Fatal("Create succeeded")
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed Create left %d files", len(entries))
	}
}

func TestCompressionLevels(t *testing.T) {
	rows := manyRows(t, 2000)
	var sizes []int64
	for _, level := range []int{1, 3, 19} {
		path := filepath.Join(t.TempDir(), "flows.parquet")
		writeRows(t, path, Options{CompressionLevel: level}, rows)
		got, err := ReadFlows(path)
		if err != nil || len(got) != len(rows) {
			t.Fatalf("level %d: read %d rows, %v", level, len(got), err)
		}
		st, _ := os.Stat(path)
		sizes = append(sizes, st.Size())
	}
	// Not compared with level 1: with literals entropy coded, the fastest
	// level beats the middle ones on these columns.
	if sizes[2] >= sizes[1] {
		t.Errorf("level 19 file %d bytes not smaller than level 3 file %d bytes", sizes[2], sizes[1])
	}
}

// dirNames lists a directory, for checking which of the final and temp
// files exist.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestLifecycle(t *testing.T) {
	row := sipCall(t)
	tmpPrefix := fmt.Sprintf("flows.parquet.tmp-%s-%d-", hostTag(), os.Getpid())

	t.Run("close renames", func(t *testing.T) {
		dir := t.TempDir()
		w, err := Create(filepath.Join(dir, "flows.parquet"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(&row); err != nil {
			t.Fatal(err)
		}
		if got := dirNames(t, dir); len(got) != 1 || !strings.HasPrefix(got[0], tmpPrefix) {
			t.Errorf("before Close: %v, want only the temp file %s*", got, tmpPrefix)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := dirNames(t, dir); !slices.Equal(got, []string{"flows.parquet"}) {
			t.Errorf("after Close: %v, want only flows.parquet", got)
		}
		if err := w.Write(&row); !errors.Is(err, ErrClosed) {
			t.Errorf("Write after Close: %v, want ErrClosed", err)
		}
		if err := w.Close(); !errors.Is(err, ErrClosed) {
			t.Errorf("second Close: %v, want ErrClosed", err)
		}
		if err := w.Abort(); err != nil {
			t.Errorf("Abort after Close: %v", err)
		}
		if got := dirNames(t, dir); !slices.Equal(got, []string{"flows.parquet"}) {
			t.Errorf("Abort after Close removed the file: %v", got)
		}
	})

	t.Run("abort removes", func(t *testing.T) {
		dir := t.TempDir()
		w, err := Create(filepath.Join(dir, "flows.parquet"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 * batchRows {
			if err := w.Write(&row); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		if got := dirNames(t, dir); len(got) != 0 {
			t.Errorf("after Abort: %v, want nothing", got)
		}
		if err := w.Close(); !errors.Is(err, ErrClosed) {
			t.Errorf("Close after Abort: %v, want ErrClosed", err)
		}
	})

	t.Run("interrupted leaves no final file", func(t *testing.T) {
		dir := t.TempDir()
		final := filepath.Join(dir, "flows.parquet")
		w, err := Create(final, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		for range 3 * batchRows {
			if err := w.Write(&row); err != nil {
				t.Fatal(err)
			}
		}
		// No Close: as if the process died here.
		if _, err := os.Stat(final); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("final file exists before Close: %v", err)
		}
		names := dirNames(t, dir)
		if len(names) != 1 || !strings.HasPrefix(names[0], tmpPrefix) {
			t.Fatalf("files %v, want one temp file", names)
		}
		if _, err := ReadFlows(filepath.Join(dir, names[0])); err == nil {
			t.Error("unfinished temp file reads as a valid Parquet file")
		}
	})

	t.Run("replaces existing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "flows.parquet")
		writeRows(t, path, Options{}, manyRows(t, 5))
		writeRows(t, path, Options{}, manyRows(t, 2))
		got, err := ReadFlows(path)
		if err != nil || len(got) != 2 {
			t.Errorf("read %d rows, %v; want the 2 of the second file", len(got), err)
		}
	})

	t.Run("failed close removes temp", func(t *testing.T) {
		dir := t.TempDir()
		// A directory under the final name makes the rename fail after
		// the file was completely written.
		final := filepath.Join(dir, "flows.parquet")
		if err := os.Mkdir(final, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(final, "keep"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := Create(final, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(&row); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err == nil {
			t.Fatal("Close renamed over a directory")
		}
		if got := dirNames(t, dir); !slices.Equal(got, []string{"flows.parquet"}) {
			t.Errorf("after failed Close: %v, want the temp file gone", got)
		}
	})
}

// TestKilledWriter kills a process in the middle of writing and checks that
// nothing appears under the final name: the guarantee a SIGKILL or a crash
// must keep, which no in-process test can fully stand in for.
func TestKilledWriter(t *testing.T) {
	if os.Getenv("PARQUETOUT_CHILD") != "" {
		killedWriterChild(t)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	final := filepath.Join(dir, "flows.parquet")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriter$")
	cmd.Env = append(os.Environ(), "PARQUETOUT_CHILD="+final)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child says when it has written some batches, then keeps writing.
	buf := make([]byte, 5)
	if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %q, %v", buf, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if _, err := os.Stat(final); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("final file exists after kill: %v", err)
	}
	tmps, _ := filepath.Glob(fmt.Sprintf("%s.tmp-%s-%d-*", final, hostTag(), cmd.Process.Pid))
	if len(tmps) != 1 {
		t.Fatalf("the killed writer's temp file: %v, want one", tmps)
	}
	// The next run reclaims it once it is old enough: its writer is dead
	// and the kernel dropped its lock.
	if res, err := RemoveStale(StaleScope{Dir: dir, MinAge: time.Hour}); err != nil || len(res.Removed) != 0 || res.Recent != 1 {
		t.Errorf("RemoveStale of a fresh file = %+v, %v; want it kept as recent", res, err)
	}
	res, err := RemoveStale(StaleScope{Dir: dir, MinAge: time.Hour, Now: time.Now().Add(2 * time.Hour)})
	if err != nil || !slices.Equal(res.Removed, tmps) {
		t.Errorf("RemoveStale = %+v, %v; want %v", res, err, tmps)
	}
}

func killedWriterChild(t *testing.T) {
	w, err := Create(os.Getenv("PARQUETOUT_CHILD"), Options{})
	if err != nil {
		os.Exit(3)
	}
	rows := manyRows(t, batchRows)
	for i := 0; ; i++ {
		if err := w.Write(&rows[i%len(rows)]); err != nil {
			os.Exit(4)
		}
		if i == 4*batchRows {
			os.Stdout.WriteString("ready")
		}
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	writeRows(t, good, Options{}, manyRows(t, 3000))
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(data)
	for i := 100; i < len(flipped)/2; i += 97 {
		flipped[i] ^= 0xff
	}
	other := filepath.Join(dir, "other.parquet")
	ow, err := NewTableWriter[struct {
		X int64 `parquet:"x"`
	}](other, "findings/1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ow.Write(&struct {
		X int64 `parquet:"x"`
	}{1})
	if err := ow.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		data []byte // written to a file unless nil
		path string
	}{
		{"missing", nil, filepath.Join(dir, "missing.parquet")},
		{"empty", []byte{}, ""},
		{"not parquet", []byte("PAR1 this is not a parquet file PAR1"), ""},
		{"truncated", data[:len(data)/2], ""},
		{"footer cut", data[:len(data)-9], ""},
		{"corrupt pages", flipped, ""},
		{"other schema", nil, other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if tt.data != nil {
				path = filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".parquet")
				if err := os.WriteFile(path, tt.data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := ReadFlows(path)
			if err == nil {
				t.Fatalf("read %d rows, want an error", len(rows))
			}
			t.Log(err)
			if !strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), filepath.Base(path)) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func openFile(tb testing.TB, path string) *parquet.File {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		tb.Fatal(err)
	}
	return pf
}

// TestWriteAllocs checks that Write allocates nothing per row: parquet-go's
// page flushes allocate, but fewer than once per row on average.
func TestWriteAllocs(t *testing.T) {
	w, err := Create(filepath.Join(t.TempDir(), "flows.parquet"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	rows := manyRows(t, 4*batchRows)
	i := 0
	allocs := testing.AllocsPerRun(len(rows), func() {
		if err := w.Write(&rows[i%len(rows)]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs >= 1 {
		t.Errorf("Write allocates %.0f times per row, want under one on average", allocs)
	}
}

func TestSetMetadataBeforeClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.parquet")
	w, err := Create(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetMetadata(MetaSchema, "x"); err == nil {
		t.Error("reserved key accepted")
	}
	if err := w.SetMetadata("auditor.capture.packets_dropped", "7"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	md, err := ReadMetadata(path)
	if err != nil || md["auditor.capture.packets_dropped"] != "7" {
		t.Fatalf("metadata %v, %v", md, err)
	}
}

// TestCloseAfterFailedWrite pins that a writer whose row failed half-way
// into its columns writes no footer over it: Close returns the write's
// error and leaves no file.
func TestCloseAfterFailedWrite(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(filepath.Join(dir, "flows.parquet"), Options{RowGroupRows: 1024})
	if err != nil {
		t.Fatal(err)
	}
	// The file under the writer's buffer goes away: the next flush fails.
	w.file.Close()
	row := FlowRow{Proto: "udp", SrcIP: "192.0.2.1", DstIP: "192.0.2.2", CommunityID: "1:abc"}
	var werr error
	for i := 0; i < 1_000_000 && werr == nil; i++ {
		row.SrcPort = int32(i)
		werr = w.Write(&row)
	}
	if werr == nil {
		t.Fatal("no write failed with the file closed")
	}
	if err := w.Close(); err == nil || err.Error() != werr.Error() {
		t.Errorf("Close after a failed write: %v, want the write's error %v", err, werr)
	}
	if got := dirNames(t, dir); len(got) != 0 {
		t.Errorf("after the failed Close: %v, want no file", got)
	}
}

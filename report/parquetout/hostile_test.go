package parquetout

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/ccaudit/auditor/internal/duckdbtest"
	"github.com/ccaudit/auditor/report/safetext"
)

// hostile are strings a packet can put in any parsed field: bytes that are
// not UTF-8 (the ALPN 0xBA 0xAD of a hostile ClientHello), a cut sequence,
// a surrogate, backslashes that look like escapes, NUL and controls.
var hostile = []string{
	"\xba\xad",
	"sbc.example.com\xff",
	"caf\xc3",
	"\xed\xa0\x80x",
	`\xBA`,
	`C:\temp\`,
	"a\x00b\x01\x7f",
	"\u00e9\u2028\xfe",
}

// setStrings sets every string field of the struct v points to (nested
// structs and slices of structs included) to s.
func setStrings(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.Pointer:
		setStrings(v.Elem(), s)
	case reflect.Struct:
		for i := range v.NumField() {
			setStrings(v.Field(i), s)
		}
	case reflect.Slice:
		for i := range v.Len() {
			setStrings(v.Index(i), s)
		}
	case reflect.String:
		v.SetString(s)
	}
}

// unescapeStrings checks that every string field of the struct v points to
// is valid UTF-8 and replaces it with its unescaped form.
func unescapeStrings(t testing.TB, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		unescapeStrings(t, v.Elem(), path)
	case reflect.Struct:
		for i := range v.NumField() {
			unescapeStrings(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Slice:
		for i := range v.Len() {
			unescapeStrings(t, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		s := v.String()
		if !utf8.ValidString(s) {
			t.Fatalf("%s = %q is not UTF-8", path, s)
		}
		u, err := safetext.Unescape(s)
		if err != nil {
			t.Fatalf("%s = %q: %v", path, s, err)
		}
		v.SetString(u)
	}
}

// hostileRows are a row of every table with s in every string column.
func hostileRows(tb testing.TB, s string) (FlowRow, FindingRow, CallRow, DNSRow) {
	fl := sipCall(tb)
	setStrings(reflect.ValueOf(&fl), s)
	fi := FindingRow{Count: 1, DstPort: 5061, FirstSeen: fl.FirstSeen, LastSeen: fl.LastSeen}
	setStrings(reflect.ValueOf(&fi), s)
	ca := CallRow{Start: fl.FirstSeen, Media: make([]CallMediaRow, 2)}
	setStrings(reflect.ValueOf(&ca), s)
	dn := DNSRow{Time: fl.FirstSeen, Answered: true, Answers: make([]DNSAnswerRow, 2), CNAMEChain: make([]string, 3)}
	setStrings(reflect.ValueOf(&dn), s)
	return fl, fi, ca, dn
}

// writeTable writes rows to path with the table's writer.
func writeTable[T any](tb testing.TB, path, schema string, rows ...T) {
	tb.Helper()
	w, err := NewTableWriter[T](path, schema, Options{Version: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Abort()
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

// readsBackEscaped fails tb unless the file at path reads back with
// parquet-go as want once unescaped, every string valid UTF-8.
func readsBackEscaped[T any](tb testing.TB, path, schema string, want []T) {
	tb.Helper()
	got, err := ReadTable[T](path, schema)
	if err != nil {
		tb.Fatal(err)
	}
	if len(got) != len(want) {
		tb.Fatalf("%s: read %d rows, wrote %d", path, len(got), len(want))
	}
	for i := range got {
		unescapeStrings(tb, reflect.ValueOf(&got[i]), filepath.Base(path))
		if !reflect.DeepEqual(got[i], want[i]) {
			tb.Fatalf("%s row %d after unescaping:\n got %+v\nwant %+v", path, i, got[i], want[i])
		}
	}
}

// TestHostileStrings writes every table with hostile bytes in every string
// column: parquet-go reads the files back as valid UTF-8 that unescapes to
// what was written, and DuckDB, which rejects a file holding invalid UTF-8
// in a STRING column, reads every row and sees the escapes.
func TestHostileStrings(t *testing.T) {
	dir := t.TempDir()
	var flows []FlowRow
	var findings []FindingRow
	var calls []CallRow
	var dns []DNSRow
	for _, s := range hostile {
		fl, fi, ca, dn := hostileRows(t, s)
		flows, findings, calls, dns = append(flows, fl), append(findings, fi), append(calls, ca), append(dns, dn)
	}
	paths := map[string]string{}
	for _, name := range []string{"flows", "findings", "calls", "dns"} {
		paths[name] = filepath.Join(dir, name+".parquet")
	}
	writeTable(t, paths["flows"], SchemaVersion, flows...)
	writeTable(t, paths["findings"], FindingsSchema, findings...)
	writeTable(t, paths["calls"], CallsSchema, calls...)
	writeTable(t, paths["dns"], DNSSchema, dns...)
	readsBackEscaped(t, paths["flows"], SchemaVersion, flows)
	readsBackEscaped(t, paths["findings"], FindingsSchema, findings)
	readsBackEscaped(t, paths["calls"], CallsSchema, calls)
	readsBackEscaped(t, paths["dns"], DNSSchema, dns)

	res := duckdbtest.Query(t, []string{
		"SELECT count(*) AS n, count(*) FILTER (WHERE alpn = '\\xBA\\xAD') AS alpn, count(*) FILTER (WHERE sni = '\\\\xBA') AS literal FROM '" + paths["flows"] + "'",
		"SELECT count(*) AS n, count(*) FILTER (WHERE reason = 'caf\\xC3') AS reason FROM '" + paths["findings"] + "'",
		"SELECT count(*) AS n, count(*) FILTER (WHERE from_uri = 'sbc.example.com\\xFF' AND m.codecs = from_uri) AS uri FROM '" + paths["calls"] + "', unnest(media) AS t(m)",
		"SELECT count(*) AS n, count(*) FILTER (WHERE query = 'C:\\\\temp\\\\' AND a.name = query) AS q FROM '" + paths["dns"] + "', unnest(answers) AS t(a)",
	})
	want := []map[string]any{
		{"n": fmt.Sprint(len(hostile)), "alpn": "1", "literal": "1"},
		{"n": fmt.Sprint(len(hostile)), "reason": "1"},
		{"n": fmt.Sprint(2 * len(hostile)), "uri": "2"},
		{"n": fmt.Sprint(2 * len(hostile)), "q": "2"},
	}
	for i := range want {
		if !reflect.DeepEqual(res[i][0], want[i]) {
			t.Errorf("DuckDB statement %d: %v, want %v", i, res[i][0], want[i])
		}
	}
}

// FuzzHostileString: whatever string a packet puts in every string column
// of every table, parquet-go reads the files back, every string valid
// UTF-8, and unescaping gives the bytes written.
func FuzzHostileString(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Add("")
	// The writers are made once and Reset for every run (a parquet-go
	// writer allocates megabytes of page buffers); files go to memory.
	var buf bytes.Buffer
	opts := func(schema string) ([]parquet.WriterOption, tableSettings) {
		o, settings, err := writerOptions(schema, Options{})
		if err != nil {
			f.Fatal(err)
		}
		return o, settings
	}
	flowOpts, flowSettings := opts(SchemaVersion)
	findings := newMemWire[FindingRow, findingWire](&buf, opts, FindingsSchema, "FindingRow")
	calls := newMemWire[CallRow, callWire](&buf, opts, CallsSchema, "CallRow")
	dnsOpts, dnsSettings := opts(DNSSchema)
	f.Fuzz(func(t *testing.T, s string) {
		fl, fi, ca, dn := hostileRows(t, s)
		buf.Reset()
		fw, err := newFlowWriter(&buf, flowOpts, flowSettings)
		if err != nil {
			t.Fatal(err)
		}
		if err := fw.write([]FlowRow{fl}); err != nil {
			t.Fatal(err)
		}
		if err := fw.close(); err != nil {
			t.Fatal(err)
		}
		readBackMem(t, buf.Bytes(), SchemaVersion, fl)
		readBackMem(t, findings.write(t, &buf, fi), FindingsSchema, fi)
		readBackMem(t, calls.write(t, &buf, ca), CallsSchema, ca)
		// dns.parquet, like flows.parquet, has an encoder of its own.
		buf.Reset()
		dw, err := newDNSColWriter(&buf, dnsOpts, dnsSettings)
		if err != nil {
			t.Fatal(err)
		}
		if err := dw.write([]DNSRow{dn}); err != nil {
			t.Fatal(err)
		}
		if err := dw.close(); err != nil {
			t.Fatal(err)
		}
		readBackMem(t, buf.Bytes(), DNSSchema, dn)
	})
}

// memWire is a table's wire writer, as newRowWriter makes it, writing to
// memory and reused across files.
type memWire[T any, W any, PT wireRow[T, W]] struct{ w *wireWriter[T, W, PT] }

func newMemWire[T any, W any, PT wireRow[T, W]](buf *bytes.Buffer, opts func(string) ([]parquet.WriterOption, tableSettings), schema, name string) memWire[T, W, PT] {
	o, _ := opts(schema)
	return memWire[T, W, PT]{&wireWriter[T, W, PT]{pw: parquet.NewGenericWriter[W](buf, append(o, parquet.NewSchema(name, parquet.SchemaOf(new(W))))...)}}
}

// write writes row as a whole file to buf and returns its bytes.
func (m memWire[T, W, PT]) write(t *testing.T, buf *bytes.Buffer, row T) []byte {
	buf.Reset()
	m.w.pw.Reset(buf)
	if err := m.w.write([]T{row}); err != nil {
		t.Fatal(err)
	}
	if err := m.w.close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readBackMem[T any](t *testing.T, data []byte, schema string, want T) {
	t.Helper()
	got, err := readTable[T](bytes.NewReader(data), int64(len(data)), schema, schema)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%s: %d rows", schema, len(got))
	}
	unescapeStrings(t, reflect.ValueOf(&got[0]), schema)
	if !reflect.DeepEqual(got[0], want) {
		t.Fatalf("%s after unescaping:\n got %+v\nwant %+v", schema, got[0], want)
	}
}

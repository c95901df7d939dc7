package parquetout

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// docColumns reads the column table of one table's section of doc.go:
// each "//\tname  TYPE [optional]  meaning" line, in order.
func docColumns(t *testing.T, section string) (names []string, optional map[string]bool) {
	t.Helper()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	i := strings.Index(text, "// # "+section)
	if i < 0 {
		t.Fatalf("doc.go has no section %q", section)
	}
	text = text[i+len("// # "+section):]
	if j := strings.Index(text, "\n// # "); j >= 0 {
		text = text[:j]
	}
	row := regexp.MustCompile(`^//\t([a-z0-9_]+)\s{2,}([A-Z][A-Z0-9(), ]*?)(\s+optional)?\s{2,}\S`)
	optional = map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil || m[1] == "column" {
			continue
		}
		names = append(names, m[1])
		optional[m[1]] = m[3] != ""
	}
	return names, optional
}

// structColumns lists the parquet column names of a row type, in order,
// and which are optional.
func structColumns(v any) (names []string, optional map[string]bool) {
	optional = map[string]bool{}
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		tag := rt.Field(i).Tag.Get("parquet")
		if tag == "" || tag == "-" {
			continue
		}
		parts := strings.Split(tag, ",")
		names = append(names, parts[0])
		for _, p := range parts[1:] {
			if p == "optional" {
				optional[parts[0]] = true
			}
		}
	}
	return names, optional
}

// mdColumns reads the first column table (a Markdown table whose header
// starts "| column |") after the line heading in a docs file: the
// column names of each row's first cell (several, comma-separated, in
// backticks or not), in order, and which are optional (NULL in the type
// cell). A type cell STRUCT(a T, b T)[] lists a list column's element
// columns, returned in structs by column name.
func mdColumns(t *testing.T, file, heading string) (names []string, optional map[string]bool, structs map[string][]string) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("%s has no heading %q", file, heading)
	}
	text = text[i+len(heading)+2:]
	j := strings.Index(text, "\n| column |")
	if j < 0 {
		t.Fatalf("%s: no column table after %q", file, heading)
	}
	lines := strings.Split(text[j+1:], "\n")
	optional, structs = map[string]bool{}, map[string][]string{}
	structType := regexp.MustCompile(`STRUCT\(([^)]*)\)`)
	for _, line := range lines[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			t.Fatalf("%s: table row %q", file, line)
		}
		typ := cells[2]
		for _, n := range strings.Split(cells[1], ",") {
			n = strings.Trim(strings.TrimSpace(n), "`")
			names = append(names, n)
			optional[n] = strings.Contains(typ, "NULL")
			if m := structType.FindStringSubmatch(typ); m != nil {
				for _, f := range strings.Split(m[1], ",") {
					structs[n] = append(structs[n], strings.Fields(f)[0])
				}
			}
		}
	}
	return names, optional, structs
}

// The docs' column tables are checked against the row types that declare
// the tables: a column added, removed, renamed, moved or made optional
// without its line in the docs fails here.
func TestDocTablesMatchRows(t *testing.T) {
	check := func(where string, doc []string, docOpt map[string]bool, row any) {
		t.Helper()
		cols, rowOpt := structColumns(row)
		if strings.Join(doc, " ") != strings.Join(cols, " ") {
			t.Errorf("%s lists the columns\n  %s\n%T declares\n  %s", where, strings.Join(doc, " "), row, strings.Join(cols, " "))
			return
		}
		for _, c := range cols {
			if docOpt[c] != rowOpt[c] {
				t.Errorf("%s: %s: optional %v in the docs, %v in %T", where, c, docOpt[c], rowOpt[c], row)
			}
		}
	}
	for _, tt := range []struct {
		section string
		row     any
	}{
		{"flows.parquet", FlowRow{}},
		{"tunnels.parquet", TunnelRow{}},
	} {
		doc, opt := docColumns(t, tt.section)
		check("doc.go "+tt.section, doc, opt, tt.row)
	}
	const schema, dns = "../../docs/schema.md", "../../docs/schema-dns.md"
	for _, tt := range []struct {
		file, heading string
		row           any
		elems         map[string]any // list columns' element rows
	}{
		{schema, "## flows.parquet", FlowRow{}, nil},
		{schema, "## findings.parquet", FindingRow{}, nil},
		{schema, "## calls.parquet", CallRow{}, nil},
		{schema, "### media", CallMediaRow{}, nil},
		{schema, "### caller_to_callee, callee_to_caller", CallQualityRow{}, nil},
		{dns, "The schema is named `dns/1` in the file's `auditor.schema` metadata.", DNSRow{}, map[string]any{"answers": DNSAnswerRow{}}},
	} {
		doc, opt, structs := mdColumns(t, tt.file, tt.heading)
		where := filepath.Base(tt.file) + " " + tt.heading
		check(where, doc, opt, tt.row)
		for col, elem := range tt.elems {
			want, _ := structColumns(elem)
			if strings.Join(structs[col], " ") != strings.Join(want, " ") {
				t.Errorf("%s: %s is STRUCT(%s), %T declares %s", where, col, strings.Join(structs[col], ", "), elem, strings.Join(want, ", "))
			}
		}
	}
}

package parquetout

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/internal/duckdbtest"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// schemaCol is a column of a file's Parquet schema with the type names
// the docs give it.
type schemaCol struct {
	name     string
	optional bool
	sql      string       // as DuckDB's DESCRIBE names it
	pq       string       // Parquet spelling doc.go uses; "" for nested types
	fields   []*schemaCol // a struct's fields, or a list of structs' element's
}

// writtenTable writes an empty file of row type T with the table's own
// writer and returns its path and the columns of its footer's schema:
// what DuckDB and every other reader see.
func writtenTable[T any](t *testing.T, schema string) writtenFile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.parquet")
	w, err := NewTableWriter[T](path, schema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	els := pf.Metadata().Schema
	root, n, err := schemaNode(els, 0)
	if err != nil {
		t.Fatalf("%s: %v", schema, err)
	}
	if n != len(els) {
		t.Fatalf("%s: schema has %d elements, %d read", schema, len(els), n)
	}
	return writtenFile{path: path, cols: root.fields}
}

type writtenFile struct {
	path string
	cols []*schemaCol
}

// schemaNode reads the schema element at i and its children (the
// footer's schema is a depth-first list); it returns the index after
// them.
func schemaNode(els []format.SchemaElement, i int) (*schemaCol, int, error) {
	e := els[i]
	i++
	c := &schemaCol{name: e.Name, optional: e.RepetitionType.Valid && e.RepetitionType.V == format.Optional}
	n, group := e.NumChildren.Get()
	if !group || n == 0 {
		var err error
		c.sql, c.pq, err = leafType(e)
		return c, i, err
	}
	var kids []*schemaCol
	for range n {
		k, next, err := schemaNode(els, i)
		if err != nil {
			return nil, 0, err
		}
		kids, i = append(kids, k), next
	}
	if _, ok := e.LogicalType.Value.(*format.ListType); ok {
		// LIST: a repeated group holding the element.
		if len(kids) != 1 || len(kids[0].fields) != 1 || kids[0].fields[0].sql == "" {
			return nil, 0, fmt.Errorf("%s: a LIST group without one element", e.Name)
		}
		elem := kids[0].fields[0]
		c.sql, c.fields = elem.sql+"[]", elem.fields
		return c, i, nil
	}
	parts := make([]string, len(kids))
	for j, k := range kids {
		parts[j] = k.name + " " + k.sql
	}
	c.sql, c.fields = "STRUCT("+strings.Join(parts, ", ")+")", kids
	return c, i, nil
}

// leafType names a leaf column's type as DuckDB does and as doc.go does.
// A type the docs have no name for is an error, so a column of a new
// type makes the mapping grow before the docs can pass.
func leafType(e format.SchemaElement) (sql, pq string, err error) {
	phys, _ := e.Type.Get()
	switch lt := e.LogicalType.Value.(type) {
	case nil:
		switch phys {
		case format.Boolean:
			return "BOOLEAN", "BOOLEAN", nil
		case format.Int32:
			return "INTEGER", "INT32", nil
		case format.Int64:
			return "BIGINT", "INT64", nil
		case format.Double:
			return "DOUBLE", "DOUBLE", nil
		case format.Float:
			return "FLOAT", "FLOAT", nil
		case format.ByteArray:
			return "BLOB", "BYTE_ARRAY", nil
		}
	case *format.IntType:
		sqlNames := map[int8]string{8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT"}
		name, ok := sqlNames[lt.BitWidth]
		wantPhys := format.Int32
		if lt.BitWidth == 64 {
			wantPhys = format.Int64
		}
		if ok && phys == wantPhys {
			if !lt.IsSigned {
				return "U" + name, fmt.Sprintf("UINT%d", lt.BitWidth), nil
			}
			return name, fmt.Sprintf("INT%d", lt.BitWidth), nil
		}
	case *format.StringType:
		if phys == format.ByteArray {
			return "VARCHAR", "STRING", nil
		}
	case *format.TimestampType:
		if _, micros := lt.Unit.Value.(*format.MicroSeconds); micros && phys == format.Int64 {
			if lt.IsAdjustedToUTC {
				return "TIMESTAMP WITH TIME ZONE", "TIMESTAMP(MICROS, UTC)", nil
			}
			return "TIMESTAMP", "TIMESTAMP(MICROS)", nil
		}
	}
	return "", "", fmt.Errorf("column %s: no doc name for %s %v", e.Name, phys, &e.LogicalType)
}

// docCol is a column as a docs table lists it.
type docCol struct {
	name, typ string
	optional  bool
}

// docColumns reads the column table of one table's section of doc.go:
// each "//\tname  TYPE [optional]  meaning" line, in order.
func docColumns(t *testing.T, section string) []docCol {
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
	var cols []docCol
	for _, line := range strings.Split(text, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil || m[1] == "column" {
			continue
		}
		cols = append(cols, docCol{name: m[1], typ: strings.TrimSpace(m[2]), optional: m[3] != ""})
	}
	return cols
}

// mdColumns reads the first column table (a Markdown table whose header
// starts "| column |") after the line heading in a docs file, in order.
// A row's first cell names one column or several, comma-separated, in
// backticks or not; its type cell gives one type for them all or one
// each, and "NULL" (with or without words after it) when they are
// optional.
func mdColumns(t *testing.T, file, heading string) []docCol {
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
	var cols []docCol
	for _, line := range lines[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			t.Fatalf("%s: table row %q", file, line)
		}
		var types []string
		optional := false
		for _, typ := range splitTop(cells[2]) {
			if strings.HasPrefix(typ, "NULL") {
				optional = true
				continue
			}
			types = append(types, typ)
		}
		names := strings.Split(cells[1], ",")
		if len(types) != 1 && len(types) != len(names) {
			t.Fatalf("%s: row %q gives %d types for %d columns: one for all or one each", file, line, len(types), len(names))
		}
		for k, n := range names {
			c := docCol{name: strings.Trim(strings.TrimSpace(n), "`"), typ: types[0], optional: optional}
			if len(types) > 1 {
				c.typ = types[k]
			}
			cols = append(cols, c)
		}
	}
	return cols
}

// splitTop splits a type cell at the commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// abbreviated is a struct type with its fields left out ("STRUCT",
// "STRUCT[]"), as a docs table writes a column whose fields have a table
// of their own.
func abbreviated(sql string) string {
	if !strings.HasPrefix(sql, "STRUCT(") {
		return sql
	}
	depth := 0
	for i, r := range sql {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return "STRUCT" + sql[i+1:]
			}
		}
	}
	return sql
}

// checkDocTable compares a docs table with the schema's columns: the
// same names in the same order, each with its type and nullability.
// nested names the struct columns whose fields another table lists: their
// type may be abbreviated.
func checkDocTable(t *testing.T, where string, doc []docCol, cols []*schemaCol, parquetNames bool, nested map[string]bool) {
	t.Helper()
	var docNames, names []string
	for _, c := range doc {
		docNames = append(docNames, c.name)
	}
	for _, c := range cols {
		names = append(names, c.name)
	}
	if strings.Join(docNames, " ") != strings.Join(names, " ") {
		t.Errorf("%s lists the columns\n  %s\nthe file's schema has\n  %s", where, strings.Join(docNames, " "), strings.Join(names, " "))
		return
	}
	for i, c := range cols {
		d := doc[i]
		if d.optional != c.optional {
			t.Errorf("%s: %s: optional %v in the docs, %v in the file", where, c.name, d.optional, c.optional)
		}
		want := c.sql
		if parquetNames {
			want = c.pq
		}
		if d.typ != want && (!nested[c.name] || d.typ != abbreviated(want)) {
			t.Errorf("%s: %s: type %s in the docs, %s in the file", where, c.name, d.typ, want)
		}
	}
}

// field finds the column at a dotted path of struct (or list of struct)
// columns.
func field(t *testing.T, cols []*schemaCol, path string) []*schemaCol {
	t.Helper()
	if path == "" {
		return cols
	}
	for _, name := range strings.Split(path, ".") {
		var found *schemaCol
		for _, c := range cols {
			if c.name == name {
				found = c
			}
		}
		if found == nil || found.fields == nil {
			t.Fatalf("no struct column %s", path)
		}
		cols = found.fields
	}
	return cols
}

// docTables are the tables' files, as their writers write them, by
// table name.
func docTables(t *testing.T) map[string]writtenFile {
	return map[string]writtenFile{
		"flows":    writtenTable[FlowRow](t, SchemaVersion),
		"findings": writtenTable[FindingRow](t, FindingsSchema),
		"calls":    writtenTable[CallRow](t, CallsSchema),
		"tunnels":  writtenTable[TunnelRow](t, TunnelsSchema),
		"dns":      writtenTable[DNSRow](t, DNSSchema),
	}
}

// The docs' column tables are checked against the schema the tables'
// writers put in their files, which comes from the row types that declare
// the tables (through the generated wire forms, which
// TestGeneratedCodeUpToDate keeps current): a column added, removed,
// renamed, moved, retyped or made optional without its line in the docs
// fails here.
func TestDocTablesMatchRows(t *testing.T) {
	tables := docTables(t)
	for _, tt := range []struct{ section, table string }{
		{"flows.parquet", "flows"},
		{"tunnels.parquet", "tunnels"},
	} {
		checkDocTable(t, "doc.go "+tt.section, docColumns(t, tt.section), tables[tt.table].cols, true, nil)
	}
	const schema, dns = "../../docs/schema.md", "../../docs/schema-dns.md"
	for _, tt := range []struct {
		file, heading string
		table, path   string   // path: the struct column whose fields the table lists
		nested        []string // struct columns whose fields another table lists
	}{
		{schema, "## flows.parquet", "flows", "", nil},
		{schema, "## findings.parquet", "findings", "", nil},
		{schema, "## calls.parquet", "calls", "", []string{"media"}},
		{schema, "### media", "calls", "media", []string{"caller_to_callee", "callee_to_caller"}},
		{schema, "### caller_to_callee, callee_to_caller", "calls", "media.caller_to_callee", nil},
		{schema, "### caller_to_callee, callee_to_caller", "calls", "media.callee_to_caller", nil},
		{schema, "## tunnels.parquet", "tunnels", "", nil},
		{dns, "The schema is named `dns/1` in the file's `auditor.schema` metadata.", "dns", "", nil},
	} {
		nested := map[string]bool{}
		for _, n := range tt.nested {
			nested[n] = true
		}
		where := filepath.Base(tt.file) + " " + tt.heading
		if tt.path != "" {
			where += " (" + tt.path + ")"
		}
		checkDocTable(t, where, mdColumns(t, tt.file, tt.heading), field(t, tables[tt.table].cols, tt.path), false, nested)
	}
}

// The docs' type names are DuckDB's: DESCRIBE of each table's file gives,
// column by column, the type the docs check derives from its schema.
func TestDocTypesAreDuckDBs(t *testing.T) {
	tables := docTables(t)
	var names, stmts []string
	for name, f := range tables {
		names = append(names, name)
		stmts = append(stmts, fmt.Sprintf("DESCRIBE SELECT * FROM '%s'", f.path))
	}
	res := duckdbtest.Query(t, stmts)
	for i, name := range names {
		cols := tables[name].cols
		if len(res[i]) != len(cols) {
			t.Errorf("%s: DuckDB reads %d columns, the schema has %d", name, len(res[i]), len(cols))
			continue
		}
		for j, r := range res[i] {
			// DuckDB quotes struct field names that are keywords.
			got := strings.ReplaceAll(fmt.Sprint(r["column_type"]), `"`, "")
			if r["column_name"] != cols[j].name || got != cols[j].sql {
				t.Errorf("%s: DuckDB reads column %d as %v %s, the docs check expects %s %s", name, j, r["column_name"], got, cols[j].name, cols[j].sql)
			}
		}
	}
}

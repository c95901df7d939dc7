package parquetout

import (
	"os"
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

// The package documentation's flows table is checked against the row type
// that declares the schema: a column added, removed, renamed or made
// optional without its line in doc.go fails here.
func TestDocTableMatchesFlowRow(t *testing.T) {
	doc, docOpt := docColumns(t, "flows.parquet")
	row, rowOpt := structColumns(FlowRow{})
	if strings.Join(doc, " ") != strings.Join(row, " ") {
		t.Fatalf("doc.go lists the flows columns\n  %s\nFlowRow declares\n  %s", strings.Join(doc, " "), strings.Join(row, " "))
	}
	for _, c := range row {
		// Timestamps are marked by their type, not "optional", in the table.
		if docOpt[c] != rowOpt[c] && !strings.HasSuffix(c, "_seen") {
			t.Errorf("%s: optional %v in doc.go, %v in FlowRow", c, docOpt[c], rowOpt[c])
		}
	}
}

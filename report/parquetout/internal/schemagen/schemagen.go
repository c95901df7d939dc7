// Package schemagen writes the code of package parquetout that follows
// from its row types: each table's row struct (FlowRow, FindingRow, ...)
// is the one declaration of its columns, and this generator derives from
// it the wire form parquet-go writes (wire_gen.go) and the column lists of
// the flows and dns encoders (flowcols_gen.go, dnscols_gen.go).
//
// It reads the package's source with go/ast rather than its compiled
// types, so that it still runs when a column was removed from a row and
// the previously generated code no longer compiles.
//
// A row field's parquet tag says everything the generator needs; a second
// tag, wire, states a NULL rule other than "the zero value is NULL" for an
// optional column:
//
//	wire:"always"   the column is optional (files written before it existed
//	                read back) but every row written has a value, 0 included
//	wire:"if=F"     the value is present when the row's field F is true
//	                (bool) or not empty (string), whatever the value;
//	                a string is still NULL when empty
//	wire:"zeroif=F" the zero value is NULL, as by default, except when F is
//	                true or not empty: then 0 is a value (an ICMP finding's
//	                destination "port" 0, echo reply's type)
package schemagen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Tables are the row types of the package's tables, in the order their
// code is generated. The flows table also gets the column list of its own
// encoder.
var Tables = []string{"FlowRow", "FindingRow", "CallRow", "TunnelRow", "DNSRow"}

// flowTable and dnsTable are the tables written by the package's own
// column encoders.
const (
	flowTable = "FlowRow"
	dnsTable  = "DNSRow"
)

// Files the generator writes, relative to the package directory.
const (
	WireFile     = "wire_gen.go"
	FlowColsFile = "flowcols_gen.go"
	DNSColsFile  = "dnscols_gen.go"
)

// Generate reads the package in dir and returns the generated files by
// name, gofmt-ed.
func Generate(dir string) (map[string][]byte, error) {
	structs, err := parseStructs(dir)
	if err != nil {
		return nil, err
	}
	g := &gen{structs: structs, wireNames: map[string]string{}}
	wire, err := g.wireFile()
	if err != nil {
		return nil, err
	}
	cols, err := g.flowColsFile()
	if err != nil {
		return nil, err
	}
	dnsCols, err := g.dnsColsFile()
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for name, src := range map[string][]byte{WireFile: wire, FlowColsFile: cols, DNSColsFile: dnsCols} {
		b, err := format.Source(src)
		if err != nil {
			return nil, fmt.Errorf("format %s: %w\n%s", name, err, src)
		}
		out[name] = b
	}
	return out, nil
}

// parseStructs returns the struct types declared in the package's
// non-test, non-generated files.
func parseStructs(dir string) (map[string]*ast.StructType, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	structs := map[string]*ast.StructType{}
	for _, name := range names {
		base := filepath.Base(name)
		if strings.HasSuffix(base, "_test.go") || base == WireFile || base == FlowColsFile || base == DNSColsFile {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				if st, ok := ts.Type.(*ast.StructType); ok {
					structs[ts.Name.Name] = st
				}
			}
		}
	}
	return structs, nil
}

// field is a row field that is a column.
type field struct {
	name     string // Go field name
	typ      string // Go type as written
	tag      string // the parquet tag's value
	elemTag  string // the parquet-element tag's value: a list's elements
	col      string // column name
	optional bool
	options  []string // the parquet tag's options after the name
	always   bool     // wire:"always"
	cond     string   // wire:"if=F": F
	zeroIf   string   // wire:"zeroif=F": F
}

func (g *gen) fields(typ string) ([]field, error) {
	st, ok := g.structs[typ]
	if !ok {
		return nil, fmt.Errorf("no struct type %s", typ)
	}
	var out []field
	for _, f := range st.Fields.List {
		if len(f.Names) != 1 {
			return nil, fmt.Errorf("%s: embedded or grouped fields are not supported", typ)
		}
		var tag reflect.StructTag
		if f.Tag != nil {
			s, err := strconv.Unquote(f.Tag.Value)
			if err != nil {
				return nil, err
			}
			tag = reflect.StructTag(s)
		}
		pq, ok := tag.Lookup("parquet")
		if !ok {
			return nil, fmt.Errorf("%s.%s: no parquet tag", typ, f.Names[0].Name)
		}
		if pq == "-" {
			continue
		}
		parts := strings.Split(pq, ",")
		fd := field{name: f.Names[0].Name, typ: exprString(f.Type), tag: pq, col: parts[0], options: parts[1:]}
		fd.elemTag = tag.Get("parquet-element")
		fd.optional = slices.Contains(fd.options, "optional")
		switch w := tag.Get("wire"); {
		case w == "":
		case w == "always":
			fd.always = true
		case strings.HasPrefix(w, "if="):
			fd.cond = strings.TrimPrefix(w, "if=")
		case strings.HasPrefix(w, "zeroif="):
			fd.zeroIf = strings.TrimPrefix(w, "zeroif=")
			if !scalars[fd.typ] || fd.typ == "string" || fd.typ == "time.Time" {
				return nil, fmt.Errorf("%s.%s: zeroif is for numbers and bools", typ, fd.name)
			}
		default:
			return nil, fmt.Errorf("%s.%s: unknown wire rule %q", typ, fd.name, w)
		}
		if (fd.always || fd.cond != "" || fd.zeroIf != "") && !fd.optional {
			return nil, fmt.Errorf("%s.%s: a wire rule on a required column", typ, fd.name)
		}
		out = append(out, fd)
	}
	return out, nil
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	case *ast.StarExpr:
		return "*" + exprString(e.X)
	case *ast.ArrayType:
		if e.Len == nil {
			return "[]" + exprString(e.Elt)
		}
	}
	return fmt.Sprintf("<%T>", e)
}

// scalar Go types a column holds directly.
var scalars = map[string]bool{"string": true, "bool": true, "int32": true, "int64": true, "float64": true, "time.Time": true}

type gen struct {
	structs map[string]*ast.StructType
	// wireNames are the row structs that have a wire form, by row type.
	wireNames map[string]string
	// lists are the element types (wire types, or string) of list
	// columns, in order of appearance: one arena slice each.
	lists []string
}

// wireName is the wire type of row type t: "DNSAnswerRow" -> "dnsAnswerWire".
func wireName(t string) string {
	t = strings.TrimSuffix(t, "Row")
	n := 0
	for n < len(t) && t[n] >= 'A' && t[n] <= 'Z' {
		n++
	}
	if n > 1 && n < len(t) {
		n-- // the last capital starts the next word
	}
	return strings.ToLower(t[:n]) + t[n:] + "Wire"
}

// arenaField is the wireArena field holding list elements of type elem.
func arenaField(elem string) string {
	if elem == "string" {
		return "strings"
	}
	return elem + "s"
}

func (g *gen) wireFile() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by report/parquetout/internal/schemagen from the row types; DO NOT EDIT.\n\n")
	b.WriteString("package parquetout\n\nimport (\n\t\"io\"\n\t\"time\"\n\n\t\"github.com/parquet-go/parquet-go\"\n)\n\n")
	// Element types first, so that their wire names are known.
	var body bytes.Buffer
	for _, t := range Tables {
		if err := g.wireType(&body, t, true); err != nil {
			return nil, err
		}
	}
	b.Write(body.Bytes())

	b.WriteString("// wireArena holds the list elements of a batch of wire rows, one backing\n")
	b.WriteString("// array per element type rather than an allocation per row: parquet-go\n")
	b.WriteString("// copies the values it is given, so the arrays are reused batch after batch.\n")
	b.WriteString("type wireArena struct {\n")
	for _, e := range g.lists {
		fmt.Fprintf(&b, "\t%s []%s\n", arenaField(e), e)
	}
	b.WriteString("}\n\n// arenaSize counts the list elements of a batch, per wireArena slice.\n")
	b.WriteString("type arenaSize struct {\n")
	for _, e := range g.lists {
		fmt.Fprintf(&b, "\t%s int\n", arenaField(e))
	}
	b.WriteString("}\n\n// reserve makes room for n elements more; growing drops what the arena\n")
	b.WriteString("// holds, so it is called before the batch's rows take their parts.\n")
	b.WriteString("func (a *wireArena) reserve(n arenaSize) {\n")
	for _, e := range g.lists {
		f := arenaField(e)
		fmt.Fprintf(&b, "\tif cap(a.%[1]s)-len(a.%[1]s) < n.%[1]s {\n\t\ta.%[1]s = make([]%[2]s, len(a.%[1]s), len(a.%[1]s)+n.%[1]s)\n\t}\n", f, e)
	}
	b.WriteString("}\n\n// reset empties the arena, dropping the rows' strings for the collector.\n")
	b.WriteString("func (a *wireArena) reset() {\n")
	for _, e := range g.lists {
		fmt.Fprintf(&b, "\tclear(a.%[1]s)\n\ta.%[1]s = a.%[1]s[:0]\n", arenaField(e))
	}
	b.WriteString("}\n\n")

	b.WriteString("// newTableWireWriter is the parquet-go writer of a table written through\n")
	b.WriteString("// its wire form; false for a row type that is not one of the tables.\n")
	b.WriteString("func newTableWireWriter[T any](f io.Writer, opts []parquet.WriterOption) (rowWriter[T], bool) {\n")
	b.WriteString("\tvar w any\n\tswitch any(*new(T)).(type) {\n")
	for _, t := range Tables {
		if t == flowTable {
			continue // its own encoder (flowcols.go)
		}
		fmt.Fprintf(&b, "\tcase %[1]s:\n\t\tw = newWireWriter[%[1]s, %[2]s](f, opts)\n", t, g.wireNames[t])
	}
	b.WriteString("\tdefault:\n\t\treturn nil, false\n\t}\n\treturn w.(rowWriter[T]), true\n}\n")
	return b.Bytes(), nil
}

// wireType writes the wire struct of row type t and its conversion;
// top is false for list elements, which have no lists of their own.
func (g *gen) wireType(b *bytes.Buffer, t string, top bool) error {
	fields, err := g.fields(t)
	if err != nil {
		return err
	}
	w := wireName(t)
	g.wireNames[t] = w
	// List element types are written first.
	for _, f := range fields {
		if elem, ok := strings.CutPrefix(f.typ, "[]"); ok && !scalars[elem] {
			if !top {
				return fmt.Errorf("%s.%s: a list inside a list element is not supported", t, f.name)
			}
			if _, done := g.wireNames[elem]; !done {
				if err := g.wireType(b, elem, false); err != nil {
					return err
				}
			}
		}
	}

	fmt.Fprintf(b, "// %s is %s as parquet-go writes it (wire.go).\ntype %s struct {\n", w, t, w)
	for _, f := range fields {
		typ, err := g.wireFieldType(t, f)
		if err != nil {
			return err
		}
		if f.elemTag != "" {
			fmt.Fprintf(b, "\t%s %s `parquet:%q parquet-element:%q`\n", f.name, typ, f.tag, f.elemTag)
		} else {
			fmt.Fprintf(b, "\t%s %s `parquet:%q`\n", f.name, typ, f.tag)
		}
	}
	b.WriteString("}\n\n")

	if top {
		fmt.Fprintf(b, "func (r *%s) wireSize(n *arenaSize) {\n", t)
		for _, f := range fields {
			if elem, ok := strings.CutPrefix(f.typ, "[]"); ok {
				if !scalars[elem] {
					elem = g.wireNames[elem]
				}
				fmt.Fprintf(b, "\tn.%s += len(r.%s)\n", arenaField(elem), f.name)
			}
		}
		b.WriteString("}\n\n")
		fmt.Fprintf(b, "func (r *%s) wire(w *%s, a *wireArena) {\n", t, w)
	} else {
		fmt.Fprintf(b, "func (r *%s) wire(w *%s) {\n", t, w)
	}
	fmt.Fprintf(b, "\t*w = %s{\n", w)
	var after bytes.Buffer
	for _, f := range fields {
		if strings.HasPrefix(f.typ, "[]") {
			g.listCode(&after, f)
			continue
		}
		if f.cond != "" {
			if err := g.condCode(&after, t, f, f.cond); err != nil {
				return err
			}
			continue
		}
		if f.zeroIf != "" {
			if err := g.condCode(&after, t, f, f.zeroIf); err != nil {
				return err
			}
		}
		fmt.Fprintf(b, "\t\t%s: %s,\n", f.name, valueExpr(f))
	}
	b.WriteString("\t}\n")
	b.Write(after.Bytes())
	b.WriteString("}\n\n")
	return nil
}

// wireFieldType is the wire struct's type for f: a pointer for an optional
// scalar, the element's wire type for a list.
func (g *gen) wireFieldType(t string, f field) (string, error) {
	switch {
	case scalars[f.typ]:
		if f.typ == "time.Time" && f.optional && slices.Contains(f.options, "delta") {
			// parquet-go delta encodes a time.Time but not a pointer to
			// one; an optional value writes its zero value as NULL.
			return f.typ, nil
		}
		if f.optional {
			return "*" + f.typ, nil
		}
		return f.typ, nil
	case strings.HasPrefix(f.typ, "[]"):
		elem := strings.TrimPrefix(f.typ, "[]")
		if scalars[elem] {
			if elem != "string" {
				return "", fmt.Errorf("%s.%s: lists of %s are not supported", t, f.name, elem)
			}
			return f.typ, nil
		}
		return "[]" + g.wireNames[elem], nil
	case strings.HasPrefix(f.typ, "*"):
		elem := strings.TrimPrefix(f.typ, "*")
		if !scalars[elem] {
			// Copied as it is: its values must need no escaping and no
			// NULL rule.
			if err := g.plainStruct(elem); err != nil {
				return "", fmt.Errorf("%s.%s: %w", t, f.name, err)
			}
		}
		if !f.optional {
			return "", fmt.Errorf("%s.%s: a pointer column must be optional", t, f.name)
		}
		return f.typ, nil
	}
	return "", fmt.Errorf("%s.%s: type %s is not supported", t, f.name, f.typ)
}

// plainStruct checks that struct t can be written as it is: no strings
// (which are escaped) and no optional value that is not a pointer.
func (g *gen) plainStruct(t string) error {
	fields, err := g.fields(t)
	if err != nil {
		return err
	}
	for _, f := range fields {
		switch {
		case f.typ == "string" || strings.HasPrefix(f.typ, "[]"):
			return fmt.Errorf("%s.%s: a struct written as it is cannot hold strings or lists", t, f.name)
		case f.optional && !strings.HasPrefix(f.typ, "*"):
			return fmt.Errorf("%s.%s: an optional column of a struct written as it is must be a pointer", t, f.name)
		case !scalars[f.typ] && !strings.HasPrefix(f.typ, "*"):
			return fmt.Errorf("%s.%s: type %s is not supported", t, f.name, f.typ)
		}
	}
	return nil
}

// valueExpr is the wire value of an unconditional field.
func valueExpr(f field) string {
	switch {
	case f.always:
		return "&r." + f.name
	case f.typ == "string" && f.optional:
		return "optStr(&r." + f.name + ")"
	case f.typ == "string":
		return "str(r." + f.name + ")"
	case f.typ == "time.Time" && f.optional && slices.Contains(f.options, "delta"):
		return "zeroTime(r." + f.name + ")"
	case f.typ == "time.Time" && f.optional:
		return "optTime(&r." + f.name + ")"
	case scalars[f.typ] && f.optional:
		return "opt(&r." + f.name + ")"
	}
	return "r." + f.name
}

// condCode writes the assignment of a field present when the row's field
// cf is true or not empty.
func (g *gen) condCode(b *bytes.Buffer, t string, f field, cf string) error {
	cond, err := g.condExpr(t, f, cf, "r")
	if err != nil {
		return err
	}
	v := "&r." + f.name
	if f.typ == "string" {
		v = "optStr(&r." + f.name + ")"
	}
	fmt.Fprintf(b, "\tif %s {\n\t\tw.%s = %s\n\t}\n", cond, f.name, v)
	return nil
}

// condExpr is the condition that row field cf of row r is true or not
// empty: a bool or string column, or a bool field that is no column.
func (g *gen) condExpr(t string, f field, cf, r string) (string, error) {
	fields, _ := g.fields(t)
	i := slices.IndexFunc(fields, func(c field) bool { return c.name == cf })
	switch {
	case i >= 0 && fields[i].typ == "bool":
		return r + "." + cf, nil
	case i >= 0 && fields[i].typ == "string":
		return r + "." + cf + ` != ""`, nil
	}
	// A bool field that is no column (parquet:"-").
	for _, sf := range g.structs[t].Fields.List {
		if len(sf.Names) == 1 && sf.Names[0].Name == cf && exprString(sf.Type) == "bool" {
			return r + "." + cf, nil
		}
	}
	return "", fmt.Errorf("%s.%s: wire condition %s is not a bool or string field", t, f.name, cf)
}

// listCode writes the conversion of a list column into the arena.
func (g *gen) listCode(b *bytes.Buffer, f field) {
	elem := strings.TrimPrefix(f.typ, "[]")
	if !scalars[elem] {
		elem = g.wireNames[elem]
	}
	if !slices.Contains(g.lists, elem) {
		g.lists = append(g.lists, elem)
	}
	a := "a." + arenaField(elem)
	fmt.Fprintf(b, "\tif n := len(r.%s); n > 0 {\n\t\tk := len(%s)\n", f.name, a)
	if elem == "string" {
		fmt.Fprintf(b, "\t\tfor _, s := range r.%s {\n\t\t\t%s = append(%s, str(s))\n\t\t}\n", f.name, a, a)
	} else {
		fmt.Fprintf(b, "\t\tfor i := range r.%s {\n\t\t\t%s = append(%s, %s{})\n\t\t\tr.%s[i].wire(&%s[k+i])\n\t\t}\n", f.name, a, a, elem, f.name, a)
	}
	fmt.Fprintf(b, "\t\tw.%s = %s[k : k+n : k+n]\n\t}\n", f.name, a)
}

// flowColsFile writes the flows encoder's columns: one typed column per
// FlowRow column, in order, and the code that adds a row to them.
func (g *gen) flowColsFile() ([]byte, error) {
	fields, err := g.fields(flowTable)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by report/parquetout/internal/schemagen from the row types; DO NOT EDIT.\n\n")
	b.WriteString("package parquetout\n\n")
	b.WriteString("// flowColumns are flows.parquet's columns, one per FlowRow field in its\n")
	b.WriteString("// order; their encodings and nullability come from flowWire's tags\n")
	b.WriteString("// (flowWriter.takeFooter).\n")
	b.WriteString("type flowColumns struct {\n")
	type col struct{ field, goName, kind, value string }
	var cols []col
	for _, f := range fields {
		c := col{field: f.name, goName: camel(f.col)}
		switch f.typ {
		case "time.Time":
			if !slices.ContainsFunc(f.options, func(o string) bool { return strings.HasPrefix(o, "timestamp(microsecond") }) {
				return nil, fmt.Errorf("FlowRow.%s: the flows encoder writes times as timestamp(microsecond)", f.name)
			}
			c.kind, c.value = "int64Column", "r."+f.name+".UnixMicro()"
		case "string":
			c.kind, c.value = "stringColumn", "r."+f.name
		case "int32":
			c.kind, c.value = "int32Column", "r."+f.name
		case "int64":
			c.kind, c.value = "int64Column", "r."+f.name
		default:
			return nil, fmt.Errorf("FlowRow.%s: the flows encoder has no column for %s (flowcols.go)", f.name, f.typ)
		}
		if f.always || f.cond != "" || f.zeroIf != "" {
			return nil, fmt.Errorf("FlowRow.%s: the flows encoder has no wire rules", f.name)
		}
		cols = append(cols, c)
		fmt.Fprintf(&b, "\t%s %s\n", c.goName, c.kind)
	}
	b.WriteString("}\n\n// list names the columns and returns them in schema order.\n")
	b.WriteString("func (c *flowColumns) list() []flowColumn {\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "\tc.%s.col = %q\n", camel(f.col), f.col)
	}
	b.WriteString("\treturn []flowColumn{\n")
	for _, c := range cols {
		fmt.Fprintf(&b, "\t\t&c.%s,\n", c.goName)
	}
	b.WriteString("\t}\n}\n\n// add appends row r to the columns.\n")
	b.WriteString("func (c *flowColumns) add(r *FlowRow) {\n")
	for _, c := range cols {
		fmt.Fprintf(&b, "\tc.%s.add(%s)\n", c.goName, c.value)
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// camel turns a column name into a Go identifier: "src_ip" -> "srcIP".
func camel(col string) string {
	parts := strings.Split(col, "_")
	for i := 1; i < len(parts); i++ {
		switch p := parts[i]; p {
		case "ip", "id":
			parts[i] = strings.ToUpper(p)
		default:
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}

// dnsColsFile writes the dns encoder's columns (dnscols.go): one typed
// column per leaf of DNSRow's schema, in order (a list of structs has one
// per element field), and the code that adds a row to them, the wire
// rules' NULLs included.
func (g *gen) dnsColsFile() ([]byte, error) {
	fields, err := g.fields(dnsTable)
	if err != nil {
		return nil, err
	}
	type col struct{ goName, kind, path string }
	var cols []col
	var add bytes.Buffer
	for _, f := range fields {
		name := camel(f.col)
		if elem, ok := strings.CutPrefix(f.typ, "[]"); ok {
			if elem == "string" {
				cols = append(cols, col{name, "strListColumn", f.col + ".list.element"})
				fmt.Fprintf(&add, "\tif len(r.%[1]s) == 0 {\n\t\tc.%[2]s.empty()\n\t}\n\tfor j, v := range r.%[1]s {\n\t\tc.%[2]s.add(j > 0, v)\n\t}\n", f.name, name)
				continue
			}
			efs, err := g.fields(elem)
			if err != nil {
				return nil, err
			}
			var empty, each bytes.Buffer
			for _, e := range efs {
				var kind string
				switch e.typ {
				case "string":
					kind = "strListColumn"
				case "int64":
					kind = "listColumn"
				default:
					return nil, fmt.Errorf("%s.%s: the dns encoder has no list column of %s (dnscols.go)", elem, e.name, e.typ)
				}
				if e.optional {
					return nil, fmt.Errorf("%s.%s: the dns encoder writes list elements' fields as required", elem, e.name)
				}
				n := camel(f.col + "_" + e.col)
				cols = append(cols, col{n, kind, f.col + ".list.element." + e.col})
				fmt.Fprintf(&empty, "\t\tc.%s.empty()\n", n)
				fmt.Fprintf(&each, "\t\tc.%s.add(j > 0, e.%s)\n", n, e.name)
			}
			fmt.Fprintf(&add, "\tif len(r.%s) == 0 {\n%s\t}\n", f.name, empty.Bytes())
			fmt.Fprintf(&add, "\tfor j := range r.%s {\n\t\te := &r.%s[j]\n%s\t}\n", f.name, f.name, each.Bytes())
			continue
		}
		c := col{goName: name, path: f.col}
		value := "r." + f.name
		switch f.typ {
		case "time.Time":
			if !slices.ContainsFunc(f.options, func(o string) bool { return strings.HasPrefix(o, "timestamp(microsecond") }) {
				return nil, fmt.Errorf("%s.%s: the dns encoder writes times as timestamp(microsecond)", dnsTable, f.name)
			}
			value += ".UnixMicro()"
			c.kind = "int64Column"
			if f.optional {
				c.kind = "optColumn[int64]"
			}
		case "string":
			c.kind = "stringColumn"
		case "int32", "int64":
			c.kind = f.typ + "Column"
			if f.optional {
				c.kind = "optColumn[" + f.typ + "]"
			}
		case "float64":
			if !f.optional {
				return nil, fmt.Errorf("%s.%s: the dns encoder has no required DOUBLE column (dnscols.go)", dnsTable, f.name)
			}
			c.kind = "optColumn[float64]"
		case "bool":
			if f.optional {
				return nil, fmt.Errorf("%s.%s: the dns encoder has no optional BOOLEAN column (dnscols.go)", dnsTable, f.name)
			}
			c.kind = "boolColumn"
		default:
			return nil, fmt.Errorf("%s.%s: the dns encoder has no column for %s (dnscols.go)", dnsTable, f.name, f.typ)
		}
		cols = append(cols, c)
		switch {
		case f.typ == "string":
			// An empty string is NULL in an optional column.
			if f.always || f.zeroIf != "" {
				return nil, fmt.Errorf("%s.%s: the dns encoder has no NULL rule but if= for strings", dnsTable, f.name)
			}
			if f.cond == "" {
				fmt.Fprintf(&add, "\tc.%s.add(%s)\n", name, value)
				break
			}
			cond, err := g.condExpr(dnsTable, f, f.cond, "r")
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&add, "\tif %s {\n\t\tc.%s.add(%s)\n\t} else {\n\t\tc.%s.add(\"\")\n\t}\n", cond, name, value, name)
		case !f.optional:
			fmt.Fprintf(&add, "\tc.%s.add(%s)\n", name, value)
		default:
			present := "r." + f.name + " != 0"
			if f.typ == "time.Time" {
				present = "!r." + f.name + ".IsZero()"
			}
			switch {
			case f.always:
				present = "true"
			case f.cond != "":
				if present, err = g.condExpr(dnsTable, f, f.cond, "r"); err != nil {
					return nil, err
				}
			case f.zeroIf != "":
				cond, err := g.condExpr(dnsTable, f, f.zeroIf, "r")
				if err != nil {
					return nil, err
				}
				present += " || " + cond
			}
			fmt.Fprintf(&add, "\tc.%s.add(%s, %s)\n", name, value, present)
		}
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by report/parquetout/internal/schemagen from the row types; DO NOT EDIT.\n\n")
	b.WriteString("package parquetout\n\n")
	b.WriteString("// dnsColumns are dns.parquet's columns, one per leaf of DNSRow's schema\n")
	b.WriteString("// in its order; their encodings and nullability come from dnsWire's tags\n")
	b.WriteString("// (dnsColWriter.takeFooter).\n")
	b.WriteString("type dnsColumns struct {\n")
	for _, c := range cols {
		fmt.Fprintf(&b, "\t%s %s\n", c.goName, c.kind)
	}
	b.WriteString("}\n\n// list names the columns and returns them in schema order.\n")
	b.WriteString("func (c *dnsColumns) list() []flowColumn {\n")
	for _, c := range cols {
		fmt.Fprintf(&b, "\tc.%s.col = %q\n", c.goName, c.path)
	}
	b.WriteString("\treturn []flowColumn{\n")
	for _, c := range cols {
		fmt.Fprintf(&b, "\t\t&c.%s,\n", c.goName)
	}
	b.WriteString("\t}\n}\n\n// add appends row r to the columns.\n")
	b.WriteString("func (c *dnsColumns) add(r *DNSRow) {\n")
	b.Write(add.Bytes())
	b.WriteString("}\n")
	return b.Bytes(), nil
}

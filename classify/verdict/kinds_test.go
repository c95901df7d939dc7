package verdict_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/classify/verdict"
)

// Kinds lists every Kind constant this package declares, once: a kind
// added without its place in the list fails here, and reports (which
// take their order and glossary from Kinds) cannot miss it.
func TestKindsListsEveryKind(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				if id, ok := spec.(*ast.ValueSpec).Type.(*ast.Ident); ok && id.Name == "Kind" {
					for _, name := range spec.(*ast.ValueSpec).Names {
						declared = append(declared, name.Name)
					}
				}
			}
		}
	}
	if len(declared) < 10 {
		t.Fatalf("found %d Kind constants: the scan is blind", len(declared))
	}
	kinds := verdict.Kinds()
	if len(kinds) != len(declared) {
		t.Errorf("Kinds() has %d kinds, the package declares %d: %v", len(kinds), len(declared), declared)
	}
	seen := map[verdict.Kind]bool{}
	for _, k := range kinds {
		if k == "" || seen[k] {
			t.Errorf("kind %q empty or listed twice", k)
		}
		seen[k] = true
	}
	kinds[0] = "changed"
	if slices.Contains(verdict.Kinds(), "changed") {
		t.Error("Kinds returned shared state")
	}
}

package compliance

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/classify/verdict"
)

// Every verdict and every finding kind the verdict engine declares has a
// meaning in the glossary: a new kind must be explained before a report
// can show it.
func TestGlossaryCoversEveryKindAndVerdict(t *testing.T) {
	for v := verdict.Verdict(0); v < verdict.NumVerdicts; v++ {
		if verdictMeanings[v] == "" {
			t.Errorf("verdict %s has no glossary entry", v)
		}
	}
	files, err := filepath.Glob("../../classify/verdict/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var kinds int
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Kind" {
				return true
			}
			for i, v := range vs.Values {
				kinds++
				// Kinds aliased from sipcall's constants are checked below.
				if lit, ok := v.(*ast.BasicLit); ok {
					kind, _ := strconv.Unquote(lit.Value)
					if kindMeanings[verdict.Kind(kind)] == "" {
						t.Errorf("finding kind %q (%s) has no glossary entry", kind, vs.Names[i].Name)
					}
				}
			}
			return true
		})
	}
	if kinds < 10 {
		t.Fatalf("found %d Kind constants in classify/verdict: the scan is blind", kinds)
	}
	for _, k := range []verdict.Kind{verdict.KindMediaMissing, verdict.KindMediaOneWay, verdict.KindPoorVoiceQuality} {
		if kindMeanings[k] == "" {
			t.Errorf("finding kind %q has no glossary entry", k)
		}
	}
}

// The glossary lists what the report shows, not every term.
func TestGlossaryListsWhatIsShown(t *testing.T) {
	r := &Report{
		Verdicts:       []Count{{Name: "expected", Count: 3}, {Name: "blocked", Count: 1}},
		FindingsByKind: []Count{{Name: "blocked", Count: 1}},
		Findings:       []Finding{{Kind: "blocked", Reason: "tcp SYN never answered (S0): dropped on the way"}},
	}
	var got []string
	for _, term := range glossary(r) {
		got = append(got, term.Group+":"+term.Term)
	}
	want := "verdict:expected verdict:blocked finding:blocked state:S0"
	if strings.Join(got, " ") != want {
		t.Errorf("glossary %v, want %s", got, want)
	}
}

func TestPairsCellFolds(t *testing.T) {
	three := string(pairsCell([]string{"a -> b", "c -> d", "e -> f"}))
	if strings.Contains(three, "details") || strings.Count(three, "<br>") != 2 {
		t.Errorf("three pairs: %s", three)
	}
	five := string(pairsCell([]string{"a", "b", "c", "<d>", "e"}))
	if !strings.Contains(five, "<details><summary>2 more</summary>&lt;d&gt;<br>e</details>") {
		t.Errorf("five pairs: %s", five)
	}
}

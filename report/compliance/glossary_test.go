package compliance

import (
	"slices"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/classify/verdict"
)

// Every verdict and every finding kind the verdict engine declares
// (verdict.Kinds, which the verdict package checks against its constants)
// has a meaning in the glossary, and the glossary explains no kind the
// engine does not have: a new kind must be explained before a report can
// show it.
func TestGlossaryCoversEveryKindAndVerdict(t *testing.T) {
	for v := verdict.Verdict(0); v < verdict.NumVerdicts; v++ {
		if verdictMeanings[v] == "" {
			t.Errorf("verdict %s has no glossary entry", v)
		}
	}
	kinds := verdict.Kinds()
	for _, k := range kinds {
		if kindMeanings[k] == "" {
			t.Errorf("finding kind %q has no glossary entry", k)
		}
	}
	for k := range kindMeanings {
		if !slices.Contains(kinds, k) {
			t.Errorf("glossary explains %q, which the verdict engine does not declare", k)
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

package main

import (
	"strings"
	"testing"
)

// The verdicts line of the summary names every verdict once, with its own
// count, the catalog's verdicts first and unclassified last; distinct
// counts catch a name paired with another verdict's count.
func TestWriteVerdictsLine(t *testing.T) {
	sum := &replaySummary{
		Site: "lab",
		Verdicts: map[string]uint64{
			"expected": 1, "negotiated": 2, "unexpected": 3,
			"blocked": 4, "ignored": 5, "unclassified": 6,
		},
	}
	var b strings.Builder
	writeVerdicts(&b, sum)
	want := "site       lab\n" +
		"verdicts   expected=1 negotiated=2 unexpected=3 blocked=4 ignored=5 unclassified=6\n" +
		"findings   none\n"
	if b.String() != want {
		t.Errorf("summary:\n%q\nwant\n%q", b.String(), want)
	}
	// A verdict no flow got is still printed, as zero.
	b.Reset()
	writeVerdicts(&b, &replaySummary{Site: "lab", Verdicts: map[string]uint64{"blocked": 7}})
	if !strings.Contains(b.String(), "verdicts   expected=0 negotiated=0 unexpected=0 blocked=7 ignored=0 unclassified=0\n") {
		t.Errorf("summary with one verdict:\n%s", b.String())
	}
}

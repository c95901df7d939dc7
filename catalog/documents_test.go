package catalog

import (
	"slices"
	"strings"
	"testing"
)

// Documents lists the documents of the vendors asked for, or of all, each
// once and sorted whatever the vendors' order.
func TestDocuments(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	all := c.Documents()
	if len(all) != 5 || !slices.IsSorted(all) {
		t.Errorf("every vendor: %q, want the five documents sorted", all)
	}
	two := c.Documents("tegsoft", "genesys-pureconnect")
	if !slices.Equal(two, []string{"000_9e35c2777d8e9ed5.txt", "004_f384c0982fc9ee16.txt"}) {
		t.Errorf("two vendors: %q", two)
	}
	if got := c.Documents("no-such-vendor"); len(got) != 0 {
		t.Errorf("an unknown vendor: %q, want none (not every vendor's)", got)
	}
	// A second vendor citing the same document lists it once.
	u, err := Load(strings.NewReader(strings.ReplaceAll(userCatalog, "acme-ports.pdf", "000_9e35c2777d8e9ed5.txt")), "acme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Merge(u); err != nil {
		t.Fatal(err)
	}
	if got := c.Documents("genesys-pureconnect", "acme-ivr"); !slices.Equal(got, []string{"000_9e35c2777d8e9ed5.txt"}) {
		t.Errorf("a shared document: %q, want it once", got)
	}
}

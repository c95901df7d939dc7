package suggest

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/catalog"
)

// An analyzer's vendors are those asked for, or every catalog vendor; with
// no host placed, they are the vendors of the written inventory.
func TestAnalyzerVendors(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, v := range cat.Vendors() {
		all = append(all, v.ID)
	}
	for _, tc := range []struct {
		asked, want []string
	}{
		{nil, all},
		{[]string{"tegsoft"}, []string{"tegsoft"}},
		{[]string{"sinch-contact-center", "genesys-pureconnect"}, []string{"sinch-contact-center", "genesys-pureconnect"}},
	} {
		a, err := New(Config{Catalog: cat, Vendors: tc.asked})
		if err != nil {
			t.Fatal(err)
		}
		got := a.Vendors()
		if !slices.Equal(got, tc.want) {
			t.Errorf("asked %q: Vendors() = %q, want %q", tc.asked, got, tc.want)
		}
		got[0] = "changed" // a copy: the analyzer keeps its own
		if a.Vendors()[0] != tc.want[0] {
			t.Errorf("asked %q: Vendors() shares the analyzer's slice", tc.asked)
		}
		var b bytes.Buffer
		if err := WriteInventory(&b, a.Suggest(), "empty", a.Vendors()); err != nil {
			t.Fatal(err)
		}
		line := "vendors: [" + strings.Join(tc.want, ", ") + "]"
		if !strings.Contains(b.String(), line) {
			t.Errorf("asked %q: inventory lacks %q:\n%s", tc.asked, line, b.String())
		}
	}
}

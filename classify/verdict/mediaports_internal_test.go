package verdict

import (
	"testing"

	"github.com/ccaudit/auditor/catalog"
)

// Port-only mode judges media against DocumentedMediaPorts, port for
// port: the bitmap it builds holds exactly the ports the exported
// definition (the one the compliance report uses) contains.
func TestPortOnlyMediaPortsIsDocumentedMedia(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, vendor := range []string{"imagicle-ucx", "tegsoft", "sinch-contact-center", "genesys-pureconnect"} {
		t.Run(vendor, func(t *testing.T) {
			cl, err := NewClassifier(Config{Catalog: cat, Vendors: []string{vendor}})
			if err != nil {
				t.Fatal(err)
			}
			d := DocumentedMediaPorts(cl.shared.entries, nil)
			bm := cl.shared.mediaPorts
			if (bm == nil) != (d.Signalled != nil || len(d.Ranges) == 0) {
				t.Fatalf("bitmap %v, documented media %+v", bm != nil, d)
			}
			if bm == nil {
				return
			}
			for p := range 1 << 16 {
				if got, want := bm.has(uint16(p)), d.Contains(uint16(p)); got != want {
					t.Fatalf("port %d: port-only mode %v, documented media %v", p, got, want)
				}
			}
		})
	}
}

package catalog

import (
	"reflect"
	"strings"
	"testing"
)

// defaultFromYAML is what Default returned before the files were
// precompiled: each embedded file parsed and merged in name order.
func defaultFromYAML(t *testing.T) *Catalog {
	t.Helper()
	names, err := vendorFiles.ReadDir("data")
	if err != nil {
		t.Fatal(err)
	}
	c := New()
	for _, n := range names {
		data, err := vendorFiles.ReadFile("data/" + n.Name())
		if err != nil {
			t.Fatal(err)
		}
		vc, err := parseCatalog(data, "catalog/data/"+n.Name())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Merge(vc); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestDefaultMatchesYAML(t *testing.T) {
	want := defaultFromYAML(t)
	got, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Vendors()) != 5 || len(got.Entries()) != len(want.Entries()) {
		t.Fatalf("Default: %d vendors, %d entries; the YAML files give %d, %d",
			len(got.Vendors()), len(got.Entries()), len(want.Vendors()), len(want.Entries()))
	}
	for i, e := range got.Entries() {
		if w := want.Entries()[i]; !reflect.DeepEqual(e, w) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, *e, *w)
		}
	}
	for i, v := range got.Vendors() {
		if w := want.Vendors()[i]; !reflect.DeepEqual(v, w) {
			t.Errorf("vendor %d:\n got %+v\nwant %+v", i, *v, *w)
		}
	}
	// The indexes too, and anything added to Catalog later.
	if !reflect.DeepEqual(got, want) {
		t.Fatal("Default differs from the catalog parsed from data/*.yaml")
	}

	// Callers own what Default returns: changing it must not reach the
	// next call, as when every call parsed the files afresh.
	e := got.Entries()[0]
	e.From[0], e.FQDNs, e.Source.Also = "changed", append(e.FQDNs, "changed.example"), nil
	got.Vendors()[0].Roles["changed"] = "changed"
	again, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, want) {
		t.Error("changing one Default result changed the next")
	}
}

// Decoded data carries no YAML tree; its problems still name the file, all
// of them, in the order found.
func TestBuildWithoutPositions(t *testing.T) {
	v := embeddedVendors()[0]
	v.raw.Schema = 2
	v.raw.Entries[0].Transport = "sctp"
	_, err := buildCatalog(&doc{name: v.name}, v.raw)
	problems := Problems(err)
	if len(problems) != 2 {
		t.Fatalf("got %d problems, want 2: %v", len(problems), err)
	}
	for i, want := range []string{"schema: got 2", `transport "sctp"`} {
		p := problems[i]
		if p.File != v.name || p.Line != 0 || p.Column != 0 || !strings.Contains(p.Msg, want) {
			t.Errorf("problem %d: %+v, want %s with no position, %q", i, *p, v.name, want)
		}
		if !strings.HasPrefix(p.Error(), v.name+": ") {
			t.Errorf("problem %d: %q does not start with the file name", i, p.Error())
		}
	}
}

func BenchmarkDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}

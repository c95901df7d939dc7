package sitegen

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/ccaudit/auditor/catalog"
)

func sites(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../catalog/rules/testdata/sites/*.yaml")
	if err != nil || len(files) != 5 {
		t.Fatalf("example sites: %v %v", files, err)
	}
	return files
}

func load(t *testing.T, path string) (*catalog.Catalog, *catalog.Inventory) {
	t.Helper()
	c, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := catalog.LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	return c, inv
}

func TestSmoke(t *testing.T) {
	for _, f := range sites(t) {
		c, inv := load(t, f)
		var b bytes.Buffer
		tr, err := Generate(&b, c, inv, Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d packets %d flows %d bytes, %d entries, skipped %v", inv.Site, tr.Packets, tr.Flows, b.Len(), len(tr.Entries), tr.Skipped)
		for _, h := range tr.Hosts {
			t.Logf("  %s %v %v %s", h.Addr, h.Roles, h.Implied, h.Noise)
		}
	}
}

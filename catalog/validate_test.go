package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Only a top-level site: key makes an inventory.
func TestIsInventory(t *testing.T) {
	for text, want := range map[string]bool{
		"schema: 1\nsite: hq\nvendors: [tegsoft]\n": true,
		"site : hq\n":                       true,
		"schema: 1\nvendor: {id: acme}\n":   false,
		"vendor:\n  site: not-top-level\n":  false,
		"# site: in a comment\nschema: 1\n": false,
		"":                                  false,
	} {
		if got := IsInventory([]byte(text)); got != want {
			t.Errorf("IsInventory(%q) = %v, want %v", text, got, want)
		}
	}
}

// Validate merges every catalog before checking the inventories (one may
// come first and name a later catalog's vendor), reports every file's
// problems without merging a broken catalog, and keeps warnings apart
// from problems.
func TestValidate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	site := write("site.yaml", "schema: 2\nsite: s\nvendors: [acme-ivr]\nroles:\n  ivr: [10.0.0.10]\n  workstation: [10.0.0.0/24]\n")
	user := write("acme.yaml", userCatalog)
	v := Validate([]string{site, user})
	if len(v.Problems) != 0 || v.Files != 2 || v.Inventories != 1 {
		t.Fatalf("site before its catalog: problems %v, %d files, %d inventories", v.Problems, v.Files, v.Inventories)
	}
	if _, ok := v.Catalog.Vendor("acme-ivr"); !ok {
		t.Error("the user catalog is not merged")
	}
	// 10.0.0.10 is inside the workstations' /24: a warning only.
	if len(v.Warnings) == 0 || !strings.Contains(v.Warnings[0].Error(), "warning: 10.0.0.0/24") {
		t.Errorf("warnings %v", v.Warnings)
	}

	bad := write("bad.yaml", "schema: 1\nvendor: {id: broken, document: b.pdf, defaults: {section: S}}\nentries:\n  - {id: a, component: A, from: x, to: y, transport: tcp, ports: 99999, app: http}\n")
	missing := filepath.Join(dir, "missing.yaml")
	v = Validate([]string{bad, missing, user, site})
	var text []string
	for _, p := range v.Problems {
		text = append(text, p.Error())
	}
	all := strings.Join(text, "\n")
	if !strings.Contains(all, bad+":4:") || !strings.Contains(all, "99999") || !strings.Contains(all, missing+": ") {
		t.Errorf("problems:\n%s", all)
	}
	if _, ok := v.Catalog.Vendor("broken"); ok {
		t.Error("a catalog with problems was merged")
	}
	if v.Files != 3 || v.Inventories != 1 {
		t.Errorf("%d files, %d inventories; want the three that could be read, one inventory", v.Files, v.Inventories)
	}

	if v := Validate(nil); len(v.Problems) != 0 || len(v.Catalog.Vendors()) != 5 || v.Files != 0 {
		t.Errorf("no files: %+v", v)
	}
}

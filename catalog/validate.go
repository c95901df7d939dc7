package catalog

import (
	"bytes"
	"os"
	"regexp"
)

// inventoryHead matches the top-level "site:" key that only inventories
// have.
var inventoryHead = regexp.MustCompile(`(?m)^site\s*:`)

// IsInventory tells an inventory file's bytes from a catalog file's: only
// an inventory has a top-level "site:" key. Files that do not parse are
// told apart the same way, so their problems are reported against the
// right schema.
func IsInventory(data []byte) bool { return inventoryHead.Match(data) }

// Validation is what Validate found in a set of catalog and inventory
// files.
type Validation struct {
	// Problems are every problem of every file, catalogs first in file
	// order, then inventories; a file with problems is not merged.
	Problems []*Error
	// Warnings are the inventories' warnings (Inventory.Warnings), which
	// do not make the files invalid.
	Warnings []*Error
	// Catalog is the built-in catalog with every valid catalog file
	// merged in.
	Catalog *Catalog
	// Files counts the files read; Inventories those that loaded as
	// inventories.
	Files, Inventories int
}

// Validate checks catalog and inventory files (IsInventory tells them
// apart) and lists every problem rather than stopping at the first. The
// inventories are checked once every catalog file is merged, since they
// may name a vendor of any of them. A problem of the built-in catalog is
// reported too, and the files are then checked against an empty one.
func Validate(files []string) *Validation {
	v := &Validation{}
	report := func(err error) { v.Problems = append(v.Problems, Problems(err)...) }
	c, err := Default()
	if err != nil {
		report(err)
		c = New()
	}
	v.Catalog = c
	type inventoryFile struct {
		name string
		data []byte
	}
	var inventories []inventoryFile
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			report(&Error{File: f, Msg: err.Error()})
			continue
		}
		v.Files++
		if IsInventory(data) {
			inventories = append(inventories, inventoryFile{f, data})
			continue
		}
		u, err := Load(bytes.NewReader(data), f)
		if err != nil {
			report(err)
			continue
		}
		if err := c.Merge(u); err != nil {
			report(&Error{File: f, Msg: err.Error()})
		}
	}
	for _, f := range inventories {
		inv, err := ValidateInventory(bytes.NewReader(f.data), f.name, c)
		report(err)
		if inv != nil {
			v.Inventories++
			v.Warnings = append(v.Warnings, inv.Warnings(c)...)
		}
	}
	return v
}

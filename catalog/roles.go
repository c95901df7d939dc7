package catalog

import (
	"maps"
	"slices"
)

// RoleInfo is one role an inventory may give hosts of a vendor: what it
// implies, what implies it, and how much of the catalog names it.
type RoleInfo struct {
	Vendor string `json:"vendor"`
	Role   string `json:"role"`
	// Qualified is the role written vendor/role, as an inventory writes
	// it where another deployed vendor has a role of the same name.
	Qualified   string `json:"qualified"`
	Description string `json:"description"`
	// Implies are the roles every host of this one also plays
	// (Vendor.Implies); ImpliedBy are the roles that imply this one,
	// sorted.
	Implies   []string `json:"implies,omitempty"`
	ImpliedBy []string `json:"implied_by,omitempty"`
	// Entries counts the entry ends (from and to) of the vendor that name
	// the role: an entry between two hosts of it counts twice.
	Entries int `json:"entries"`
}

// VendorRoles returns the declared roles of a vendor, sorted by name, with
// the inverse of its implies relation and the uses of each role by its
// entries. An unknown vendor has none.
func (c *Catalog) VendorRoles(vendor string) []RoleInfo {
	v, ok := c.Vendor(vendor)
	if !ok {
		return nil
	}
	uses := make(map[string]int)
	for _, e := range c.EntriesOf(v.ID) {
		for _, r := range e.From {
			uses[r]++
		}
		for _, r := range e.To {
			uses[r]++
		}
	}
	impliedBy := make(map[string][]string)
	for _, r := range slices.Sorted(maps.Keys(v.Implies)) {
		for _, to := range v.Implies[r] {
			impliedBy[to] = append(impliedBy[to], r)
		}
	}
	var out []RoleInfo
	for _, r := range slices.Sorted(maps.Keys(v.Roles)) {
		out = append(out, RoleInfo{Vendor: v.ID, Role: r, Qualified: QualifyRole(v.ID, r), Description: v.Roles[r],
			Implies: v.Implies[r], ImpliedBy: impliedBy[r], Entries: uses[r]})
	}
	return out
}

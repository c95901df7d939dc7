// Package catalog holds the vendors' documented port maps as data: one
// embedded YAML file per vendor, user catalogs in the same schema, and site
// inventories that map hosts to roles and adjust configurable ports.
//
// The schema (version 1) and a commented example are in README.md. An
// Entry states one flow: From roles open it to Ports on To roles over a
// Transport, with its Source in the vendor document. An Index answers which
// entries cover a transport and port, or an address, in O(log n) without
// allocating; an Inventory answers which roles an address plays.
//
// DefaultWith is the catalog every command judges against: the built-in
// vendors plus user catalog files. Validate checks a set of catalog and
// inventory files at once, telling them apart with IsInventory;
// Catalog.VendorRoles lists the roles an inventory may use.
package catalog

//go:build catalog_regen

package catalog

// go generate builds the package with this stand-in for vendors_gen.go, so
// that the generator runs even when a change to the file format's types has
// left the generated file unable to compile.
func embeddedVendors() []embeddedVendor { return nil }

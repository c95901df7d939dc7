package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// Provenance keys: what a run's flows were judged against.
const (
	ProvCatalogDocuments = "catalog.documents" // vendor documents of the judged vendors, "; "-separated
	ProvCatalogFiles     = "catalog.files"     // extra catalog files given, "; "-separated
	ProvInventorySite    = "inventory.site"
	ProvInventorySHA256  = "inventory.sha256" // of the inventory file's bytes
)

// Provenance says what the verdicts rest on: the vendor documents the
// catalog encodes for the vendors judged, the extra catalog files, and the
// site inventory's name and the SHA-256 of its file, so a report or a file
// can be traced to the exact inputs that judged it.
func (a *Auditor) Provenance() (map[string]string, error) {
	judged := a.cfg.Vendors
	if len(judged) == 0 && a.inv != nil {
		judged = a.inv.Vendors
	}
	docs := a.cat.Documents(judged...)
	p := map[string]string{ProvCatalogDocuments: strings.Join(docs, "; ")}
	if len(a.cfg.Catalogs) > 0 {
		p[ProvCatalogFiles] = strings.Join(a.cfg.Catalogs, "; ")
	}
	if a.cfg.Site != "" {
		data, err := os.ReadFile(a.cfg.Site)
		if err != nil {
			return p, fmt.Errorf("hash inventory: %w", err)
		}
		sum := sha256.Sum256(data)
		p[ProvInventorySHA256] = hex.EncodeToString(sum[:])
		if a.inv != nil {
			p[ProvInventorySite] = a.inv.Site
		}
	}
	return p, nil
}

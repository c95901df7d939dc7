package compliance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/internal/version"
	"github.com/ccaudit/auditor/report/parquetout"
)

// RunConfig is what one report run reads: the output directory, the
// window, the catalogs and inventories that judge it, and the previous
// report to compare with.
type RunConfig struct {
	// In is the directory of Parquet output ([Load]).
	In     string
	Window Window
	// Sites are the site inventory files judged per site, in order.
	Sites []string
	// Catalogs are user catalog files merged into the built-in one.
	Catalogs []string
	// Previous is a previous report's JSON output; a missing file is
	// noted in the report, since the first night has none.
	Previous string
	// Top bounds the report's tables (Options.Top).
	Top int
	// GeneratedAt is the report's time.
	GeneratedAt time.Time
}

// Run builds the report of cfg.In: it loads the catalogs, the inventories
// (each checked against the catalog and hashed for the provenance) and the
// previous report, refuses a directory whose run manifests do not match
// its tables, then reads every table.
func Run(ctx context.Context, cfg RunConfig) (*Report, error) {
	opts, err := runOptions(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkManifests(cfg.In); err != nil {
		return nil, err
	}
	b := NewBuilder(opts)
	if err := Load(cfg.In, b); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b.Report(), nil
}

// runOptions reads the catalog, inventories and previous report into the
// builder's options, with the provenance: the tool, the inventories'
// SHA-256 and the documents of the vendors judged (the inventories'
// vendors, or every vendor without inventories).
func runOptions(cfg RunConfig) (Options, error) {
	opts := Options{Window: cfg.Window, Top: cfg.Top, Input: cfg.In, GeneratedAt: cfg.GeneratedAt}
	cat, err := catalog.DefaultWith(cfg.Catalogs)
	if err != nil {
		return opts, err
	}
	opts.Catalog = cat
	var vendors []string
	for _, path := range cfg.Sites {
		inv, err := catalog.LoadInventory(path)
		if err != nil {
			return opts, err
		}
		if err := inv.Check(cat); err != nil {
			return opts, err
		}
		opts.Sites = append(opts.Sites, inv)
		vendors = append(vendors, inv.Vendors...)
		data, err := os.ReadFile(path)
		if err != nil {
			return opts, err
		}
		sum := sha256.Sum256(data)
		opts.Provenance.Inventories = append(opts.Provenance.Inventories,
			InventoryHash{Site: inv.Site, File: path, SHA256: hex.EncodeToString(sum[:])})
	}
	opts.Provenance.Tool = version.Get().String()
	opts.Provenance.CatalogDocuments = cat.Documents(vendors...)
	if cfg.Previous != "" {
		prev, err := ReadPrevious(cfg.Previous)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			opts.PreviousNote = "no previous report at " + cfg.Previous
		case err != nil:
			return opts, err
		default:
			opts.Previous = prev
		}
	}
	return opts, nil
}

// checkManifests refuses an output directory whose tables are not all from
// the run their manifest names: a run killed between renaming its tables
// leaves such a mix, and a report of it would join two runs. It checks a
// replay's DIR/manifest.json and each capture window's
// DIR/date=*/hour=*/manifest-<sensor>-<seq>.json.
func checkManifests(dir string) error {
	paths, _ := filepath.Glob(filepath.Join(dir, "date=*", "hour=*", "manifest-*.json"))
	paths = append([]string{filepath.Join(dir, parquetout.ManifestName)}, paths...)
	for _, p := range paths {
		m, err := parquetout.ReadManifest(filepath.Dir(p), filepath.Base(p))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := m.Verify(filepath.Dir(p)); err != nil {
			return fmt.Errorf("%s: the tables are not the set of run %s (was it interrupted? replay again): %w", p, m.Run, err)
		}
	}
	return nil
}

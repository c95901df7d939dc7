package parquetout

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ManifestName is the per-run manifest in an output directory (replay) or
// a window's partition (capture writes manifest-<sensor>-<seq>.json).
const ManifestName = "manifest.json"

// MetaRun is the metadata key carrying the run id: every table of one run
// (or one capture window) has the same, and its manifest names it.
const MetaRun = "auditor.run"

// Manifest lists the tables one run wrote. It is written last, after every
// table is complete under its final name, so it only ever names a finished
// set. Tables are renamed one at a time, so a kill between two renames can
// leave new and old tables side by side; each table's auditor.run metadata
// tells them apart, and Verify refuses such a mix.
type Manifest struct {
	Run       string          `json:"run"`
	Version   string          `json:"version"`
	CreatedBy string          `json:"created_by"`
	Finished  time.Time       `json:"finished"`
	Tables    []ManifestTable `json:"tables"`
	// Extra holds what the run wants its readers to know (the catalog
	// documents, the inventory's hash).
	Extra map[string]string `json:"extra,omitempty"`
}

// ManifestTable is one file of a run.
type ManifestTable struct {
	Table string `json:"table"` // flows, calls, dns, tunnels or findings
	File  string `json:"file"`  // relative to the manifest's directory
	Rows  uint64 `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// NewRunID returns a fresh run id: the start time and 8 random bytes, so
// ids sort by time and never repeat across sensors.
func NewRunID(start time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	return start.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Add records a finished table file (its size is read from disk).
func (m *Manifest) Add(dir, table, path string, rows uint64) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	m.Tables = append(m.Tables, ManifestTable{Table: table, File: filepath.ToSlash(rel), Rows: rows, Bytes: info.Size()})
	return nil
}

// WriteManifest writes m as dir/name through a temporary file, synced and
// renamed, like the tables.
func WriteManifest(dir, name string, m *Manifest) error {
	if m.Version == "" {
		m.Version, _ = buildVersion()
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	path := filepath.Join(dir, name)
	f, err := createTemp(path)
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write manifest %s: %w", path, err)
	}
	return syncDir(dir)
}

// ReadManifest reads dir/name.
func ReadManifest(dir, name string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", filepath.Join(dir, name), err)
	}
	return &m, nil
}

// ErrMixedRun means a manifest's tables are not the ones its run wrote: a
// run was interrupted between renaming its tables, or a file was replaced.
var ErrMixedRun = errors.New("tables of different runs")

// Verify checks that every table the manifest lists is there, with the
// manifest's size and run id.
func (m *Manifest) Verify(dir string) error {
	var errs []error
	for _, t := range m.Tables {
		path := filepath.Join(dir, filepath.FromSlash(t.File))
		info, err := os.Stat(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.File, err))
			continue
		}
		md, err := ReadMetadata(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if run := md[MetaRun]; run != m.Run || info.Size() != t.Bytes {
			errs = append(errs, fmt.Errorf("%s: run %q (%d bytes), manifest says run %q (%d bytes): %w",
				t.File, run, info.Size(), m.Run, t.Bytes, ErrMixedRun))
		}
	}
	return errors.Join(errs...)
}

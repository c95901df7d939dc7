package compliance_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/report/compliance"
	"github.com/ccaudit/auditor/report/parquetout"
)

func runConfig(dir string) compliance.RunConfig {
	return compliance.RunConfig{In: dir, Window: compliance.Window{From: day, To: day.AddDate(0, 0, 1)}, Top: 10}
}

// Run loads the inventories with their hashes, names the documents of
// their vendors only, notes a missing previous report instead of failing,
// and gives the same findings as building from the loaded options.
func TestRunProvenance(t *testing.T) {
	dir := writeFlat(t)
	cfg := runConfig(dir)
	cfg.Sites = []string{"testdata/site.yaml"}
	cfg.Previous = filepath.Join(t.TempDir(), "none.json")
	r, err := compliance.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	p := r.Provenance
	if len(p.Inventories) != 1 || p.Inventories[0] != (compliance.InventoryHash{Site: "test-contact-center", File: "testdata/site.yaml", SHA256: hex.EncodeToString(sum[:])}) {
		t.Errorf("inventories %+v", p.Inventories)
	}
	// The site's only vendor is Genesys PureConnect.
	if !slices.Equal(p.CatalogDocuments, []string{"000_9e35c2777d8e9ed5.txt"}) || p.Tool == "" {
		t.Errorf("documents %q, tool %q", p.CatalogDocuments, p.Tool)
	}
	if r.Changes.Previous != "no previous report at "+cfg.Previous || r.Changes.Compared {
		t.Errorf("changes %+v", r.Changes)
	}
	want := build(t, dir, options(t, dir))
	if len(r.Findings) == 0 || len(r.Findings) != len(want.Findings) {
		t.Errorf("%d findings, want %d as built from the same inputs", len(r.Findings), len(want.Findings))
	}

	// Without inventories every vendor's document is named.
	r, err = compliance.Run(context.Background(), runConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Provenance.CatalogDocuments) != 5 || len(r.Provenance.Inventories) != 0 {
		t.Errorf("without inventories: %+v", r.Provenance)
	}
}

// A bad inventory, catalog or previous report, and a canceled context,
// stop the run with an error naming the input.
func TestRunErrors(t *testing.T) {
	dir := writeFlat(t)
	notPrevious := filepath.Join(t.TempDir(), "prev.json")
	if err := os.WriteFile(notPrevious, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	badSite := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(badSite, []byte("schema: 1\nsite: x\nvendors: [no-such-vendor]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		mod  func(*compliance.RunConfig)
		want string
	}{
		"missing catalog":  {func(c *compliance.RunConfig) { c.Catalogs = []string{"testdata/nope.yaml"} }, "nope.yaml"},
		"missing site":     {func(c *compliance.RunConfig) { c.Sites = []string{"testdata/nope-site.yaml"} }, "nope-site.yaml"},
		"site not checked": {func(c *compliance.RunConfig) { c.Sites = []string{badSite} }, "no-such-vendor"},
		"bad previous":     {func(c *compliance.RunConfig) { c.Previous = notPrevious }, "previous report"},
	} {
		cfg := runConfig(dir)
		tt.mod(&cfg)
		if _, err := compliance.Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error mentioning %q", name, err, tt.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := compliance.Run(ctx, runConfig(dir)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

// A manifest whose tables are not its run's (a run killed between its
// renames), flat or in a capture window's partition, stops the report;
// a matching one does not.
func TestRunChecksManifests(t *testing.T) {
	for _, hive := range []bool{false, true} {
		dir := t.TempDir()
		sub, manifest := dir, parquetout.ManifestName
		if hive {
			sub, manifest = filepath.Join(dir, "date=2026-11-02", "hour=09"), "manifest-s1-1.json"
		}
		flows := filepath.Join(sub, "flows.parquet")
		if hive {
			flows = filepath.Join(sub, "flows-s1-1.parquet")
		}
		writeTable(t, flows, parquetout.SchemaVersion, testFlows(), map[string]string{parquetout.MetaRun: "run-1"})
		m := &parquetout.Manifest{Run: "run-1"}
		if err := m.Add(sub, "flows", flows, uint64(len(testFlows()))); err != nil {
			t.Fatal(err)
		}
		if err := parquetout.WriteManifest(sub, manifest, m); err != nil {
			t.Fatal(err)
		}
		if _, err := compliance.Run(context.Background(), runConfig(dir)); err != nil {
			t.Fatalf("hive %v, the run's own tables: %v", hive, err)
		}
		writeTable(t, flows, parquetout.SchemaVersion, testFlows()[:1], map[string]string{parquetout.MetaRun: "run-2"})
		_, err := compliance.Run(context.Background(), runConfig(dir))
		if !errors.Is(err, parquetout.ErrMixedRun) || !strings.Contains(err.Error(), filepath.Join(sub, manifest)+": the tables are not the set of run run-1") {
			t.Errorf("hive %v, another run's flows: %v", hive, err)
		}
	}
}

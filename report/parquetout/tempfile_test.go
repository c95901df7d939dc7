package parquetout

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestTempFileRefusesPlantedLink plants, under every temporary name the
// old writer would use, a symbolic link to a victim file: the writer must
// neither truncate nor write through it.
func TestTempFileRefusesPlantedLink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(victim, []byte("root:x:0:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(dir, "flows.parquet")
	if err := os.Symlink(victim, fmt.Sprintf("%s.tmp-%d", final, os.Getpid())); err != nil {
		t.Fatal(err)
	}
	row := sipCall(t)
	w, err := Create(final, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&row); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "root:x:0:0\n" {
		t.Errorf("victim file changed: %q", got)
	}
	if rows, err := ReadFlows(final); err != nil || len(rows) != 1 {
		t.Errorf("final file: %d rows, %v", len(rows), err)
	}
	info, err := os.Stat(final)
	if err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("final file mode %v, %v; want 0644", info.Mode(), err)
	}
}

// deadPid returns the pid of a process that has exited.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	return cmd.Process.Pid
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "date=2026-01-01", "hour=00")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	dead, live := deadPid(t), os.Getpid()
	files := map[string]bool{ // name -> removed
		fmt.Sprintf("flows.parquet.tmp-%d-123", dead):                               true,
		fmt.Sprintf("flows.parquet.tmp-%d", dead):                                   true, // older form
		filepath.Join(sub, fmt.Sprintf("findings-s-000001.parquet.tmp-%d-9", dead)): true,
		fmt.Sprintf("manifest.json.tmp-%d-77", dead):                                true,
		fmt.Sprintf("flows.parquet.tmp-%d-5", live):                                 false, // a running writer
		fmt.Sprintf(".night.md.tmp-%d", dead):                                       false, // not ours
		"flows.parquet":                                                             false,
		"notes.tmp-x":                                                               false,
	}
	var want []string
	for name, gone := range files {
		path := name
		if !filepath.IsAbs(name) {
			path = filepath.Join(dir, name)
		}
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if gone {
			want = append(want, path)
		}
	}
	removed, err := RemoveStale(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v\nwant %v", removed, want)
	}
	for name, gone := range files {
		path := name
		if !filepath.IsAbs(name) {
			path = filepath.Join(dir, name)
		}
		_, err := os.Stat(path)
		if exists := err == nil; exists == gone {
			t.Errorf("%s: exists=%v after RemoveStale", name, exists)
		}
	}
	if r, err := RemoveStale(filepath.Join(dir, "nope")); err != nil || len(r) != 0 {
		t.Errorf("missing dir: %v, %v", r, err)
	}
}

func TestManifestVerify(t *testing.T) {
	dir := t.TempDir()
	write := func(name, run string) string {
		path := filepath.Join(dir, name)
		writeRows(t, path, Options{Metadata: map[string]string{MetaRun: run}}, manyRows(t, 3))
		return path
	}
	m := &Manifest{Run: "run-a", CreatedBy: "test"}
	for _, table := range []string{"flows", "findings"} {
		if err := m.Add(dir, table, write(table+".parquet", "run-a"), 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteManifest(dir, ManifestName, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(dir, ManifestName)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version == "" || got.Run != "run-a" || len(got.Tables) != 2 {
		t.Fatalf("manifest read back: %+v", got)
	}
	if err := got.Verify(dir); err != nil {
		t.Errorf("complete set: %v", err)
	}
	// A later run renamed its flows but died before its findings and
	// manifest: the set mixes two runs.
	write("flows.parquet", "run-b")
	if err := got.Verify(dir); !errors.Is(err, ErrMixedRun) {
		t.Errorf("mixed set: %v, want ErrMixedRun", err)
	}
	os.Remove(filepath.Join(dir, "findings.parquet"))
	if err := got.Verify(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing table: %v", err)
	}
}

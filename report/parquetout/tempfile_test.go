package parquetout

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
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

// staleFile is a temporary file in a RemoveStale test: its name, whether
// a process holds its lock, how old it is, and whether it must go.
type staleFile struct {
	name   string
	locked bool
	age    time.Duration
	gone   bool
}

func writeStaleFiles(t *testing.T, dir string, files []staleFile, now time.Time) {
	t.Helper()
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("half a file"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, now.Add(-f.age), now.Add(-f.age)); err != nil {
			t.Fatal(err)
		}
		if f.locked {
			// A writer in another pid namespace or on another host sharing
			// the lock: only its flock says it is alive.
			h, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.Close() })
			if err := flock(h, syscall.LOCK_EX); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func checkStaleFiles(t *testing.T, dir string, files []staleFile, res StaleResult) {
	t.Helper()
	var want []string
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if f.gone {
			want = append(want, path)
		}
		_, err := os.Stat(path)
		if exists := err == nil; exists == f.gone {
			t.Errorf("%s: exists=%v after RemoveStale", f.name, exists)
		}
	}
	slices.Sort(res.Removed)
	slices.Sort(want)
	if !slices.Equal(res.Removed, want) {
		t.Errorf("removed %v\nwant %v", res.Removed, want)
	}
}

// A replay's output directory: only this host's temporaries, directly in
// it, whose lock no process holds and that are older than MinAge, go.
func TestRemoveStaleReplay(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	dead, live := deadPid(t), os.Getpid()
	host := "probe-a.example"
	old, young := 2*time.Hour, time.Minute
	files := []staleFile{
		{name: fmt.Sprintf("flows.parquet.tmp-%s-%d-123", host, dead), age: old, gone: true},
		{name: fmt.Sprintf("manifest.json.tmp-%s-%d-77", host, dead), age: old, gone: true},
		// The lock decides, not the pid: a live writer whose pid means
		// nothing here (another container) keeps its file.
		{name: fmt.Sprintf("calls.parquet.tmp-%s-%d-5", host, dead), locked: true, age: old},
		// No lock held: a writer of this host that died, even under a
		// pid that now runs something else.
		{name: fmt.Sprintf("dns.parquet.tmp-%s-%d-6", host, live), age: old, gone: true},
		{name: fmt.Sprintf("findings.parquet.tmp-%s-%d-9", host, dead), age: young},
		{name: fmt.Sprintf("flows.parquet.tmp-other-host-%d-1", dead), age: old},
		{name: fmt.Sprintf("flows.parquet.tmp-%d-123", dead), age: old}, // older form: no host
		{name: fmt.Sprintf("flows.parquet.tmp-%d", dead), age: old},
		{name: filepath.Join("sub", fmt.Sprintf("flows.parquet.tmp-%s-%d-1", host, dead)), age: old},
		{name: fmt.Sprintf(".night.md.tmp-%d", dead), age: old}, // not ours
		{name: "flows.parquet", age: old},
		{name: "notes.tmp-x", age: old},
	}
	writeStaleFiles(t, dir, files, now)
	res, err := RemoveStale(StaleScope{Dir: dir, MinAge: time.Hour, Now: now, Host: host})
	if err != nil {
		t.Fatal(err)
	}
	checkStaleFiles(t, dir, files, res)
	if res.Live != 1 || res.Recent != 1 || res.OtherHost != 1 || res.Unowned != 2 {
		t.Errorf("left %+v: want 1 live, 1 recent, 1 of another host, 2 unowned", res)
	}
	if r, err := RemoveStale(StaleScope{Dir: filepath.Join(dir, "nope")}); err != nil || len(r.Removed) != 0 {
		t.Errorf("missing dir: %v, %v", r, err)
	}
}

// A capture's lake, shared by sensors: only this sensor's files in the
// recent Hive partitions are looked at.
func TestRemoveStaleCapture(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 3, 9, 12, 30, 0, 0, time.UTC)
	dead := deadPid(t)
	host := "h1"
	tmp := func(part, final string) string {
		return filepath.Join(part, fmt.Sprintf("%s.tmp-%s-%d-1", final, host, dead))
	}
	recent, lastWeek := "date=2026-03-09/hour=11", "date=2026-03-01/hour=23"
	files := []staleFile{
		{name: tmp(recent, "flows-edge-1-000007.parquet"), age: 2 * time.Hour, gone: true},
		{name: tmp(recent, "manifest-edge-1-000006.json"), age: 2 * time.Hour, gone: true},
		{name: tmp("date=2026-03-03/hour=00", "dns-edge-1-000001.parquet"), age: 2 * time.Hour, gone: true},
		{name: tmp(recent, "flows-1-000007.parquet"), age: 2 * time.Hour},      // sensor "1"
		{name: tmp(recent, "flows-edge-2-000007.parquet"), age: 2 * time.Hour}, // another sensor
		{name: tmp(recent, "flows.parquet"), age: 2 * time.Hour},               // a replay's
		{name: tmp(lastWeek, "flows-edge-1-000001.parquet"), age: 200 * time.Hour},
		{name: tmp("", "flows-edge-1-000001.parquet"), age: 2 * time.Hour},              // not a partition
		{name: tmp("other/hour=11", "flows-edge-1-000001.parquet"), age: 2 * time.Hour}, // not a partition
	}
	writeStaleFiles(t, dir, files, now)
	res, err := RemoveStale(StaleScope{Dir: dir, Sensor: "edge-1", MinAge: time.Hour, Now: now, Host: host})
	if err != nil {
		t.Fatal(err)
	}
	checkStaleFiles(t, dir, files, res)
	if res.Left() != 0 {
		t.Errorf("left %+v: files outside the scope are not counted", res)
	}
}

func TestParseTemp(t *testing.T) {
	tests := []struct {
		name string
		want tempName
		ok   bool
	}{
		{"flows.parquet.tmp-h-1-2", tempName{"flows.parquet", "h", 1}, true},
		{"flows.parquet.tmp-edge-1.example-42-99", tempName{"flows.parquet", "edge-1.example", 42}, true},
		{"flows.parquet.tmp-1234-99", tempName{"flows.parquet", "", 1234}, true},
		{"flows.parquet.tmp-1234", tempName{"flows.parquet", "", 1234}, true},
		{"manifest-s-000001.json.tmp-h-7-1", tempName{"manifest-s-000001.json", "h", 7}, true},
		{"flows.parquet.tmp-h-x-2", tempName{}, false},
		{"flows.parquet.tmp-h-1-x", tempName{}, false},
		{"flows.parquet.tmp--1-2", tempName{}, false},
		{"flows.parquet.tmp-0", tempName{}, false},
		{"notes.txt.tmp-h-1-2", tempName{}, false},
	}
	for _, tt := range tests {
		got, ok := parseTemp(tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: %+v %v, want %+v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// A writer's temporary file is named for this host and pid and locked
// while it is open: RemoveStale leaves it, however old.
func TestTempFileLockedWhileWritten(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(filepath.Join(dir, "flows.parquet"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	prefix := fmt.Sprintf("flows.parquet.tmp-%s-%d-", hostTag(), os.Getpid())
	if !strings.HasPrefix(filepath.Base(w.tmp), prefix) {
		t.Errorf("temp name %s, want %s*", w.tmp, prefix)
	}
	res, err := RemoveStale(StaleScope{Dir: dir, Now: time.Now().Add(24 * time.Hour)})
	if err != nil || len(res.Removed) != 0 || res.Live != 1 {
		t.Errorf("RemoveStale on a file being written: %+v, %v", res, err)
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

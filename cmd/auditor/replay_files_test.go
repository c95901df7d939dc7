package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ccaudit/auditor/report/parquetout"
)

const demo = "../../testdata/demo.pcapng"

// A replay that cannot read a single packet leaves the previous run's
// files as they were, and names the file on stderr.
func TestReplayFailureKeepsPreviousOutput(t *testing.T) {
	out := t.TempDir()
	if _, stderr, code := runCLI(t, "replay", "--out", out, demo); code != exitOK {
		t.Fatalf("first replay: exit %d: %s", code, stderr)
	}
	before := map[string][]byte{}
	for _, name := range []string{"flows.parquet", "findings.parquet", "calls.parquet", "dns.parquet", "tunnels.parquet", "manifest.json"} {
		before[name] = readOrFail(t, filepath.Join(out, name))
	}
	notes := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notes, []byte("meeting notes\n"), 0o644)
	stdout, stderr, code := runCLI(t, "replay", "--out", out, notes)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr, "no packets could be read from "+notes) {
		t.Errorf("stderr does not name the file:\n%s", stderr)
	}
	if strings.Contains(stdout, "wrote") {
		t.Errorf("summary claims files were written:\n%s", stdout)
	}
	for name, data := range before {
		if got := readOrFail(t, filepath.Join(out, name)); !bytes.Equal(got, data) {
			t.Errorf("%s was replaced by a failed run", name)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != len(before) {
		t.Errorf("output directory has %d entries, want %d: leftovers", len(entries), len(before))
	}
}

// rowsOf counts the rows a table reader reads from a file.
func rowsOf[T any](read func(string) ([]T, error)) func(string) (int, error) {
	return func(path string) (int, error) {
		rows, err := read(path)
		return len(rows), err
	}
}

func readOrFail(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Every table of a run carries the run id its manifest names, and the
// manifest lists exactly the files the summary says were written.
func TestReplayManifest(t *testing.T) {
	out := t.TempDir()
	if _, stderr, code := runCLI(t, "replay", "--site", "../../testdata/demo-site.yaml", "--out", out, demo); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m, err := parquetout.ReadManifest(out, parquetout.ManifestName)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(out); err != nil {
		t.Error(err)
	}
	// Every table the run wrote, with the rows its file holds.
	want := []struct {
		table string
		rows  func(string) (int, error)
	}{
		{"flows", rowsOf(parquetout.ReadFlows)},
		{"calls", rowsOf(parquetout.ReadCalls)},
		{"dns", rowsOf(parquetout.ReadDNS)},
		{"tunnels", rowsOf(parquetout.ReadTunnels)},
		{"findings", rowsOf(parquetout.ReadFindings)},
	}
	if len(m.Tables) != len(want) {
		t.Fatalf("manifest tables %+v, want %d", m.Tables, len(want))
	}
	for i, w := range want {
		got := m.Tables[i]
		n, err := w.rows(filepath.Join(out, got.File))
		if got.Table != w.table || got.File != w.table+".parquet" || err != nil || got.Rows != uint64(n) {
			t.Errorf("manifest table %d: %+v, want %s.parquet with its %d rows (%v)", i, got, w.table, n, err)
		}
	}
	if m.Tables[0].Rows != 212 || m.Tables[2].Rows == 0 || m.Tables[4].Rows != 10 {
		t.Errorf("manifest tables %+v: want 212 flows, the demo's DNS transactions, 10 findings", m.Tables)
	}
	if m.Extra["inventory.site"] != "demo-contact-center" || len(m.Extra["inventory.sha256"]) != 64 || m.Extra["catalog.documents"] == "" {
		t.Errorf("manifest provenance %v", m.Extra)
	}
}

// The temporary files of a writer of this host that died are reclaimed by
// the next run once they are old enough; those of a live writer (its lock
// held), of another host, or too recent are not, and stderr says so.
func TestReplayRemovesStaleTemporaries(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	host, err := os.Hostname()
	if err != nil || strings.ContainsFunc(host, func(r rune) bool {
		return !strings.ContainsRune("abcdefghijklmnopqrstuvwxyz0123456789.-_ABCDEFGHIJKLMNOPQRSTUVWXYZ", r)
	}) {
		t.Skipf("host name %q is tagged differently in file names", host)
	}
	dead := cmd.Process.Pid
	name := func(host string, n int) string {
		return filepath.Join(out, fmt.Sprintf("flows.parquet.tmp-%s-%d-%d", host, dead, n))
	}
	stale, live, recent, other := name(host, 1), name(host, 2), name(host, 3), name("another-host", 4)
	old := time.Now().Add(-2 * time.Hour)
	for _, p := range []string{stale, live, recent, other} {
		if err := os.WriteFile(p, []byte("half a file"), 0o644); err != nil {
			t.Fatal(err)
		}
		if p != recent {
			os.Chtimes(p, old, old)
		}
	}
	f, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, "replay", "--out", out, demo)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file still there: %v", err)
	}
	for _, p := range []string{live, recent, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if !strings.Contains(stderr, "removed "+stale) {
		t.Errorf("stderr does not say what was removed:\n%s", stderr)
	}
	if !strings.Contains(stderr, "left 3 temporary file(s) in "+out+": 1 being written, 1 modified within 1h0m0s, 1 of another host, 0 of an older version") {
		t.Errorf("stderr does not say what was left:\n%s", stderr)
	}
}

// A full disk: the write fails, the run exits 1, and the summary claims
// no file that does not exist.
func TestReplayDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=24k"); err != nil {
		t.Skip("mount tmpfs:", err)
	}
	defer syscall.Unmount(dir, syscall.MNT_DETACH)
	stdout, stderr, code := runCLI(t, "replay", "--site", "../../testdata/demo-site.yaml", "--out", dir, demo)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitFailure, stdout, stderr)
	}
	if !strings.Contains(stderr, "no space left on device") {
		t.Errorf("stderr does not say the disk is full:\n%s", stderr)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if path, ok := strings.CutPrefix(line, "wrote      "); ok {
			if _, err := os.Stat(path); err != nil {
				t.Errorf("summary says %q but: %v", line, err)
			}
		}
	}
}

// "-" replays standard input, which cannot seek: its summary is the
// file's, line for line (but for the timing and the output paths).
func TestReplayStdin(t *testing.T) {
	data := readOrFail(t, demo)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), streams{Stdin: bytes.NewReader(data), Stdout: &stdout, Stderr: &stderr},
		[]string{"replay", "--site", "../../testdata/demo-site.yaml", "--out", out, "-"})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	fromFile, stderrFile, code := runCLI(t, "replay", "--site", "../../testdata/demo-site.yaml", "--out", t.TempDir(), demo)
	if code != exitOK {
		t.Fatalf("file replay: exit %d: %s", code, stderrFile)
	}
	stable := func(summary string) string {
		var keep []string
		for _, line := range strings.Split(summary, "\n") {
			if !strings.HasPrefix(line, "processing ") && !strings.HasPrefix(line, "wrote ") {
				keep = append(keep, line)
			}
		}
		return strings.Join(keep, "\n")
	}
	if got, want := stable(stdout.String()), stable(fromFile); got != want || !strings.Contains(got, "flows      212\n") {
		t.Errorf("stdin replay differs from the file's:\n%s\nfile:\n%s", got, want)
	}
}

// A destination that refuses every alert: the summary says so per
// destination and cause, the log names it, and the exit code is 3.
func TestReplayUndeliveredAlerts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "index closed", http.StatusForbidden)
	}))
	defer srv.Close()
	stdout, stderr, code := runCLI(t, "replay", "--site", "../../testdata/demo-site.yaml", "--alerts", srv.URL+"/ingest",
		"--out", t.TempDir(), demo)
	if code != exitPartial {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitPartial, stdout, stderr)
	}
	// One alert per finding of the demo: 2 unexpected and 3 blocked
	// flows, 5 missing entries.
	if !strings.Contains(stdout, srv.URL+"/ingest: 0 delivered, 10 NOT DELIVERED (10 rejected)") {
		t.Errorf("summary does not show the undelivered alerts:\n%s", stdout)
	}
	if !strings.Contains(stderr, "alerts to "+srv.URL+"/ingest failing (rejected)") || !strings.Contains(stderr, "10 alert(s) not delivered") {
		t.Errorf("stderr does not report the failure:\n%s", stderr)
	}
}

// A run killed between renaming its tables leaves new flows beside the
// previous run's findings and manifest: the report refuses the mix.
func TestReportRefusesMixedRun(t *testing.T) {
	out := t.TempDir()
	if _, stderr, code := runCLI(t, "replay", "--out", out, demo); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	report := filepath.Join(t.TempDir(), "r.json")
	if _, stderr, code := runCLI(t, "report", "--in", out, "--out", report); code != exitOK {
		t.Fatalf("report of a complete run: exit %d: %s", code, stderr)
	}
	// A second run into another directory; its flows are moved over the
	// first run's, as a kill after the first rename would leave them.
	other := t.TempDir()
	if _, stderr, code := runCLI(t, "replay", "--out", other, demo); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if err := os.Rename(filepath.Join(other, "flows.parquet"), filepath.Join(out, "flows.parquet")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, "report", "--in", out, "--out", report)
	if code != exitFailure || !strings.Contains(stderr, "tables of different runs") {
		t.Errorf("report of a mixed set: exit %d: %s", code, stderr)
	}
}

func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		stdout, stderr, code := runCLI(t, args...)
		if code != exitOK || !strings.HasPrefix(stdout, "auditor (devel)") && !strings.HasPrefix(stdout, "auditor v") {
			t.Errorf("%v: exit %d, %q %q", args, code, stdout, stderr)
		}
	}
	stdout, _, code := runCLI(t, "version", "--json")
	if code != exitOK || !strings.Contains(stdout, `"version":`) || !strings.Contains(stdout, `"go":"go1.`) {
		t.Errorf("version --json: %d %s", code, stdout)
	}
}

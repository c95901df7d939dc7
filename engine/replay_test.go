package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/report/parquetout"
)

func replayConfig(out string, paths ...string) (ReplayConfig, *[]string) {
	var notes []string
	return ReplayConfig{Paths: paths, Out: out, Table: flow.DefaultConfig(), Workers: 2,
		Audit: Config{Site: demoSite}, Top: 5, CreatedBy: "engine test",
		Notify: func(msg string) { notes = append(notes, msg) }}, &notes
}

// A replay writes the five tables and a manifest that lists each with the
// rows the result counts, and reports the outputs by table.
func TestReplayWritesRunAndManifest(t *testing.T) {
	out := t.TempDir()
	cfg, notes := replayConfig(out, "../testdata/demo.pcapng")
	progressed := false
	cfg.Progress = func(ctx context.Context, p *ReplayProgress) func() {
		progressed = true
		return func() {
			if done, total := p.Input(); done == 0 || total == 0 || p.Frames() == 0 {
				t.Errorf("progress at the end: %d of %d bytes, %d frames", done, total, p.Frames())
			}
		}
	}
	res, err := Replay(context.Background(), cfg)
	if err != nil {
		t.Fatalf("replay: %v (notes %q)", err, *notes)
	}
	if !progressed {
		t.Error("the Progress hook was not called")
	}
	if res.Files != 1 || res.FilesFailed != 0 || res.Packets == 0 || res.Flows == 0 || res.FirstPacket.IsZero() || res.PacketsPerSecond <= 0 {
		t.Errorf("result %+v", res)
	}
	if res.Audit == nil || res.Audit.Verdicts == nil {
		t.Fatalf("no audit result: %+v", res.Audit)
	}
	for _, table := range []string{"flows", "calls", "dns", "tunnels", "findings", "manifest"} {
		if res.Outputs[table] == "" {
			t.Errorf("no %s output in %v", table, res.Outputs)
		} else if _, err := os.Stat(res.Outputs[table]); err != nil {
			t.Errorf("%s: %v", table, err)
		}
	}
	man, err := parquetout.ReadManifest(out, parquetout.ManifestName)
	if err != nil {
		t.Fatal(err)
	}
	if man.CreatedBy != "engine test" || man.Run == "" || len(man.Extra[ProvInventorySHA256]) != 64 {
		t.Errorf("manifest %+v", man)
	}
	rows := map[string]uint64{}
	for _, tb := range man.Tables {
		rows[tb.Table] = tb.Rows
	}
	var findings uint64
	for _, n := range res.Audit.Findings {
		findings += n
	}
	want := map[string]uint64{"flows": res.Flows, "calls": res.Audit.Parsers.SIPCalls, "dns": res.Audit.DNSRows, "findings": findings}
	for table, n := range want {
		if rows[table] != n {
			t.Errorf("manifest: %s has %d rows, the result %d", table, rows[table], n)
		}
	}
	if len(man.Tables) != 5 {
		t.Errorf("manifest lists %d tables, want 5: %+v", len(man.Tables), man.Tables)
	}
}

// Input that yields no packet at all is an error that renames nothing:
// the previous run's files stay as they were.
func TestReplayUnreadableKeepsPreviousRun(t *testing.T) {
	out := t.TempDir()
	cfg, _ := replayConfig(out, "../testdata/demo.pcapng")
	if _, err := Replay(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(out, "flows.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notes, []byte("not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, told := replayConfig(out, notes)
	res, err := Replay(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no packets could be read from "+notes) {
		t.Fatalf("err = %v", err)
	}
	var pe *PartialError
	if errors.As(err, &pe) {
		t.Errorf("an unreadable input is a failure, not partial: %v", err)
	}
	if res == nil || res.FilesFailed != 1 || len(res.Outputs) != 0 || res.Audit != nil {
		t.Errorf("result %+v", res)
	}
	if len(*told) == 0 || !strings.Contains(strings.Join(*told, "\n"), "notes.txt") {
		t.Errorf("the file's problem was not notified: %q", *told)
	}
	after, err := os.ReadFile(filepath.Join(out, "flows.parquet"))
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("flows.parquet changed (err %v)", err)
	}
}

// A damaged file still yields its earlier packets: the outputs are written
// and the error is partial, naming the damage.
func TestReplayDamagedIsPartial(t *testing.T) {
	out := t.TempDir()
	cfg, _ := replayConfig(out, "../testdata/pcaps/malformed/tls_DER-incomplete-header.pcap")
	res, err := Replay(context.Background(), cfg)
	var pe *PartialError
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "1 input file(s) damaged") {
		t.Fatalf("err = %v, want a partial error", err)
	}
	if res.Packets == 0 || res.Outputs["manifest"] == "" || len(res.FailedFiles) != 1 {
		t.Errorf("result %+v", res)
	}
}

// A canceled replay writes what it saw and says it was interrupted.
func TestReplayInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg, _ := replayConfig(t.TempDir(), "../testdata/demo.pcapng")
	res, err := Replay(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v", err)
	}
	if res == nil || !res.Interrupted || res.Outputs["manifest"] == "" {
		t.Errorf("result %+v", res)
	}
}

// An unknown vendor stops a replay or a capture before anything is opened,
// with the typed error the command words for its flag.
func TestRunUnknownVendor(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	cfg, _ := replayConfig(out, "../testdata/demo.pcapng")
	cfg.Audit.Vendors = []string{"no-such-vendor"}
	_, err := Replay(context.Background(), cfg)
	var uv *UnknownVendorError
	if !errors.As(err, &uv) {
		t.Fatalf("replay: err = %v", err)
	}
	err = Capture(context.Background(), CaptureConfig{Interface: "house4-none", Engine: "afpacket", Workers: 1,
		Table: flow.DefaultConfig(), Out: out, Sensor: "s", Audit: Config{Vendors: []string{"no-such-vendor"}}}, CaptureHooks{})
	if !errors.As(err, &uv) {
		t.Fatalf("capture: err = %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output directory created: %v", err)
	}
}

// A capture on an interface that does not exist fails with the engine and
// the interface named, and no window is written.
func TestCaptureNoInterface(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	err := Capture(context.Background(), CaptureConfig{Interface: "house4-none", Engine: "afpacket", Workers: 1,
		Table: flow.DefaultConfig(), Out: out, Sensor: "s", Rotate: 3600e9}, CaptureHooks{
		Started: func(context.Context, *CaptureRun) (func(), error) {
			t.Error("Started called without a source")
			return nil, nil
		}})
	if err == nil || !strings.Contains(err.Error(), "AF_PACKET on house4-none") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output directory created: %v", err)
	}
}

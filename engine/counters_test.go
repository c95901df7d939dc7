package engine

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/parquetout"
)

// FlowsJudged is a counter: readers running while windows end (as a
// metrics scrape does) never see it step back, and it ends with every
// flow judged counted once.
func TestFlowsJudgedNeverStepsBack(t *testing.T) {
	aud, err := New(Config{Site: demoSite, Sensor: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	w := NewWindow(aud, WindowConfig{Dir: t.TempDir(), Sensor: "s1", Rotation: time.Hour})
	start := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	if err := w.Open(start); err != nil {
		t.Fatal(err)
	}
	var cfg capture.Config
	aud.Configure(&cfg, w.Sink())
	onFlow := cfg.Stages(0).OnFlow
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for {
				select {
				case <-stop:
					return
				default:
				}
				got := aud.FlowsJudged()
				if n := sum(got[:]); n < last {
					t.Errorf("FlowsJudged stepped back from %d to %d", last, n)
					return
				} else {
					last = n
				}
			}
		}()
	}
	const windows, perWindow = 20, 40
	for i := range windows {
		for j := range perWindow {
			onFlow(testFlow(i*perWindow + j))
		}
		end := start.Add(time.Duration(i+1) * time.Minute)
		if err := w.Close(end); err != nil {
			t.Fatal(err)
		}
		if err := w.Open(end); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if got := aud.FlowsJudged(); sum(got[:]) != windows*perWindow {
		t.Errorf("FlowsJudged %v, want %d flows", got, windows*perWindow)
	}
	if got := aud.WindowVerdicts(); sum(got[:]) != 0 {
		t.Errorf("the new window starts with %v", got)
	}
	w.Close(start.Add(time.Hour))
}

// A window whose files could not be created still ends: its flows'
// findings are raised and written in its own partition when that can be
// made by then, its verdicts are folded, and nothing of it rolls into the
// next window.
func TestWindowWithoutFilesEndsItsFindings(t *testing.T) {
	start := time.Date(2026, 3, 9, 10, 0, 30, 0, time.UTC)
	aud, err := New(Config{Site: demoSite, Sensor: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := NewWindow(aud, WindowConfig{Dir: dir, Sensor: "p1", Rotation: time.Hour})
	blocker := filepath.Join(dir, "date=2026-03-09")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Open(start); err == nil {
		t.Fatal("Open succeeded with its partition path taken by a file")
	}
	var cfg capture.Config
	aud.Configure(&cfg, w.Sink())
	onFlow := cfg.Stages(0).OnFlow
	const n = 3
	for i := range n {
		onFlow(testFlow(i)) // unexpected: raises a finding each
	}
	if err := os.Remove(blocker); err != nil { // the disk is back
		t.Fatal(err)
	}
	if err := w.Close(start.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "had no output files") {
		t.Errorf("Close of the window without files: %v", err)
	}
	if got := aud.WindowVerdicts(); sum(got[:]) != 0 {
		t.Errorf("the window's verdicts rolled on: %v", got)
	}
	if got := aud.FlowsJudged(); got[verdict.Unexpected] != n {
		t.Errorf("FlowsJudged %v, want %d unexpected", got, n)
	}
	part := filepath.Join(dir, "date=2026-03-09", "hour=10")
	first, err := parquetout.ReadFindings(filepath.Join(part, "findings-p1-000001.parquet"))
	if err != nil || len(first) != 1 || first[0].Kind != string(verdict.KindUnexpected) || first[0].Count != n {
		t.Errorf("the window's findings: %+v, %v; want its one unexpected finding of %d flows", first, err, n)
	}
	next := start.Add(2 * time.Minute)
	if err := w.Open(next); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(next.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	second, err := parquetout.ReadFindings(filepath.Join(part, "findings-p1-000002.parquet"))
	if err != nil || len(second) != 0 {
		t.Errorf("the next window's findings: %+v, %v; want none", second, err)
	}
}

// A window whose flows file is lost at Close (here its partition vanished
// before the rename) counts every flow of it as not written, as it does
// after a write error, and the next window counts from there.
func TestWindowCountsFlowsOfAFailedFile(t *testing.T) {
	start := time.Date(2026, 3, 9, 10, 0, 30, 0, time.UTC)
	aud, err := New(Config{Sensor: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := NewWindow(aud, WindowConfig{Dir: dir, Sensor: "p1", Rotation: time.Hour})
	if err := w.Open(start); err != nil {
		t.Fatal(err)
	}
	var cfg capture.Config
	aud.Configure(&cfg, w.Sink())
	onFlow := cfg.Stages(0).OnFlow
	const n = 1500 // more than a batch
	for i := range n {
		onFlow(testFlow(i))
	}
	if err := os.RemoveAll(filepath.Join(dir, "date=2026-03-09")); err != nil {
		t.Fatal(err)
	}
	err = w.Close(start.Add(time.Minute))
	if err == nil || !strings.Contains(err.Error(), "(1500 flows of this window not written, 1500 since the start)") {
		t.Errorf("Close: %v; want the window's %d flows counted as not written", err, n)
	}
	if got := w.Sink().Rows(); got != 0 {
		t.Errorf("Rows %d after the only file was lost", got)
	}
	next := start.Add(time.Hour)
	if err := w.Open(next); err != nil {
		t.Fatal(err)
	}
	onFlow(testFlow(0))
	if err := w.Close(next.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if w.Sink().Rows() != 1 || w.Sink().Discarded() != n {
		t.Errorf("after a good window: Rows %d, Discarded %d; want 1, %d", w.Sink().Rows(), w.Sink().Discarded(), n)
	}
}

// A capture reclaims only its own sensor's temporaries, and only those
// older than two of its windows (an hour at least), in a shared lake.
func TestCaptureStaleScope(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || strings.ContainsFunc(host, func(r rune) bool {
		return !strings.ContainsRune("abcdefghijklmnopqrstuvwxyz0123456789.-_ABCDEFGHIJKLMNOPQRSTUVWXYZ", r)
	}) {
		t.Skipf("host name %q is tagged differently in file names", host)
	}
	now := time.Now()
	for _, tt := range []struct {
		rotate    time.Duration
		youngKept bool
		youngAge  time.Duration
	}{
		{rotate: time.Hour, youngAge: 90 * time.Minute, youngKept: true},    // within two windows
		{rotate: time.Minute, youngAge: 90 * time.Minute, youngKept: false}, // past an hour
		{rotate: time.Minute, youngAge: 50 * time.Minute, youngKept: true},  // an hour at least
	} {
		dir := t.TempDir()
		part := filepath.Join(dir, "date="+now.UTC().Format("2006-01-02"), "hour="+now.UTC().Format("15"))
		if err := os.MkdirAll(part, 0o755); err != nil {
			t.Fatal(err)
		}
		tmp := func(final string, age time.Duration) string {
			p := filepath.Join(part, final+".tmp-"+host+"-999999999-1")
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
				t.Fatal(err)
			}
			return p
		}
		mine := tmp("flows-s1-000001.parquet", 3*time.Hour)
		young := tmp("flows-s1-000002.parquet", tt.youngAge)
		theirs := tmp("flows-s2-000001.parquet", 3*time.Hour)
		res, err := parquetout.RemoveStale(captureStaleScope(&CaptureConfig{Out: dir, Sensor: "s1", Rotate: tt.rotate}))
		if err != nil {
			t.Fatal(err)
		}
		exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
		if exists(mine) || !exists(theirs) || exists(young) != tt.youngKept {
			t.Errorf("rotate %s: this sensor's old file kept %v, another sensor's kept %v, a %s old one kept %v (want %v); %+v",
				tt.rotate, exists(mine), exists(theirs), tt.youngAge, exists(young), tt.youngKept, res)
		}
	}
}

package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/alerts"
	"github.com/ccaudit/auditor/report/parquetout"
)

// Missing findings of live windows: none for the capture's first, partial
// window nor for one cut short by the shutdown; in complete windows, in
// every window's file, but alerted once while the entry stays missing.
func TestMissingFindingsWindows(t *testing.T) {
	aud, err := New(Config{Site: demoSite, Sensor: "probe-1"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	alertFile := filepath.Join(dir, "alerts.ndjson")
	sink, err := alerts.Open(alertFile, alerts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	aud.SetFeed(alerts.New([]alerts.Sink{sink}, alerts.FeedOptions{DedupWindow: -1, Rate: -1}))
	w := NewWindow(aud, WindowConfig{Dir: dir, Sensor: "probe-1", Rotation: time.Hour})
	started := time.Date(2026, 3, 9, 21, 17, 5, 0, time.UTC) // mid-hour
	steps := []struct {
		open, close time.Time
		wantMissing bool
	}{
		{started, time.Date(2026, 3, 9, 22, 0, 0, 0, time.UTC), false},                                           // first, partial
		{time.Date(2026, 3, 9, 22, 0, 0, 800e6, time.UTC), time.Date(2026, 3, 9, 23, 0, 0, 0, time.UTC), true},   // complete
		{time.Date(2026, 3, 9, 23, 0, 1, 0, time.UTC), time.Date(2026, 3, 10, 0, 0, 0, 300e6, time.UTC), true},   // complete, still missing
		{time.Date(2026, 3, 10, 0, 0, 0, 300e6, time.UTC), time.Date(2026, 3, 10, 0, 12, 0, 0, time.UTC), false}, // shutdown
	}
	var onFlow func(*flow.Flow)
	for i, st := range steps {
		if err := w.Open(st.open); err != nil {
			t.Fatal(err)
		}
		if onFlow == nil {
			var cfg capture.Config
			aud.Configure(&cfg, w.Sink())
			onFlow = cfg.Stages(0).OnFlow
		}
		// Hosts of the site are active: their required flows are due.
		for j := range 3 {
			onFlow(testFlow(j))
		}
		if err := w.Close(st.close); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "date=*", "hour=*", "findings-probe-1-00000"+string(rune('1'+i))+".parquet"))
		if len(files) != 1 {
			t.Fatalf("window %d: findings files %v", i+1, files)
		}
		rows, err := parquetout.ReadFindings(files[0])
		if err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, r := range rows {
			if r.Kind == string(verdict.KindMissing) {
				missing++
			}
		}
		if (missing > 0) != st.wantMissing {
			t.Errorf("window %d: %d missing findings, want some: %v", i+1, missing, st.wantMissing)
		}
	}
	aud.CloseFeed()
	data, err := os.ReadFile(alertFile)
	if err != nil {
		t.Fatal(err)
	}
	alerted := strings.Count(string(data), `"action":"missing"`)
	// One alert per missing entry: the second complete window repeats
	// none of them.
	rows, _ := parquetout.ReadFindings(mustGlob(t, filepath.Join(dir, "date=*", "hour=*", "findings-probe-1-000002.parquet")))
	entries := 0
	for _, r := range rows {
		if r.Kind == string(verdict.KindMissing) {
			entries++
		}
	}
	if alerted != entries || entries == 0 {
		t.Errorf("%d missing alerts for %d missing entries: alerted again at the next rotation?", alerted, entries)
	}
}

func mustGlob(t *testing.T, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(pattern)
	if len(m) != 1 {
		t.Fatalf("%s: %v", pattern, m)
	}
	return m[0]
}

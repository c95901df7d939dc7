package engine

import (
	"sync"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture"
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

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/ccaudit/auditor/engine"
)

// progressThreshold is the input size above which "auto" shows a bar: below
// it a replay finishes before a bar would be read.
const progressThreshold = 64 << 20

// startProgress draws a progress line on w until the returned stop is
// called. It reads only atomic counters, so it never slows the pipeline.
func startProgress(ctx context.Context, w io.Writer, mode string, p *engine.ReplayProgress) (stop func()) {
	_, total := p.Input()
	show := mode == "always"
	if mode == "auto" {
		f, ok := w.(*os.File)
		show = ok && term.IsTerminal(int(f.Fd())) && total >= progressThreshold
	}
	if !show {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		start := time.Now()
		for {
			select {
			case <-ctx.Done():
				fmt.Fprint(w, "\r\033[K")
				return
			case <-tick.C:
				done, total := p.Input()
				fmt.Fprint(w, "\r\033[K"+progressLine(done, total, p.Frames(), time.Since(start)))
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

func progressLine(done, total int64, frames uint64, elapsed time.Duration) string {
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	n := int(frac * width)
	rate := float64(frames) / max(elapsed.Seconds(), 1e-9)
	return fmt.Sprintf("[%s%s] %3.0f%% %s/%s %d packets %.0f pkt/s",
		strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100,
		humanBytes(uint64(done)), humanBytes(uint64(total)), frames, rate)
}

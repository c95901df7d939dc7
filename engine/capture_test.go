package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/internal/netnstest"
)

// logBuffer is a bytes.Buffer safe for the capture's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls the log until it holds want n times.
func waitFor(t *testing.T, logs *logBuffer, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), want) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no %d× %q in the log:\n%s", n, want, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A live capture on an AF_PACKET fanout calls its hooks: Started once with
// one pipeline per socket, WindowEnding at each rotation, ReloadError for
// a reload that fails (the running configuration stays); each reload
// closes a window, and the end closes the last one.
func TestCaptureHooksAndReload(t *testing.T) {
	pair := netnstest.NewPair(t)
	out := t.TempDir()
	site := filepath.Join(t.TempDir(), "site.yaml")
	data, err := os.ReadFile(demoSite)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(site, data, 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	reload := make(chan os.Signal, 1)
	var started, stopped, endings, reworded atomic.Int32
	hooks := CaptureHooks{
		Started: func(_ context.Context, run *CaptureRun) (func(), error) {
			started.Add(1)
			if run.Pipelines() != 2 || run.Auditor == nil || run.Stats == nil {
				t.Errorf("Started with %d pipelines, auditor %v", run.Pipelines(), run.Auditor != nil)
			}
			return func() { stopped.Add(1) }, nil
		},
		WindowEnding: func() { endings.Add(1) },
		ReloadError: func(err error) error {
			reworded.Add(1)
			return fmt.Errorf("reworded: %w", err)
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		var capErr error
		err := pair.B.Do(func() error {
			capErr = Capture(ctx, CaptureConfig{Interface: pair.IfB, Engine: "afpacket", Workers: 2, Table: flow.DefaultConfig(),
				Out: out, Sensor: "h4", Rotate: time.Hour, LossThreshold: 0.001, Audit: Config{Site: site},
				Reload: reload, Log: slog.New(slog.NewTextHandler(logs, nil))}, hooks)
			return nil
		})
		done <- errors.Join(err, capErr)
	}()
	waitFor(t, logs, "msg=capturing", 1)
	if _, err := pair.Traffic(); err != nil {
		cancel()
		t.Fatal(err)
	}
	reload <- syscall.SIGHUP
	waitFor(t, logs, "reloaded catalog and inventory", 1)
	if err := os.WriteFile(site, []byte("site: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reload <- syscall.SIGHUP
	waitFor(t, logs, "keeping the running configuration", 1)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("capture: %v\n%s", err, logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("capture did not stop:\n%s", logs)
	}
	if started.Load() != 1 || stopped.Load() != 1 || endings.Load() != 2 || reworded.Load() != 1 {
		t.Errorf("hooks: started %d, stopped %d, window endings %d, reload errors %d; want 1, 1, 2, 1",
			started.Load(), stopped.Load(), endings.Load(), reworded.Load())
	}
	if !strings.Contains(logs.String(), `msg="reloaded catalog and inventory" sip_ports=`) {
		t.Errorf("the reload does not say how many SIP ports it took:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "err=\"reworded: ") {
		t.Errorf("the reload error was not reworded:\n%s", logs)
	}
	if n := strings.Count(logs.String(), `msg="rotated output" why=reload`); n != 2 {
		t.Errorf("%d reload rotations logged, want 2:\n%s", n, logs)
	}
	flows, _ := filepath.Glob(filepath.Join(out, "date=*", "hour=*", "flows-h4-*.parquet"))
	if len(flows) != 3 {
		t.Errorf("flows files %v, want three windows", flows)
	}
}

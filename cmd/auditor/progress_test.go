package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReplayProgressLine: with --progress always, a replay that lasts
// longer than a tick draws the progress line on stderr while it runs and
// clears it at the end, and the line's goroutine ends with the run (-race
// in CI checks it reads only what it may). The capture comes on stdin in
// two halves a second apart, so the replay lasts past several ticks
// whatever the machine's speed.
func TestReplayProgressLine(t *testing.T) {
	data, err := os.ReadFile("../../testdata/demo.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		half := len(data) / 2
		pw.Write(data[:half])
		time.Sleep(time.Second)
		pw.Write(data[half:])
		pw.Close()
	}()
	var stdout, stderr syncBuffer
	out := filepath.Join(t.TempDir(), "out")
	code := run(context.Background(), streams{Stdin: pr, Stdout: &stdout, Stderr: &stderr},
		[]string{"replay", "--progress", "always", "--out", out, "-"})
	if code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(stderr.String(), "\r\033[K")
	drawn := 0
	for _, l := range lines {
		if strings.Contains(l, " packets ") && strings.Contains(l, " pkt/s") {
			drawn++
		}
	}
	if drawn < 2 {
		t.Errorf("progress drawn %d times in a replay of more than a second; stderr %q", drawn, stderr.String())
	}
	// The last thing the line writes is its own erasure, before the
	// summary goes to stdout.
	if !strings.HasSuffix(stderr.String(), "\r\033[K") {
		t.Errorf("progress line not cleared at the end: %q", stderr.String())
	}
	if !strings.Contains(stdout.String(), "flows") {
		t.Errorf("no summary: %q", stdout.String())
	}
}

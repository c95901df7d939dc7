package capture

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/capture/synth"
)

// flowLines replays path with the given number of workers and returns one
// line per flow, sorted, with everything the flow record says.
func flowLines(t *testing.T, path string, workers int, pipelined bool) []string {
	t.Helper()
	src, err := source.Open([]string{path}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var mu sync.Mutex
	var lines []string
	p, err := New(Config{Workers: workers, Pipelined: pipelined, Stages: func(int) Stages {
		return Stages{OnFlow: func(f *flow.Flow) {
			l := fmt.Sprintf("%s %v>%v %d/%d %d/%d %s %s unreach=%d vlan=%d %d-%d %s",
				flow.ProtoName(f.Key.Proto()), f.Src(), f.Dst(), f.Orig.Packets, f.Orig.Bytes,
				f.Resp.Packets, f.Resp.Bytes, f.State(), f.History(), f.ICMPUnreach, f.VLAN, f.First, f.Last, f.End)
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
		}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	return lines
}

// Sharding flows over workers must not change a single flow record,
// including ICMP errors attributed across shards.
func TestParallelMatchesSingleWorker(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mix.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if _, err := synth.Generate(w, synth.Options{Seed: 7, Packets: 60_000}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	one := flowLines(t, path, 1, false)
	if got := flowLines(t, path, 1, true); !slices.Equal(one, got) {
		t.Fatalf("pipelined: first difference: %s", firstDifference(one, got))
	}
	for _, n := range []int{2, 3} {
		got := flowLines(t, path, n, false)
		if !slices.Equal(one, got) {
			t.Fatalf("%d workers: %d flows, 1 worker: %d; first difference: %s", n, len(got), len(one), firstDifference(one, got))
		}
	}
	unreach := 0
	for _, l := range one {
		if fieldOf(l, "unreach=") != "unreach=0" {
			unreach++
		}
	}
	if unreach == 0 {
		t.Error("the capture has no ICMP-attributed flow: the test does not cover cross-shard attribution")
	}
}

func fieldOf(line, prefix string) string {
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, prefix) {
			return f
		}
	}
	return ""
}

func firstDifference(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("\n  1 worker: %s\n  sharded:  %s", a[i], b[i])
		}
	}
	return "(one list is a prefix of the other)"
}

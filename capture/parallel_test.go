package capture

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/internal/synth"
)

// generate writes a synthetic capture into a temporary directory.
func generate(tb testing.TB, opts synth.Options) (string, synth.Stats) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "mix.pcapng")
	st, err := synth.WriteFile(path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return path, st
}

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
	path, _ := generate(t, synth.Options{Seed: 7, Packets: 60_000})
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

// commitLog is a Shared that records, for every commit, the packets the
// workers' stagers saw since the previous one.
type commitLog struct {
	mu      sync.Mutex
	stagers []*stager
	commits []string
	n       atomic.Int64
}

// stager is a Dissector staging the ordinal of every flow's first packet.
type stager struct{ staged []uint64 }

func (s *stager) Start(_ *flow.Flow, p *decode.Packet) bool {
	s.staged = append(s.staged, p.Ordinal)
	return false
}
func (s *stager) Packet(*flow.Flow, *decode.Packet, bool) bool { return false }
func (s *stager) End(*flow.Flow)                               {}

func (c *commitLog) Commit(now int64) {
	var all []uint64
	for _, s := range c.stagers {
		all = append(all, s.staged...)
		s.staged = s.staged[:0]
	}
	slices.Sort(all)
	c.commits = append(c.commits, fmt.Sprint(now, all))
	c.n.Add(1)
}

// epochRun replays path and returns the commits and, per flow, the number
// of commits before it ended.
func epochRun(t *testing.T, path string, workers int, pipelined bool) (commits, ends []string) {
	t.Helper()
	src, err := source.Open([]string{path}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	log := &commitLog{}
	var mu sync.Mutex
	p, err := New(Config{Workers: workers, Pipelined: pipelined, EpochPackets: 1000, Shared: []Shared{log},
		Stages: func(int) Stages {
			s := &stager{}
			log.mu.Lock()
			log.stagers = append(log.stagers, s)
			log.mu.Unlock()
			return Stages{Dissectors: []Dissector{s}, OnFlow: func(f *flow.Flow) {
				l := fmt.Sprintf("%v>%v %d after commit %d", f.Src(), f.Dst(), f.First, log.n.Load())
				mu.Lock()
				ends = append(ends, l)
				mu.Unlock()
			}}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ends)
	return log.commits, ends
}

// Epochs end at the same packets whatever the number of workers, each
// commit applies exactly the changes staged during its epoch, and idle
// flows end at the same epoch boundary in every table.
func TestEpochsDoNotDependOnWorkers(t *testing.T) {
	path, _ := generate(t, synth.Options{Seed: 3, Packets: 30_000})
	commits, ends := epochRun(t, path, 1, false)
	if len(commits) < 30 {
		t.Fatalf("%d commits for 30000 packets in epochs of at most 1000", len(commits))
	}
	idle := 0
	for _, e := range ends {
		if !strings.HasSuffix(e, fmt.Sprintf("after commit %d", len(commits)-1)) && !strings.HasSuffix(e, fmt.Sprintf("after commit %d", len(commits)-2)) {
			idle++ // ended before the final flush
		}
	}
	if idle == 0 {
		t.Error("no flow ended idle before the end of input: the test does not cover expiry")
	}
	for _, tc := range []struct {
		workers   int
		pipelined bool
	}{{1, true}, {2, false}, {3, false}} {
		c, e := epochRun(t, path, tc.workers, tc.pipelined)
		if !slices.Equal(commits, c) {
			t.Errorf("%d workers (pipelined %v): commits differ: %s", tc.workers, tc.pipelined, firstDifference(commits, c))
		}
		if !slices.Equal(ends, e) {
			t.Errorf("%d workers (pipelined %v): flows end at other epochs: %s", tc.workers, tc.pipelined, firstDifference(ends, e))
		}
	}
}

// BenchmarkRun replays a generated capture of the usual mix (RTP first)
// through the flow tables alone, with no dissectors: the decoder's hand-off
// to the workers is most of what it measures beyond reading and decoding.
func BenchmarkRun(b *testing.B) {
	path, st := generate(b, synth.Options{Seed: 8, Packets: 300_000})
	for _, tc := range []struct {
		name      string
		workers   int
		pipelined bool
	}{
		{"one-goroutine", 1, false},
		{"pipelined", 1, true},
		{"workers=2", 2, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(st.Bytes)
			for b.Loop() {
				src, err := source.Open([]string{path}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
				if err != nil {
					b.Fatal(err)
				}
				p, err := New(Config{Workers: tc.workers, Pipelined: tc.pipelined, Stages: func(int) Stages {
					return Stages{OnFlow: func(*flow.Flow) {}}
				}})
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Run(context.Background(), src); err != nil {
					b.Fatal(err)
				}
				src.Close()
			}
			b.ReportMetric(float64(st.Packets)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

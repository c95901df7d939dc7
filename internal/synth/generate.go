package synth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// scenarioSpec is how often a scenario occurs in the default mix and how
// many packets one instance writes on average (used to scale to
// Options.Packets).
type scenarioSpec struct {
	name   Scenario
	weight float64
	// packets estimates one instance's packets; call is the mean call
	// duration in seconds.
	packets func(call float64) float64
	run     func(c *conv)
}

// callPackets estimates a call with RTP both ways for call seconds.
func callPackets(call float64) float64 { return 100*call + 0.4*call + 12 }

// scenarioTable is the default traffic mix. Weights are relative instance
// counts, tuned so a 2.9-million-packet run has about two thirds RTP
// packets and one flow per 19 packets (about 150 000 flows), like the
// contact centers the auditor targets; packet estimates were measured.
var scenarioTable = [...]scenarioSpec{
	{SIPUDP, 118, callPackets, runSIPUDP},
	{SIPTCP, 8, func(d float64) float64 { return callPackets(d) + 14 }, runSIPTCP},
	{SIPTCPCoalesced, 2, func(d float64) float64 { return callPackets(d) + 12 }, runSIPTCPCoalesced},
	{SIPFragmented, 1, func(d float64) float64 { return callPackets(d) + 1 }, runSIPFragmented},
	{SIPReinvite, 3, func(d float64) float64 { return callPackets(d) + 5 }, runSIPReinvite},
	{SIPHold, 3, func(d float64) float64 { return 0.85*callPackets(d) + 10 }, runSIPHold},
	{SIPT38, 1, func(d float64) float64 { return 0.4*callPackets(d) + 0.6*d*40 }, runSIPT38},
	{SIPIPv6, 2, callPackets, runSIPIPv6},
	{SIPEarlyMedia, 3, func(d float64) float64 { return callPackets(d) + 150 }, runSIPEarlyMedia},
	{SIPCancel, 5, func(float64) float64 { return 7 }, runSIPCancel},
	{SIPFailure, 5, func(float64) float64 { return 4 }, runSIPFailure},
	{SIPRegister, 150, func(float64) float64 { return 4 }, runSIPRegister},
	{SIPTLS, 100, func(float64) float64 { return 19.5 }, runSIPTLS},
	{TLS, 4500, func(float64) float64 { return 19.5 }, runTLS},
	{TCP, 4000, func(float64) float64 { return 14 }, runTCP},
	{DNS, 19500, func(float64) float64 { return 2 }, runDNS},
	{DNSTCP, 200, func(float64) float64 { return 9 }, runDNSTCP},
	{IPv6, 400, func(float64) float64 { return 19 }, runIPv6},
	{SYNUnanswered, 300, func(float64) float64 { return 3 }, runSYNUnanswered},
	{SYNRejected, 300, func(float64) float64 { return 2 }, runSYNRejected},
	{UDPUnreachable, 300, func(float64) float64 { return 2 }, runUDPUnreachable},
	{Unexpected, 50, func(float64) float64 { return 14.5 }, runUnexpected},
	{WrongDirection, 5, func(float64) float64 { return 10 }, runWrongDirection},
	{Noise, 1500, func(float64) float64 { return 6 }, runNoise},
}

// optInTable holds the scenarios left out of the default mix: Generate
// writes them only when Options.Scenarios names them. Weights apply among
// the selected scenarios.
var optInTable = [...]scenarioSpec{
	{SYNFlood, 1, func(float64) float64 { return floodBurst }, runSYNFlood},
	{Sinch, 4, func(d float64) float64 { return (callPackets(d) + 3*12) / 4 }, runSinch},
}

// WriteFile generates the capture opts describe into a new file at path.
// A file left incomplete by an error is removed.
func WriteFile(path string, opts Options) (Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return Stats{}, fmt.Errorf("create %s: %w", path, err)
	}
	// Generate buffers its writes itself.
	st, err := Generate(f, opts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return st, errors.Join(fmt.Errorf("write %s: %w", path, err), os.Remove(path))
	}
	return st, nil
}

// Generate writes a synthetic capture to w and reports what it wrote. The
// output depends only on opts. Packets are produced in timestamp order from a
// small schedule of concurrent conversations, so memory stays constant
// whatever the packet count.
func Generate(w io.Writer, opts Options) (Stats, error) {
	g, err := newGen(w, opts)
	if err != nil {
		return Stats{}, err
	}
	return g.run()
}

func newGen(w io.Writer, opts Options) (*gen, error) {
	if opts.Start.IsZero() {
		opts.Start = DefaultStart()
	}
	opts.Start = opts.Start.Truncate(time.Microsecond)
	if opts.CallDuration <= 0 {
		opts.CallDuration = 30 * time.Second
	}
	if opts.Packets < 0 {
		return nil, fmt.Errorf("synth: negative packet count %d", opts.Packets)
	}
	selected := map[Scenario]bool{}
	for _, s := range opts.Scenarios {
		if _, err := ParseScenario(string(s)); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
		selected[s] = true
	}

	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed_cc_a0d17))
	g := &gen{
		opts:     opts,
		rng:      rng,
		bw:       bufio.NewWriterSize(w, 1<<20),
		buf:      gopacket.NewSerializeBufferExpectedSize(64, 1600),
		stats:    Stats{Flows: map[string]int{}, Instances: map[Scenario]int{}},
		sipFlows: map[[2]*host]struct{}{},
	}
	g.site = newSite(rng)
	g.smbSession = rng.Uint64()
	g.initLayers()
	if err := g.openWriter(); err != nil {
		return nil, err
	}

	var specs []*scenarioSpec
	for i := range scenarioTable {
		if len(selected) == 0 || selected[scenarioTable[i].name] {
			specs = append(specs, &scenarioTable[i])
		}
	}
	for i := range optInTable {
		if selected[optInTable[i].name] {
			specs = append(specs, &optInTable[i])
		}
	}
	for s, n := range opts.Counts {
		if len(selected) > 0 && !selected[s] {
			return nil, fmt.Errorf("synth: count for scenario %q, which is not selected", s)
		}
		if n < 0 {
			return nil, fmt.Errorf("synth: negative count %d for scenario %q", n, s)
		}
	}
	counts := instanceCounts(specs, opts.Counts, opts.Packets, opts.CallDuration.Seconds())
	calls := 0
	for i, s := range specs {
		// Calls are the scenarios whose length follows the call duration.
		if s.packets(1) > 50 && s.packets(2) > s.packets(1) {
			calls += counts[i]
		}
	}
	// Spread arrivals so about 30 calls overlap, as on a busy small site,
	// but over at least 20 s so a small capture still looks like traffic.
	window := max(20*time.Second, time.Duration(calls)*opts.CallDuration/30)
	start := opts.Start.UnixNano()
	g.now = start
	for i, s := range specs {
		if counts[i] == 0 {
			continue
		}
		sp := &spawner{spec: s, n: counts[i], start: start, window: int64(window)}
		g.schedule(sp.arrival(g, 0), sp)
	}
	return g, nil
}

// instanceCounts scales the specs' weights to reach packets in total,
// keeping at least one instance of each: scenarios the scaling would round
// to zero are pinned at one and the rest rescaled without them. Scenarios
// with a fixed count are pinned from the start.
func instanceCounts(specs []*scenarioSpec, fixed map[Scenario]int, packets int, call float64) []int {
	counts := make([]int, len(specs))
	pinned := make([]bool, len(specs))
	for i, s := range specs {
		counts[i] = 1
		if n, ok := fixed[s.name]; ok {
			counts[i], pinned[i] = n, true
		}
	}
	if packets == 0 {
		return counts
	}
	for {
		budget, weighted := float64(packets), 0.0
		for i, s := range specs {
			if pinned[i] {
				budget -= float64(counts[i]) * s.packets(call)
			} else {
				weighted += s.weight * s.packets(call)
			}
		}
		if weighted == 0 || budget <= 0 {
			return counts
		}
		scale := budget / weighted
		repinned := false
		for i, s := range specs {
			if pinned[i] {
				continue
			}
			n := math.Round(scale * s.weight)
			if n < 1 {
				pinned[i], repinned = true, true
				counts[i] = 1
				continue
			}
			counts[i] = int(n)
		}
		if !repinned {
			return counts
		}
	}
}

// packetWriter is pcapgo.Writer or pcapgo.NgWriter.
type packetWriter interface {
	WritePacket(ci gopacket.CaptureInfo, data []byte) error
}

func (g *gen) openWriter() error {
	switch g.opts.Format {
	case PCAP:
		w := pcapgo.NewWriter(g.bw)
		if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
			return fmt.Errorf("synth: write pcap header: %w", err)
		}
		g.w = w
	case PCAPNG:
		// Explicit section and interface options: the package defaults
		// record the build machine's OS and architecture, which would
		// make the bytes depend on where they were generated.
		lan := pcapgo.NgInterface{Name: "lan", Description: "site core switch SPAN", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}
		ng, err := pcapgo.NewNgWriterInterface(g.bw, lan, pcapgo.NgWriterOptions{
			SectionInfo: pcapgo.NgSectionInfo{Application: "auditor synth"},
		})
		if err != nil {
			return fmt.Errorf("synth: write pcapng header: %w", err)
		}
		if g.opts.WANInterface {
			wan := pcapgo.NgInterface{Name: "wan", Description: "router uplink", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}
			if _, err := ng.AddInterface(wan); err != nil {
				return fmt.Errorf("synth: write pcapng interface: %w", err)
			}
		}
		g.w = ng
	default:
		return fmt.Errorf("synth: unknown format %v", g.opts.Format)
	}
	return nil
}

func (g *gen) run() (Stats, error) {
	for len(g.queue) > 0 {
		ev := g.pop()
		g.now = ev.at
		next, more := ev.task.run(g)
		if g.err != nil {
			break
		}
		if more {
			g.schedule(next, ev.task)
		}
	}
	// After an error, scripts still waiting hold suspended coroutines.
	for _, ev := range g.queue {
		if s, ok := ev.task.(*script); ok {
			s.stop()
		}
	}
	if g.err != nil {
		return g.stats, g.err
	}
	if err := g.bw.Flush(); err != nil {
		return g.stats, fmt.Errorf("synth: flush: %w", err)
	}
	return g.stats, nil
}

// task is something on the schedule: run writes the packets due now and
// says when it wants to run again.
type task interface {
	run(g *gen) (next int64, more bool)
}

type event struct {
	at   int64 // Unix nanoseconds
	seq  uint64
	task task
}

func (a event) before(b event) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

// schedule adds t to the queue at time at; ties run in scheduling order,
// which keeps the output deterministic.
func (g *gen) schedule(at int64, t task) {
	g.seq++
	g.queue = append(g.queue, event{at, g.seq, t})
	q := g.queue
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !q[i].before(q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (g *gen) pop() event {
	q := g.queue
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q[n] = event{}
	q = q[:n]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < n && q[l].before(q[small]) {
			small = l
		}
		if r := l + 1; r < n && q[r].before(q[small]) {
			small = r
		}
		if small == i {
			break
		}
		q[i], q[small] = q[small], q[i]
		i = small
	}
	g.queue = q
	return top
}

// spawner starts a scenario's n instances spread over the window: instance
// i starts at a random point of the i-th of n equal slots, so arrivals are
// in order and the count is exact.
type spawner struct {
	spec          *scenarioSpec
	n, i          int
	start, window int64
}

func (s *spawner) run(g *gen) (int64, bool) {
	g.stats.Instances[s.spec.name]++
	g.schedule(g.now, newScript(g, g.now, s.i, s.spec.run))
	s.i++
	if s.i >= s.n {
		return 0, false
	}
	return s.arrival(g, s.i), true
}

func (s *spawner) arrival(g *gen, i int) int64 {
	slot := s.window / int64(s.n)
	at := s.start + int64(i)*slot + g.rng.Int64N(max(slot, 1))
	return max(roundMicro(at), g.now)
}

func roundMicro(ns int64) int64 { return ns - ns%1000 }

// script runs a conversation written as straight-line code: a coroutine
// that yields each time it waits, so the scheduler can interleave it with
// the other conversations.
type script struct {
	next func() (int64, bool)
	stop func()
}

// stopped unwinds a script's coroutine when Generate gives up early.
type stopped struct{}

func newScript(g *gen, start int64, index int, body func(c *conv)) *script {
	seq := func(yield func(int64) bool) {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stopped); !ok {
					panic(r)
				}
			}
		}()
		body(&conv{g: g, yield: yield, now: start, index: index})
	}
	next, stop := iter.Pull(iter.Seq[int64](seq))
	return &script{next: next, stop: stop}
}

func (s *script) run(*gen) (int64, bool) { return s.next() }

// conv is a conversation's view of the generator.
type conv struct {
	g     *gen
	yield func(int64) bool
	now   int64
	index int // which instance of its scenario: lets the first instances be the documented ones
	seen  map[flowTuple]bool
}

// wait lets d pass (rounded to microseconds, so pcap and pcapng agree).
func (c *conv) wait(d time.Duration) {
	c.now += roundMicro(int64(max(d, 0)))
	if !c.yield(c.now) {
		panic(stopped{})
	}
}

// jitter returns a duration uniform in [lo, hi).
func (g *gen) jitter(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)))
}
